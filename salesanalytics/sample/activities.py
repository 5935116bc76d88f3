"""Activities: the first response and follow-up touches on leads, and touches on open deals.

A lead's first response is an activity (call, email or message). After it, the owner follows
up at their own cadence (touches per week, a true per-rep trait that also raises conversion)
until the lead converts or is given up. Open deals get meetings, calls, emails and visits at
``DEAL_TOUCHES_PER_WEEK``, by whoever owned the deal at the time.

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import DAY, categorical
from .leads import Leads
from .world import Calendar, Staff

KINDS: tuple[str, ...] = ("call", "email", "meeting", "visit", "message")
FIRST_TOUCH_MIX = (0.55, 0.35, 0.0, 0.0, 0.10)
FOLLOW_UP_MIX = (0.40, 0.40, 0.05, 0.0, 0.15)
DEAL_MIX = (0.30, 0.25, 0.30, 0.15, 0.0)
MAX_FOLLOW_UPS = 6
DEAL_TOUCHES_PER_WEEK = 0.4
MAX_DEAL_TOUCHES = 5


@dataclass(frozen=True)
class Activities:
    """Activities as aligned arrays (``lead``/``deal`` are positions, -1 when absent)."""

    at: np.ndarray
    lead: np.ndarray
    deal: np.ndarray
    kind: np.ndarray
    owner: np.ndarray

    def __len__(self) -> int:
        return len(self.at)


def lead_activities(rng: np.random.Generator, leads: Leads, staff: Staff) -> Activities:
    """First responses plus Poisson follow-ups at the owner's cadence until ``work_end``."""
    worked = np.flatnonzero(leads.first_response >= 0)
    first = leads.first_response[worked]
    span = leads.work_end[worked] - first
    owner = leads.owner[worked]
    n_follow = np.minimum(
        rng.poisson(staff.cadence[owner] * span / (7 * DAY)), MAX_FOLLOW_UPS
    ).astype(np.int64)
    rep = np.repeat(np.arange(len(worked)), n_follow)
    at_follow = first[rep] + np.rint(rng.random(len(rep)) * span[rep]).astype(np.int64)
    lead = np.concatenate([worked, worked[rep]])
    at = np.concatenate([first, at_follow])
    kind = np.concatenate(
        [
            categorical(rng, FIRST_TOUCH_MIX, len(worked)),
            categorical(rng, FOLLOW_UP_MIX, len(rep)),
        ]
    )
    return Activities(
        at,
        lead.astype(np.int32),
        np.full(len(at), -1, dtype=np.int32),
        kind.astype(np.int8),
        leads.owner[lead].astype(np.int32),
    )


def deal_activities(
    rng: np.random.Generator,
    created: np.ndarray,
    ended: np.ndarray,
    first_owner: np.ndarray,
    owner: np.ndarray,
    staff: Staff,
    calendar: Calendar,
) -> Activities:
    """Touches on deals while open (``ended``: close time, or -1 while open).

    A touch before the first owner left is theirs, afterwards the final owner's; touches by
    nobody (a leaver's deal waiting to be closed) and touches before the window are dropped.
    """
    end = np.where(ended >= 0, ended, calendar.as_of - 1)
    span = np.maximum(end - created, 0)
    n_touch = np.minimum(
        rng.poisson(DEAL_TOUCHES_PER_WEEK * span / (7 * DAY)), MAX_DEAL_TOUCHES
    ).astype(np.int64)
    deal = np.repeat(np.arange(len(created)), n_touch)
    at = created[deal] + np.rint(rng.random(len(deal)) * span[deal]).astype(np.int64)
    at = np.maximum(at, created[deal] + 60)
    who = np.where(at < staff.end[first_owner[deal]], first_owner[deal], owner[deal])
    ok = staff.is_employed(who, at) & (at >= calendar.start) & (at < calendar.as_of)
    kind = categorical(rng, DEAL_MIX, len(deal))
    return Activities(
        at[ok],
        np.full(int(ok.sum()), -1, dtype=np.int32),
        deal[ok].astype(np.int32),
        kind[ok].astype(np.int8),
        who[ok].astype(np.int32),
    )


def combine(parts: list[Activities]) -> Activities:
    """All activities ordered by time (ties keep input order)."""
    at = np.concatenate([p.at for p in parts])
    order = np.argsort(at, kind="stable")
    return Activities(
        at[order],
        np.concatenate([p.lead for p in parts])[order],
        np.concatenate([p.deal for p in parts])[order],
        np.concatenate([p.kind for p in parts])[order],
        np.concatenate([p.owner for p in parts])[order],
    )


__all__ = ["KINDS", "Activities", "combine", "deal_activities", "lead_activities"]
