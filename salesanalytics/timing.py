"""Time in stage and sales cycle as survival problems (open deals are right-censored at as-of).

* **Stay**: from entering an open stage to the deal's next stage entry. The last stay of a
  deal ends at ``closed_at`` when the deal closed without a terminal entry, else it is still
  running and is *censored* at the as-of moment. **Cumulative** time in a stage sums a deal's
  stays there (re-entries included); **latest** is its last stay. Both are censored when the
  deal is in that stage at as-of.
* **Sales cycle**: ``created_at`` → ``closed_at``. Won and lost are competing outcomes; open
  deals are censored at as-of. Time to close is a Kaplan–Meier curve, P(won by day t) and
  P(lost by day t) are Aalen–Johansen cumulative incidences.

Medians and quantiles come from the Kaplan–Meier curve, never from completed stays alone,
which would understate long stays. ``as_of`` can lie in the past: history after it is ignored.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .history import _deal_segments, _history, _segments
from .segments import micros, micros_at
from .survival import SurvivalCurve, aalen_johansen, kaplan_meier

__all__ = ["SalesCycleResult", "TimeInStageResult", "sales_cycle", "time_in_stage"]

DAY_US = 86_400_000_000
MEASURES = ("stay", "cumulative", "latest")
LATEST_CAVEAT = (
    "fidelity 'latest_per_stage': only the latest entry into each stage is known, so earlier "
    "visits and regressions are invisible; cumulative time equals the latest stay and a stay "
    "runs to the next recorded entry, which can overstate it."
)
F64 = NDArray[np.float64]


def _as_of(dataset: Dataset, as_of: object) -> tuple[pd.Timestamp, int]:
    ts = dataset.as_of if as_of is None else pd.Timestamp(as_of)  # type: ignore[arg-type]
    if ts is None or pd.isna(ts):
        raise ValueError("no as-of moment: pass as_of= (the dataset holds no timestamps)")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts, micros_at(ts)


def _grid(max_days: float, step: float, horizon: float | None) -> F64:
    top = max_days if horizon is None else min(max_days, horizon)
    return np.arange(0.0, np.floor(max(top, 0.0) / step) * step + step / 2, step)


def _group(code: NDArray[np.int64], n: int) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Order that groups ``code`` (0..n−1) together, and each group's bounds in it."""
    small = code.astype(np.int16 if n < 2**15 else np.int64)  # int16: O(n) radix sort
    order = np.argsort(small, kind="stable")
    return order, np.r_[0, np.cumsum(np.bincount(code, minlength=n))]


def _km_row(km: SurvivalCurve, days: F64, observed: NDArray[np.bool_]) -> dict[str, float]:
    med, low, high = km.median()
    done = days[observed]
    return {
        "n": len(days),
        "censored": int((~observed).sum()),
        "median_days": med,
        "median_low": low,
        "median_high": high,
        "p25_days": km.quantile(0.25)[0],
        "p75_days": km.quantile(0.75)[0],
        "mean_completed_days": float(done.mean()) if len(done) else float("nan"),
    }


@dataclass(frozen=True, eq=False)
class TimeInStageResult:
    """Time in each open stage, per deal and summarised with censoring-aware statistics.

    Attributes
    ----------
    table
        Per (segment, stage, measure) with measure ``stay`` (every stay), ``cumulative`` and
        ``latest`` (one per deal and stage): ``n``, ``censored``, Kaplan–Meier
        ``median_days`` with ``median_low``/``median_high``, ``p25_days``, ``p75_days`` and
        ``mean_completed_days`` (mean of uncensored values only — biased low; shown for
        comparison).
    per_deal
        Per (deal_id, stage): ``segment``, ``entries``, ``cumulative_days``, ``latest_days``,
        ``censored`` (the deal is in the stage at as-of).
    curves
        Kaplan–Meier survival (share still in the stage) on a day grid: segment, stage,
        measure, t_days, estimate, low, high.
    as_of, fidelity, caveats, confidence
        Censoring moment, history fidelity, caveats that apply, interval coverage.
    """

    table: pd.DataFrame
    per_deal: pd.DataFrame
    curves: pd.DataFrame
    as_of: pd.Timestamp
    fidelity: str
    caveats: tuple[str, ...]
    confidence: float
    view: str = "time_in_stage"
    censoring: str = "right-censored: a stay still running at as-of ends there, unobserved"

    def summary(self) -> pd.DataFrame:
        """The summary table, rounded for display."""
        return self.table.round(2)

    def _repr_html_(self) -> str:
        head = f"Time in stage (days; as of {self.as_of:%Y-%m-%d}; {self.censoring})"
        notes = "".join(f"<p><em>{html.escape(c)}</em></p>" for c in self.caveats)
        return f"<p><strong>{html.escape(head)}</strong></p>{notes}" + self.summary().to_html(
            escape=True, index=False
        )


def time_in_stage(
    dataset: Dataset,
    *,
    as_of: object = None,
    by: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    measures: Sequence[str] = MEASURES,
    step_days: float = 1.0,
    horizon_days: float | None = None,
) -> TimeInStageResult:
    """Cumulative and latest time per deal and open stage, with Kaplan–Meier summaries.

    Parameters
    ----------
    dataset
        A dataset with stage history.
    as_of
        Censoring moment (default: the dataset's ``as_of``); later history is ignored.
    by
        Deal column(s) to segment the summary by.
    confidence
        Coverage of the median intervals and curve bands.
    measures
        Which of ``"stay"``, ``"cumulative"``, ``"latest"`` to summarise (all by default).
    step_days, horizon_days
        Day grid of ``curves`` (up to the longest observed time, or ``horizon_days``).

    Returns
    -------
    TimeInStageResult

    Raises
    ------
    ValueError
        For a ``current_state`` dataset: without history, time in stage is unknowable.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> res = time_in_stage(sample.generate(300, seed=2))
    >>> res.table.loc[0, ["stage", "measure"]].tolist()
    ['lead', 'stay']
    >>> bool((res.table["censored"] <= res.table["n"]).all())
    True
    """
    dataset.require_history("time in stage")
    fidelity = dataset.provenance.fidelity
    caveats = (LATEST_CAVEAT,) if fidelity == "latest_per_stage" else ()
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise ValueError(f"unknown measure(s) {sorted(unknown)}; choose from {MEASURES}")
    ts, cut = _as_of(dataset, as_of)
    h = _history(dataset)
    k = len(dataset.stages.stages)
    keep = h.at <= cut
    deal, stage, at = h.deal[keep], h.stage[keep], h.at[keep]
    deals = dataset.deals
    nat = np.iinfo("int64").min
    closed = np.where(h.row >= 0, micros(deals["closed_at"])[h.row], nat)
    closed = np.where((closed > nat) & (closed <= cut), closed, -1)
    seg_code, labels = _deal_segments(h, deals, by)
    # --- stays: entry of an open stage -> next entry of the same deal
    nxt = np.r_[deal[1:] == deal[:-1], False]
    end = np.r_[at[1:], 0]
    deal_closed = closed[deal]
    ends_by_close = ~nxt & (deal_closed >= 0)
    end = np.where(nxt, end, np.where(ends_by_close, np.maximum(deal_closed, at), cut))
    observed = nxt | ends_by_close
    is_open = stage < k
    deal, stage, at, end, observed = (a[is_open] for a in (deal, stage, at, end, observed))
    days = (end - at) / DAY_US
    # --- per deal x stage: sum of stays, count, last stay
    key = deal * k + stage
    order = np.argsort(key, kind="stable")
    skey = key[order]
    first = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]]) if len(skey) else np.zeros(0, int)
    last = np.r_[first[1:], len(skey)] - 1
    cum = np.add.reduceat(days[order], first) if len(first) else np.zeros(0)
    latest = days[order][last]
    cens_pd = ~observed[order][last]
    pd_deal, pd_stage = skey[first] // k, skey[first] % k
    stage_names = list(dataset.stages.stages)
    per_deal = pd.DataFrame(
        {
            "deal_id": h.deal_ids.take(pd_deal),
            "stage": pd.Categorical.from_codes(pd_stage, categories=pd.Index(stage_names)),
            "segment": pd.Categorical.from_codes(seg_code[pd_deal], categories=pd.Index(labels)),
            "entries": np.diff(np.r_[first, len(skey)]),
            "cumulative_days": cum,
            "latest_days": latest,
            "censored": cens_pd,
        }
    )
    samples = {
        "stay": (seg_code[deal], stage, days, observed),
        "cumulative": (seg_code[pd_deal], pd_stage, cum, ~cens_pd),
        "latest": (seg_code[pd_deal], pd_stage, latest, ~cens_pd),
    }
    rows: list[tuple[int, dict[str, object]]] = []
    curves = []
    n_groups = len(labels) * k
    for mi, measure in enumerate(measures):
        sg, st, d, ob = samples[measure]
        order, bounds = _group(sg * k + st, n_groups)
        d, ob = d[order], ob[order]
        for i in range(n_groups):
            dm, om = d[bounds[i] : bounds[i + 1]], ob[bounds[i] : bounds[i + 1]]
            head = {"segment": labels[i // k], "stage": stage_names[i % k], "measure": measure}
            km = kaplan_meier(dm, om, confidence=confidence)
            rows.append((i * len(measures) + mi, {**head, **_km_row(km, dm, om)}))
            if len(dm):
                grid = _grid(float(dm.max()), step_days, horizon_days)
                est, lo, hi = km.at(grid)
                curves.append(pd.DataFrame({**head, "t_days": grid, "estimate": est,
                                            "low": lo, "high": hi}))  # fmt: skip
    table = pd.DataFrame([r for _, r in sorted(rows, key=lambda r: r[0])])
    cols = ["segment", "stage", "measure", "t_days", "estimate", "low", "high"]
    return TimeInStageResult(
        table=table,
        per_deal=per_deal,
        curves=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=cols),
        as_of=ts,
        fidelity=fidelity,
        caveats=caveats,
        confidence=confidence,
    )


@dataclass(frozen=True, eq=False)
class SalesCycleResult:
    """Sales cycle (created → closed) with open deals censored; won and lost compete.

    Attributes
    ----------
    table
        Per segment: ``deals``, ``won``, ``lost``, ``open`` (censored); Kaplan–Meier
        ``median_to_close`` with ``_low``/``_high``; ``median_to_win`` among deals that
        eventually win (censoring-aware, from the won incidence; no interval) beside
        ``median_to_win_closed_only`` (naive median of won deals, biased low);
        ``p_won_eventually`` (won incidence at the last time); ``p_won_by_<d>`` with bounds.
    curves
        Tidy curves on a day grid: segment, outcome (``closed`` = 1 − KM, ``won``, ``lost``
        = cumulative incidences), t_days, estimate, low, high, at_risk.
    as_of, days, confidence
        Censoring moment, milestone days, interval coverage.
    excluded
        Closed deals without ``closed_at`` (their cycle is unknown) and deals created
        after as-of, which are left out.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    as_of: pd.Timestamp
    days: tuple[int, ...]
    confidence: float
    excluded: int
    view: str = "sales_cycle"
    censoring: str = "right-censored: open deals at as-of; won vs lost are competing risks"

    def summary(self) -> pd.DataFrame:
        """The summary table, rounded for display."""
        return self.table.round(3)

    def _repr_html_(self) -> str:
        head = f"Sales cycle (days; as of {self.as_of:%Y-%m-%d}; {self.censoring})"
        return f"<p><strong>{html.escape(head)}</strong></p>" + self.summary().to_html(
            escape=True, index=False
        )


def sales_cycle(
    dataset: Dataset,
    *,
    by: str | Sequence[str] | None = None,
    as_of: object = None,
    days: Sequence[int] = (30, 60, 90, 180),
    confidence: float = 0.95,
    step_days: float = 1.0,
    horizon_days: float | None = None,
) -> SalesCycleResult:
    """Time from creation to close: Kaplan–Meier and won/lost cumulative incidence per segment.

    Parameters
    ----------
    dataset
        Any dataset (only the deals table is used).
    by
        Deal column(s) to segment by.
    as_of
        Censoring moment (default: the dataset's ``as_of``); deals closed later count as
        open, deals created later are left out.
    days
        Milestones for ``p_won_by_<d>``.
    confidence
        Coverage of intervals and bands.
    step_days, horizon_days
        Day grid of ``curves``.

    Returns
    -------
    SalesCycleResult

    Examples
    --------
    >>> from salesanalytics import sample
    >>> res = sales_cycle(sample.generate(300, seed=2))
    >>> t = res.table.iloc[0]
    >>> bool(0 <= t["p_won_by_90"] <= t["p_won_eventually"] <= 1)
    True
    >>> sorted(res.curves["outcome"].unique())
    ['closed', 'lost', 'won']
    """
    ts, cut = _as_of(dataset, as_of)
    deals = dataset.deals
    created, closed = micros(deals["created_at"]), micros(deals["closed_at"])
    won = deals["outcome"].eq("won").to_numpy()
    ended = won | deals["outcome"].eq("lost").to_numpy()
    nat = np.iinfo("int64").min
    is_closed = ended & (closed != nat) & (closed <= cut)
    use = (created <= cut) & ~(ended & (closed == nat))
    cause = np.where(is_closed, np.where(won, 1, 2), 0)
    dur = (np.where(is_closed, np.maximum(closed, created), cut) - created) / DAY_US
    seg_code, labels = _segments(deals, by)
    seg_code, cause, dur = seg_code[use], cause[use], dur[use]
    rows, curves = [], []
    for g, label in enumerate(labels):
        m = seg_code == g
        d, c = dur[m], cause[m]
        aj = aalen_johansen(d, c, causes=2, confidence=confidence)
        km = aj.overall  # Kaplan–Meier of time to close, from the same sort
        med = km.median()
        won_d = d[c == 1]
        row: dict[str, object] = {
            "segment": label,
            "deals": int(m.sum()),
            "won": int((c == 1).sum()),
            "lost": int((c == 2).sum()),
            "open": int((c == 0).sum()),
            "median_to_close": med[0],
            "median_to_close_low": med[1],
            "median_to_close_high": med[2],
            "median_to_win": aj.quantile(0.5, 1, conditional=True)[0],
            "median_to_win_closed_only": float(np.median(won_d)) if len(won_d) else np.nan,
            "p_won_eventually": float(aj.estimate[-1, 0]) if len(d) else np.nan,
        }
        for day in days:
            est, lo, hi = aj.at([float(day)], 1)
            reach = len(d) > 0 and d.max() >= day
            row[f"p_won_by_{day}"] = est[0] if reach else np.nan
            row[f"p_won_by_{day}_low"] = lo[0] if reach else np.nan
            row[f"p_won_by_{day}_high"] = hi[0] if reach else np.nan
        rows.append(row)
        if not len(d):
            continue
        grid = _grid(float(d.max()), step_days, horizon_days)
        at_risk = len(d) - np.searchsorted(np.sort(d), grid, side="right")
        s, s_lo, s_hi = km.at(grid)
        for name, (est, lo, hi) in (
            ("closed", (1.0 - s, 1.0 - s_hi, 1.0 - s_lo)),
            ("won", aj.at(grid, 1)),
            ("lost", aj.at(grid, 2)),
        ):
            curves.append(pd.DataFrame({"segment": label, "outcome": name, "t_days": grid,
                                        "estimate": est, "low": lo, "high": hi,
                                        "at_risk": at_risk}))  # fmt: skip
    cols = ["segment", "outcome", "t_days", "estimate", "low", "high", "at_risk"]
    return SalesCycleResult(
        table=pd.DataFrame(rows),
        curves=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=cols),
        as_of=ts,
        days=tuple(int(x) for x in days),
        confidence=confidence,
        excluded=int((~use).sum()),
    )
