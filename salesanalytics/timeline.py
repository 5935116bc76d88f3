"""The deal-timeline engine shared by the pipeline views (:mod:`.pipeline`, :mod:`.velocity`).

Everything is rebuilt from stage history (definitions in ``docs/metrics.md``). Each deal
becomes a short *timeline*: created open (in the stage of its first recorded entry), then
every stage entry sets its state — an open stage, won or lost. A deal is open at *t* when
it was created at or before *t* and its latest entry at or before *t* is an open stage,
which honours backward moves and reopens. Deals without history fall back to
``created_at`` (open at their current stage, or an unknown one once closed) and
``closed_at`` (their outcome). Entries dated before ``created_at`` count at
``created_at``; entries after the dataset's as-of instant are ignored.

Periods are half-open ``[start, end)``. Values are summed in whole cents, exactly (below
9×10¹³ currency units). Each state row covers a range of snapshot instants found with
``searchsorted`` and summed with difference arrays (:func:`accumulate`): no loop over deals.
Also here: calendar periods, deal groups and the base of the result objects.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .dataset import Dataset

__all__ = [
    "DAY_US",
    "Period",
    "Timeline",
    "accumulate",
    "count",
    "deal_labels",
    "periods",
    "timeline",
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
