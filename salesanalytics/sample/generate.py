"""Assemble the synthetic world into a canonical :class:`~salesanalytics.Dataset`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa

from ..dataset import Dataset, Provenance
from ..stages import StageModel
from ._util import DAY, format_ids, id_width, lognormal_days, take_text, to_times
from .activities import KINDS, combine, deal_activities, lead_activities
from .deals import DEAL_TYPES, NEW, Deals, from_leads, repeat_deals
from .finance import make_quotas, make_spend
from .leads import Leads, day_weights, make_leads
from .params import (
    CANCELLATIONS,
    CURRENCY,
    INDUSTRIES,
    LEAD_MODEL,
    LOST_REASONS,
    PRODUCTS,
    REGIONS,
    REPEAT_SOURCE,
    SIZES,
    SOURCES,
    WORKFORCE,
)
from .truth import streams
from .walk import LOST, WON, Events, handle_leavers, walk_deals
from .world import Calendar, Staff, build_staff

STAGE_NAMES = ("lead", "contacted", "proposal", "negotiation", "won", "lost")


def generate(
    n_deals: int = 3000,
    seed: int | np.random.Generator | None = 0,
    *,
    months: int = 24,
    start: str = "2024-01-01",
    n_reps: int = 40,
) -> Dataset:
    """Generate a realistic synthetic CRM dataset with every canonical table.

    A B2B company selling in CNY across four regions (East, North, South, West) and five
    teams, with hires and leavers, nine lead sources, a scored lead funnel, a stage-by-stage
    pipeline walk with skips, backward moves, reopened deals and censored open deals,
    renewals and expansions, activities, monthly quotas and marketing spend. What is true
    in the data is in :mod:`salesanalytics.sample.params` and :func:`truth`.

    Parameters
    ----------
    n_deals
        Exactly this many deals (about 80% new business, 20% renewals and expansions);
        about 3 leads per deal.
    seed
        An int, a :class:`numpy.random.Generator` (used, and advanced) or ``None``
        (fresh entropy). The same int always gives identical tables.
    months
        Length of the window in calendar months; ``as_of`` is its end.
    start
        First day of the window (midnight UTC); months run from this day of the month.
    n_reps
        Sales seats at the start (at least 15): a manager, SDRs and AEs per team.
        Leavers are replaced and a few seats are added, so ``reps`` has more rows.

    Returns
    -------
    Dataset
        Tables ``deals``, ``stage_events``, ``leads``, ``activities``, ``reps``,
        ``quotas`` and ``spend``; provenance ``as_of`` is the end of the last month.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(500, seed=1)
    >>> len(ds.deals), sorted(ds.deals["outcome"].unique())
    (500, ['lost', 'open', 'won'])
    >>> ds.as_of
    Timestamp('2026-01-01 00:00:00+0000', tz='UTC')
    >>> ds.provenance.generator
    'salesanalytics.sample seed=1 n_deals=500'
    """
    if isinstance(n_deals, bool) or not isinstance(n_deals, (int, np.integer)) or n_deals < 1:
        raise ValueError(f"n_deals must be a positive integer, got {n_deals!r}")
    n_deals = int(n_deals)
    label = seed if not isinstance(seed, np.random.Generator) else "Generator"
    r_world, r_leads, r_deals, r_walk, r_acts, r_fin, r_cancel = streams(seed)
    calendar = Calendar.build(start, months)
    staff = build_staff(r_world, calendar, n_reps)

    n_new = n_deals - round(WORKFORCE.repeat_share * n_deals)
    # leads start arriving before the window so that its first months have a pipeline; the
    # deals closed before the window are not part of the export, so aim a bit higher
    burn = day_weights(calendar, since=calendar.lead_start)[
        : (calendar.start - calendar.lead_start) // DAY
    ].sum()
    n_conv = min(n_deals, round(n_new / (1.0 - 0.8 * burn)))
    n_leads = max(round(LEAD_MODEL.leads_per_new_deal * n_conv), n_conv)
    all_leads = make_leads(r_leads, n_leads, n_conv, calendar, staff)

    new = from_leads(r_deals, all_leads, staff)
    new_events = walk_deals(r_walk, new, staff, calendar)
    new_owner, new_events = handle_leavers(r_walk, new, new_events, staff, calendar)
    last_stage, last_at, _ = new_events.last(len(new))
    keep = ~((last_stage >= WON) & (last_at < calendar.start))
    if keep.sum() > n_deals:  # more new business than deals asked for: drop some at random
        extra = r_deals.choice(np.flatnonzero(keep), int(keep.sum()) - n_deals, replace=False)
        keep[extra] = False
    kept = np.flatnonzero(keep)
    first_owner = [new.owner[kept]]
    sourced = [all_leads.owner[new.lead[kept]]]
    new = replace(new, owner=new_owner).take(kept)
    new_events = _subset(new_events, keep)
    won_at = np.where(last_stage[kept] == WON, last_at[kept], -1)

    rep = repeat_deals(r_deals, n_deals - len(new), new, won_at, calendar, staff)
    rep_events = walk_deals(r_walk, rep, staff, calendar)
    rep_owner, rep_events = handle_leavers(r_walk, rep, rep_events, staff, calendar)
    first_owner.append(rep.owner)
    sourced.append(np.full(len(rep), -1, dtype=np.int64))
    rep = replace(rep, owner=rep_owner)

    # the export holds leads created in the window; deals from earlier leads have no lead_id
    offset = int(np.searchsorted(all_leads.created, calendar.start))
    linked = np.zeros(len(all_leads), dtype=bool)
    linked[new.lead] = True
    leads = replace(all_leads, converted=np.where(linked, all_leads.converted, -1)).take(
        slice(offset, None)
    )
    new = replace(new, lead=np.where(new.lead >= offset, new.lead - offset, -1))

    deals = Deals.concat([new, rep])
    order = np.argsort(deals.created, kind="stable")
    position = np.empty(n_deals, dtype=np.int64)
    position[order] = np.arange(n_deals)
    deals = deals.take(order)
    firsts = np.concatenate(first_owner)[order]
    sourced_by = np.concatenate(sourced)[order]
    events = Events.build(
        [
            (position[new_events.deal], new_events.stage, new_events.at, new_events.reason),
            (
                position[rep_events.deal + len(new)],
                rep_events.stage,
                rep_events.at,
                rep_events.reason,
            ),
        ]
    )
    stage, closed, reason = events.last(n_deals)
    closed = np.where(stage >= WON, closed, -1)

    tables, deal_ids, lead_ids = _tables(
        deals, events, stage, closed, reason, leads, staff, calendar, r_deals
    )
    acts = combine(
        [
            lead_activities(r_acts, leads, staff),
            deal_activities(r_acts, deals.created, closed, firsts, deals.owner, staff, calendar),
        ]
    )
    tables["deals"]["cancelled_at"] = _cancellations(r_cancel, stage, closed, calendar)
    rep_ids = list(staff.ids)
    tables["activities"] = pd.DataFrame(
        {
            "at": to_times(acts.at),
            "lead_id": take_text(lead_ids, acts.lead),
            "deal_id": take_text(deal_ids, acts.deal),
            "kind": take_text(KINDS, acts.kind),
            "owner_id": take_text(rep_ids, acts.owner),
        }
    )
    won = stage == WON
    quotas = make_quotas(
        staff,
        calendar,
        calendar.month_of(closed[won]),
        deals.amount[won],
        deals.owner[won],
        sourced_by[won],
    )
    tables["quotas"] = pd.DataFrame(
        {
            "rep_id": take_text(rep_ids, quotas.rep),
            "period_start": to_times(calendar.months[quotas.month]),
            "period_end": to_times(calendar.months[quotas.month + 1]),
            "quota": quotas.quota,
        }
    )
    src, month, cost = make_spend(r_fin, calendar, leads.source, calendar.month_of(leads.created))
    tables["spend"] = pd.DataFrame(
        {
            "lead_source": take_text([s.name for s in SOURCES], src),
            "period_start": to_times(calendar.months[month]),
            "cost": cost,
        }
    )
    tables["reps"] = staff.frame()
    return Dataset(
        {
            name: tables[name]
            for name in ("deals", "stage_events", "leads", "activities", "reps", "quotas", "spend")
        },
        stages=StageModel.default(),
        provenance=Provenance(
            as_of=pd.Timestamp(calendar.as_of, unit="s", tz="UTC"),
            fidelity="full_history",
            generator=f"salesanalytics.sample seed={label} n_deals={n_deals}",
        ),
    )


def _cancellations(
    rng: np.random.Generator, stage: np.ndarray, closed: np.ndarray, calendar: Calendar
) -> pd.Series:
    """When won deals were cancelled (missing for the others and for those after as-of)."""
    n = len(stage)
    hit = rng.random(n) < CANCELLATIONS.share
    delay = np.ceil(rng.exponential(CANCELLATIONS.mean_days * DAY, n)).astype(np.int64)
    at = closed + delay
    keep = hit & (stage == WON) & (closed >= 0) & (at < calendar.as_of)
    return to_times(np.where(keep, at, 0), ~keep)


def _subset(events: Events, keep: np.ndarray) -> Events:
    """The events of the kept deals, with deal positions renumbered."""
    renumber = np.cumsum(keep) - 1
    rows = keep[events.deal]
    return Events(
        renumber[events.deal[rows]], events.stage[rows], events.at[rows], events.reason[rows]
    )


def _tables(
    deals: Deals,
    events: Events,
    stage: np.ndarray,
    closed: np.ndarray,
    reason: np.ndarray,
    leads: Leads,
    staff: Staff,
    calendar: Calendar,
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], pa.Array, pa.Array]:
    """The deals, stage_events and leads tables, plus the deal and lead id arrays."""
    n = len(deals)
    deal_ids = format_ids("D", np.arange(1, n + 1), id_width(n, 6))
    lead_ids = format_ids("L", np.arange(1, len(leads) + 1), id_width(len(leads), 6))
    _, first_seen, inverse = np.unique(deals.account, return_index=True, return_inverse=True)
    rank = np.empty(len(first_seen), dtype=np.int64)
    rank[np.argsort(first_seen, kind="stable")] = np.arange(len(first_seen))
    account = rank[inverse]
    account_ids = format_ids("A", np.arange(1, len(first_seen) + 1), id_width(len(first_seen), 5))
    is_open = stage < WON
    probs = StageModel.default().probabilities
    stage_prob = np.array([probs[s] for s in STAGE_NAMES[:4]] + [1.0, 0.0])
    outcome = np.where(is_open, 0, np.where(stage == WON, 1, 2))
    cycle = np.array([s.cycle_factor for s in SIZES])[deals.size]
    plan = deals.created + (lognormal_days(rng, 60.0 * cycle, 0.4, n) * DAY).astype(np.int64)
    pushed = calendar.as_of + rng.integers(7, 60, n) * DAY
    plan = np.where((plan < calendar.as_of) & (rng.random(n) < 0.6), pushed, plan)
    plan = plan // DAY * DAY
    source = np.where(deals.source >= 0, deals.source, len(SOURCES))
    lead_deal = np.full(len(leads), -1, dtype=np.int64)
    has_lead = deals.lead >= 0
    lead_deal[deals.lead[has_lead]] = np.flatnonzero(has_lead)
    rep_ids = list(staff.ids)
    frames: dict[str, pd.DataFrame] = {}
    frames["deals"] = pd.DataFrame(
        {
            "deal_id": take_text(deal_ids, np.arange(n)),
            "created_at": to_times(deals.created),
            "closed_at": to_times(closed, closed < 0),
            "outcome": take_text(["open", "won", "lost"], outcome),
            "amount": deals.amount.astype(float),
            "currency": take_text([CURRENCY], np.zeros(n, dtype=np.int64)),
            "owner_id": take_text(rep_ids, deals.owner),
            "stage": take_text(STAGE_NAMES, stage),
            "expected_close_at": to_times(plan, ~is_open),
            "lead_source": take_text([s.name for s in SOURCES] + [REPEAT_SOURCE], source),
            "pipeline": take_text(
                ["new_business", "existing_business"], (deals.deal_type != NEW).astype(np.int64)
            ),
            "account_id": take_text(account_ids, account),
            "lead_id": take_text(lead_ids, deals.lead),
            "region": take_text([r.name for r in REGIONS], deals.region),
            "industry": take_text([i.name for i in INDUSTRIES], deals.industry),
            "company_size": take_text([s.name for s in SIZES], deals.size),
            "product_line": take_text([p.name for p in PRODUCTS], deals.product),
            "deal_type": take_text(DEAL_TYPES, deals.deal_type),
            "margin": deals.margin,
            "lost_reason": take_text(LOST_REASONS, np.where(stage == LOST, reason, -1)),
            "crm_probability": stage_prob[stage],
        }
    )
    frames["stage_events"] = pd.DataFrame(
        {
            "deal_id": take_text(deal_ids, events.deal),
            "stage": take_text(STAGE_NAMES, events.stage),
            "entered_at": to_times(events.at),
        }
    )
    frames["leads"] = pd.DataFrame(
        {
            "lead_id": take_text(lead_ids, np.arange(len(leads))),
            "created_at": to_times(leads.created),
            "lead_source": take_text([s.name for s in SOURCES], leads.source),
            "owner_id": take_text(rep_ids, leads.owner),
            "first_response_at": to_times(leads.first_response, leads.first_response < 0),
            "converted_at": to_times(leads.converted, leads.converted < 0),
            "deal_id": take_text(deal_ids, lead_deal),
            "score": leads.score.astype(float),
            "need_fit": leads.need_fit.astype(float),
            "purchasing_power": leads.power.astype(float),
            "decision_complexity": leads.complexity.astype(float),
            "region": take_text([r.name for r in REGIONS], leads.region),
            "industry": take_text([i.name for i in INDUSTRIES], leads.industry),
            "company_size": take_text([s.name for s in SIZES], leads.size),
        }
    )
    return frames, deal_ids, lead_ids


__all__ = ["STAGE_NAMES", "generate"]
