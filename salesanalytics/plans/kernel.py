"""The payout kernel: credited measure and quota in, payouts by component out.

One vectorised function, :func:`payout`, turns arrays shaped ``(..., reps, periods)`` into
payouts of the same shape: any leading shape (none for a backtest, scenarios for a
simulation) is carried through unchanged. The only Python loops are over tiers, bonuses,
team pools, plan years and, for the draw balance (a running sum with a floor), over periods:
never over reps, deals or scenarios.

Order of evaluation per rep and period (``docs/plans.md`` states it in words):

1. attainment ``a = measure / quota`` (year to date, cumulatively, with ``attainment="ytd"``);
2. commission: tier schedule on ``min(a, cap_attainment)`` (marginal or retroactive), zero
   below the gate; paid on the commission base (rate-card weighted credit) or on the target
   incentive; capped at the payout cap; with year-to-date attainment the period pays the
   cumulative amount earned less what was paid before (never negative: true-up);
3. quota bonuses on attainment (true-up likewise); team pools on team attainment per period;
   SPIFFs as given; clawbacks at the effective rate of the period the deal closed in;
4. variable pay ``v`` = commission + bonuses + pools + SPIFFs − clawbacks; the draw
   guarantees ``G``: if ``v < G`` the rep is paid ``G`` and the shortfall (recoverable draw) or
   any negative ``v`` (clawbacks beyond earnings) is added to the balance; if ``v >= G`` the
   balance is repaid from ``recovery_share × (v − G)``; the balance left at exit is reported;
5. total = prorated base salary + paid variable pay (never negative).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from .._ratio import all_positive, ratio
from .draw_balance import draw_balance
from .schedule import lean_commission, schedule, tier_commission
from .spec import Commission, Plan, QuotaBonus
from .team_pools import team_pool

__all__ = ["KernelInputs", "Payouts", "payout", "tier_commission"]

F = NDArray[np.float64]
COMPONENTS = (
    "base",
    "commission",
    "bonus",
    "team_pool",
    "spiff",
    "clawback",
    "advance",
    "recovery",
)
"""Statement components, in statement order; they sum to ``total``."""


@dataclass(frozen=True, eq=False)
class KernelInputs:
    """Arrays for :func:`payout`; ``R`` reps, ``P`` periods, ``...`` any leading shape.

    Attributes
    ----------
    measure
        ``(..., R, P)`` credited measure (attainment numerator).
    quota
        ``(..., R, P)`` or ``(R, P)`` quota (> 0 where attainment matters).
    commission_base
        ``(..., R, P)`` rate-card weighted credit; ``None``: the measure.
    employed
        ``(R, P)`` employed share of each period (prorates base, target incentive, draw), or
        ``(..., R, P)`` when employment varies by scenario (attrition).
    base_salary, target_incentive
        ``(R,)`` annual amounts.
    year
        ``(P,)`` plan-year number of each period (non-decreasing).
    spiff
        ``(..., R, P)`` SPIFF money, or ``None``.
    cancelled
        ``(..., R, P, L)``: commission base of deals cancelled in period ``p`` that closed
        in period ``p − l`` (already scaled for pro-rata clawbacks), or ``None``.
    team
        ``(R,)`` team number of each rep (``-1``: none), for team pools.
    draw_active
        ``(R, P)`` whether the draw applies; ``None``: where employed, and with the draw's
        ``periods`` set only in a rep's first ``periods`` periods counted from the first
        period the rep is employed in these arrays.
    exits
        ``(R, P)`` True in a rep's last employed period on the plan (the balance is closed).
    """

    measure: F
    quota: F
    employed: F
    base_salary: F
    target_incentive: F
    year: NDArray[np.int64]
    commission_base: F | None = None
    spiff: F | None = None
    cancelled: F | None = None
    team: NDArray[np.int64] | None = None
    draw_active: NDArray[np.bool_] | None = None
    exits: NDArray[np.bool_] | None = None


@dataclass(frozen=True, eq=False)
class Payouts:
    """Kernel output; every array has the measure's shape ``(..., R, P)``.

    ``components`` maps each name in :data:`COMPONENTS` to its amounts (clawback and
    recovery are ≤ 0); they sum to ``total``. ``bonuses`` and ``team_pools`` hold the
    amounts per named component. The other arrays explain them:

    * ``attainment``: what the plan pays on (year to date under ``ytd``);
    * ``rate``: the effective commission rate per unit of commission base, after the gate
      and the attainment cap, before the payout cap (for commission paid on target
      incentive: the schedule's rate per unit of attainment);
    * ``cap_cut``: what the payout cap removed from the period's commission (negative when
      a year-to-date cap releases money held back earlier);
    * ``paid_rate``: the rate after the payout cap per unit of commission base (of measure
      when paid on target incentive; year to date under ``ytd``); a clawback takes back a
      cancelled deal's base at the paid rate of its close period;
    * ``balance``: the draw/clawback balance owed at the end of each period, and
      ``balance_at_exit`` that balance in a rep's exit period.
    * ``absent``: the components this plan does not have (all zero, one shared array).
    """

    components: Mapping[str, F]
    bonuses: Mapping[str, F]
    team_pools: Mapping[str, F]
    attainment: F
    rate: F
    cap_cut: F
    paid_rate: F
    balance: F
    balance_at_exit: F
    absent: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        arrays = [*self.components.values(), *self.bonuses.values(), *self.team_pools.values()]
        arrays += [self.attainment, self.rate, self.cap_cut, self.paid_rate, self.balance]
        for a in (*arrays, self.balance_at_exit):
            a.flags.writeable = False  # outputs may share memory: read them, never write

    @cached_property
    def total(self) -> F:
        """Total pay: the sum of the components (computed when first asked for)."""
        shape = self.attainment.shape
        live = [p for name, p in self.components.items() if name not in self.absent]
        if not live:
            total = np.zeros(shape)
        else:
            total = np.array(np.broadcast_to(live[0], shape), dtype=float)
            for part in live[1:]:
                total += part
        total.flags.writeable = False
        return total

    @property
    def variable(self) -> F:
        """Paid variable pay: total minus base salary."""
        return self.total - self.components["base"]


# ------------------------------------------------------------------ helpers
def _years(year: NDArray[np.int64]) -> list[slice]:
    """Slices of consecutive periods of one plan year."""
    year = np.asarray(year)
    if len(year) and (np.diff(year) < 0).any():
        raise ValueError("year must be non-decreasing along periods")
    starts: list[int] = (
        np.flatnonzero(np.r_[True, year[1:] != year[:-1]]).tolist() if len(year) else []
    )
    bounds = [*starts, len(year)]
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _ytd(x: F, years: list[slice]) -> F:
    """Cumulative sum along periods, restarting each plan year."""
    out = np.empty(np.broadcast_shapes(x.shape), dtype=float)
    for s in years:
        out[..., s] = np.cumsum(x[..., s], axis=-1)
    return out


def _true_up(earned_to_date: F, years: list[slice]) -> F:
    """Period payments when ``earned_to_date`` is cumulative: what is earned beyond the most
    paid so far this year (never negative; an over-payment is not taken back)."""
    out = np.empty_like(earned_to_date)
    for s in years:
        paid = np.maximum.accumulate(np.maximum(earned_to_date[..., s], 0.0), axis=-1)
        out[..., s] = np.diff(paid, axis=-1, prepend=0.0)
    return out


def _bonus(bonus: QuotaBonus, attainment: F, ti: F) -> F:
    at = np.array([p[0] for p in bonus.points])
    amounts = np.array([p[1] for p in bonus.points])
    if bonus.kind == "step":
        index = np.searchsorted(at, attainment, side="right") - 1
        value = np.where(index >= 0, amounts[np.maximum(index, 0)], 0.0)
    else:
        value = np.where(attainment < at[0], 0.0, np.interp(attainment, at, amounts))
    return value * ti if bonus.of_target_incentive else value


# ------------------------------------------------------------------ the kernel
def payout(plan: Plan, x: KernelInputs, *, detail: bool = True) -> Payouts:
    """Payouts of ``plan`` for credited measure and quota arrays of any leading shape.

    With ``detail=False`` (what the simulation uses) the explanatory arrays a statement needs
    (``rate``, ``cap_cut`` and, without clawbacks, ``paid_rate``) are left as zeros, which
    saves several passes over the arrays; the components and the total are the same.

    Examples
    --------
    One rep, two months, a 5% flat plan with a 1,200 base salary a year and a recoverable
    draw of 200 a month: month 1 earns 100 (paid 200, owes 100), month 2 earns
    500 (repays the 100 from the 300 above the draw).

    >>> from salesanalytics.plans.spec import Commission, Draw, Plan, Tier
    >>> plan = Plan("flat", commission=Commission((Tier(0, float("inf"), 0.05),)),
    ...             draw=Draw(200.0))
    >>> x = KernelInputs(measure=np.array([[2000.0, 10000.0]]), quota=np.array([[1e4, 1e4]]),
    ...                  employed=np.ones((1, 2)), base_salary=np.array([1200.0]),
    ...                  target_incentive=np.array([0.0]), year=np.array([0, 0]))
    >>> p = payout(plan, x)
    >>> p.total.tolist(), p.components["recovery"].tolist(), p.balance.tolist()
    ([[300.0, 500.0]], [[0.0, -100.0]], [[100.0, 0.0]])
    """
    measure = np.asarray(x.measure, dtype=float)
    shape = measure.shape
    if measure.ndim < 2:
        raise ValueError("measure must have shape (..., reps, periods)")
    periods = shape[-1]
    employed = np.asarray(x.employed, dtype=float)
    if employed.ndim < 2 or np.broadcast_shapes(employed.shape, shape) != shape:
        raise ValueError(f"employed must broadcast to {shape}, got {employed.shape}")
    quota = np.broadcast_to(np.asarray(x.quota, dtype=float), shape)
    base_w = measure if x.commission_base is None else np.asarray(x.commission_base, float)
    years = _years(np.asarray(x.year))
    ppy = plan.periods_per_year
    ti = np.asarray(x.target_incentive, float)[:, None] / ppy * employed
    base = np.asarray(x.base_salary, float)[:, None] / ppy * employed
    ytd = plan.attainment == "ytd"
    cum = (lambda v: _ytd(np.broadcast_to(v, shape), years)) if ytd else (lambda v: v)
    m_x, q_x, ti_x = cum(measure), cum(quota), cum(ti)
    zero = _zeros(shape)

    commission, cap_cut, rate, paid_rate = zero, zero, zero, zero
    c = plan.commission
    # no statement detail and commission = schedule × quota (lean); with periods paid on
    # their own attainment, attainment and capped commission come from one blocked pass
    lean = c is not None and not detail and c.rate_of == "measure" and x.commission_base is None
    fused = lean and not ytd
    if fused:
        assert c is not None
        attain, commission = lean_commission(c, measure, quota, _payout_cap(c, ti))
        if x.cancelled is not None and plan.clawback is not None:
            paid_rate = ratio(commission, measure)
    else:
        attain = ratio(m_x, q_x)
    if c is not None and not fused:
        if lean:  # year to date: commission = schedule × quota; no quota: the first rate
            earned = schedule(c, attain) * q_x
            if c.gate <= 0 and not all_positive(q_x):
                no_quota = np.broadcast_to(~(q_x > 0), shape)
                earned[no_quota] = c.tiers[0].rate * np.broadcast_to(m_x, shape)[no_quota]
        else:
            per_quota, rate = tier_commission(c, attain)
        basis = cum(base_w) if c.rate_of == "measure" else m_x
        if not lean:
            earned = rate * basis if c.rate_of == "measure" else per_quota * ti_x
        cap = _payout_cap(c, ti)
        if cap is not None:
            capped = np.minimum(earned, cum(np.broadcast_to(cap, shape)) if ytd else cap)
        else:
            capped = earned
        if ytd:
            commission = _true_up(capped, years)
            cap_cut = _true_up(earned, years) - commission if cap is not None and detail else zero
        else:
            commission = capped
            cap_cut = earned - capped if cap is not None and detail else zero
        if not detail and (x.cancelled is None or plan.clawback is None):
            paid_rate = zero
        elif cap is None and c.rate_of == "measure" and not lean:
            paid_rate = np.where(basis > 0, rate, 0.0)
        else:
            paid_rate = ratio(capped, basis)

    bonuses = {}
    for b in plan.bonuses:
        value = _bonus(b, attain, ti_x)
        bonuses[b.name] = _true_up(value, years) if ytd else value
    pools = {}
    if plan.team_pools:
        if x.team is None:
            raise ValueError("team pools need the team of each rep (KernelInputs.team)")
        for pool in plan.team_pools:
            pools[pool.name] = team_pool(pool, x.team, employed, measure, quota, ti)
    spiff = zero if x.spiff is None else np.broadcast_to(np.asarray(x.spiff, float), shape)
    clawback = zero
    if x.cancelled is not None and plan.clawback is not None and c is not None:
        cancelled = np.asarray(x.cancelled, dtype=float)
        clawback = np.zeros(shape)
        for lag in range(cancelled.shape[-1]):
            if lag < periods:
                clawback[..., lag:] -= cancelled[..., lag:, lag] * paid_rate[..., : periods - lag]

    bonus = _total(list(bonuses.values()), zero)
    pooled = _total(list(pools.values()), zero)
    variable = _total([commission, spiff, clawback, bonus, pooled], zero)
    advance, recovery, balance, at_exit = draw_balance(
        plan.draw, variable, employed, x.draw_active, x.exits, zero
    )
    components = {
        "base": _full(base, zero),
        "commission": _full(commission, zero),
        "bonus": bonus,
        "team_pool": pooled,
        "spiff": _full(spiff, zero),
        "clawback": clawback,
        "advance": advance,
        "recovery": recovery,
    }
    return Payouts(
        MappingProxyType(components),
        MappingProxyType(bonuses),
        MappingProxyType(pools),
        attain,
        _full(rate, zero),
        _full(cap_cut, zero),
        _full(paid_rate, zero),
        balance,
        at_exit,
        frozenset(name for name, values in components.items() if values is zero),
    )


def _payout_cap(c: Commission, ti: F) -> F | None:
    """The most commission per rep and period (``None``: no payout cap)."""
    if not (np.isfinite(c.cap_payout) or np.isfinite(c.cap_payout_ti)):
        return None
    cap = np.full(ti.shape[-2:], c.cap_payout)
    return np.minimum(cap, c.cap_payout_ti * ti) if np.isfinite(c.cap_payout_ti) else cap


def _zeros(shape: tuple[int, ...]) -> F:
    """Read-only zeros of ``shape`` taking no memory (components a plan does not have)."""
    return np.broadcast_to(0.0, shape)


def _full(a: F, zero: F) -> F:
    """``a`` as an array of the output shape that the result may hold: the shared ``zero``
    or an array the kernel made as they are, a read-only broadcast of a smaller array the
    kernel made (base salary repeated over scenarios), else a copy (never a view of an
    input)."""
    shape = zero.shape
    if a is zero or (a.shape == shape and a.flags.owndata):
        return a
    if a.flags.owndata:
        return np.broadcast_to(a, shape)
    return np.broadcast_to(a, shape).copy()


def _total(parts: list[F], zero: F) -> F:
    """The sum of ``parts``, leaving out the shared zero array (itself when nothing is left)."""
    live = [p for p in parts if p is not zero]
    if len(live) == 1 and live[0].shape == zero.shape:
        return live[0]
    if not live:
        return zero
    out = np.array(np.broadcast_to(live[0], zero.shape), dtype=float)
    for p in live[1:]:
        out += p
    return out
