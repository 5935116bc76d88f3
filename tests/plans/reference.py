"""An independent, plain-loop reading of the payout semantics, to cross-check the kernel.

Written from the docstrings of ``salesanalytics.plans.spec`` and ``salesanalytics.plans.kernel``
(its numbered order of evaluation), not from the kernel code: plain floats and nested lists,
loops over reps, periods, tiers, bonus points and teams; no numpy. Only the plan dataclasses
are imported.

The semantics, as read (per rep ``r`` and period ``p``; ``ppy`` periods per plan year):

* proration: period base salary = annual / ppy × employed, period target incentive (TI)
  likewise;
* attainment ``a`` = measure / quota (0 where quota is 0); under ``attainment="ytd"``
  measure and quota are summed from the start of the plan year;
* commission: the tier schedule on ``min(a, cap_attainment)``; marginal = each band of
  attainment at its own rate, retroactive = the rate of the reached tier (the highest tier
  whose lower bound is ≤ the attainment) on the whole attainment; the effective rate per unit
  of measure is schedule / ``a`` (the first tier's rate at ``a = 0``); below the gate nothing;
  ``rate_of="measure"`` earns rate × commission base, ``rate_of="target_incentive"`` earns
  schedule × TI; the payout cap is ``min(cap_payout, cap_payout_ti × period TI)`` (an
  infinite multiple means no TI cap, whatever the TI); under ytd every quantity is year to
  date (base, TI, and the cap summed over the periods so far) and the period pays
  ``max(0, earned to date − most paid so far this year)`` (true-up);
* quota bonuses on ``a`` (steps: the amount of the highest threshold reached; linear:
  nothing below the first point, interpolated, flat after the last), × TI (ytd TI under ytd)
  when ``of_target_incentive``; true-up under ytd;
* team pools per period (never ytd): size = rate × team measure + amount, paid when team
  measure / team quota reaches the gate (a positive gate needs a positive team quota),
  shared among the team's employed reps equally, by measure or by prorated TI;
* SPIFF money passes through; clawback in period ``p`` = Σ over lags ``l`` of the cancelled
  commission base × the effective paid rate of the close period ``p − l`` (commission after
  gate and caps, ytd under ytd, per unit of commission base — of measure for a TI commission);
* variable ``v`` = commission + bonuses + pools + SPIFFs − clawbacks; guarantee ``G`` = draw
  amount × employed where the draw is active (``draw_active``, else where employed and, with
  ``Draw.periods`` = N, only in the N periods from the rep's first employed one); ``v < G``:
  advance ``G − v``, and the balance grows by ``G − v`` (recoverable) or by ``max(0, −v)``
  (non-recoverable); otherwise the recovery is ``min(balance, recovery_share × (v − G))``;
  in an exit period the balance is reported and closed;
* total = base + commission + bonus + team pool + SPIFF + clawback + advance + recovery.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from salesanalytics.plans.spec import Commission, Plan, QuotaBonus

Grid = list[list[float]]

COMPONENTS = ("base", "commission", "bonus", "team_pool", "spiff", "clawback", "advance",
              "recovery")  # fmt: skip


@dataclass
class RefPayouts:
    """Per rep × period results of :func:`reference_payout` (nested lists)."""

    components: dict[str, Grid]
    bonuses: dict[str, Grid]
    team_pools: dict[str, Grid]
    attainment: Grid
    rate: Grid
    cap_cut: Grid
    paid_rate: Grid
    balance: Grid
    balance_at_exit: Grid
    total: Grid = field(default_factory=list)


def _grid(reps: int, periods: int) -> Grid:
    return [[0.0] * periods for _ in range(reps)]


def schedule(commission: Commission, a: float) -> tuple[float, float]:
    """Commission per unit of quota at attainment ``a`` and the effective rate per unit of
    measure, after the attainment cap and the gate."""
    if a < commission.gate:
        return 0.0, 0.0
    capped = min(a, commission.cap_attainment)
    if commission.method == "marginal":
        per_quota = 0.0
        for tier in commission.tiers:
            if capped > tier.lower:
                per_quota += tier.rate * (min(capped, tier.upper) - tier.lower)
    else:
        reached = commission.tiers[0]
        for tier in commission.tiers:
            if tier.lower <= capped:
                reached = tier
        per_quota = reached.rate * capped
    rate = per_quota / a if a > 0 else commission.tiers[0].rate
    return per_quota, rate


def bonus_value(bonus: QuotaBonus, a: float) -> float:
    """The bonus amount (or TI fraction) at attainment ``a``."""
    points = bonus.points
    if a < points[0][0]:
        return 0.0
    if bonus.kind == "step":
        value = 0.0
        for at, amount in points:
            if a >= at:
                value = amount
        return value
    if a >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= a < x1:
            return y0 + (y1 - y0) * (a - x0) / (x1 - x0)
    raise AssertionError("unreachable")


def _new_year(year: list[int], p: int) -> bool:
    return p == 0 or year[p] != year[p - 1]


def _true_up(to_date: list[float], year: list[int]) -> list[float]:
    """Period payments of year-to-date amounts: what is beyond the most paid so far."""
    out = []
    most = 0.0
    for p, value in enumerate(to_date):
        if _new_year(year, p):
            most = 0.0
        out.append(max(0.0, value - most))
        most = max(most, value)
    return out


def reference_payout(
    plan: Plan,
    measure: Grid,
    quota: Grid,
    employed: Grid,
    base_salary: list[float],
    target_incentive: list[float],
    year: list[int],
    commission_base: Grid | None = None,
    spiff: Grid | None = None,
    cancelled: list[list[list[float]]] | None = None,
    team: list[int] | None = None,
    draw_active: list[list[bool]] | None = None,
    exits: list[list[bool]] | None = None,
) -> RefPayouts:
    """Payouts of ``plan`` for one scenario, rep by rep and period by period."""
    reps, periods = len(measure), len(measure[0])
    ppy = plan.periods_per_year
    ytd = plan.attainment == "ytd"
    if commission_base is None:
        commission_base = measure
    comp = {name: _grid(reps, periods) for name in COMPONENTS}
    attainment, rate_out = _grid(reps, periods), _grid(reps, periods)
    cap_cut, paid_rate = _grid(reps, periods), _grid(reps, periods)
    ti, base = _grid(reps, periods), _grid(reps, periods)
    bonuses = {b.name: _grid(reps, periods) for b in plan.bonuses}
    c = plan.commission

    for r in range(reps):
        m_sum = q_sum = b_sum = ti_sum = cap_sum = 0.0
        earned_to_date, capped_to_date = [], []
        bonus_to_date: dict[str, list[float]] = {b.name: [] for b in plan.bonuses}
        for p in range(periods):
            ti[r][p] = target_incentive[r] / ppy * employed[r][p]
            base[r][p] = base_salary[r] / ppy * employed[r][p]
            comp["base"][r][p] = base[r][p]
            if ytd:
                if _new_year(year, p):
                    m_sum = q_sum = b_sum = ti_sum = cap_sum = 0.0
                m_sum += measure[r][p]
                q_sum += quota[r][p]
                b_sum += commission_base[r][p]
                ti_sum += ti[r][p]
                m, q, b, t = m_sum, q_sum, b_sum, ti_sum
            else:
                m, q, b, t = measure[r][p], quota[r][p], commission_base[r][p], ti[r][p]
            a = m / q if q > 0 else 0.0
            attainment[r][p] = a

            if c is not None:
                per_quota, rate = schedule(c, a)
                rate_out[r][p] = rate
                earned = rate * b if c.rate_of == "measure" else per_quota * t
                cap = c.cap_payout
                if not math.isinf(c.cap_payout_ti):
                    cap = min(cap, c.cap_payout_ti * ti[r][p])
                cap_sum += cap
                capped = min(earned, cap_sum if ytd else cap)
                earned_to_date.append(earned)
                capped_to_date.append(capped)
                basis = b if c.rate_of == "measure" else m
                paid_rate[r][p] = capped / basis if basis > 0 else 0.0

            for bonus in plan.bonuses:
                value = bonus_value(bonus, a)
                if bonus.of_target_incentive:
                    value *= t
                bonus_to_date[bonus.name].append(value)

        if c is not None:
            if ytd:
                paid = _true_up(capped_to_date, year)
                uncapped = _true_up(earned_to_date, year)
            else:
                paid, uncapped = capped_to_date, earned_to_date
            for p in range(periods):
                comp["commission"][r][p] = paid[p]
                cap_cut[r][p] = uncapped[p] - paid[p]
        for bonus in plan.bonuses:
            values = bonus_to_date[bonus.name]
            if ytd:
                values = _true_up(values, year)
            for p in range(periods):
                bonuses[bonus.name][r][p] = values[p]
                comp["bonus"][r][p] += values[p]

    pools = {pool.name: _grid(reps, periods) for pool in plan.team_pools}
    if plan.team_pools:
        if team is None:
            raise ValueError("team pools need teams")
        for pool in plan.team_pools:
            for p in range(periods):
                for t_id in sorted({t for t in team if t >= 0}):
                    members = [r for r in range(reps) if team[r] == t_id]
                    team_m = sum(measure[r][p] for r in members)
                    team_q = sum(quota[r][p] for r in members)
                    team_a = team_m / team_q if team_q > 0 else 0.0
                    if team_a < pool.gate or (pool.gate > 0 and team_q <= 0):
                        continue
                    size = pool.rate * team_m + pool.amount
                    weights = {}
                    for r in members:
                        if employed[r][p] <= 0:
                            weights[r] = 0.0
                        elif pool.share == "equal":
                            weights[r] = 1.0
                        elif pool.share == "credit":
                            weights[r] = measure[r][p]
                        else:
                            weights[r] = ti[r][p]
                    total_weight = sum(weights.values())
                    if total_weight <= 0:
                        continue
                    for r in members:
                        amount = size * weights[r] / total_weight
                        pools[pool.name][r][p] = amount
                        comp["team_pool"][r][p] += amount

    if spiff is not None:
        for r in range(reps):
            for p in range(periods):
                comp["spiff"][r][p] = float(spiff[r][p])

    if cancelled is not None and plan.clawback is not None and c is not None:
        for r in range(reps):
            for p in range(periods):
                for lag, amount in enumerate(cancelled[r][p]):
                    if p - lag >= 0:
                        comp["clawback"][r][p] -= amount * paid_rate[r][p - lag]

    balance, at_exit = _grid(reps, periods), _grid(reps, periods)
    draw = plan.draw
    for r in range(reps):
        owed = 0.0
        hired = next((p for p in range(periods) if employed[r][p] > 0), periods)
        for p in range(periods):
            v = (
                comp["commission"][r][p]
                + comp["bonus"][r][p]
                + comp["team_pool"][r][p]
                + comp["spiff"][r][p]
                + comp["clawback"][r][p]
            )
            if draw_active is not None:
                active = bool(draw_active[r][p])
            else:  # where employed, within the draw's first ``periods`` from the hire
                active = employed[r][p] > 0
                if draw is not None and draw.periods and p - hired >= draw.periods:
                    active = False
            g = draw.amount * employed[r][p] if draw is not None and active else 0.0
            if v < g:
                comp["advance"][r][p] = g - v
                recoverable = draw.recoverable if draw is not None else True
                owed += (g - v) if recoverable else max(0.0, -v)
            else:
                share = draw.recovery_share if draw is not None else 1.0
                repay = min(owed, share * (v - g))
                comp["recovery"][r][p] = -repay
                owed -= repay
            balance[r][p] = owed
            if exits is not None and exits[r][p]:
                at_exit[r][p] = owed
                owed = 0.0

    total = [[sum(comp[name][r][p] for name in COMPONENTS) for p in range(periods)]
             for r in range(reps)]  # fmt: skip
    return RefPayouts(
        comp, bonuses, pools, attainment, rate_out, cap_cut, paid_rate, balance, at_exit, total
    )
