"""Deals: new business converted from leads, and renewals / expansions of existing accounts.

A converted lead becomes a new deal on a new account, created at the conversion time, owned
by the lead's AE (or an AE of the team employed then). A won Platform/Analytics deal renews
about a year later (created 45-75 days before the anniversary) with probability
``WORKFORCE.renewal_probability``; any won deal expands (cross-sell, about five months later,
lognormal) with ``WORKFORCE.expansion_probability``. The installed base from before the window
adds renewals and expansions (no lead) so that the total equals the number asked for.

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._util import DAY, HOUR, categorical, to_seconds
from .leads import Leads, day_weights
from .params import (
    INDUSTRIES,
    PRODUCTS,
    REGIONS,
    SEASONALITY,
    SIZES,
    SOURCES,
    WORKFORCE,
    Workforce,
)
from .world import AE, Calendar, Staff, route_team

NEW, RENEWAL, EXPANSION = 0, 1, 2
DEAL_TYPES = ("new", "renewal", "expansion")
START_STAGE = np.array([0, 2, 1])
"""Stage index where each deal type starts: lead, proposal (renewal), contacted (expansion)."""


@dataclass(frozen=True)
class Deals:
    """Deals as aligned arrays; ``source == -1`` is an existing customer, ``lead == -1`` none."""

    created: np.ndarray
    owner: np.ndarray
    team: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    source: np.ndarray
    product: np.ndarray
    deal_type: np.ndarray
    amount: np.ndarray
    margin: np.ndarray
    score: np.ndarray
    lead: np.ndarray
    account: np.ndarray

    def __len__(self) -> int:
        return len(self.created)

    def take(self, index: np.ndarray) -> Deals:
        """The deals at ``index``."""
        return Deals(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Deals]) -> Deals:
        """Deals of several batches, one after the other."""
        return Deals(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Deals)}
        )


def _amount(
    rng: np.random.Generator,
    product: np.ndarray,
    size: np.ndarray,
    region: np.ndarray,
    industry: np.ndarray,
    source: np.ndarray,
    power: np.ndarray,
) -> np.ndarray:
    log_amount = (
        np.log([p.median_amount for p in PRODUCTS])[product]
        + np.array([s.amount_shift for s in SIZES])[size]
        + np.log([r.amount_factor for r in REGIONS])[region]
        + np.log([i.amount_factor for i in INDUSTRIES])[industry]
        + np.where(source >= 0, np.log([s.amount_factor for s in SOURCES])[source], 0.0)
        + 0.08 * (power - 3)
        + 0.55 * rng.standard_normal(len(product))
    )
    return np.maximum(np.rint(np.exp(log_amount)), 1000.0)


def _margin(rng: np.random.Generator, product: np.ndarray) -> np.ndarray:
    base = np.array([p.margin for p in PRODUCTS])[product]
    return np.round(np.clip(base + 0.04 * rng.standard_normal(len(product)), 0.05, 0.95), 3)


def from_leads(rng: np.random.Generator, leads: Leads, staff: Staff) -> Deals:
    """One new deal per converted lead (new account each)."""
    idx = np.flatnonzero(leads.converted >= 0)
    t = leads.converted[idx]
    team = leads.team[idx]
    owner = leads.owner[idx].copy()
    keep = (staff.role[owner] == AE) & staff.is_employed(owner, t)
    miss = np.flatnonzero(~keep)
    owner[miss] = staff.assign_ae(rng, t[miss], team[miss])
    n = len(idx)
    product = categorical(rng, [p.share for p in PRODUCTS], n)
    region, industry, size, source = (
        leads.region[idx],
        leads.industry[idx],
        leads.size[idx],
        leads.source[idx],
    )
    return Deals(
        created=t,
        owner=owner,
        team=team,
        region=region,
        industry=industry,
        size=size,
        source=source,
        product=product,
        deal_type=np.full(n, NEW),
        amount=_amount(rng, product, size, region, industry, source, leads.power[idx]),
        margin=_margin(rng, product),
        score=leads.score[idx].astype(float),
        lead=idx,
        account=np.arange(n, dtype=np.int64),
    )


def repeat_deals(
    rng: np.random.Generator,
    n_repeat: int,
    parents: Deals,
    won_at: np.ndarray,
    calendar: Calendar,
    staff: Staff,
    wf: Workforce = WORKFORCE,
) -> Deals:
    """Exactly ``n_repeat`` renewal/expansion deals: from won ``parents``, then installed base.

    ``won_at`` is each parent's win time (``-1`` if not won).
    """
    won = np.flatnonzero(won_at >= 0)
    renewable = np.array([p.renewable for p in PRODUCTS])[parents.product[won]]
    ren = won[renewable & (rng.random(len(won)) < wf.renewal_probability)]
    ren_t = won_at[ren] + 365 * DAY - rng.integers(45 * DAY, 75 * DAY, len(ren))
    exp = won[rng.random(len(won)) < wf.expansion_probability]
    exp_t = won_at[exp] + to_seconds(150.0 * np.exp(0.5 * rng.standard_normal(len(exp))))
    parent = np.concatenate([ren, exp])
    created = np.concatenate([ren_t, exp_t])
    kind = np.concatenate([np.full(len(ren), RENEWAL), np.full(len(exp), EXPANSION)])
    ok = created < calendar.as_of - DAY
    parent, created, kind = parent[ok], created[ok], kind[ok]
    if len(parent) > n_repeat:
        pick = np.sort(rng.choice(len(parent), size=n_repeat, replace=False))
        parent, created, kind = parent[pick], created[pick], kind[pick]
    m = len(parent)
    p = parents.take(parent)
    owner = p.owner.copy()
    gone = ~staff.is_employed(owner, created) | (staff.role[owner] != AE)
    owner[gone] = staff.assign_ae(rng, created[gone], p.team[gone])
    cross = categorical(rng, [pr.share for pr in PRODUCTS], m)
    product = np.where(kind == RENEWAL, p.product, cross)
    factor = np.where(
        kind == RENEWAL,
        np.exp(0.03 + 0.08 * rng.standard_normal(m)),
        np.exp(np.log(0.35) + 0.4 * rng.standard_normal(m)),
    )
    from_won = Deals(
        created=created,
        owner=owner,
        team=p.team,
        region=p.region,
        industry=p.industry,
        size=p.size,
        source=np.full(m, -1),
        product=product,
        deal_type=kind,
        amount=np.maximum(np.rint(p.amount * factor), 500.0),
        margin=_margin(rng, product),
        score=np.full(m, np.nan),
        lead=np.full(m, -1),
        account=p.account,
    )
    n_base = n_repeat - m
    base = installed_base(rng, n_base, calendar, staff, int(parents.account.max(initial=-1)) + 1)
    return Deals.concat([from_won, base])


def installed_base(
    rng: np.random.Generator, n: int, calendar: Calendar, staff: Staff, first_account: int
) -> Deals:
    """Renewals (65%) and expansions of customers won before the window, no lead."""
    day = rng.choice(calendar.n_days - 1, size=n, p=_renormal(day_weights(calendar)[:-1]))
    hour = categorical(rng, SEASONALITY.hour_weights_utc, n)
    created = calendar.start + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    region = categorical(rng, [r.share for r in REGIONS], n)
    industry = categorical(rng, [i.share for i in INDUSTRIES], n)
    size = categorical(rng, [s.share for s in SIZES], n)
    team = route_team(region, size)
    kind = np.where(rng.random(n) < 0.65, RENEWAL, EXPANSION)
    renewable = [k for k, p in enumerate(PRODUCTS) if p.renewable]
    ren_product = np.array(renewable)[categorical(rng, [PRODUCTS[k].share for k in renewable], n)]
    product = np.where(
        kind == RENEWAL, ren_product, categorical(rng, [p.share for p in PRODUCTS], n)
    )
    amount = _amount(rng, product, size, region, industry, np.full(n, -1), np.full(n, 3.0))
    amount = np.where(kind == EXPANSION, np.maximum(np.rint(amount * 0.5), 500.0), amount)
    return Deals(
        created=created,
        owner=staff.assign_ae(rng, created, team),
        team=team,
        region=region,
        industry=industry,
        size=size,
        source=np.full(n, -1),
        product=product,
        deal_type=kind,
        amount=amount,
        margin=_margin(rng, product),
        score=np.full(n, np.nan),
        lead=np.full(n, -1),
        account=first_account + np.arange(n, dtype=np.int64),
    )


def _renormal(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


__all__ = ["DEAL_TYPES", "START_STAGE", "Deals", "from_leads", "installed_base", "repeat_deals"]
