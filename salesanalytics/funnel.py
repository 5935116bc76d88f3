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

Sections: result display; events as arrays (shared with :mod:`.cohorts`); segments;
counting; :func:`stage_reach`; :func:`win_rate`.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .stats import rate_interval

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
Method = Literal["wilson", "jeffreys"]
POLICIES: tuple[Policy, ...] = ("implied", "observed", "strict")
PERIODS = {"month": 1, "quarter": 3, "year": 12}
MISSING = "(missing)"
"""Label of the segment of deals whose breakdown value is missing."""
LOST, OTHER = -1, -2  # event positions of the lost stage and of stages outside the model
NAT = np.iinfo(np.int64).min  # a missing timestamp as an integer

IntArray = NDArray[np.int64]


class Shown:
    """Display shared by the result objects: they all say which view they show."""

    table: pd.DataFrame
    view: str

    @property
    def caption(self) -> str:
        """One line saying what the table shows, starting with its view."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """Short title: the view and its main option."""
        return f"{self.view} view"

    def summary(self) -> pd.DataFrame:
        """The table rounded for display; the column axis is named after the view
        (``label``) and ``attrs["caption"]`` holds the full caption."""
        floats = self.table.select_dtypes("float").columns
        out = self.table.round(dict.fromkeys(floats, 4)).rename_axis(columns=self.label)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        rows = pd.get_option("display.max_rows")
        body = self.summary().to_html(escape=True, max_rows=rows)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


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


# ------------------------------------------------------------------ segments
def dense(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and the index of each value among them (``np.unique`` with
    ``return_inverse``, in linear time when the values span a small range)."""
    if len(values) and values.min() >= 0 and values.max() < 4 * len(values) + 1024:
        present = np.bincount(values) > 0
        return np.flatnonzero(present).astype(np.int64), (np.cumsum(present) - 1)[values]
    uniques, inverse = np.unique(values, return_inverse=True)
    return uniques.astype(np.int64), inverse.astype(np.int64)


@dataclass(frozen=True)
class Segments:
    """Segment of each deal: ``codes`` (row of ``labels``) and one label row per segment."""

    codes: IntArray
    labels: pd.DataFrame


def by_names(by: str | Sequence[str] | None, limit: int = 2) -> tuple[str, ...]:
    """Normalise ``by`` to a tuple of at most ``limit`` distinct names."""
    names = (by,) if isinstance(by, str) else tuple(by or ())
    if len(names) > limit or len(set(names)) != len(names):
        raise ValueError(f"by takes one or {limit} distinct column names, got {names}")
    return names


def micros(times: pd.Series) -> IntArray:
    """Timestamps as UTC microseconds (``NAT`` where missing)."""
    return np.asarray(times.dt.as_unit("us").array.asi8, dtype=np.int64)


def period_codes(
    at: IntArray, period: str, tz: str
) -> tuple[IntArray, list[str], pd.DatetimeIndex]:
    """Calendar period in zone ``tz`` of each time ``at`` (UTC microseconds, ``NAT`` if
    missing): codes (-1 if missing) into the periods present, their labels (``2024-01``,
    ``2024-Q1``, ``2024``) and their starts (local midnight, tz-aware).

    Period starts are found once, as local midnights (daylight-saving aware), and each
    time is placed among them by binary search.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")
    codes = np.full(len(at), -1, dtype=np.int64)
    valid = at != NAT
    t = at[valid]
    if not len(t):
        return codes, [], pd.DatetimeIndex([], tz=tz).as_unit("us")
    lo, hi = (pd.Timestamp(int(x), unit="us", tz="UTC").tz_convert(tz) for x in (t.min(), t.max()))
    step = PERIODS[period]
    first = pd.Timestamp(lo.year, (lo.month - 1) // step * step + 1, 1)
    naive = pd.date_range(first, hi.tz_localize(None), freq=f"{step}MS")
    bounds = naive.tz_localize(
        tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    ).as_unit("us")
    present, codes[valid] = dense(np.searchsorted(bounds.asi8, t, side="right") - 1)
    naive = naive[present]
    labels = {
        "month": [f"{d.year}-{d.month:02d}" for d in naive],
        "quarter": [f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in naive],
        "year": [str(d.year) for d in naive],
    }[period]
    return codes, labels, bounds[present]


def _column(dataset: Dataset, deals: pd.DataFrame, name: str) -> tuple[IntArray, list[str]]:
    """Codes and labels of one breakdown column (missing values coded -1)."""
    base, _, period = name.rpartition("_")
    column = f"{base}_at"
    if (
        period in PERIODS
        and column in deals.columns
        and pd.api.types.is_datetime64_any_dtype(deals[column])
    ):
        tz = dataset.provenance.timezone
        codes, labels, _ = period_codes(micros(deals[column]), period, tz)
        return codes, labels
    if name in deals.columns:
        if pd.api.types.is_datetime64_any_dtype(deals[name]):
            raise ValueError(
                f"{name!r} is a timestamp: break down by a period such as "
                f"{name.removesuffix('_at')}_month"
            )
        codes, uniques = pd.factorize(deals[name], sort=True)
        return codes.astype(np.int64), [str(u) for u in uniques]
    if name == "team":
        if not dataset.has("reps") or "team" not in dataset.reps.columns:
            raise ValueError("by='team' needs a reps table with rep_id and team columns")
        reps = dataset.reps
        team_of = dict(zip(reps["rep_id"], reps["team"], strict=True))
        owner, owners = pd.factorize(deals["owner_id"])
        team, teams = pd.factorize(pd.Series([team_of.get(o) for o in owners]), sort=True)
        codes = np.where(owner >= 0, np.r_[team, -1][owner], -1)
        return codes.astype(np.int64), [str(t) for t in teams]
    raise KeyError(
        f"cannot break down by {name!r}: use a deals column ({', '.join(deals.columns)}), "
        "'team', or a period of a timestamp such as 'created_month', 'created_quarter', "
        "'closed_year'"
    )


def segment(dataset: Dataset, by: Sequence[str]) -> Segments:
    """Segments of the deals for the breakdown ``by`` (segments present in the data only,
    ordered by value with ``"(missing)"`` last)."""
    deals = dataset.deals
    combined = np.zeros(len(deals), dtype=np.int64)
    levels: list[list[str]] = []
    for name in by:
        codes, labels = _column(dataset, deals, name)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(labels), codes)
            labels = [*labels, MISSING]
        combined = combined * max(len(labels), 1) + codes
        levels.append(labels)
    present, codes = dense(combined)
    frame = {}
    for name, labels in zip(reversed(by), reversed(levels), strict=True):
        frame[name] = pd.array(np.asarray(labels, dtype=object)[present % len(labels)], "str")
        present = present // len(labels)
    labels_frame = pd.DataFrame({n: frame[n] for n in by}, index=range(len(present)))
    if not by:
        labels_frame = pd.DataFrame(index=range(1))
        codes = np.zeros(len(deals), dtype=np.int64)
    return Segments(codes.astype(np.int64), labels_frame)


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


def rates(
    k: NDArray[Any], n: NDArray[Any], method: Method, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rate k/n (NaN where n = 0) with its interval."""
    low, high = rate_interval(k, n, method=method, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, np.asarray(k, dtype=float) / n, np.nan)
    return rate, low, high


def long_table(
    labels: pd.DataFrame, stages: Sequence[str], columns: dict[str, np.ndarray | pd.Index]
) -> pd.DataFrame:
    """Tidy frame: one row per segment × stage, indexed by the segment columns and stage.

    ``columns`` holds arrays shaped (segments, stages), or (segments,) repeated per stage.
    """
    g, s = len(labels), len(stages)
    keys, codes = [], []
    for c in labels.columns:  # levels in order of appearance: segments stay sorted
        code, level = pd.factorize(labels[c])
        keys.append(pd.Index(level, name=c))
        codes.append(np.repeat(code, s))
    keys.append(pd.Index(list(stages), dtype="str", name="stage"))
    codes.append(np.tile(np.arange(s), g))
    index = pd.MultiIndex(
        levels=keys,
        codes=cast(Any, codes),  # arrays are fine; the stubs ask for sequences
        names=[*labels.columns, "stage"],
        verify_integrity=False,
    )
    frame: dict[str, object] = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray):
            frame[name] = values.ravel() if values.ndim == 2 else np.repeat(values, s)
        else:  # a pandas array or index, such as tz-aware period starts
            frame[name] = values.repeat(s)
    return pd.DataFrame(frame, index=index if len(keys) > 1 else keys[0][codes[0]])


def check_options(policy: str, method: str, confidence: float) -> None:
    """Reject an unknown policy or interval method early, with the allowed values."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if method not in ("wilson", "jeffreys"):
        raise ValueError(f"method must be 'wilson' or 'jeffreys', got {method!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


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


# ------------------------------------------------------------------ win rate
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
    check_options("implied", method, confidence)
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
