"""Fairness metrics on arrays, vectorised over a leading axis of trials (or bootstrap draws).

Every function takes ``pay`` and ``attainment`` shaped ``(T, R)`` — T trials, R reps — and
returns one figure per trial, ``(T,)``. A NaN attainment (or pay) means "not on the plan in
this trial" and the rep is left out of that trial. Temporal functions take ``(T, R, P)``
per-period arrays. Formulas, definition choices and caveats: ``docs/fairness.md``.

Pure numpy/scipy; no loops over reps or trials (loops run over bands, groups or the
``log2 R`` levels of a merge count only).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from .._ratio import ratio
from .gaps import GapFit, group_gaps

__all__ = [
    "BANDS",
    "GapFit",
    "band_dispersion",
    "band_labels",
    "cv",
    "gini",
    "group_gaps",
    "inversion_counts",
    "inversion_rate",
    "leverage",
    "luck_share",
    "rank_correlation",
    "rep_pay_cv",
    "share_at_quota",
    "temporal_band_cv",
    "theil",
]

F = NDArray[np.float64]
I64 = NDArray[np.int64]
BANDS: tuple[float, ...] = (0.0, 0.5, 0.8, 1.0, 1.2, np.inf)
"""Attainment band edges: [0, 50%), [50, 80%), [80, 100%), [100, 120%), [120%, ∞)."""


def band_labels(bands: Sequence[float] = BANDS) -> list[str]:
    """Labels of attainment bands, e.g. ``'80-100%'`` and ``'120%+'``.

    Examples
    --------
    >>> band_labels((0, 0.5, 1, float("inf")))
    ['0-50%', '50-100%', '100%+']
    """
    edges = [float(b) for b in bands]
    out = []
    for lo, hi in pairwise(edges):
        out.append(f"{lo * 100:g}%+" if np.isinf(hi) else f"{lo * 100:g}-{hi * 100:g}%")
    return out


def _2d(x: ArrayLike) -> F:
    a = np.asarray(x, dtype=float)
    return a[None, :] if a.ndim == 1 else a


def _valid(pay: F, attainment: F) -> NDArray[np.bool_]:
    return np.isfinite(pay) & np.isfinite(attainment)


# ------------------------------------------------------------------ inequality indices
def cv(x: ArrayLike) -> F:
    """Coefficient of variation σ/μ (population σ) along the last axis, NaN = missing.

    0 when all values are equal (zeros included); NaN with no value or a mean ≤ 0 otherwise.

    Examples
    --------
    >>> cv([[1.0, 3.0], [2.0, 2.0]])
    array([0.5, 0. ])
    """
    a = _2d(x)
    ok = np.isfinite(a)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(ok, a, 0.0).sum(axis=-1) / n
        sd = np.sqrt(np.where(ok, (a - mu[..., None]) ** 2, 0.0).sum(axis=-1) / n)
    out = ratio(sd, mu, np.nan)
    return np.where((n > 0) & (sd == 0), 0.0, np.where(n > 0, out, np.nan))


def gini(x: ArrayLike) -> F:
    """Gini coefficient ΣᵢΣⱼ|xᵢ−xⱼ| / (2n²μ) along the last axis, NaN = missing.

    Computed from the sorted values, ``2 Σ i·x₍ᵢ₎ / (n Σx) − (n+1)/n``. 0 when all values
    are equal; NaN with no value or a mean ≤ 0 otherwise.

    Examples
    --------
    >>> float(gini([0.0, 0.0, 0.0, 4.0])[0])  # 2·(3·4)... = 24 / (2·16·1)
    0.75
    """
    a = np.sort(_2d(x), axis=-1)  # NaN last
    n = np.isfinite(a).sum(axis=-1)
    i = np.arange(1, a.shape[-1] + 1)
    v = np.where(np.isfinite(a), a, 0.0)
    total = v.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2 * (i * v).sum(axis=-1) / (n * total) - (n + 1) / n
        g = np.where(total > 0, g, np.nan)
    same = np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=-1) == np.nanmin(
        np.where(np.isfinite(a), a, np.inf), axis=-1
    )
    return np.where((n > 0) & same, 0.0, np.where(n > 0, g, np.nan))


def theil(x: ArrayLike) -> F:
    """Theil T index (1/n) Σ (xᵢ/μ) ln(xᵢ/μ) along the last axis (0·ln 0 = 0), NaN = missing.

    Needs values ≥ 0: NaN when any value is negative, or the mean is 0 with unequal values.

    Examples
    --------
    >>> import math
    >>> round(float(theil([1.0, 3.0])[0]), 6) == round(0.5 * 1.5 * math.log(1.5)
    ...                                          + 0.5 * 0.5 * math.log(0.5), 6)
    True
    """
    a = _2d(x)
    ok = np.isfinite(a)
    n = ok.sum(axis=-1)
    v = np.where(ok, a, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = v.sum(axis=-1) / n
        r = v / mu[..., None]
        terms = np.where(ok & (r > 0), r * np.log(np.where(r > 0, r, 1.0)), 0.0)
        t = terms.sum(axis=-1) / n
    negative = (ok & (a < 0)).any(axis=-1)
    equal = cv(a) == 0
    out = np.where(equal, 0.0, np.where((mu > 0) & ~negative, t, np.nan))
    return np.where(n > 0, out, np.nan)


# ------------------------------------------------------------------ pay for performance
def rank_correlation(pay: ArrayLike, attainment: ArrayLike) -> F:
    """Spearman rank correlation of pay and attainment across reps, per trial.

    Average ranks for ties; NaN when fewer than 3 reps or pay (or attainment) is constant.

    Examples
    --------
    >>> rank_correlation([[1.0, 2.0, 3.0, 5.0]], [[0.2, 0.9, 1.0, 1.4]])
    array([1.])
    """
    p, a = _2d(pay), _2d(attainment)
    ok = _valid(p, a)
    rp = stats.rankdata(np.where(ok, p, np.nan), axis=-1, nan_policy="omit")
    ra = stats.rankdata(np.where(ok, a, np.nan), axis=-1, nan_policy="omit")
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dp = rp - np.nanmean(rp, axis=-1, keepdims=True)
        da = ra - np.nanmean(ra, axis=-1, keepdims=True)
        num = np.nansum(dp * da, axis=-1)
        den = np.sqrt(np.nansum(dp**2, axis=-1) * np.nansum(da**2, axis=-1))
    r = ratio(num, den, np.nan)
    return np.where(n >= 3, r, np.nan)


def _strict_inversions(seq: I64) -> I64:
    """Pairs i < j with seq[i] > seq[j] per row: a bottom-up merge count, O(n log² n).

    At each level, for every element of a right block the elements of its left block that
    are larger are counted with one ``searchsorted`` over all blocks of all rows (each block
    offset into its own key range), then the pairs of blocks are merged by sorting.
    """
    t, n = seq.shape
    size = 1 << max(0, (n - 1).bit_length())
    top = int(seq.max()) + 1 if seq.size else 1
    s = np.full((t, size), top, dtype=np.int64)
    s[:, :n] = seq
    counts = np.zeros(t, dtype=np.int64)
    w = 1
    while w < size:
        nb = size // (2 * w)
        blocks = s.reshape(t, nb, 2, w)
        block = np.arange(t * nb, dtype=np.int64).reshape(t, nb, 1)
        offset = block * (top + 1)
        keys = (blocks[:, :, 0, :] + offset).ravel()
        pos = np.searchsorted(keys, (blocks[:, :, 1, :] + offset).ravel(), side="right")
        at_most = pos.reshape(t, nb, w) - block * w
        counts += (w - at_most).sum(axis=(1, 2))
        s = np.sort(s.reshape(t, nb, 2 * w), axis=-1).reshape(t, size)
        w *= 2
    return counts


def inversion_counts(pay: ArrayLike, attainment: ArrayLike) -> tuple[I64, I64]:
    """Per trial: inverted pairs (a_i > a_j and pay_i < pay_j) and comparable pairs (a_i ≠ a_j).

    Reps are sorted by (attainment, pay); an inverted pair is then a strict inversion of the
    pay ranks in that order, counted by a merge count in O(R log² R) per trial. Pairs tied
    on attainment are not comparable; pairs tied on pay are comparable but not inverted.

    Examples
    --------
    >>> inversion_counts([[3.0, 1.0, 2.0]], [[0.5, 1.0, 1.5]])
    (array([2]), array([3]))
    """
    p, a = _2d(pay), _2d(attainment)
    ok = _valid(p, a)
    t, r = p.shape
    key_a = np.where(ok, a, np.inf)
    key_p = np.where(ok, p, np.inf)
    order = np.lexsort((key_p, key_a), axis=-1)
    ranks = stats.rankdata(key_p, method="dense", axis=-1).astype(np.int64)
    ranks = np.where(ok, ranks, r + 1)
    inverted = _strict_inversions(np.take_along_axis(ranks, order, axis=-1))
    sorted_a = np.take_along_axis(key_a, order, axis=-1)
    same = np.zeros((t, r), dtype=bool)
    same[:, 1:] = (sorted_a[:, 1:] == sorted_a[:, :-1]) & np.isfinite(sorted_a[:, 1:])
    idx = np.broadcast_to(np.arange(r), (t, r))
    start = np.maximum.accumulate(np.where(same, 0, idx), axis=-1)
    tied = (idx - start).sum(axis=-1)  # Σ over tie runs of g(g-1)/2
    m = ok.sum(axis=-1)
    return inverted, (m * (m - 1) // 2 - tied).astype(np.int64)


def inversion_rate(pay: ArrayLike, attainment: ArrayLike) -> F:
    """Share of comparable pairs in which the better performer is paid strictly less.

    See :func:`inversion_counts`; NaN when no pair is comparable.

    Examples
    --------
    >>> inversion_rate([[3.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[0.5, 1.0, 1.5]] * 2)
    array([0.66666667, 0.        ])
    """
    inv, pairs = inversion_counts(pay, attainment)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, inv / np.maximum(pairs, 1), np.nan)


# ------------------------------------------------------------------ horizontal dispersion
def band_dispersion(
    pay: ArrayLike, attainment: ArrayLike, bands: Sequence[float] = BANDS
) -> dict[str, F]:
    """CV, Gini and Theil of pay among reps in the same attainment band, averaged over bands
    weighted by the number of reps in each (bands with fewer than 2 reps are left out).

    Returns ``{"band_cv", "band_gini", "band_theil"}``, each ``(T,)``.

    Examples
    --------
    >>> out = band_dispersion([[1.0, 1.0, 2.0, 4.0]], [[0.1, 0.2, 0.9, 0.95]])
    >>> float(out["band_cv"][0]), float(round(out["band_gini"][0], 4))
    (0.1666..., 0.0833)
    """
    p, a = _2d(pay), _2d(attainment)
    ok = _valid(p, a)
    sums = {k: np.zeros(p.shape[0]) for k in ("band_cv", "band_gini", "band_theil")}
    weight = {k: np.zeros(p.shape[0]) for k in sums}
    edges = [float(b) for b in bands]
    for lo, hi in pairwise(edges):
        inside = ok & (a >= lo) & (a < hi)
        x = np.where(inside, p, np.nan)
        n = inside.sum(axis=-1).astype(float)
        use = n >= 2
        for name, fn in (("band_cv", cv), ("band_gini", gini), ("band_theil", theil)):
            value = fn(x)
            good = use & np.isfinite(value)
            sums[name] += np.where(good, value * n, 0.0)
            weight[name] += np.where(good, n, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {k: np.where(weight[k] > 0, sums[k] / weight[k], np.nan) for k in sums}


# ------------------------------------------------------------------ temporal consistency
def temporal_band_cv(pay: ArrayLike, attainment: ArrayLike, bands: Sequence[float] = BANDS) -> F:
    """Same attainment → same pay over time: for each rep and band, the CV of the rep's pay
    over the periods in which their attainment fell in that band; averaged weighted by the
    number of periods (rep-bands with fewer than 2 periods left out). Arrays ``(T, R, P)``.

    Examples
    --------
    >>> pay = [[[1.0, 1.0, 3.0, 5.0]]]        # one trial, one rep, four periods
    >>> att = [[[0.9, 0.9, 1.1, 1.1]]]
    >>> temporal_band_cv(pay, att)            # band 80-100%: CV 0; 100-120%: CV 0.25
    array([0.125])
    """
    p = np.asarray(pay, dtype=float)
    a = np.asarray(attainment, dtype=float)
    ok = np.isfinite(p) & np.isfinite(a)
    total = np.zeros(p.shape[0])
    weight = np.zeros(p.shape[0])
    edges = [float(b) for b in bands]
    for lo, hi in pairwise(edges):
        inside = ok & (a >= lo) & (a < hi)
        n = inside.sum(axis=-1).astype(float)  # (T, R)
        value = cv(np.where(inside, p, np.nan).reshape(-1, p.shape[-1])).reshape(n.shape)
        good = (n >= 2) & np.isfinite(value)
        total += np.where(good, value * n, 0.0).sum(axis=-1)
        weight += np.where(good, n, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def rep_pay_cv(pay: ArrayLike, valid: ArrayLike | None = None) -> F:
    """Per-rep CV of pay across periods, averaged over reps with at least 2 periods.
    ``pay`` is ``(T, R, P)``; NaN (or ``valid`` False) periods are left out.

    Examples
    --------
    >>> rep_pay_cv([[[1.0, 3.0], [2.0, 2.0], [5.0, np.nan]]])
    array([0.25])
    """
    p = np.asarray(pay, dtype=float)
    if valid is not None:
        p = np.where(np.asarray(valid, dtype=bool), p, np.nan)
    n = np.isfinite(p).sum(axis=-1)
    value = cv(p.reshape(-1, p.shape[-1])).reshape(n.shape)
    good = (n >= 2) & np.isfinite(value)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(good.any(axis=-1), np.where(good, value, 0).sum(-1) / good.sum(-1), np.nan)


# ------------------------------------------------------------------ luck, quota, leverage
def luck_share(pay: ArrayLike, luck: ArrayLike, *, log: bool = False) -> F:
    """R² of the cross-rep least-squares line of pay (or log pay) on luck, per trial.

    ``luck`` is the log-multiplier of each rep's year that the rep did not control (the
    scenario's market, team and territory shocks and noise). With ``log=True`` reps with
    pay ≤ 0 are left out. NaN when fewer than 3 reps or luck (or pay) does not vary across
    reps — a shock shared by everyone (a market factor) is invisible to a cross-rep
    regression.

    Examples
    --------
    >>> luck = np.array([[-0.2, 0.0, 0.1, 0.3]])
    >>> luck_share(100 * np.exp(luck), luck, log=True)
    array([1.])
    """
    y, x = _2d(pay), _2d(luck)
    ok = np.isfinite(y) & np.isfinite(x)
    if log:
        ok &= y > 0
        y = np.log(np.where(ok, y, 1.0))
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        my = np.where(ok, y, 0).sum(-1, keepdims=True) / n[:, None]
        mx = np.where(ok, x, 0).sum(-1, keepdims=True) / n[:, None]
        dy, dx = np.where(ok, y - my, 0.0), np.where(ok, x - mx, 0.0)
        sxy, sxx, syy = (dx * dy).sum(-1), (dx * dx).sum(-1), (dy * dy).sum(-1)
        r2 = np.where((sxx > 1e-15) & (syy > 0), sxy**2 / (sxx * syy), np.nan)
    return np.where(n >= 3, np.clip(r2, 0.0, 1.0), np.nan)


def share_at_quota(attainment: ArrayLike) -> F:
    """Share of reps (finite attainment) at or above 100% attainment, per trial.

    Examples
    --------
    >>> share_at_quota([[0.5, 1.0, 1.5, np.nan]])
    array([0.66666667])
    """
    a = _2d(attainment)
    ok = np.isfinite(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok.any(-1), (ok & (a >= 1)).sum(-1) / ok.sum(-1), np.nan)


def leverage(pay: ArrayLike, attainment: ArrayLike | None = None) -> F:
    """Top-decile pay ÷ median pay: the 90th percentile of pay over its median, per trial
    (reps with finite pay and, if given, finite attainment). NaN when the median is ≤ 0.

    Examples
    --------
    >>> leverage([np.arange(1.0, 12.0)])      # P90 = 10, median = 6
    array([1.66666667])
    """
    p = _2d(pay)
    if attainment is not None:
        p = np.where(np.isfinite(_2d(attainment)), p, np.nan)
    ok = np.asarray(np.isfinite(p).any(axis=-1), dtype=bool)
    filled = np.where(ok[:, None], p, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q90, q50 = np.nanquantile(filled, [0.9, 0.5], axis=-1)
        return np.where(ok & (q50 > 0), q90 / np.where(q50 > 0, q50, 1.0), np.nan)
