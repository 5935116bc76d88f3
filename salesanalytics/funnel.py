"""Stage reach, conversion and win rate, overall or broken down by one or two segment columns.

Reach policies (how skipped stages count; see ``docs/metrics.md``):

* ``implied`` (default): a deal reached stage *s* if it entered *s* or any later stage —
  a skipped stage counts as passed. Won implies every open stage.
* ``observed``: only recorded entries count.
* ``strict``: only deals that started at the first stage and moved forward one stage at a
  time (backward moves and losses allowed) are counted, by their recorded entries.

Conversion *s → s+1* = deals that reached *s* and *s+1* ÷ deals that reached *s*, counting
distinct deals, never transitions; every rate has its n and a Wilson or Jeffreys interval.
This is the *cohort* view over all deals in the dataset: open deals count as not (yet)
converted, so the share still open is reported beside each stage. The win rate is
won ÷ (won + lost), by count and by value.

Breakdowns (``by``) name deals columns, ``team`` (owner → ``reps.team``) or a calendar
period of a deals timestamp, ``<name>_<month|quarter|year>`` for the column ``<name>_at``
(``created_quarter``, ``closed_month``), in the dataset's time zone. Missing values form the
segment ``"(missing)"``. The work is array code: one pass over the sorted events gives a bit
mask of the stages each deal reached; one ``bincount`` over segment × mask counts them.

Sections: events as arrays (shared with :mod:`.cohorts`); counting; :func:`stage_reach`.
Segments and the shared display live in :mod:`.segments`, the win rate in :mod:`.winrate`
(re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .segments import (
    MISSING,
    IntArray,
    Method,
    Shown,
    by_names,
    check_interval,
    dense,
    long_table,
    micros,
    rates,
    segment,
)
from .winrate import WinRateResult, win_rate

__all__ = [
    "MISSING",
    "FunnelResult",
    "Method",
    "Policy",
    "WinRateResult",
    "stage_reach",
    "win_rate",
]

Policy = Literal["implied", "observed", "strict"]
POLICIES: tuple[Policy, ...] = ("implied", "observed", "strict")
LOST, OTHER = -1, -2  # event positions of the lost stage and of stages outside the model


@dataclass(frozen=True, eq=False)
class FunnelResult(Shown):
    """Reach and conversion per segment and stage.

    Attributes
    ----------
    table
        Indexed by the segment columns of ``by`` (if any), then ``stage`` (open stages,
        then won). Columns: ``reached``, ``still_open`` (reached deals still open),
        ``step_n`` / ``step_conversion`` / ``step_low`` / ``step_high`` (from the previous
        stage), ``cumulative_n`` / ``cumulative_conversion`` / ``cumulative_low`` /
        ``cumulative_high`` (from the first stage) and ``small_n`` (a rate in the row
        rests on fewer than ``min_n`` deals).
    policy
        The reach policy used.
    view
        ``"cohort"``: all deals in the data, whatever their age.
    deals
        Deals counted (under ``strict``, those that qualify).
    by
        The breakdown columns.
    method, confidence, min_n
        Interval method and level; the n below which a rate is flagged.
    """

    table: pd.DataFrame
    policy: Policy
    view: str
    deals: int
    by: tuple[str, ...] = ()
    method: Method = "wilson"
    confidence: float = 0.95
    min_n: int = 30

    @property
    def label(self) -> str:
        """Short title: view and reach policy."""
        return f"{self.view} view, {self.policy} reach"

    @property
    def caption(self) -> str:
        """What the table shows: view, policy, deals and breakdown."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (
            f"Funnel ({self.view} view, {self.policy} reach){by}: {self.deals:,} deals, "
            f"{self.confidence:.0%} {self.method.capitalize()} intervals"
        )


# ------------------------------------------------------------------ events as arrays
@dataclass(frozen=True)
class Events:
    """Stage events as arrays, grouped by deal (one run per deal), by time within a run.

    ``pos`` is the funnel position of each event (open stages 0.., won last; ``LOST``,
    ``OTHER``), ``at`` its entry time in microseconds; run *r* covers events
    ``starts[r]`` up to the next start and belongs to row ``run_deal[r]`` of
    ``dataset.deals`` (events of deals missing from the deals table are dropped). Ties in
    time keep their order in the table (the loader orders them by file and line).
    """

    run_deal: IntArray
    starts: IntArray
    pos: NDArray[np.int8]
    at: IntArray

    @property
    def deal(self) -> IntArray:
        """Deal row of each event."""
        return np.repeat(self.run_deal, np.diff(np.r_[self.starts, len(self.pos)]))


def funnel_stages(dataset: Dataset) -> tuple[str, ...]:
    """Open stages of the dataset's model, then won."""
    return (*dataset.stages.stages, dataset.stages.won)


def stage_codes(dataset: Dataset, stages: pd.Series) -> NDArray[np.int8]:
    """Funnel position of each stage label (``LOST`` for lost, ``OTHER`` if unknown)."""
    funnel = funnel_stages(dataset)
    codes, uniques = pd.factorize(stages)
    lookup = {s: i for i, s in enumerate(funnel)} | {dataset.stages.lost: LOST}
    lut = np.array([lookup.get(u, OTHER) for u in uniques] + [OTHER], dtype=np.int8)
    return lut[codes]  # code -1 (missing) takes the trailing OTHER


def deal_events(dataset: Dataset) -> Events:
    """The stage events as :class:`Events`; sorts only when the table is out of order.

    Fast path (the loader's output when deals and events list deals in the same order):
    no hashing of ids. Otherwise the ids are matched by hashing, and the events are
    sorted only if a deal's entries are not together and in time order.
    """
    events, deals = dataset.stage_events, dataset.deals
    ids, deal_ids = events["deal_id"].array, deals["deal_id"].array
    n, d = len(ids), len(deal_ids)
    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = np.asarray(ids[1:] != ids[:-1], dtype=bool)
    run_ids = ids[first]
    starts = np.flatnonzero(first)
    pos = stage_codes(dataset, events["stage"])
    at = micros(events["entered_at"])
    in_time = bool((first[1:] | (np.diff(at) >= 0)).all())
    if len(run_ids) == d and bool(np.asarray(run_ids == deal_ids).all()):
        run_deal = np.arange(d, dtype=np.int64)  # grouped, in the deals' order
        if in_time:
            return Events(run_deal, starts, pos, at)
    else:
        both = pd.concat([deals["deal_id"], pd.Series(run_ids)], ignore_index=True)
        codes = pd.factorize(both)[0].astype(np.int64)
        if d and (codes[d - 1] != d - 1 or (codes[:d] < 0).any()):
            raise ValueError("deals.deal_id must be unique and present")
        run_deal = np.where(codes[d:] < d, codes[d:], -1)
    known = run_deal >= 0
    grouped = np.bincount(run_deal[known], minlength=1).max(initial=0) <= 1
    deal = np.repeat(run_deal, np.diff(np.r_[starts, n]))
    if grouped and in_time:  # the deals' order differs: no need to sort
        if known.all():
            return Events(run_deal, starts, pos, at)
        keep = deal >= 0
        sizes = np.diff(np.r_[starts, n])[known]
        return Events(run_deal[known], np.cumsum(np.r_[0, sizes])[:-1], pos[keep], at[keep])
    keep = deal >= 0
    order = np.lexsort((at[keep], deal[keep]))  # stable: ties keep their table order
    deal, pos, at = deal[keep][order], pos[keep][order], at[keep][order]
    starts = np.flatnonzero(np.r_[True, deal[1:] != deal[:-1]]) if len(deal) else deal
    return Events(deal[starts], starts, pos, at)


def reach_bits(dataset: Dataset, ev: Events, policy: Policy) -> tuple[IntArray, NDArray[np.bool_]]:
    """Per deal: a bit mask of the funnel stages reached under ``policy`` (bit *s* for
    stage *s*), and whether the deal is counted (``strict`` drops deals that skipped)."""
    n_deals, n_stages = len(dataset.deals), len(funnel_stages(dataset))
    if n_stages > 62:
        raise ValueError(f"at most 62 funnel stages are supported, the model has {n_stages}")
    small = np.int8 if n_stages < 8 else np.int16 if n_stages < 16 else np.int64
    bit = np.r_[0, 0, 1 << np.arange(n_stages)].astype(small)  # by pos + 2 (OTHER, LOST)
    bits = np.zeros(n_deals, dtype=np.int64)
    if len(ev.pos):
        bits[ev.run_deal] = np.bitwise_or.reduceat(bit[ev.pos + 2], ev.starts)
    if policy == "implied":
        for shift in (1, 2, 4, 8, 16, 32):  # set every bit below the highest one
            bits |= bits >> shift
        fallback = bits == 0
        deals = dataset.deals
        if fallback.any() and "stage" in deals.columns:  # no history: use the current stage
            best = stage_codes(dataset, deals["stage"][fallback]).astype(np.int64)
            bits[fallback] = (np.int64(1) << (np.maximum(best, -1) + 1)) - 1
        return bits, np.ones(n_deals, dtype=bool)
    if policy == "observed":
        return bits, np.ones(n_deals, dtype=bool)
    # strict: first entry at the first stage, never more than one step up from the last
    # open/won position (lost and unknown stages neither move nor break the chain)
    idx = np.arange(len(ev.pos))
    valid = ev.pos >= 0
    last = np.maximum.accumulate(np.where(valid, idx, -1))
    prev = np.r_[-1, last[:-1]] if len(idx) else last
    run_start = np.repeat(ev.starts, np.diff(np.r_[ev.starts, len(idx)]))
    jump = valid & (prev >= run_start) & (ev.pos - ev.pos[np.maximum(prev, 0)] > 1)
    jump[ev.starts] |= ev.pos[ev.starts] != 0
    counted = np.zeros(n_deals, dtype=bool)
    counted[ev.run_deal] = True
    counted[ev.deal[jump]] = False
    return bits, counted


# ------------------------------------------------------------------ counting
def reach_counts(
    bits: IntArray, is_open: NDArray[np.bool_], codes: IntArray, groups: int, stages: int
) -> dict[str, IntArray]:
    """Counts per segment (rows) and stage (columns) from one ``bincount`` over
    segment × (reach mask, open): ``reached``, ``still_open``, ``step_k`` (reached the
    stage and the one before), ``cumulative_k`` (reached the stage and the first one);
    per segment ``deals`` and ``open``."""
    kinds, pid = dense(bits * 2 + is_open)
    hist = np.bincount(codes * len(kinds) + pid, minlength=groups * len(kinds))
    hist = hist.reshape(groups, len(kinds))
    has = (kinds[:, None] >> (np.arange(stages) + 1)) & 1  # pattern × stage
    prev = np.c_[np.zeros(len(kinds), dtype=np.int64), has[:, :-1]]
    return {
        "reached": hist @ has,
        "still_open": hist @ (has * (kinds[:, None] & 1)),
        "step_k": hist @ (has & prev),
        "cumulative_k": hist @ (has & has[:, :1]),
        "deals": hist.sum(axis=1),
        "open": hist @ (kinds & 1),
    }


def check_options(policy: str, method: str, confidence: float) -> None:
    """Reject an unknown policy or interval method early, with the allowed values."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    check_interval(method, confidence)


def stage_reach(
    dataset: Dataset,
    policy: Policy = "implied",
    *,
    by: str | Sequence[str] | None = None,
    method: Method = "wilson",
    confidence: float = 0.95,
    min_n: int = 30,
) -> FunnelResult:
    """Reach and step/cumulative conversion per stage, optionally per segment.

    Deals without stage history (current-state exports) count by their current stage,
    under ``implied`` only.

    Parameters
    ----------
    dataset
        The data.
    policy
        ``"implied"``, ``"observed"`` or ``"strict"`` (see the module docstring).
    by
        One or two breakdown columns: a deals column (``lead_source``, ``region``,
        ``owner_id``, an extra column, ...), ``"team"`` (needs ``reps``) or a period of a
        deals timestamp such as ``"created_month"``, ``"created_quarter"``,
        ``"created_year"`` (calendar periods in ``dataset.provenance.timezone``).
        Missing values form the segment ``"(missing)"``.
    method, confidence
        Interval method (``"wilson"`` or ``"jeffreys"``) and coverage.
    min_n
        Rates resting on fewer deals are flagged in ``small_n``.

    Returns
    -------
    FunnelResult
        ``view="cohort"``; the table is tidy (``result.table.reset_index()``).

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-01", tz="UTC")
    >>> ev = pd.DataFrame({"deal_id": ["a", "a", "b", "b", "c"],
    ...                    "stage": ["lead", "proposal", "lead", "lost", "lead"],
    ...                    "entered_at": [t, t + pd.Timedelta("1D"), t, t + pd.Timedelta("2D"), t]})
    >>> deals = pd.DataFrame({"deal_id": ["a", "b", "c"], "created_at": [t] * 3,
    ...                       "outcome": ["open", "lost", "open"], "amount": [1.0] * 3,
    ...                       "owner_id": ["r"] * 3, "region": ["East", "East", None]})
    >>> ds = sa.Dataset({"deals": deals, "stage_events": ev})
    >>> stage_reach(ds).table["reached"].tolist()
    [3, 1, 1, 0, 0]
    >>> stage_reach(ds, "observed").table["reached"].tolist()
    [3, 0, 1, 0, 0]
    >>> r = stage_reach(ds, by="region").table
    >>> row = r.loc[("East", "contacted")]
    >>> int(row["reached"]), int(row["step_n"]), float(row["step_conversion"])
    (1, 2, 0.5)
    >>> r.xs("lead", level="stage")["reached"].to_dict()
    {'East': 2, '(missing)': 1}
    """
    check_options(policy, method, confidence)
    names = by_names(by)
    stages = funnel_stages(dataset)
    bits, counted = reach_bits(dataset, deal_events(dataset), policy)
    seg = segment(dataset, names)
    is_open = dataset.deals["outcome"].eq("open").to_numpy(dtype=bool, na_value=False)
    c = reach_counts(
        bits[counted], is_open[counted], seg.codes[counted], len(seg.labels), len(stages)
    )
    reached = c["reached"]
    step_n = np.c_[np.zeros(len(reached), dtype=np.int64), reached[:, :-1]]
    cum_n = np.repeat(reached[:, :1], len(stages), axis=1)
    step, step_low, step_high = rates(c["step_k"], step_n, method, confidence)
    cum, cum_low, cum_high = rates(c["cumulative_k"], cum_n, method, confidence)
    small = (cum_n < min_n) | ((step_n < min_n) & (np.arange(len(stages)) > 0))
    table = long_table(
        seg.labels,
        stages,
        {
            "reached": reached,
            "still_open": c["still_open"],
            "step_n": step_n,
            "step_conversion": step,
            "step_low": step_low,
            "step_high": step_high,
            "cumulative_n": cum_n,
            "cumulative_conversion": cum,
            "cumulative_low": cum_low,
            "cumulative_high": cum_high,
            "small_n": small,
        },
    )
    return FunnelResult(
        table=table,
        policy=policy,
        view="cohort",
        deals=int(counted.sum()),
        by=names,
        method=method,
        confidence=confidence,
        min_n=min_n,
    )
