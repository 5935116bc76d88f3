"""The open pipeline over time: as-of snapshots, period waterfalls, velocity and coverage.

Everything is rebuilt from stage history (definitions in ``docs/metrics.md``). Each deal
becomes a short *timeline*: created open (in the stage of its first recorded entry), then
every stage entry sets its state — an open stage, won or lost. A deal is open at *t* when
it was created at or before *t* and its latest entry at or before *t* is an open stage,
which honours backward moves and reopens. Deals without history fall back to
``created_at`` (open at their current stage, or an unknown one once closed) and
``closed_at`` (their outcome). Entries dated before ``created_at`` count at
``created_at``; entries after the dataset's as-of instant are ignored.

Periods are half-open ``[start, end)``: the pipeline *at the start of a period* is its state
before anything in the period happened, so an entry stamped at midnight of the 1st
(date-only exports) belongs to the new period. Values are summed in whole cents, exactly
(below 9×10¹³ currency units), so waterfalls balance in value as well as in count. Each
state row covers a range of snapshot instants found with ``searchsorted`` and summed with
difference arrays: no loop over deals.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .dataset import Dataset
from .stats import rate_interval

__all__ = [
    "Coverage",
    "PipelineSnapshot",
    "Velocity",
    "Waterfall",
    "pipeline_as_of",
    "pipeline_coverage",
    "pipeline_over_time",
    "velocity",
    "waterfall",
]

Period = Literal["month", "quarter", "year"]
_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
UNKNOWN, ABSENT, WON, LOST = -1, -2, 1_000, 1_001
_END = np.iinfo(np.int64).max
_NAT = np.iinfo(np.int64).min
DAY_US = 86_400_000_000
MISSING = "(missing)"
UNKNOWN_STAGE = "(unknown)"


# ---------------------------------------------------------------------- engine
def _us(values: pd.Series | pd.Index | Sequence[object], tz: str = "UTC") -> np.ndarray:
    """UTC microseconds since the epoch (NaT -> int64 min); naive input is read in ``tz``."""
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Index(values)))
    idx = (idx.tz_localize(tz) if idx.tz is None else idx).tz_convert("UTC").as_unit("us")
    return np.asarray(idx.asi8, dtype=np.int64)


def _ts(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(us, unit="us", utc=True)).as_unit("us")


@dataclass(frozen=True)
class Timeline:
    """Per deal, each state it entered: rows sorted by deal, then time; no repeated state.

    ``state`` is an open-stage position, ``UNKNOWN`` (open, stage unknown), ``WON`` or
    ``LOST``; ``prev`` the state before (``ABSENT`` on the creation row); ``t_next`` the
    time of the deal's next row (int64 max after the last); ``cents`` the deal amount in
    whole cents per deal (0 when missing), ``created`` its creation time per deal.
    """

    deal: np.ndarray
    t: np.ndarray
    state: np.ndarray
    prev: np.ndarray
    t_next: np.ndarray
    cents: np.ndarray
    no_amount: np.ndarray
    created: np.ndarray
    as_of: int

    def is_open(self) -> np.ndarray:
        return self.state < WON

    def cover(
        self,
        times: np.ndarray,
        rows: np.ndarray,
        *,
        inclusive: bool,
        until: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index range ``[lo, hi)`` of sorted ``times`` at which each of ``rows`` holds.

        Inclusive: ``t <= T < t_next``; exclusive (state just before T): ``t < T <= t_next``.
        """
        side: Literal["left", "right"] = "left" if inclusive else "right"
        end = self.t_next[rows] if until is None else np.minimum(self.t_next[rows], until)
        return np.searchsorted(times, self.t[rows], side), np.searchsorted(times, end, side)


def _stage_codes(stages: pd.Series, dataset: Dataset) -> np.ndarray:
    model = dataset.stages
    codes = {s: i for i, s in enumerate(model.stages)} | {model.won: WON, model.lost: LOST}
    idx, uniques = pd.factorize(stages)
    lookup = np.array([codes.get(str(u), np.nan) for u in uniques] + [np.nan], dtype="float64")
    return lookup[idx]  # idx -1 (missing) picks the trailing NaN


def _sorted(deal: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Order by deal, then time, keeping the recorded order of ties (a no-op when sorted)."""
    step = np.diff(deal)
    if np.all((step > 0) | ((step == 0) & (np.diff(t) >= 0))):
        return np.arange(len(deal))
    return np.lexsort((t, deal))


def _deal_rows(deal_ids: pd.Series, event_ids: pd.Series) -> np.ndarray:
    """Row in the deals table of each event's deal (-1 if none).

    Fast path: when the history lists deals in the deals table's order (one run per deal),
    runs map to rows without hashing the ids. Otherwise the ids are factorised together.
    """
    n, e = len(deal_ids), len(event_ids)
    ids = event_ids.reset_index(drop=True)
    if e and n:
        same = ids.iloc[1:].reset_index(drop=True).eq(ids.iloc[:-1].reset_index(drop=True))
        heads = np.flatnonzero(np.r_[True, ~same.to_numpy(dtype=bool, na_value=False)])
        if len(heads) == n:
            first = ids.iloc[heads].reset_index(drop=True)
            if first.eq(deal_ids.reset_index(drop=True)).to_numpy(dtype=bool, na_value=False).all():
                return np.repeat(np.arange(n), np.diff(np.r_[heads, e]))
    codes, _ = pd.factorize(pd.concat([deal_ids, event_ids], ignore_index=True))
    if not np.array_equal(codes[:n], np.arange(n)):
        raise ValueError("deal_id must be unique in the deals table")
    return np.where(codes[n:] < n, codes[n:], -1)


def timeline(dataset: Dataset) -> Timeline:
    """The state rows of every deal in ``dataset`` (see the module docstring)."""
    deals, ev = dataset.deals, dataset.stage_events
    n = len(deals)
    created = _us(deals["created_at"])
    d_ev = _deal_rows(deals["deal_id"], ev["deal_id"])
    s_ev, t_ev = _stage_codes(ev["stage"], dataset), _us(ev["entered_at"])
    ok = (d_ev >= 0) & ~np.isnan(s_ev) & (t_ev != _NAT)
    d_ev, s_ev, t_ev = d_ev[ok], s_ev[ok].astype(np.int64), t_ev[ok]
    t_ev = np.maximum(t_ev, created[d_ev])
    order = _sorted(d_ev, t_ev)
    d_ev, s_ev, t_ev = d_ev[order], s_ev[order], t_ev[order]
    first = np.r_[True, d_ev[1:] != d_ev[:-1]] if len(d_ev) else np.zeros(0, bool)
    start = np.full(n, UNKNOWN, dtype=np.int64)
    start[d_ev[first]] = np.where(s_ev[first] < WON, s_ev[first], UNKNOWN)
    # deals without history: open at their current stage, then their outcome at closed_at
    no_hist = np.ones(n, bool)
    no_hist[d_ev] = False
    is_open = deals["outcome"].eq("open").to_numpy(dtype=bool, na_value=False)
    current = _stage_codes(deals["stage"], dataset)
    open_now = no_hist & is_open & (current < WON)
    start[open_now] = current[open_now]
    closed = np.flatnonzero(no_hist & ~is_open)
    won = deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False)[closed]
    t_close = _us(deals["closed_at"])[closed]
    t_close = np.maximum(np.where(t_close == _NAT, created[closed], t_close), created[closed])
    deal = np.concatenate([np.arange(n), d_ev, closed])
    order = np.argsort(deal, kind="stable")  # three sorted runs: a merge
    deal = deal[order]
    t = np.concatenate([created, t_ev, t_close])[order]
    state = np.concatenate([start, s_ev, np.where(won, WON, LOST)])[order]
    as_of = _END if dataset.as_of is None else int(_us([dataset.as_of])[0])
    keep = (t <= as_of) & (created[deal] != _NAT)  # a deal without creation time is left out
    if not keep.all():
        deal, t, state = deal[keep], t[keep], state[keep]
    first = np.r_[True, deal[1:] != deal[:-1]] if len(deal) else np.zeros(0, bool)
    prev = np.r_[ABSENT, state[:-1]] if len(deal) else state.copy()
    prev[first] = ABSENT
    change = state != prev  # a repeated state changes nothing
    deal, t, state, prev = deal[change], t[change], state[change], prev[change]
    last = np.r_[deal[1:] != deal[:-1], True] if len(deal) else np.zeros(0, bool)
    t_next = np.r_[t[1:], _END] if len(deal) else t.copy()
    t_next[last] = _END
    amount = deals["amount"].to_numpy(dtype="float64", na_value=np.nan)
    cents = np.rint(np.nan_to_num(amount, nan=0.0) * 100.0)
    return Timeline(deal, t, state, prev, t_next, cents, np.isnan(amount), created, as_of)


def accumulate(
    key: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    n_keys: int,
    m: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum ``weights`` of rows over their index ranges ``[lo, hi)``: an ``(n_keys, m)`` array."""
    width = m + 1
    size = n_keys * width
    diff = np.bincount(key * width + lo, weights, minlength=size) - np.bincount(
        key * width + hi, weights, minlength=size
    )
    return np.cumsum(diff.reshape(n_keys, width), axis=1)[:, :m]


def count(key: np.ndarray, n_keys: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(key, weights, minlength=n_keys).astype("float64")


def periods(period: Period, first: pd.Timestamp, last: pd.Timestamp, tz: str) -> pd.DataFrame:
    """Calendar periods of zone ``tz`` from the one holding ``first`` through ``last``'s.

    Columns: ``period`` (label ``2024-01``, ``2024-Q1`` or ``2024``), ``period_start`` and
    ``period_end`` (exclusive), as UTC instants of the local midnights.
    """
    if period not in _FREQ:
        raise ValueError(f"period must be one of {list(_FREQ)}, got {period!r}")
    code = _FREQ[period]
    p0, p1 = (x.tz_convert(tz).tz_localize(None).to_period(code) for x in (first, last))
    span = pd.period_range(p0, p1, freq=code)

    def utc(p: pd.PeriodIndex) -> pd.DatetimeIndex:
        local = pd.DatetimeIndex(p.start_time).tz_localize(tz, nonexistent="shift_forward")
        return local.tz_convert("UTC").as_unit("us")

    labels = span.astype(str)
    if period == "quarter":
        labels = labels.str.replace("Q", "-Q")
    return pd.DataFrame({"period": labels, "period_start": utc(span), "period_end": utc(span + 1)})


def deal_labels(dataset: Dataset, by: str | None, deals: pd.DataFrame) -> pd.Series:
    """The group of each deal: a deals column, else a reps attribute of the owner."""
    if by is None:
        return pd.Series("all", index=deals.index, dtype="str")
    if by in deals.columns:
        s = deals[by]
    elif dataset.has("reps") and by in dataset.reps.columns:
        reps = dataset.reps.drop_duplicates("rep_id").set_index("rep_id")[by]
        s = deals["owner_id"].map(reps)
    else:
        raise KeyError(f"{by!r} is neither a deals column nor a reps attribute")
    return s.astype("str").fillna(MISSING)


def _groups(labels: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(labels, sort=True)
    return codes.astype(np.int64), pd.Index(uniques, dtype="str")


def _grid(
    frame: pd.DataFrame, groups: pd.Index, by: str | None, **cols: np.ndarray
) -> pd.DataFrame:
    """Tidy rows period x group from ``frame`` (one row per period) and ``(groups, m)`` arrays."""
    k, m = len(groups), len(frame)
    out = frame.iloc[np.repeat(np.arange(m), k)].reset_index(drop=True)
    if by is not None:
        out[by] = np.tile(groups.to_numpy(), m)
    for name, arr in cols.items():
        out[name] = np.asarray(arr).T.ravel()
    return out


def _span(dataset: Dataset, period: Period, tl: Timeline) -> tuple[pd.DataFrame, np.ndarray]:
    """Periods from the first deal's to as-of, and their ``m + 1`` bounds in µs.

    The last period ends at as-of, inclusive (its bound is as-of + 1 µs); ``measured_at``
    is each period's end, or as-of for the last one.
    """
    created = tl.created[tl.created != _NAT]
    if len(created) == 0 or dataset.as_of is None:
        raise ValueError("the dataset has no deals")
    first = _ts(created[[created.argmin()]])[0]
    last = dataset.as_of - pd.Timedelta(microseconds=1)
    frame = periods(period, first, last, dataset.provenance.timezone)
    ends = _us(frame["period_end"])
    bounds = np.r_[_us(frame["period_start"]), tl.as_of + 1]
    frame["partial"] = ends > tl.as_of + 1
    frame["measured_at"] = _ts(np.minimum(ends, tl.as_of))
    return frame, bounds


def _is_open(state: np.ndarray) -> np.ndarray:
    return (state >= UNKNOWN) & (state < WON)


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class _Result:
    table: pd.DataFrame
    view: str
    by: str | None

    def summary(self) -> pd.DataFrame:
        """The table, rounded for display."""
        return self.table.round(dict.fromkeys(self.table.select_dtypes("float").columns, 4))

    def _repr_html_(self) -> str:
        caption = html.escape(f"{type(self).__name__} ({self.view}; by {self.by or 'nothing'})")
        body = self.summary().to_html(escape=True, max_rows=60)
        return f"<p><strong>{caption}</strong></p>{body}"


@dataclass(frozen=True, eq=False)
class PipelineSnapshot(_Result):
    """The open pipeline at one or more instants.

    Attributes
    ----------
    table
        One row per instant (``when``), group and open stage: ``count``, ``value`` (sum of
        amounts) and ``no_amount`` (open deals without an amount). ``(unknown)`` is the
        stage of deals whose open stage is not recorded.
    view
        ``"as_of"`` (state after everything at or before ``when``) or ``"period_start"``
        (state before anything in the period happened).
    deals
        One row per open deal and instant (``when``, ``deal_id``, ``stage``, ``amount``),
        or ``None`` when not asked for.
    """

    deals: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Open deals per stage (columns) and total value, per instant and group."""
        keys = [c for c in ("when", "period", self.by) if c is not None and c in self.table]
        wide = self.table.pivot_table(
            index=keys, columns="stage", values="count", aggfunc="sum", sort=False
        )
        totals = self.table.groupby(keys, sort=False)[["count", "value"]].sum()
        return wide.join(totals.rename(columns={"count": "total", "value": "total_value"}))


@dataclass(frozen=True, eq=False)
class Waterfall(_Result):
    """Period waterfall of the open pipeline, with its balance check.

    Attributes
    ----------
    table
        One row per period (and group): ``opening``, ``created``, ``reopened``, ``won``,
        ``lost``, ``closing`` (each as ``*_count`` and ``*_value``), stage moves within the
        pipeline (``advanced_*``, ``moved_back_*``; they do not change its size),
        ``balanced`` (opening + created + reopened − won − lost = closing, exactly, in count
        and value) and ``partial`` (the period runs past the as-of instant).
    view
        ``"waterfall"``.
    """

    def long(self) -> pd.DataFrame:
        """Tidy steps for a waterfall chart: ``step``, signed ``count`` and ``value``."""
        keys = ["period", "period_start"] + ([self.by] if self.by else [])
        steps = {"opening": 1, "created": 1, "reopened": 1, "won": -1, "lost": -1, "closing": 1}
        parts = [
            self.table[keys].assign(
                step=step,
                count=sign * self.table[f"{step}_count"],
                value=sign * self.table[f"{step}_value"],
            )
            for step, sign in steps.items()
        ]
        return pd.concat(parts, ignore_index=True)

    @property
    def balanced(self) -> bool:
        """Whether every period balances."""
        return bool(self.table["balanced"].all())


@dataclass(frozen=True, eq=False)
class Velocity(_Result):
    """Sales velocity per period and group, with its components.

    Attributes
    ----------
    table
        ``open_deals`` (open at the period end), ``won``/``lost`` (deals whose latest close
        fell in the trailing window), ``win_rate`` with Wilson ``win_low``/``win_high``,
        ``avg_won_amount``, ``median_cycle_days`` (created → won, among those won deals),
        ``velocity_per_day`` = open_deals × win_rate × avg_won_amount ÷ median_cycle_days.
    view
        ``"velocity"``; ``window_days`` says how long the trailing window is.
    """

    window_days: float = 365.0


@dataclass(frozen=True, eq=False)
class Coverage(_Result):
    """Pipeline coverage per period and group.

    Attributes
    ----------
    table
        ``measured_at``, ``quota``, ``bookings`` (won so far in the period),
        ``remaining_quota``, ``open_deals``/``open_value`` (all open), ``in_period_deals``/
        ``in_period_value`` (open, excluding deals expected to close after the period),
        ``coverage`` = in_period_value ÷ remaining_quota, and ``status``: ``"ok"``,
        ``"quota_met"`` (nothing remains; coverage NaN) or ``"no_quota"``.
    view
        ``"coverage"``; ``uses_expected_close`` says whether expected close dates filtered.
    """

    uses_expected_close: bool = False


# ---------------------------------------------------------------------- snapshots
def _snapshot(
    dataset: Dataset,
    tl: Timeline,
    times: np.ndarray,
    by: str | None,
    *,
    inclusive: bool,
    with_deals: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    deals = dataset.deals
    labels = deal_labels(dataset, by, deals)
    codes, groups = _groups(labels)
    names = np.array([*dataset.stages.stages, UNKNOWN_STAGE], dtype=object)
    s = len(names)
    rows = np.flatnonzero(tl.is_open())
    lo, hi = tl.cover(times, rows, inclusive=inclusive)
    stage = np.where(tl.state[rows] == UNKNOWN, s - 1, tl.state[rows])
    d = tl.deal[rows]
    key, n_keys, m = codes[d] * s + stage, len(groups) * s, len(times)
    sums = {
        "count": accumulate(key, lo, hi, n_keys, m),
        "value": accumulate(key, lo, hi, n_keys, m, tl.cents[d]) / 100.0,
        "no_amount": accumulate(key, lo, hi, n_keys, m, tl.no_amount[d].astype("float64")),
    }
    table = pd.DataFrame({"when": _ts(np.repeat(times, n_keys))})
    if by is not None:
        table[by] = np.tile(np.repeat(groups.to_numpy(), s), m)
    table["stage"] = np.tile(names, len(groups) * m)
    for name, arr in sums.items():
        table[name] = arr.T.ravel() if name == "value" else arr.T.ravel().astype("int64")
    unknown = table["stage"] == UNKNOWN_STAGE
    if not table.loc[unknown, "count"].any():
        table = table[~unknown].reset_index(drop=True)
    if not with_deals:
        return table, None
    reps = hi - lo
    take = reps > 0
    row_of = np.repeat(np.flatnonzero(take), reps[take])
    within = np.arange(len(row_of)) - np.repeat(np.cumsum(reps[take]) - reps[take], reps[take])
    at = lo[row_of] + within
    di = d[row_of]
    detail = pd.DataFrame(
        {
            "when": _ts(times[at]),
            "deal_id": deals["deal_id"].to_numpy()[di],
            "stage": names[stage[row_of]],
            "amount": deals["amount"].to_numpy()[di],
            "owner_id": deals["owner_id"].to_numpy()[di],
        }
    )
    if by is not None:
        detail[by] = labels.to_numpy()[di]
    order = np.lexsort((di, at))
    return table, detail.iloc[order].reset_index(drop=True)


def pipeline_as_of(
    dataset: Dataset,
    when: object,
    *,
    by: str | None = None,
    inclusive: bool = True,
    deals: bool = True,
) -> PipelineSnapshot:
    """The open pipeline as it stood at one or many past instants.

    Parameters
    ----------
    dataset
        The data.
    when
        One instant or a sequence of instants (naive ones are read in the dataset's time
        zone). Instants after as-of show the as-of pipeline: later history is ignored.
    by
        Optional deals column or reps attribute (``"team"``) to break the summary down by.
    inclusive
        Count events stamped exactly at ``when`` (default) or only those before it.
    deals
        Also return the open deals themselves (one row per deal and instant).

    Returns
    -------
    PipelineSnapshot

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(300, seed=2)
    >>> snap = pipeline_as_of(ds, ["2025-01-01", "2025-07-01"])
    >>> sorted(snap.table.columns)
    ['count', 'no_amount', 'stage', 'value', 'when']
    >>> int(snap.table["count"].sum()) == len(snap.deals)
    True
    """
    many = Sequence | pd.Index | pd.Series | np.ndarray
    scalar = isinstance(when, str) or not isinstance(when, many)
    values = [when] if scalar else list(when)  # type: ignore[call-overload]
    times = np.unique(_us(values, dataset.provenance.timezone))
    table, detail = _snapshot(
        dataset, timeline(dataset), times, by, inclusive=inclusive, with_deals=deals
    )
    return PipelineSnapshot(table, "as_of" if inclusive else "period_start", by, detail)


def pipeline_over_time(
    dataset: Dataset, period: Period = "month", *, by: str | None = None
) -> PipelineSnapshot:
    """The open pipeline at the start of every period, from the first deal to as-of.

    The snapshot of a period is its state before anything in the period happened: the
    ``opening`` of :func:`waterfall` and the previous period's ``closing``.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(300, seed=2)
    >>> over = pipeline_over_time(ds, "quarter")
    >>> over.view, over.table.columns[:3].tolist()
    ('period_start', ['period', 'when', 'stage'])
    """
    tl = timeline(dataset)
    frame, bounds = _span(dataset, period, tl)
    table, _ = _snapshot(dataset, tl, bounds[:-1], by, inclusive=False, with_deals=False)
    labels = dict(zip(bounds[:-1], frame["period"], strict=True))
    table.insert(0, "period", pd.Series(_us(table["when"])).map(labels).to_numpy())
    return PipelineSnapshot(table, "period_start", by, None)


# ---------------------------------------------------------------------- waterfall
def waterfall(dataset: Dataset, period: Period = "month", *, by: str | None = None) -> Waterfall:
    """Opening pipeline, created, reopened, won, lost and closing pipeline per period.

    Counts are deals; values are sums of amounts (one amount per deal, so value balances
    by construction; deals without an amount add 0). ``created`` counts every deal created
    in the period, even one closed at once; a deal closed, reopened and closed again in
    one period counts once in each flow it made. Stage moves inside the pipeline are
    reported beside the balance as ``advanced`` / ``moved_back`` (moves, not deals).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(300, seed=2)
    >>> wf = waterfall(ds, "quarter")
    >>> wf.balanced
    True
    >>> t = wf.table
    >>> bool((t["opening_count"] + t["created_count"] + t["reopened_count"]
    ...       - t["won_count"] - t["lost_count"] == t["closing_count"]).all())
    True
    """
    tl = timeline(dataset)
    frame, bounds = _span(dataset, period, tl)
    codes, groups = _groups(deal_labels(dataset, by, dataset.deals))
    m, k = len(frame), len(groups)
    rows = np.flatnonzero(tl.is_open())
    lo, hi = tl.cover(bounds, rows, inclusive=False)
    g = codes[tl.deal[rows]]
    level_n = accumulate(g, lo, hi, k, m + 1)
    level_v = accumulate(g, lo, hi, k, m + 1, tl.cents[tl.deal[rows]])
    prev, state = tl.prev, tl.state
    known = (prev >= 0) & (prev < WON) & (state >= 0) & (state < WON)
    flows = {
        "created": prev == ABSENT,
        "reopened": (prev >= WON) & _is_open(state),
        "won": _is_open(prev) & (state == WON),
        "lost": _is_open(prev) & (state == LOST),
        "advanced": known & (state > prev),
        "moved_back": known & (state < prev),
    }
    key = codes[tl.deal] * m + np.searchsorted(bounds, tl.t, "right") - 1
    cols: dict[str, np.ndarray] = {
        "opening_count": level_n[:, :m],
        "opening_value": level_v[:, :m],
    }
    for name, mask in flows.items():
        cols[f"{name}_count"] = count(key[mask], k * m).reshape(k, m)
        cols[f"{name}_value"] = count(key[mask], k * m, tl.cents[tl.deal[mask]]).reshape(k, m)
    cols["closing_count"], cols["closing_value"] = level_n[:, 1:], level_v[:, 1:]
    ok = np.ones((k, m), bool)
    for unit in ("count", "value"):
        c = cols
        net = c[f"opening_{unit}"] + c[f"created_{unit}"] + c[f"reopened_{unit}"]
        ok &= net - c[f"won_{unit}"] - c[f"lost_{unit}"] == c[f"closing_{unit}"]
    out = {n: (a.astype("int64") if n.endswith("count") else a / 100.0) for n, a in cols.items()}
    table = _grid(frame, groups, by, **out, balanced=ok)
    return Waterfall(table, "waterfall", by)


# ---------------------------------------------------------------------- velocity, coverage
def velocity(
    dataset: Dataset, period: Period = "quarter", *, by: str | None = "team", window: str = "365D"
) -> Velocity:
    """Sales velocity per period and group: open × win rate × avg won amount ÷ median cycle.

    Measured at each period end (at as-of for the current period). ``open_deals`` are
    open then; the other components come from deals whose latest close (as known then)
    fell in the trailing ``window``: win rate by count with a Wilson interval, the mean
    amount of the won ones (those with an amount) and their median days from creation to
    win. The median is among won deals, not censoring-aware: open deals carry no win time.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(400, seed=2)
    >>> v = velocity(ds, "quarter", by=None)
    >>> row = v.table.iloc[-1]
    >>> bool(abs(row["open_deals"] * row["win_rate"] * row["avg_won_amount"]
    ...          / row["median_cycle_days"] - row["velocity_per_day"]) < 1e-6)
    True
    """
    width = int(pd.Timedelta(window) / pd.Timedelta(microseconds=1))
    tl = timeline(dataset)
    frame, bounds = _span(dataset, period, tl)
    ends = bounds[1:]
    codes, groups = _groups(deal_labels(dataset, by, dataset.deals))
    m, k = len(frame), len(groups)
    rows = np.flatnonzero(tl.is_open())
    lo, hi = tl.cover(ends, rows, inclusive=False)
    open_n = accumulate(codes[tl.deal[rows]], lo, hi, k, m)
    sums = {}
    for name, st in (("won", WON), ("lost", LOST)):
        rows = np.flatnonzero(tl.state == st)
        lo, hi = tl.cover(ends, rows, inclusive=False, until=tl.t[rows] + width)
        d = tl.deal[rows]
        sums[name] = accumulate(codes[d], lo, hi, k, m)
        if name == "won":
            has = ~tl.no_amount[d]
            sums["priced"] = accumulate(codes[d], lo, hi, k, m, has.astype("float64"))
            sums["cents"] = accumulate(codes[d], lo, hi, k, m, tl.cents[d])
            reps = hi - lo
            row_of = np.repeat(np.arange(len(rows)), reps)
            at = lo[row_of] + np.arange(len(row_of)) - np.repeat(np.cumsum(reps) - reps, reps)
            cycle = (tl.t[rows] - tl.created[d])[row_of] / DAY_US
            med = pd.Series(cycle).groupby(codes[d][row_of] * m + at).median()
            sums["cycle"] = med.reindex(np.arange(k * m)).to_numpy().reshape(k, m)
    won, closed = sums["won"], sums["won"] + sums["lost"]
    low, high = rate_interval(won, closed)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(closed > 0, won / closed, np.nan)
        avg = np.where(sums["priced"] > 0, sums["cents"] / 100.0 / sums["priced"], np.nan)
        cycle = np.where(sums["cycle"] > 0, sums["cycle"], np.nan)
        speed = open_n * rate * avg / cycle
    table = _grid(
        frame, groups, by,
        open_deals=open_n.astype("int64"), won=won.astype("int64"),
        lost=sums["lost"].astype("int64"), win_rate=rate, win_low=low, win_high=high,
        avg_won_amount=avg, median_cycle_days=sums["cycle"], velocity_per_day=speed,
    )  # fmt: skip
    return Velocity(table, "velocity", by, width / DAY_US)


def _quota(dataset: Dataset, by: str | None, frame: pd.DataFrame) -> pd.DataFrame:
    """Quota per group and period; quota periods spanning several periods are prorated."""
    q = dataset.quotas
    starts, ends = _us(frame["period_start"]), _us(frame["period_end"])
    qs, qe = _us(q["period_start"]), _us(q["period_end"])
    first = np.searchsorted(starts, qs, "right") - 1
    last = np.searchsorted(starts, qe - 1, "right") - 1
    n = np.maximum(last - first + 1, 0)
    row = np.repeat(np.arange(len(q)), n)
    p = first[row] + np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n)
    keep = (p >= 0) & (p < len(frame))
    row, p = row[keep], p[keep]
    overlap = np.minimum(qe[row], ends[p]) - np.maximum(qs[row], starts[p])
    share = overlap / np.maximum(qe[row] - qs[row], 1)
    label = _rep_labels(dataset, by, q["rep_id"].iloc[row])
    quota = q["quota"].to_numpy(dtype="float64")[row] * share
    return pd.DataFrame({"label": label.to_numpy(), "p": p, "quota": quota})


def _rep_labels(dataset: Dataset, by: str | None, rep_ids: pd.Series) -> pd.Series:
    """The group of each rep: ``all``, the rep itself, or a reps attribute."""
    if by is None:
        return pd.Series("all", index=rep_ids.index, dtype="str")
    if by in ("owner_id", "rep_id"):
        return rep_ids.astype("str").fillna(MISSING)
    attr = dataset.reps.drop_duplicates("rep_id").set_index("rep_id")[by]
    return rep_ids.map(attr).astype("str").fillna(MISSING)


def pipeline_coverage(
    dataset: Dataset,
    period: Period = "quarter",
    *,
    by: str | None = "team",
    offset: str | pd.Timedelta = "0D",
) -> Coverage:
    """Open pipeline ÷ remaining quota per period and group (team by default).

    Measured ``offset`` into each period (default: at its start; the current period at
    as-of if sooner). Pipeline = deals open then, without those whose ``expected_close_at``
    falls after the period (when the data have it; it is the CRM's *current* expectation,
    so past periods use today's value where known). Remaining quota = the period's quota
    (summed over the group's reps, prorated for partial overlap) − won value so far in the
    period. ``by`` is a reps attribute of the deal owner (or ``"owner_id"``): quotas
    belong to reps.

    Raises
    ------
    ValueError
        If the dataset has no quotas, or ``by`` needs a reps table it lacks.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(400, seed=2)
    >>> cov = pipeline_coverage(ds, "quarter", by="team", offset="30D")
    >>> set(cov.table["status"]) <= {"ok", "quota_met", "no_quota"}
    True
    >>> ok = cov.table[cov.table["status"] == "ok"]
    >>> bool((ok["coverage"] == ok["in_period_value"] / ok["remaining_quota"]).all())
    True
    """
    if not dataset.has("quotas") or dataset.quotas.empty:
        raise ValueError("pipeline coverage needs a quotas table (quota per rep and period)")
    rep_by = by not in (None, "owner_id", "rep_id")
    if rep_by and (not dataset.has("reps") or by not in dataset.reps.columns):
        raise ValueError(f"pipeline coverage by {by!r} needs a reps table with that column")
    tl = timeline(dataset)
    deals = dataset.deals
    frame, bounds = _span(dataset, period, tl)
    starts, ends = bounds[:-1], _us(frame["period_end"])
    shift = int(pd.Timedelta(offset) / pd.Timedelta(microseconds=1))
    at = np.minimum(np.minimum(starts + shift, ends), tl.as_of + 1)
    frame["measured_at"] = _ts(np.minimum(at, tl.as_of))
    quota = _quota(dataset, by, frame)
    labels = _rep_labels(dataset, by, deals["owner_id"])
    allcodes, groups = _groups(pd.concat([labels, quota["label"]], ignore_index=True))
    codes, qcodes = allcodes[: len(labels)], allcodes[len(labels) :]
    m, k = len(frame), len(groups)
    rows = np.flatnonzero(tl.is_open())
    lo, hi = tl.cover(at, rows, inclusive=False)
    d = tl.deal[rows]
    open_n = accumulate(codes[d], lo, hi, k, m)
    open_v = accumulate(codes[d], lo, hi, k, m, tl.cents[d]) / 100.0
    expected = _us(deals["expected_close_at"])[d]
    late = np.where(expected == _NAT, 0, np.searchsorted(ends, expected, "right"))
    lo2 = np.maximum(lo, late)
    hi2 = np.maximum(hi, lo2)
    in_n = accumulate(codes[d], lo2, hi2, k, m)
    in_v = accumulate(codes[d], lo2, hi2, k, m, tl.cents[d]) / 100.0
    booked = (tl.state == WON) & (tl.prev != WON)
    p = np.searchsorted(starts, tl.t, "right") - 1
    booked &= (p >= 0) & (tl.t < at[np.maximum(p, 0)])
    bookings = count(codes[tl.deal[booked]] * m + p[booked], k * m, tl.cents[tl.deal[booked]])
    bookings = bookings.reshape(k, m) / 100.0
    q = count(qcodes * m + quota["p"].to_numpy(), k * m, quota["quota"].to_numpy()).reshape(k, m)
    has_quota = count(qcodes * m + quota["p"].to_numpy(), k * m).reshape(k, m) > 0
    remaining = q - bookings
    status = np.where(~has_quota, "no_quota", np.where(remaining <= 0, "quota_met", "ok"))
    with np.errstate(invalid="ignore", divide="ignore"):
        cover = np.where(status == "ok", in_v / remaining, np.nan)
    first_quota = int(quota["p"].min()) if len(quota) else m
    table = _grid(
        frame, groups, by,
        quota=np.where(has_quota, q, np.nan), bookings=bookings, remaining_quota=remaining,
        open_deals=open_n.astype("int64"), open_value=open_v,
        in_period_deals=in_n.astype("int64"), in_period_value=in_v, coverage=cover, status=status,
    )  # fmt: skip
    table = table[table["period_start"] >= frame["period_start"].iloc[min(first_quota, m - 1)]]
    uses = bool(deals["expected_close_at"].notna().any())
    return Coverage(table.reset_index(drop=True), "coverage", by, uses)
