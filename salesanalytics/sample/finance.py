"""Monthly quotas per rep and monthly marketing spend per lead source.

Quotas are set the way a good planner would: the company's expected bookings per month (the
realised won bookings smoothed over three months) times ``quota_stretch``, split over the
reps of a role by employed fraction of the month x ramp x territory factor x a mild
productivity factor (``productivity ** quota_skill_weight``). So partial months of hires and
leavers are prorated, new hires carry ramped quotas, and attainment spreads around
``1 / quota_stretch`` with skill, territory and luck. Measures: AEs their own bookings, SDRs
the bookings of deals converted from their leads, managers their team's bookings (the sum of
the team's AE quotas).

Spend per source and month is the leads it brought times its cost per lead times noise.

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import DAY
from .params import SOURCES, WORKFORCE, Workforce
from .world import AE, MANAGER, SDR, Calendar, Staff


@dataclass(frozen=True)
class Quotas:
    """Quota rows: rep position, month index and amount."""

    rep: np.ndarray
    month: np.ndarray
    quota: np.ndarray


def employment_fraction(staff: Staff, calendar: Calendar) -> tuple[np.ndarray, np.ndarray]:
    """Employed fraction and mean ramp of each rep (rows) in each month (columns)."""
    lo, hi = calendar.months[:-1], calendar.months[1:]
    start = np.maximum(staff.hire[:, None], lo[None, :])
    stop = np.minimum(staff.end[:, None], hi[None, :])
    frac = np.clip(stop - start, 0, None) / (hi - lo)[None, :]
    mid = (start + stop) / 2
    tenure = (mid - staff.hire[:, None]) / DAY
    ramp = np.clip(0.25 + 0.75 * tenure / staff.ramp_days, 0.25, 1.0)
    return frac, ramp


def _smooth(x: np.ndarray) -> np.ndarray:
    if len(x) < 3:
        return np.full(len(x), x.mean() if len(x) else 0.0)
    padded = np.r_[x[0], x, x[-1]]
    kernel = np.ones(3) / 3
    return np.convolve(padded, kernel, mode="valid")


def _split(
    bookings: np.ndarray,
    team_bookings: np.ndarray,
    weight: np.ndarray,
    team: np.ndarray,
    stretch: float,
) -> np.ndarray:
    """Quota matrix (reps x months) for one role: expected bookings split by weight."""
    team_weight = np.array([weight[team == k].sum() for k in range(len(team_bookings))])
    rate = team_bookings / np.maximum(team_weight, 1e-12)
    overall = team_bookings.sum() / max(team_weight.sum(), 1e-12)
    territory = np.where(team_weight > 0, rate / max(overall, 1e-12), 1.0)
    w = weight * territory[team][:, None]
    total = w.sum(axis=0)
    return stretch * _smooth(bookings)[None, :] * w / np.where(total > 0, total, 1.0)[None, :]


def make_quotas(
    staff: Staff,
    calendar: Calendar,
    won_month: np.ndarray,
    won_amount: np.ndarray,
    won_owner: np.ndarray,
    sourced_by: np.ndarray,
    wf: Workforce = WORKFORCE,
) -> Quotas:
    """Monthly quotas of every rep for every month they were employed.

    ``won_month``, ``won_amount`` and ``won_owner`` describe won deals (month index of the
    win); ``sourced_by`` is the owner of the lead each won deal came from (-1: none).
    """
    n_m = len(calendar.months) - 1
    frac, ramp = employment_fraction(staff, calendar)
    n_teams = int(staff.team.max()) + 1
    quota = np.zeros((len(staff), n_m))
    ae_prod = (staff.capacity * np.exp(0.8 * staff.skill)) ** wf.quota_skill_weight
    sdr_prod = (staff.capacity * np.exp(staff.lead_skill)) ** wf.quota_skill_weight
    for role, prod, credit in ((AE, ae_prod, won_owner), (SDR, sdr_prod, sourced_by)):
        reps = np.flatnonzero(staff.role == role)
        credited = credit >= 0
        credited &= staff.role[np.maximum(credit, 0)] == role
        by_month = np.bincount(won_month[credited], won_amount[credited], minlength=n_m)
        by_team = np.bincount(staff.team[credit[credited]], won_amount[credited], minlength=n_teams)
        weight = frac[reps] * ramp[reps] * prod[reps, None]
        quota[reps] = _split(by_month, by_team, weight, staff.team[reps], wf.quota_stretch)
    for r in np.flatnonzero(staff.role == MANAGER):
        aes = (staff.team == staff.team[r]) & (staff.role == AE)
        quota[r] = quota[aes].sum(axis=0) * frac[r]
    rep, month = np.nonzero(frac > 0)
    return Quotas(rep, month, np.rint(quota[rep, month]))


def make_spend(
    rng: np.random.Generator, calendar: Calendar, lead_source: np.ndarray, lead_month: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spend rows (source index, month index, cost) for every source and month."""
    n_m = len(calendar.months) - 1
    flat = np.bincount(lead_source * n_m + lead_month, minlength=len(SOURCES) * n_m)
    counts = flat.reshape(len(SOURCES), n_m).astype(float)
    cpl = np.array([s.cost_per_lead for s in SOURCES])
    cost = counts * cpl[:, None] * np.exp(0.12 * rng.standard_normal(counts.shape))
    source, month = np.indices(counts.shape)
    return source.ravel(), month.ravel(), np.rint(cost).ravel()


__all__ = ["Quotas", "employment_fraction", "make_quotas", "make_spend"]
