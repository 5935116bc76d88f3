"""Division where the divisor is positive: attainment (measure ÷ quota), rates, shares.

One helper instead of ``np.where(d > 0, n / np.where(d > 0, d, 1), fill)`` written out at
every call site. Arrays broadcast; a divisor repeated along leading axes (a quota shared by
every scenario) is checked once, not once per repetition.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["all_positive", "ratio"]

F = NDArray[np.float64]


def all_positive(a: ArrayLike) -> bool:
    """Whether every value is > 0 (NaN is not), looking once at axes repeated by
    broadcasting."""
    values = np.asarray(a)
    while values.ndim and values.strides[0] == 0:
        values = values[0]
    return bool((values > 0).all())


def ratio(num: ArrayLike, den: ArrayLike, fill: float = 0.0) -> F:
    """``num ÷ den`` where ``den > 0``, ``fill`` where it is not (zero, negative or NaN).

    Examples
    --------
    >>> ratio([1.0, 2.0, 3.0, 4.0], [2.0, 0.0, -1.0, np.nan]).tolist()
    [0.5, 0.0, 0.0, 0.0]
    >>> ratio([1.0, 2.0], [4.0, 0.0], fill=np.nan).tolist()
    [0.25, nan]
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.array(num / den, dtype=float)
    if not all_positive(den):
        out[np.broadcast_to(~(den > 0), out.shape)] = fill
    return out
