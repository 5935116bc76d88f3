"""Sales velocity and pipeline coverage per period and group.

* **Velocity**: open deals × win rate × average won amount ÷ median sales cycle, measured
  at each period end over a trailing window of closes.
* **Coverage**: open pipeline (without deals expected to close after the period) ÷ the
  quota still to be booked in the period.

Both are rebuilt from each deal's timeline of states (:mod:`.timeline`; definitions in
``docs/metrics.md``). Also importable from :mod:`.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset
from .stats import rate_interval
from .timeline import (
    _NAT,
    DAY_US,
    LOST,
    MISSING,
    WON,
    Period,
    _grid,
    _groups,
    _Result,
    _span,
    _ts,
    _us,
    accumulate,
    count,
    deal_labels,
    timeline,
)

__all__ = ["Coverage", "Velocity", "pipeline_coverage", "velocity"]


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
