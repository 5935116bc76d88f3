"""Follow-up SOP compliance: first-response time, share within an SLA, follow-up cadence.

:func:`lead_measures` derives, per lead, the first-response time (lead created →
``first_response_at``, or → the first activity on the lead when that is missing; right-censored
at the as-of moment when there is no response), the open window (first response → the earliest
of conversion, the as-of moment and ``window_days`` later) and the follow-up touches in it.
:func:`sop_compliance` aggregates these per rep, team or any lead column: Kaplan–Meier median
and P90 response hours, the no-response share, the share answered within the SLA (Wilson),
touches per open week (pooled, exact Poisson interval) and conversion.
:func:`.response.response_effect` tabulates conversion by response-time band and by the
owner's follow-up-cadence band, with a Cochran–Armitage trend test and a logistic slope — an
*association*, not a causal effect.
Times are plain elapsed hours (no business-hours calendar). See ``docs/metrics-sop.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .dataset import Dataset
from .segments import MISSING, NAT, Method, Shown, _column, check_interval, micros, micros_at, rates
from .stats import poisson_interval
from .survival import kaplan_meier

__all__ = [
    "CAVEAT",
    "SopCompliance",
    "lead_measures",
    "lead_outcomes",
    "sop_compliance",
]

HOUR_US = 3_600e6
DAY_US = 86_400e6
WEEK_US = 7 * DAY_US
CAVEAT = (
    "association, not causation: fast responders and frequent followers-up differ in source, "
    "rep skill, territory and time of day"
)


# ------------------------------------------------------------------ per lead
def _as_of(ds: Dataset, leads: pd.DataFrame) -> int:
    if ds.as_of is not None:
        return micros_at(ds.as_of)
    times = [micros(leads[c]) for c in ("created_at", "first_response_at", "converted_at")]
    if ds.has("activities"):
        times.append(micros(ds.activities["at"]))
    return int(max(t.max(initial=NAT) for t in times if len(t)))


def lead_outcomes(ds: Dataset) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Whether each lead converted (``deal_id`` or ``converted_at``) and its age in days."""
    leads = ds.leads
    conv = np.zeros(len(leads), dtype=bool)
    for c in ("deal_id", "converted_at"):
        if c in leads.columns:
            conv |= leads[c].notna().to_numpy()
    return conv, (_as_of(ds, leads) - micros(leads["created_at"])) / DAY_US


def _positions(keys: pd.Series, values: pd.Series) -> NDArray[np.int64]:
    """Row of ``keys`` holding each of ``values`` (-1 if absent); one factorize of both, which
    is several times faster than ``Index.get_indexer`` on string columns."""
    codes, _ = pd.factorize(pd.concat([keys, values], ignore_index=True))
    row = np.full(len(codes) + 1, -1, dtype=np.int64)
    row[codes[: len(keys)][::-1]] = np.arange(len(keys))[::-1]  # first row of duplicate keys
    row[-1] = -1  # code -1: a missing id matches nothing
    return row[codes[len(keys) :]]


def lead_measures(ds: Dataset, *, window_days: float | None = 14.0) -> pd.DataFrame:
    """Per lead: first-response time, open window, follow-up touches and conversion.

    Parameters
    ----------
    ds
        Data with a ``leads`` table; ``activities`` (rows with a ``lead_id``) supply the
        first response where ``first_response_at`` is missing, and the follow-up touches.
    window_days
        The open window is cut this many days after the first response (``None``: no cut).

    Returns
    -------
    pandas.DataFrame
        In ``leads`` order: ``lead_id``, ``owner_id``, ``responded``, ``response_from``
        (``"first_response_at"``, ``"activity"`` or missing), ``response_hours`` (to the
        response, or to as-of when censored; ≥ 0), ``open_weeks``, ``touches`` (activities
        after the first response, up to the window end; NaN without ``activities``),
        ``converted`` and ``age_days`` (as-of − created).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> m = lead_measures(sample.generate(300, seed=0))
    >>> m.columns.tolist()[:4]
    ['lead_id', 'owner_id', 'responded', 'response_from']
    >>> bool((m["response_hours"] >= 0).all())
    True
    """
    if not ds.has("leads"):
        raise ValueError("SOP measures need a leads table")
    leads = ds.leads
    n = len(leads)
    as_of = _as_of(ds, leads)
    created = micros(leads["created_at"])
    recorded = (
        micros(leads["first_response_at"])
        if "first_response_at" in leads.columns
        else np.full(n, NAT)
    )
    has_acts = ds.has("activities") and "lead_id" in ds.activities.columns
    first_act = np.full(n, np.iinfo(np.int64).max)
    pos, at = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if has_acts:
        acts = ds.activities
        pos = _positions(leads["lead_id"], acts["lead_id"])
        at = micros(acts["at"])
        keep = (pos >= 0) & (at != NAT) & (at <= as_of)
        pos, at = pos[keep], at[keep]
        np.minimum.at(first_act, pos, at)
    from_col = (recorded != NAT) & (recorded <= as_of)
    from_act = ~from_col & (first_act != np.iinfo(np.int64).max)
    first = np.where(from_col, recorded, np.where(from_act, first_act, NAT))
    responded = from_col | from_act
    end_resp = np.where(responded, first, as_of)
    response_hours = np.maximum(end_resp - created, 0) / HOUR_US
    conv, age = lead_outcomes(ds)
    conv_at = micros(leads["converted_at"]) if "converted_at" in leads.columns else np.full(n, NAT)
    end = np.where((conv_at != NAT) & (conv_at < as_of), conv_at, as_of)
    if window_days is not None:
        end = np.minimum(end, first + np.int64(round(window_days * DAY_US)))
    open_us = np.where(responded, np.maximum(end - first, 0), 0)
    if has_acts:
        inside = (at > first[pos]) & (at <= end[pos]) & responded[pos]
        touches = np.bincount(pos[inside], minlength=n).astype(float)
    else:
        touches = np.full(n, np.nan)
    kinds = pd.CategoricalDtype(["first_response_at", "activity"])
    source = pd.Categorical.from_codes(from_col + 2 * from_act.astype(np.int64) - 1, dtype=kinds)
    return pd.DataFrame(
        {
            "lead_id": leads["lead_id"].array,
            "owner_id": leads["owner_id"].array if "owner_id" in leads.columns else None,
            "responded": responded,
            "response_from": source,
            "response_hours": response_hours,
            "open_weeks": open_us / WEEK_US,
            "touches": touches,
            "converted": conv,
            "age_days": age,
        }
    )


def _response_notes(m: pd.DataFrame, window_days: float | None) -> list[str]:
    counts = m["response_from"].value_counts()
    cut = f"{window_days:g} days" if window_days is not None else "no cut"
    return [
        f"first response from first_response_at for {counts.get('first_response_at', 0):,} "
        f"leads, from the first activity for {counts.get('activity', 0):,}, none for "
        f"{int((~m['responded']).sum()):,} (censored at as-of)",
        f"open window: first response to conversion, as-of or {cut}",
    ]


# ------------------------------------------------------------------ compliance table
@dataclass(frozen=True, eq=False)
class SopCompliance(Shown):
    """First-response and follow-up compliance per rep, team or other lead column.

    Attributes
    ----------
    table
        One row per group (index named after ``by``): ``leads``, ``responded``,
        ``no_response``, ``no_response_share``; ``median_response_hours`` with
        ``median_low``/``median_high`` and ``p90_response_hours`` (Kaplan–Meier, NaN when
        not reached); ``sla_n`` (leads answered, or older than the SLA), ``within_sla``,
        ``sla_share``, ``sla_low``, ``sla_high``; ``touches``, ``open_weeks``,
        ``touches_per_week`` (pooled) with ``touches_low``/``touches_high`` (exact Poisson)
        and ``touches_per_week_median`` (per lead, leads open at least a day);
        ``conversion_n`` (leads at least ``min_age_days`` old), ``converted``,
        ``conversion``, ``conversion_low``, ``conversion_high``; ``small_n``.
    """

    table: pd.DataFrame
    by: str | None
    sla_hours: float
    window_days: float | None
    notes: tuple[str, ...] = ()
    method: Method = "wilson"
    confidence: float = 0.95
    min_n: int = 30
    view: str = "SOP compliance"

    @property
    def caption(self) -> str:
        """What the table shows."""
        by = f" by {self.by}" if self.by else ""
        return (
            f"SOP compliance{by}: SLA {self.sla_hours:g} h (elapsed hours), Kaplan–Meier "
            f"response times, {self.confidence:.0%} {self.method.capitalize()} intervals "
            f"({'; '.join(self.notes)})"
        )


def _groups(ds: Dataset, by: str | None) -> tuple[NDArray[np.int64], pd.Index]:
    leads = ds.leads
    if by is None:
        return np.zeros(len(leads), dtype=np.int64), pd.Index(["all leads"], name="group")
    codes, labels = _column(ds, leads, by)
    if (codes < 0).any():
        codes, labels = np.where(codes < 0, len(labels), codes), [*labels, MISSING]
    return codes.astype(np.int64), pd.Index(labels, dtype="str", name=by)


def sop_compliance(
    ds: Dataset,
    *,
    sla_hours: float = 24.0,
    by: str | None = "owner_id",
    window_days: float | None = 14.0,
    min_age_days: float = 30.0,
    min_n: int = 30,
    method: Method = "wilson",
    confidence: float = 0.95,
) -> SopCompliance:
    """First-response time, share within an SLA, touches per open week and conversion.

    Parameters
    ----------
    ds
        Data with ``leads`` (and ideally ``activities``; ``reps`` for ``by="team"``).
    sla_hours
        Response-time target in elapsed hours.
    by
        ``"owner_id"`` (default), ``"team"``, another lead column, ``created_<period>``, or
        ``None`` for one row.
    window_days
        Length of a lead's open window after its first response (see :func:`lead_measures`).
    min_age_days
        Conversion counts only leads created at least this long before as-of.
    min_n
        Groups with fewer leads are flagged ``small_n``.
    method, confidence
        Interval method for shares (``"wilson"`` or ``"jeffreys"``) and coverage.

    Returns
    -------
    SopCompliance

    Examples
    --------
    >>> from salesanalytics import sample
    >>> s = sop_compliance(sample.generate(1000, seed=0), by="team")
    >>> s.table.index.tolist()[:2]
    ['East Commercial', 'East Enterprise']
    >>> bool(s.table["sla_share"].between(0.5, 1).all())
    True
    """
    check_interval(method, confidence)
    m = lead_measures(ds, window_days=window_days)
    codes, index = _groups(ds, by)
    g = len(index)

    def total(values: ArrayLike) -> NDArray[np.float64]:
        return np.asarray(np.bincount(codes, weights=np.asarray(values, float), minlength=g), float)

    responded = m["responded"].to_numpy()
    hours = m["response_hours"].to_numpy()
    t = pd.DataFrame(index=index)
    t["leads"] = np.bincount(codes, minlength=g)
    t["responded"] = total(responded).astype(np.int64)
    t["no_response"] = t["leads"] - t["responded"]
    t["no_response_share"] = t["no_response"] / t["leads"].where(t["leads"] > 0)
    km = np.full((g, 4), np.nan)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(g + 1))
    for i in range(g):
        rows = order[bounds[i] : bounds[i + 1]]
        if len(rows):
            curve = kaplan_meier(hours[rows], responded[rows], confidence=confidence)
            km[i, :3], km[i, 3] = curve.median(), curve.quantile(0.9)[0]
    t["median_response_hours"], t["median_low"], t["median_high"] = km[:, 0], km[:, 1], km[:, 2]
    t["p90_response_hours"] = km[:, 3]
    within = responded & (hours <= sla_hours)
    due = responded | (hours >= sla_hours)  # unanswered leads younger than the SLA: not yet due
    t["sla_n"], t["within_sla"] = total(due).astype(np.int64), total(within).astype(np.int64)
    share, low, high = rates(
        t["within_sla"].to_numpy(float), t["sla_n"].to_numpy(float), method, confidence
    )
    t["sla_share"], t["sla_low"], t["sla_high"] = share, low, high
    touches, weeks = m["touches"].to_numpy(), m["open_weeks"].to_numpy()
    t["touches"], t["open_weeks"] = total(np.nan_to_num(touches)), total(weeks)
    if np.isnan(touches).all():
        t["touches"] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        t["touches_per_week"] = t["touches"] / t["open_weeks"].where(t["open_weeks"] > 0)
    low, high = poisson_interval(t["touches"], t["open_weeks"], confidence)
    t["touches_low"], t["touches_high"] = low, high
    long_open = weeks >= 1 / 7
    per_lead = pd.Series(touches[long_open] / weeks[long_open])
    median = per_lead.groupby(codes[long_open]).median()
    t["touches_per_week_median"] = median.reindex(range(g)).to_numpy()
    mature = m["age_days"].to_numpy() >= min_age_days
    t["conversion_n"] = total(mature).astype(np.int64)
    t["converted"] = total(mature & m["converted"].to_numpy()).astype(np.int64)
    share, low, high = rates(
        t["converted"].to_numpy(float), t["conversion_n"].to_numpy(float), method, confidence
    )
    t["conversion"], t["conversion_low"], t["conversion_high"] = share, low, high
    t["small_n"] = t["leads"] < min_n
    notes = _response_notes(m, window_days)
    if not ds.has("activities"):
        notes.append("no activities table: touches are NaN")
    return SopCompliance(t, by, sla_hours, window_days, tuple(notes), method, confidence, min_n)
