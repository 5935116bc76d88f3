"""Win rate won ÷ (won + lost), by count and by value, overall or per segment.

This is the *cohort* view: every deal in the data by its final outcome; open deals are
left out of the rates and counted beside them. The value win rate has a deterministic
ratio-estimator interval or a deal-level bootstrap one. Breakdowns (``by``) are those of
:mod:`.segments`. Also importable from :mod:`.funnel`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .segments import IntArray, Method, Shown, by_names, check_interval, rates, segment
from .stats import rate_interval

__all__ = ["WinRateResult", "value_interval_bootstrap", "value_interval_ratio", "win_rate"]


@dataclass(frozen=True, eq=False)
class WinRateResult(Shown):
    """Win rate by count and by value, per segment.

    Attributes
    ----------
    table
        Indexed by the segment columns of ``by`` (one row ``"all"`` without ``by``).
        Columns: ``won``, ``lost``, ``open``, ``closed`` (= won + lost, the n),
        ``win_rate`` / ``win_rate_low`` / ``win_rate_high``; ``value_n`` (closed deals
        with an amount), ``value_excluded`` (closed deals without one), ``won_amount``,
        ``closed_amount``, ``value_win_rate`` / ``value_low`` / ``value_high``; and
        ``small_n`` (fewer than ``min_n`` closed deals).
    overall
        The same figures over all deals.
    view
        ``"cohort"``: every deal in the data by its final outcome; open deals are left
        out of the rates and counted in ``open``.
    value_interval
        ``"ratio"`` or ``"bootstrap"`` (see :func:`win_rate`).
    """

    table: pd.DataFrame
    overall: pd.Series
    view: str
    by: tuple[str, ...] = ()
    method: Method = "wilson"
    value_interval: str = "ratio"
    confidence: float = 0.95
    min_n: int = 30

    @property
    def caption(self) -> str:
        """What the table shows: view, breakdown and interval methods."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (
            f"Win rate ({self.view} view){by}: {int(self.overall['closed']):,} closed deals; "
            f"{self.confidence:.0%} {self.method.capitalize()} (count) and "
            f"{self.value_interval} (value) intervals"
        )


def value_interval_ratio(
    won_sq: NDArray[np.float64],
    lost_sq: NDArray[np.float64],
    won_amount: NDArray[np.float64],
    closed_amount: NDArray[np.float64],
    n: NDArray[np.int64],
    method: Method,
    confidence: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interval of a value win rate R = Σ won amount / Σ closed amount per segment.

    The linearised (ratio-estimator) variance is V = Σ aᵢ²(wᵢ − R)² / (Σ aᵢ)², with aᵢ
    the amount and wᵢ = 1 for won deals; it is reported as a ``method`` interval at the
    effective sample size n_eff = R(1 − R)/V, capped at n (at R = 0 or 1, Kish's
    (Σ aᵢ)²/Σ aᵢ²). With equal amounts, n_eff = n and the interval is the count one.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        r = won_amount / closed_amount
        var = ((1 - r) ** 2 * won_sq + r**2 * lost_sq) / closed_amount**2
        kish = closed_amount**2 / (won_sq + lost_sq)
        n_eff = np.where((var > 0) & (r > 0) & (r < 1), r * (1 - r) / var, kish)
        n_eff = np.where(closed_amount > 0, np.minimum(n_eff, n), 0.0)
    return rate_interval(np.nan_to_num(r) * n_eff, n_eff, method=method, confidence=confidence)


def value_interval_bootstrap(
    codes: IntArray,
    amount: NDArray[np.float64],
    won: NDArray[np.bool_],
    groups: int,
    n_boot: int,
    seed: int | np.random.Generator | None,
    confidence: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile interval of the value win rate from a deal-level bootstrap within each
    segment (closed deals with an amount, resampled with replacement, ``n_boot`` times)."""
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    c, x = codes[order], amount[order]
    y = np.where(won[order], x, 0.0)
    size = np.bincount(c, minlength=groups)
    base = (np.cumsum(size) - size)[c]
    ratios = np.empty((n_boot, groups))
    chunk = max(1, 2**22 // max(len(c), 1))
    for b in range(0, n_boot, chunk):
        k = min(chunk, n_boot - b)
        pick = base + (rng.random((k, len(c))) * size[c]).astype(np.int64)
        rep = (c + groups * np.arange(k)[:, None]).ravel()
        ys = np.bincount(rep, weights=y[pick].ravel(), minlength=k * groups)
        xs = np.bincount(rep, weights=x[pick].ravel(), minlength=k * groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios[b : b + k] = (ys / xs).reshape(k, groups)
    alpha = 1 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN segments
        low, high = np.nanquantile(ratios, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


def _win_table(
    dataset: Dataset,
    names: tuple[str, ...],
    method: Method,
    confidence: float,
    value_interval: str,
    n_boot: int,
    seed: int | np.random.Generator | None,
    min_n: int,
) -> pd.DataFrame:
    deals = dataset.deals
    seg = segment(dataset, names)
    g, codes = len(seg.labels), seg.codes
    outcome = deals["outcome"]
    won = outcome.eq("won").to_numpy(dtype=bool, na_value=False)
    lost = outcome.eq("lost").to_numpy(dtype=bool, na_value=False)
    amount = deals["amount"].to_numpy(dtype=np.float64, na_value=np.nan)
    has = ~np.isnan(amount) & (won | lost)
    a = np.where(has, amount, 0.0)

    def count(mask: NDArray[np.bool_], weights: NDArray[np.float64] | None = None) -> NDArray:
        w = None if weights is None else weights[mask]
        return np.bincount(codes[mask], weights=w, minlength=g)

    n_won, n_lost = count(won), count(lost)
    closed = n_won + n_lost
    rate, low, high = rates(n_won, closed, method, confidence)
    won_amount, lost_amount = count(won & has, a), count(lost & has, a)
    closed_amount = won_amount + lost_amount
    if value_interval == "ratio":
        won_sq, lost_sq = count(won & has, a * a), count(lost & has, a * a)
        v_low, v_high = value_interval_ratio(
            won_sq, lost_sq, won_amount, closed_amount, count(has), method, confidence
        )
    else:
        v_low, v_high = value_interval_bootstrap(
            codes[has], amount[has], won[has], g, n_boot, seed, confidence
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        value_rate = np.where(closed_amount > 0, won_amount / closed_amount, np.nan)
    columns = {
        "won": n_won,
        "lost": n_lost,
        "open": count(~(won | lost)),
        "closed": closed,
        "win_rate": rate,
        "win_rate_low": low,
        "win_rate_high": high,
        "value_n": count(has),
        "value_excluded": count((won | lost) & ~has),
        "won_amount": won_amount,
        "closed_amount": closed_amount,
        "value_win_rate": value_rate,
        "value_low": v_low,
        "value_high": v_high,
        "small_n": closed < min_n,
    }
    index = (
        pd.MultiIndex.from_frame(seg.labels)
        if len(names) > 1
        else pd.Index(seg.labels[names[0]], name=names[0])
        if names
        else pd.Index(["all"], name="segment")
    )
    return pd.DataFrame(columns, index=index)


def win_rate(
    dataset: Dataset,
    *,
    by: str | Sequence[str] | None = None,
    method: Method = "wilson",
    confidence: float = 0.95,
    value_interval: Literal["ratio", "bootstrap"] = "ratio",
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    min_n: int = 30,
) -> WinRateResult:
    """Win rate won ÷ (won + lost), by count and by value, overall or per segment.

    The value win rate is Σ amount of won deals ÷ Σ amount of won and lost deals; closed
    deals without an amount are left out of it and counted in ``value_excluded``. Amounts
    are added as they are: convert currencies first.

    Parameters
    ----------
    dataset
        The data.
    by
        One or two breakdown columns, as in :func:`stage_reach`.
    method, confidence
        Interval method of the count rate (``"wilson"`` or ``"jeffreys"``), also used at
        the effective sample size by the ``"ratio"`` value interval; coverage.
    value_interval
        ``"ratio"`` (default; deterministic): the ratio estimator's linearised variance,
        shown as a ``method`` interval at the effective sample size, see
        :func:`value_interval_ratio`. ``"bootstrap"``: percentile interval of a deal-level
        bootstrap within each segment (cost grows with ``n_boot`` × closed deals).
    n_boot, seed
        Bootstrap replicates and random seed (``"bootstrap"`` only).
    min_n
        Segments with fewer closed deals are flagged in ``small_n``.

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-01", tz="UTC")
    >>> deals = pd.DataFrame({"deal_id": list("abcde"), "created_at": [t] * 5,
    ...     "outcome": ["won", "lost", "lost", "won", "open"],
    ...     "amount": [300.0, 100.0, None, 50.0, 10.0], "owner_id": ["r"] * 5,
    ...     "region": ["N", "N", "S", "S", "S"]})
    >>> ds = sa.Dataset({"deals": deals, "stage_events": pd.DataFrame(
    ...     {"deal_id": [], "stage": [], "entered_at": []})})
    >>> r = win_rate(ds)
    >>> float(r.overall["win_rate"]), float(r.overall["value_win_rate"])
    (0.5, 0.7777777777777778)
    >>> int(r.overall["value_excluded"])
    1
    >>> win_rate(ds, by="region").table[["closed", "win_rate", "value_win_rate"]]
            closed  win_rate  value_win_rate
    region
    N            2       0.5            0.75
    S            2       0.5            1.00
    """
    check_interval(method, confidence)
    if value_interval not in ("ratio", "bootstrap"):
        raise ValueError(f"value_interval must be 'ratio' or 'bootstrap', got {value_interval!r}")
    names = by_names(by)
    rng = np.random.default_rng(seed)  # one stream for the segments and the overall row
    args = (method, confidence, value_interval, n_boot, rng, min_n)
    table = _win_table(dataset, names, *args)
    overall = _win_table(dataset, (), *args).iloc[0] if names else table.iloc[0]
    return WinRateResult(
        table=table,
        overall=overall,
        view="cohort",
        by=names,
        method=method,
        value_interval=value_interval,
        confidence=confidence,
        min_n=min_n,
    )
