"""Cohort and snapshot conversion: the two ways to put a date on a conversion rate.

* **Cohort view** (:func:`cohort_conversion`): of the deals *created* in period P, the
  share that eventually reached each stage (won included). Open deals count as not (yet)
  converted, so young cohorts look worse than they will end up: every row carries the
  cohort's still-open share and its age at the as-of date.
* **Snapshot view** (:func:`snapshot_conversion`): of the deals that *left* stage s during
  period P (their next stage entry fell in P), the share that moved forward (to a later
  stage or won), backward, or to lost. It describes what happened in P, whatever the age
  of the deals, and needs no maturity correction.

Periods are calendar months, quarters or years in the dataset's time zone
(``dataset.provenance.timezone``). Both functions count distinct deals and give every
share its n and a Wilson (or Jeffreys) interval. See ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset
from .funnel import (
    LOST,
    OTHER,
    Policy,
    check_options,
    deal_events,
    funnel_stages,
    reach_bits,
    reach_counts,
)
from .segments import (
    PERIODS,
    Method,
    Shown,
    by_names,
    dense,
    long_table,
    micros,
    period_codes,
    rates,
    segment,
)

__all__ = ["CohortResult", "SnapshotResult", "cohort_conversion", "snapshot_conversion"]


@dataclass(frozen=True, eq=False)
class CohortResult(Shown):
    """Cohort conversion: deals created in each period, by the stages they reached.

    Attributes
    ----------
    table
        Indexed by ``cohort`` (period label such as ``2024-01``), the ``by`` columns and
        ``stage`` (open stages, then won). Per cohort: ``cohort_start``, ``age_days``
        (whole days from the cohort's start to the as-of date), ``deals`` (the n),
        ``open_deals`` and ``open_share`` (maturity: the share still open). Per stage:
        ``reached``, ``still_open`` (reached and still open), ``conversion`` =
        reached ÷ deals with ``conversion_low`` / ``conversion_high``, and ``small_n``
        (fewer than ``min_n`` deals in the cohort).
    view
        ``"cohort"``.
    period, policy, by
        Cohort period, reach policy and breakdown columns.
    deals
        Deals counted (under ``strict``, those that qualify).
    as_of
        The as-of date the ages refer to.
    """

    table: pd.DataFrame
    view: str
    period: str
    policy: Policy
    deals: int
    as_of: pd.Timestamp | None
    by: tuple[str, ...] = ()
    method: Method = "wilson"
    confidence: float = 0.95
    min_n: int = 30

    @property
    def label(self) -> str:
        """Short title: view and cohort period."""
        return f"{self.view} view, created per {self.period}"

    @property
    def caption(self) -> str:
        """What the table shows: view, cohort period, policy, deals and as-of date."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        as_of = self.as_of.date().isoformat() if self.as_of is not None else "?"
        return (
            f"Cohort conversion ({self.view} view: deals created per {self.period}, "
            f"{self.policy} reach){by}: {self.deals:,} deals as of {as_of}; young cohorts "
            f"are immature (see open_share)"
        )


@dataclass(frozen=True, eq=False)
class SnapshotResult(Shown):
    """Snapshot conversion: deals that left a stage in each period, by where they went.

    Attributes
    ----------
    table
        Indexed by ``period``, the ``by`` columns and ``stage`` (open stages). Columns:
        ``period_start``; ``left`` (deals that left the stage in the period: the n),
        ``forward``, ``backward``, ``lost`` (they sum to ``left``); ``forward_share``,
        ``backward_share``, ``lost_share``, each with ``_low`` / ``_high`` bounds; and
        ``small_n`` (``left`` below ``min_n``).
    view
        ``"snapshot"``.
    period, by
        Period length and breakdown columns.
    exits
        Deal × stage × period exits counted (the sum of ``left``).
    """

    table: pd.DataFrame
    view: str
    period: str
    exits: int
    by: tuple[str, ...] = ()
    method: Method = "wilson"
    confidence: float = 0.95
    min_n: int = 30

    @property
    def label(self) -> str:
        """Short title: view and period."""
        return f"{self.view} view, exits per {self.period}"

    @property
    def caption(self) -> str:
        """What the table shows: view, period and exits counted."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        return (
            f"Snapshot conversion ({self.view} view: deals that left each stage per "
            f"{self.period}){by}: {self.exits:,} stage exits"
        )


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")


def cohort_conversion(
    dataset: Dataset,
    *,
    period: str = "month",
    policy: Policy = "implied",
    by: str | Sequence[str] | None = None,
    method: Method = "wilson",
    confidence: float = 0.95,
    min_n: int = 30,
) -> CohortResult:
    """Of the deals created in each period, the share that reached each stage (cohort view).

    Parameters
    ----------
    dataset
        The data.
    period
        ``"month"``, ``"quarter"`` or ``"year"`` of ``created_at``, in the dataset's time
        zone.
    policy
        Reach policy, as in :func:`salesanalytics.funnel.stage_reach`.
    by
        One or two breakdown columns within each cohort, as in ``stage_reach``.
    method, confidence, min_n
        Interval method and coverage; cohorts with fewer deals are flagged ``small_n``.

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-15", tz="UTC")
    >>> day = pd.Timedelta("1D")
    >>> deals = pd.DataFrame({"deal_id": ["a", "b", "c"],
    ...     "created_at": [t, t, t + 31 * day], "outcome": ["won", "open", "open"],
    ...     "amount": [1.0] * 3, "owner_id": ["r"] * 3})
    >>> ev = pd.DataFrame({"deal_id": ["a", "a", "b", "c"],
    ...     "stage": ["lead", "won", "lead", "lead"],
    ...     "entered_at": [t, t + day, t, t + 31 * day]})
    >>> ds = sa.Dataset({"deals": deals, "stage_events": ev})
    >>> r = cohort_conversion(ds)
    >>> r.view
    'cohort'
    >>> r.table.xs("won", level="stage")[["deals", "open_share", "reached", "conversion"]]
             deals  open_share  reached  conversion
    cohort
    2024-01      2         0.5        1         0.5
    2024-02      1         1.0        0         0.0
    """
    check_options(policy, method, confidence)
    _check_period(period)
    names = by_names(by)
    if f"created_{period}" in names:
        raise ValueError(f"the cohorts already are created_{period}; drop it from by")
    stages = funnel_stages(dataset)
    key = f"created_{period}"
    seg = segment(dataset, (key, *names))
    bits, counted = reach_bits(dataset, deal_events(dataset), policy)
    is_open = dataset.deals["outcome"].eq("open").to_numpy(dtype=bool, na_value=False)
    c = reach_counts(
        bits[counted], is_open[counted], seg.codes[counted], len(seg.labels), len(stages)
    )
    tz = dataset.provenance.timezone
    _, labels, starts = period_codes(micros(dataset.deals["created_at"]), period, tz)
    start_of = dict(zip(labels, starts, strict=True))
    cohort_start = pd.DatetimeIndex(
        [start_of.get(x, pd.NaT) for x in seg.labels[key]], dtype=starts.dtype
    )
    as_of = dataset.as_of
    age = (
        np.floor(((as_of - cohort_start) / pd.Timedelta(days=1)).to_numpy(dtype=float))
        if as_of is not None
        else np.full(len(seg.labels), np.nan)
    )
    deals = c["deals"]
    n = np.repeat(deals[:, None], len(stages), axis=1)
    conv, low, high = rates(c["reached"], n, method, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        open_share = np.where(deals > 0, c["open"] / deals, np.nan)
    table = long_table(
        seg.labels.rename(columns={key: "cohort"}),
        stages,
        {
            "cohort_start": cohort_start,
            "age_days": age,
            "deals": deals,
            "open_deals": c["open"],
            "open_share": open_share,
            "reached": c["reached"],
            "still_open": c["still_open"],
            "conversion": conv,
            "conversion_low": low,
            "conversion_high": high,
            "small_n": deals < min_n,
        },
    )
    return CohortResult(
        table=table,
        view="cohort",
        period=period,
        policy=policy,
        deals=int(counted.sum()),
        as_of=as_of,
        by=names,
        method=method,
        confidence=confidence,
        min_n=min_n,
    )


def snapshot_conversion(
    dataset: Dataset,
    *,
    period: str = "month",
    by: str | Sequence[str] | None = None,
    method: Method = "wilson",
    confidence: float = 0.95,
    min_n: int = 30,
) -> SnapshotResult:
    """Of the deals that left each open stage in a period, where they went (snapshot view).

    A deal leaves stage *s* when its next stage entry (a different stage) follows an entry
    into *s*; the exit falls in the period of that next entry. It moved **forward** if the
    next stage is later in the funnel (or won), **backward** if earlier, **lost** if lost.
    Events in stages outside the model are ignored. A deal that left *s* more than once
    in one period counts once, by its last exit there.

    Parameters
    ----------
    dataset
        The data.
    period
        ``"month"``, ``"quarter"`` or ``"year"``, in the dataset's time zone.
    by
        One or two breakdown columns of the deals, as in ``stage_reach``.
    method, confidence, min_n
        Interval method and coverage; rows with fewer exits are flagged ``small_n``.

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-10", tz="UTC")
    >>> day = pd.Timedelta("1D")
    >>> deals = pd.DataFrame({"deal_id": ["a", "b", "c"], "created_at": [t] * 3,
    ...     "outcome": ["won", "lost", "open"], "amount": [1.0] * 3, "owner_id": ["r"] * 3})
    >>> ev = pd.DataFrame({"deal_id": ["a", "a", "b", "b", "c", "c", "c"],
    ...     "stage": ["lead", "won", "lead", "lost", "lead", "proposal", "lead"],
    ...     "entered_at": [t, t + day, t, t + 2 * day, t, t + day, t + 30 * day]})
    >>> ds = sa.Dataset({"deals": deals, "stage_events": ev})
    >>> r = snapshot_conversion(ds)
    >>> r.view
    'snapshot'
    >>> r.table[["left", "forward", "backward", "lost"]].query("left > 0")
                         left  forward  backward  lost
    period  stage
    2024-01 lead            3        2         0     1
    2024-02 proposal        1        0         1     0
    """
    check_options("implied", method, confidence)
    _check_period(period)
    names = by_names(by)
    n_open = len(dataset.stages.stages)
    ev = deal_events(dataset)
    pos, at = ev.pos, ev.at
    run = np.zeros(len(pos), dtype=np.int64)  # run (deal) number of each event
    run[ev.starts[1:]] = 1
    run = np.cumsum(run)
    if (pos == OTHER).any():  # unknown stages are skipped over
        keep = pos != OTHER
        pos, at, run = pos[keep], at[keep], run[keep]
    frm8, to8 = pos[:-1], pos[1:]
    nxt = 1 + np.flatnonzero((run[1:] == run[:-1]) & (frm8 >= 0) & (frm8 < n_open) & (to8 != frm8))
    frm, to = pos[nxt - 1].astype(np.int64), pos[nxt]
    who = ev.run_deal[run[nxt]]
    pcode, plabels, pstarts = period_codes(at[nxt], period, dataset.provenance.timezone)
    # one exit per deal, stage and period: the last one. Exits are grouped by deal in time
    # order, so a (deal, period) block is contiguous and numbering blocks in order gives
    # keys that are the same exactly for the same deal, period and stage.
    block = np.cumsum(np.r_[True, (who[1:] != who[:-1]) | (pcode[1:] != pcode[:-1])]) - 1
    key = block * n_open + frm
    last_of = np.full(int(key.max()) + 1 if len(key) else 0, -1, dtype=np.int64)
    np.maximum.at(last_of, key, np.arange(len(key)))
    last = last_of[key] == np.arange(len(key))
    frm, to, who, pcode = frm[last], to[last], who[last], pcode[last]
    direction = np.where(to == LOST, 2, np.where(to > frm, 0, 1))  # forward, backward, lost
    seg = segment(dataset, names)
    groups, gcode = dense(pcode * len(seg.labels) + seg.codes[who])
    counts = np.bincount(
        (gcode * n_open + frm) * 3 + direction, minlength=len(groups) * n_open * 3
    ).reshape(len(groups), n_open, 3)
    labels = seg.labels.iloc[groups % len(seg.labels)].reset_index(drop=True)
    period_of = np.asarray(plabels, dtype=object)[groups // len(seg.labels)]
    labels.insert(0, "period", pd.Series(period_of, dtype="str"))
    left = counts.sum(axis=2)
    columns: dict[str, np.ndarray | pd.Index] = {
        "period_start": pstarts[groups // len(seg.labels)],
        "left": left,
        "forward": counts[:, :, 0],
        "backward": counts[:, :, 1],
        "lost": counts[:, :, 2],
    }
    for i, name in enumerate(("forward", "backward", "lost")):
        share, low, high = rates(counts[:, :, i], left, method, confidence)
        columns |= {f"{name}_share": share, f"{name}_low": low, f"{name}_high": high}
    columns["small_n"] = left < min_n
    return SnapshotResult(
        table=long_table(labels, dataset.stages.stages, columns),
        view="snapshot",
        period=period,
        exits=int(left.sum()),
        by=names,
        method=method,
        confidence=confidence,
        min_n=min_n,
    )
