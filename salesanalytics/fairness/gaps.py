"""Pay gaps between groups of reps at equal performance, per trial (batched least squares).

Re-exported by :mod:`.metrics`; formulas and caveats in ``docs/fairness.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["TENURE_BANDS", "GapFit", "group_gaps", "with_tenure"]

F = NDArray[np.float64]
I64 = NDArray[np.int64]


def _2d(x: ArrayLike) -> F:
    a = np.asarray(x, dtype=float)
    return a[None, :] if a.ndim == 1 else a


@dataclass(frozen=True)
class GapFit:
    """Pay gaps of groups against a reference group after controlling for performance.

    Attributes
    ----------
    estimate, se
        ``(T, G)`` coefficient of each group's dummy (log points with ``log=True``; NaN for
        the reference group and groups absent from a trial) and its standard error.
    df
        ``(T,)`` residual degrees of freedom.
    n
        ``(T, G)`` reps of each group in the regression.
    log
        Whether the response was log pay (then ``expm1(estimate)`` is the relative gap).
    """

    estimate: F
    se: F
    df: F
    n: I64
    log: bool

    def interval(self, confidence: float = 0.95) -> tuple[F, F]:
        """t-based interval of each estimate (``estimate ± t·se``), in the response's units."""
        q = stats.t.ppf(0.5 + confidence / 2, np.maximum(self.df, 1))[:, None]
        low, high = self.estimate - q * self.se, self.estimate + q * self.se
        return np.where(self.df[:, None] > 0, low, np.nan), np.where(
            self.df[:, None] > 0, high, np.nan
        )


def group_gaps(
    pay: ArrayLike,
    attainment: ArrayLike,
    codes: ArrayLike,
    *,
    groups: int | None = None,
    reference: int = 0,
    knots: Sequence[float] = (0.5, 0.8, 1.0, 1.2),
    log: bool = True,
) -> GapFit:
    """Regress pay on performance and group dummies across reps, per trial.

    The model is ``y = b0 + b1·a + Σₖ cₖ·max(a − kₖ, 0) + Σ_g d_g·[group = g] + e``, with
    ``y = log pay`` (``log=True``; reps with pay ≤ 0 are left out) or pay, ``a``
    attainment (a linear spline with ``knots``) and one dummy per group other than
    ``reference``. ``d_g`` is group g's gap against the reference at equal attainment.
    Solved by batched least squares (pseudo-inverse, so empty knots or groups do not fail).

    Parameters
    ----------
    pay, attainment
        ``(T, R)``.
    codes
        ``(R,)`` or ``(T, R)`` integer group of each rep, ``-1`` missing (left out).
    groups
        Number of groups (default ``max(codes) + 1``).
    reference
        Code of the reference group.

    Examples
    --------
    >>> a = np.array([[0.5, 1.0, 1.5, 0.5, 1.0, 1.5]])
    >>> fit = group_gaps(np.exp(a) * [1, 1, 1, 0.9, 0.9, 0.9], a, [0, 0, 0, 1, 1, 1],
    ...                  knots=())
    >>> float(np.round(np.expm1(fit.estimate[0, 1]), 6))
    -0.1
    """
    p, a = _2d(pay), _2d(attainment)
    t, r = p.shape
    c = np.broadcast_to(np.asarray(codes, dtype=np.int64), (t, r))
    g = int(c.max()) + 1 if groups is None else int(groups)
    ok = np.isfinite(p) & np.isfinite(a) & (c >= 0)
    if log:
        ok &= p > 0
    y = np.log(np.where(ok, p, 1.0)) if log else np.where(ok, p, 0.0)
    a0 = np.where(ok, a, 0.0)
    others = [k for k in range(g) if k != reference]
    cols = [np.ones((t, r)), a0, *(np.maximum(a0 - k, 0.0) for k in knots)]
    cols += [(c == k).astype(float) for k in others]
    x = np.stack(cols, axis=-1) * ok[..., None]
    y = np.where(ok, y, 0.0)
    xtx = np.einsum("trk,trl->tkl", x, x)
    inv = np.linalg.pinv(xtx, hermitian=True)
    beta = np.einsum("tkl,tl->tk", inv, np.einsum("trk,tr->tk", x, y))
    resid = np.where(ok, y - np.einsum("trk,tk->tr", x, beta), 0.0)
    rank = np.linalg.matrix_rank(xtx, hermitian=True)
    df = (ok.sum(-1) - rank).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(df > 0, (resid**2).sum(-1) / df, np.nan)
    se_all = np.sqrt(np.maximum(np.einsum("tkk->tk", inv), 0.0) * s2[:, None])
    n = np.stack([(ok & (c == k)).sum(-1) for k in range(g)], axis=-1).astype(np.int64)
    estimate = np.full((t, g), np.nan)
    se = np.full((t, g), np.nan)
    first = len(cols) - len(others)
    for j, k in enumerate(others):
        present = (n[:, k] > 0) & (n[:, reference] > 0)
        estimate[:, k] = np.where(present, beta[:, first + j], np.nan)
        se[:, k] = np.where(present, se_all[:, first + j], np.nan)
    return GapFit(estimate, se, df, n, log)


TENURE_BANDS = ((0.0, "under 1 year"), (1.0, "1-3 years"), (3.0, "3 years or more"))
"""Tenure groups (years since hire at the as-of moment) for pay gaps by tenure."""


def with_tenure(reps: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``reps`` with a ``tenure`` column: the tenure band of each rep at ``as_of`` (missing
    without a hire date), so ``"tenure"`` can be given as a group like any rep attribute.

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"],
    ...                      "hire_date": pd.to_datetime(["2024-06-01", "2019-01-01"], utc=True)})
    >>> with_tenure(reps, pd.Timestamp("2025-01-01", tz="UTC"))["tenure"].tolist()
    ['under 1 year', '3 years or more']
    """
    if "tenure" in reps.columns or "hire_date" not in reps.columns:
        return reps
    years = (pd.Timestamp(as_of) - reps["hire_date"]).dt.days.to_numpy(dtype=float) / 365.25
    labels = np.full(len(reps), None, dtype=object)
    for low, label in TENURE_BANDS:
        labels[years >= low] = label
    return reps.assign(tenure=labels)
