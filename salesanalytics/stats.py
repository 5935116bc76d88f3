"""Small-sample statistics shared by the analyses: intervals for rates and counts.

Wald intervals (p ± z·se) cover badly for small n or rates near 0 or 1; Brown, Cai &
DasGupta (Statistical Science 16(2), 2001) recommend Wilson or the equal-tailed Jeffreys
interval, which is what every rate in this package carries.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

__all__ = ["poisson_interval", "rate_interval"]

Method = Literal["wilson", "jeffreys"]


def rate_interval(
    successes: ArrayLike, trials: ArrayLike, *, method: Method = "wilson", confidence: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Confidence interval for binomial rates, vectorised; NaN where ``trials == 0``.

    Parameters
    ----------
    successes, trials
        Counts (broadcastable arrays).
    method
        ``"wilson"`` (score interval) or ``"jeffreys"`` (equal-tailed Beta(k+1/2, n-k+1/2)
        quantiles, with the bound set to 0 or 1 when k = 0 or k = n).
    confidence
        Two-sided coverage.

    Returns
    -------
    (low, high)
        Arrays of the bounds.

    Examples
    --------
    >>> low, high = rate_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    >>> low, high = rate_interval([0, 0], [10, 0], method="jeffreys")
    >>> float(low[0]), bool(np.isnan(high[1]))
    (0.0, True)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("successes must lie between 0 and trials")
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = stats.norm.ppf(1.0 - alpha / 2.0)
            p = k / n
            denom = 1.0 + z * z / n
            centre = (p + z * z / (2.0 * n)) / denom
            half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
            # the bounds are exactly 0 at k = 0 and 1 at k = n; avoid rounding residue
            low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
            high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
        elif method == "jeffreys":
            low = np.where(k > 0, special.betaincinv(k + 0.5, n - k + 0.5, alpha / 2.0), 0.0)
            high = np.where(k < n, special.betaincinv(k + 0.5, n - k + 0.5, 1.0 - alpha / 2.0), 1.0)
        else:
            raise ValueError(f"method must be 'wilson' or 'jeffreys', got {method!r}")
    empty = n == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def poisson_interval(
    count: ArrayLike, exposure: ArrayLike, confidence: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact (Garwood) interval of a Poisson rate ``count / exposure``; NaN where exposure ≤ 0.

    Examples
    --------
    >>> low, high = poisson_interval(4, 2.0)
    >>> round(float(low), 4), round(float(high), 4)
    (0.545, 5.1208)
    """
    k = np.asarray(count, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, stats.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0) / e
        high = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2 / e
    bad = ~(e > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)
