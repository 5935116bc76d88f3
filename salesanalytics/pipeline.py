"""The open pipeline over time: as-of snapshots and period waterfalls.

Everything is rebuilt from each deal's timeline of states (:mod:`.timeline`; definitions
in ``docs/metrics.md``): a deal is open at *t* when it was created at or before *t* and its
latest entry at or before *t* is an open stage, which honours backward moves and reopens.
Deals without history fall back to ``created_at`` and ``closed_at``; entries after the
dataset's as-of instant are ignored.

Periods are half-open ``[start, end)``: the pipeline *at the start of a period* is its state
before anything in the period happened, so an entry stamped at midnight of the 1st
(date-only exports) belongs to the new period. Values are summed in whole cents, exactly
(below 9×10¹³ currency units), so waterfalls balance in value as well as in count. Each
state row covers a range of snapshot instants found with ``searchsorted`` and summed with
difference arrays: no loop over deals.

Velocity and coverage live in :mod:`.velocity` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset
from .timeline import (
    ABSENT,
    LOST,
    UNKNOWN,
    UNKNOWN_STAGE,
    WON,
    Period,
    Timeline,
    _grid,
    _groups,
    _is_open,
    _Result,
    _span,
    _ts,
    _us,
    accumulate,
    count,
    deal_labels,
    timeline,
)
from .velocity import Coverage, Velocity, pipeline_coverage, velocity

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


# ---------------------------------------------------------------------- results
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
