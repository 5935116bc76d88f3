"""Leads: arrival over time, qualification components, routing, first response and conversion.

Leads arrive per source with growth, month seasonality (trade shows cluster in show months),
fewer on weekends, mostly in China business hours. Each lead gets need fit, purchasing power
and decision-chain complexity (1-5), a published score built from them, an owner (SDR or AE of
its team, employed at the time), a first-response delay (lognormal, slower off-hours and for
slow reps; some leads never answered) and a conversion drawn from the true logistic model
(:class:`~salesanalytics.sample.params.LeadModel`) with exactly the number of new deals asked.

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._util import DAY, HOUR, categorical, lognormal_days, sigmoid, to_seconds
from .params import INDUSTRIES, LEAD_MODEL, REGIONS, SEASONALITY, SIZES, SOURCES, LeadModel
from .world import SDR, Calendar, Staff, route_team


@dataclass(frozen=True)
class Leads:
    """Leads as aligned arrays (times in epoch seconds; ``-1`` marks a missing time/owner)."""

    created: np.ndarray
    source: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    team: np.ndarray
    need_fit: np.ndarray
    power: np.ndarray
    complexity: np.ndarray
    score: np.ndarray
    owner: np.ndarray
    first_response: np.ndarray
    converted: np.ndarray
    """Conversion time, ``-1`` when the lead did not convert."""
    work_end: np.ndarray
    """When the owner stopped working the lead (conversion, give-up, owner left or as-of)."""

    def __len__(self) -> int:
        return len(self.created)

    def take(self, index: np.ndarray | slice) -> Leads:
        """The leads at ``index``."""
        return Leads(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def day_weights(
    calendar: Calendar, source: int | None = None, *, since: int | None = None
) -> np.ndarray:
    """Relative volume of each day from ``since`` (default: window start) to ``as_of``.

    Growth x month factor x weekday factor (x trade-show months for that source); sums to 1.
    """
    first = calendar.start if since is None else since
    days = first + np.arange((calendar.as_of - first) // DAY, dtype=np.int64) * DAY
    dt = days.astype("datetime64[s]")
    month = dt.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (dt.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    years = (days - calendar.start) / (365.25 * DAY)
    w = (1 + SEASONALITY.annual_growth) ** years * np.asarray(SEASONALITY.month_factor)[month]
    w = w * np.where(weekday >= 5, SEASONALITY.weekend_factor, 1.0)
    if source is not None and SOURCES[source].name == "trade_show":
        show = np.isin(month + 1, SEASONALITY.trade_show_months)
        w = w * np.where(show, SEASONALITY.trade_show_boost, SEASONALITY.trade_show_off)
    return np.asarray(w / w.sum())


def _component(rng: np.random.Generator, shift: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(3.0 + shift + 0.95 * rng.standard_normal(len(shift))), 1, 5)


def lead_score(need_fit: np.ndarray, power: np.ndarray, complexity: np.ndarray) -> np.ndarray:
    """The published lead score, 0-100: ``25 (0.40 (nf-1) + 0.35 (pp-1) + 0.25 (5-dc))``.

    Examples
    --------
    >>> import numpy as np
    >>> lead_score(np.array([5.0, 1.0]), np.array([5.0, 1.0]), np.array([1.0, 5.0])).tolist()
    [100.0, 0.0]
    """
    return np.rint(25.0 * (0.40 * (need_fit - 1) + 0.35 * (power - 1) + 0.25 * (5 - complexity)))


def _calibrate(x: np.ndarray, target: float) -> float:
    """Intercept ``a`` with ``sum(sigmoid(a + x)) == target`` (safeguarded Newton)."""
    if len(x) == 0 or target <= 0:
        return -30.0
    if target >= len(x):
        return 30.0
    lo, hi, a = -30.0, 30.0, 0.0
    for _ in range(100):
        s = sigmoid(a + x)
        f = float(s.sum()) - target
        if abs(f) < 1e-6 * max(target, 1.0):
            break
        if f < 0:
            lo = a
        else:
            hi = a
        step = f / max(float((s * (1 - s)).sum()), 1e-12)
        a = a - step if lo < a - step < hi else 0.5 * (lo + hi)
    return a


def _exact(rng: np.random.Generator, p: np.ndarray, eligible: np.ndarray, n: int) -> np.ndarray:
    """Bernoulli conversions, then adjusted to exactly ``n`` (or all eligible if fewer)."""
    conv = (rng.random(len(p)) < p) & eligible
    k = int(conv.sum())
    if k > n:
        drop = rng.choice(np.flatnonzero(conv), size=k - n, replace=False)
        conv[drop] = False
    elif k < n:
        pool = np.flatnonzero(eligible & ~conv)
        need = min(n - k, len(pool))
        odds = p[pool] / np.maximum(1 - p[pool], 1e-12)
        keys = np.log(rng.random(len(pool))) / np.maximum(odds, 1e-300)
        conv[pool[np.argsort(-keys, kind="stable")[:need]]] = True
    return conv


def make_leads(
    rng: np.random.Generator,
    n_leads: int,
    n_convert: int,
    calendar: Calendar,
    staff: Staff,
    model: LeadModel = LEAD_MODEL,
) -> Leads:
    """Draw ``n_leads`` leads of which (up to) ``n_convert`` convert into deals."""
    source = categorical(rng, [s.lead_share for s in SOURCES], n_leads)
    day = np.zeros(n_leads, dtype=np.int64)
    for s in range(len(SOURCES)):
        sel = np.flatnonzero(source == s)
        w = day_weights(calendar, s, since=calendar.lead_start)
        day[sel] = rng.choice(calendar.n_lead_days, size=len(sel), p=w)
    hour = categorical(rng, SEASONALITY.hour_weights_utc, n_leads)
    created = calendar.lead_start + day * DAY + hour * HOUR + rng.integers(0, HOUR, n_leads)
    region = categorical(rng, [r.share for r in REGIONS], n_leads)
    industry = categorical(rng, [i.share for i in INDUSTRIES], n_leads)
    size = categorical(rng, [s.share for s in SIZES], n_leads)
    team = route_team(region, size)

    nf_shift = np.array([s.need_fit_shift for s in SOURCES])[source]
    pp_shift = np.array([s.power_shift for s in SOURCES])[source]
    pp_shift = pp_shift + np.array([s.power_shift for s in SIZES])[size]
    dc_shift = np.array([s.complexity_shift for s in SIZES])[size]
    need_fit = _component(rng, nf_shift)
    power = _component(rng, pp_shift)
    complexity = _component(rng, dc_shift)
    score = lead_score(need_fit, power, complexity)

    # owner: an SDR of the team (most leads) or an AE directly; AEs when no SDR is employed
    to_sdr = rng.random(n_leads) < model.sdr_share
    owner = np.full(n_leads, -1, dtype=np.int64)
    owner[to_sdr] = staff.assign(rng, created[to_sdr], team[to_sdr], SDR)
    need_ae = owner < 0
    owner[need_ae] = staff.assign_ae(rng, created[need_ae], team[need_ae])

    # first response: lognormal around the owner's median, slower off-hours; some never
    weekday = ((created // DAY) + 3) % 7
    off = (weekday >= 5) | (hour >= 11)
    median_h = staff.response_hours[owner] * np.where(off, model.off_hours_factor, 1.0)
    delay_h = lognormal_days(rng, median_h, model.response_sigma, n_leads)
    p_never = np.clip(model.never_respond * np.sqrt(staff.response_hours[owner] / 3.0), 0, 0.5)
    first = created + np.maximum(np.rint(delay_h * HOUR), 60).astype(np.int64)
    answered = (rng.random(n_leads) >= p_never) & (first < staff.end[owner])
    answered &= first < calendar.as_of
    first = np.where(answered, first, -1)

    # conversion: the true logistic model, intercept calibrated to n_convert
    x = (
        np.array([s.conversion_shift for s in SOURCES])[source]
        + model.need_fit_coef * (need_fit - 3)
        + model.power_coef * (power - 3)
        + model.complexity_coef * (complexity - 3)
        + model.response_coef * np.log2(1.0 + delay_h)
        + staff.lead_skill[owner]
        + model.cadence_coef * np.log(staff.cadence[owner] / model.cadence_median)
    )
    qualify = to_seconds(
        lognormal_days(rng, model.qualify_median_days, model.qualify_sigma, n_leads)
    )
    when = first + qualify
    eligible = answered & (when < calendar.as_of)
    a = _calibrate(x[eligible], float(n_convert))
    p = sigmoid(a + x)
    conv = _exact(rng, p, eligible, n_convert)
    converted = np.where(conv, when, -1)

    give_up = first + to_seconds(lognormal_days(rng, model.work_median_days, 0.6, n_leads))
    work_end = np.where(conv, converted, give_up)
    work_end = np.minimum(np.minimum(work_end, staff.end[owner] - 1), calendar.as_of - 1)
    work_end = np.where(answered, np.maximum(work_end, first), -1)

    order = np.argsort(created, kind="stable")
    return Leads(
        created=created[order],
        source=source[order],
        region=region[order],
        industry=industry[order],
        size=size[order],
        team=team[order],
        need_fit=need_fit[order],
        power=power[order],
        complexity=complexity[order],
        score=score[order],
        owner=owner[order],
        first_response=first[order],
        converted=converted[order],
        work_end=work_end[order],
    )


__all__ = ["Leads", "day_weights", "lead_score", "make_leads"]
