"""The payout kernel: hand-worked golden cases per component, and properties.

Every golden case writes its arithmetic in comments. Amounts are per period unless said
otherwise; the kernel takes per-period quotas and annual base salary / target incentive (TI),
which it spreads over the plan's periods per year (12 for a monthly plan).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesanalytics.plans.kernel import COMPONENTS, KernelInputs, Payouts, payout
from salesanalytics.plans.spec import (
    INF,
    Clawback,
    Commission,
    Draw,
    Plan,
    PlanError,
    QuotaBonus,
    TeamPool,
    Tier,
)


def _load(name: str, file: str) -> Any:
    """A helper module beside this file (tests are not a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# the random plans and inputs of the reference cross-check
gen = _load("_plans_kernel_reference", "test_kernel_reference.py")

FLAT10 = Commission((Tier(0, INF, 0.10),))


def run(
    plan: Plan,
    measure: list[float] | list[list[float]],
    quota: float | list[float] | list[list[float]] = 100_000.0,
    *,
    employed: Any = 1.0,
    base_salary: float | list[float] = 0.0,
    target_incentive: float | list[float] = 0.0,
    year: list[int] | None = None,
    **extra: Any,
) -> Payouts:
    """The kernel on plain lists: one rep for a flat list of periods, else reps × periods."""
    m = np.atleast_2d(np.asarray(measure, dtype=float))
    reps, periods = m.shape
    arrays = {k: None if v is None else np.asarray(v) for k, v in extra.items()}
    return payout(
        plan,
        KernelInputs(
            measure=m,
            quota=np.broadcast_to(np.asarray(quota, float), m.shape).copy(),
            employed=np.broadcast_to(np.asarray(employed, float), m.shape).copy(),
            base_salary=np.broadcast_to(np.asarray(base_salary, float), (reps,)).copy(),
            target_incentive=np.broadcast_to(np.asarray(target_incentive, float), (reps,)).copy(),
            year=np.zeros(periods, np.int64) if year is None else np.asarray(year),
            **arrays,
        ),
    )


def row(x: np.ndarray) -> list[float]:
    """The first rep's values, rounded to cents (for readable golden comparisons)."""
    return [round(float(v), 2) for v in np.asarray(x)[0]]


# ------------------------------------------------------------------ (a) tiers
# QuotaPath's help centre (intercom.help/quotapath, article 4360079) shows a plan with
# 5% / 10% / 12% / 15% tiers; the attainment bands below are ours (the reference records only
# the rates): [0, 50%) 5%, [50%, 100%) 10%, [100%, 150%) 12%, [150%, ∞) 15%.
# Quota 100,000 a month.
QP_TIERS = (
    Tier(0.0, 0.5, 0.05),
    Tier(0.5, 1.0, 0.10),
    Tier(1.0, 1.5, 0.12),
    Tier(1.5, INF, 0.15),
)


def test_tiers_marginal_vs_retroactive_worked_example() -> None:
    marginal = Plan("qp marginal", commission=Commission(QP_TIERS, method="marginal"))
    retro = marginal.replace(**{"commission.method": "retroactive"})
    bookings = [40_000.0, 120_000.0, 160_000.0, 150_000.0]
    # marginal
    #  40,000 (40%):  40,000 × 5%                                            =  2,000
    # 120,000 (120%): 50,000 × 5% + 50,000 × 10% + 20,000 × 12%
    #                 = 2,500 + 5,000 + 2,400                                 =  9,900
    # 160,000 (160%): 2,500 + 5,000 + 50,000 × 12% (6,000) + 10,000 × 15%     = 15,000
    # 150,000 (150%): 2,500 + 5,000 + 6,000 (exactly at the 15% tier's start) = 13,500
    p = run(marginal, bookings)
    assert row(p.components["commission"]) == [2_000.0, 9_900.0, 15_000.0, 13_500.0]
    # effective rates: 5%, 9,900 / 120,000 = 8.25%, 15,000 / 160,000 = 9.375%, 9%
    np.testing.assert_allclose(p.rate[0], [0.05, 0.0825, 0.09375, 0.09], rtol=1e-12)
    # retroactive: the reached tier's rate on everything
    #  40,000 × 5% = 2,000; 120,000 × 12% = 14,400; 160,000 × 15% = 24,000;
    # 150,000 × 15% = 22,500 (150% reaches the 15% tier: tiers are [from, to))
    p = run(retro, bookings)
    assert row(p.components["commission"]) == [2_000.0, 14_400.0, 24_000.0, 22_500.0]
    np.testing.assert_allclose(p.rate[0], [0.05, 0.12, 0.15, 0.15], rtol=1e-12)
    assert row(p.attainment) == [0.4, 1.2, 1.6, 1.5]


def test_tiers_rate_of_target_incentive() -> None:
    # TI 120,000 a year = 10,000 a month; rate 1.0 below quota, 2.0 above (marginal):
    # 80% pays 0.8 × 10,000 = 8,000; 130% pays (1.0 + 0.3 × 2) × 10,000 = 16,000
    plan = Plan(
        "ti",
        commission=Commission((Tier(0, 1.0, 1.0), Tier(1.0, INF, 2.0)), rate_of="target_incentive"),
    )
    p = run(plan, [80_000.0, 130_000.0], target_incentive=120_000.0)
    assert row(p.components["commission"]) == [8_000.0, 16_000.0]


def test_rate_of_target_incentive_reports_schedule_rate_and_paid_rate_per_unit() -> None:
    # TI 10,000 a month, rate 1.0: 80,000 of 100,000 pays 0.8 × 10,000 = 8,000, which is
    # 8,000 / 80,000 = 10% of the measure (before any payout cap: none here)
    plan = Plan("ti", commission=Commission((Tier(0, INF, 1.0),), rate_of="target_incentive"))
    p = run(plan, [80_000.0], target_incentive=120_000.0)
    assert row(p.components["commission"]) == [8_000.0]
    np.testing.assert_allclose(p.paid_rate[0], [0.1], rtol=1e-12)
    # rate: the schedule's rate per unit of attainment, paid on the target incentive
    np.testing.assert_allclose(p.rate[0], [1.0], rtol=1e-12)


def test_decelerator_cliff_retroactive() -> None:
    # retroactive decelerator: 10% below quota, 5% from quota: 99,000 pays 9,900 but
    # 100,000 pays 5,000 (a cliff: why monotonicity is only claimed without it)
    plan = Plan("decel", commission=Commission((Tier(0, 1, 0.10), Tier(1, INF, 0.05)),
                                               method="retroactive"))  # fmt: skip
    assert row(run(plan, [99_000.0, 100_000.0]).components["commission"]) == [9_900.0, 5_000.0]


def test_last_tier_open_ended_and_zero_quota() -> None:
    # the last tier must be open-ended (cap_attainment stops paying above an attainment)
    with pytest.raises(PlanError, match="last tier"):
        Commission((Tier(0, 1.0, 0.10),))
    # a zero quota gives attainment 0, where the effective rate is the first tier's:
    # 20,000 → 20,000 × 10% = 2,000 (a gate above 0 pays nothing there)
    flat = Plan("flat", commission=FLAT10)
    assert row(run(flat, [20_000.0], quota=0.0).components["commission"]) == [2_000.0]
    gated = flat.replace(**{"commission.gate": 0.5})
    assert row(run(gated, [20_000.0], quota=0.0).components["commission"]) == [0.0]


# ------------------------------------------------------------------ (b) draws
# An Oracle-style recovery table: a 3,000 monthly draw against commission earnings of
# 1,000, 2,500, 6,000, 4,000, 1,500, 7,000 (10% flat on bookings ten times those), base
# salary 36,000 a year (3,000 a month).
EARNINGS = [1_000.0, 2_500.0, 6_000.0, 4_000.0, 1_500.0, 7_000.0]
BOOKINGS = [e * 10 for e in EARNINGS]


def test_recoverable_draw_recovery_sequence() -> None:
    plan = Plan("draw", commission=FLAT10, draw=Draw(3_000.0))
    p = run(plan, BOOKINGS, base_salary=36_000.0)
    # month  earned  advance  recovered  variable paid  balance
    #   1    1,000    2,000        0        3,000       2,000
    #   2    2,500      500        0        3,000       2,500
    #   3    6,000        0    2,500        3,500           0   (6,000 − 3,000 = 3,000 ≥ 2,500)
    #   4    4,000        0        0        4,000           0
    #   5    1,500    1,500        0        3,000       1,500
    #   6    7,000        0    1,500        5,500           0   (excess 4,000 ≥ 1,500)
    assert row(p.components["commission"]) == EARNINGS
    assert row(p.components["advance"]) == [2_000.0, 500.0, 0.0, 0.0, 1_500.0, 0.0]
    assert row(p.components["recovery"]) == [0.0, 0.0, -2_500.0, 0.0, 0.0, -1_500.0]
    assert row(p.balance) == [2_000.0, 2_500.0, 0.0, 0.0, 1_500.0, 0.0]
    assert row(p.variable) == [3_000.0, 3_000.0, 3_500.0, 4_000.0, 3_000.0, 5_500.0]
    assert row(p.total) == [6_000.0, 6_000.0, 6_500.0, 7_000.0, 6_000.0, 8_500.0]


def test_recoverable_draw_partial_recovery_and_exit() -> None:
    # recovery_share 0.5: at most half of the earnings above the draw repay the balance
    #   1  1,000: advance 2,000, balance 2,000
    #   2  2,500: advance   500, balance 2,500
    #   3  6,000: 0.5 × 3,000 = 1,500 recovered → paid 4,500, balance 1,000
    #   4  4,000: 0.5 × 1,000 =   500 recovered → paid 3,500, balance   500
    #   5  1,500: advance 1,500 → balance 2,000; the rep leaves: 2,000 reported at exit
    #   6  (after the exit the balance starts again at 0; no draw as not employed)
    plan = Plan("draw", commission=FLAT10, draw=Draw(3_000.0, recovery_share=0.5))
    exits = np.array([[False, False, False, False, True, False]])
    employed = [[1, 1, 1, 1, 1, 0]]
    p = run(plan, BOOKINGS, employed=employed, exits=exits)
    assert row(p.components["recovery"]) == [0.0, 0.0, -1_500.0, -500.0, 0.0, 0.0]
    assert row(p.balance) == [2_000.0, 2_500.0, 1_000.0, 500.0, 2_000.0, 0.0]
    assert row(p.balance_at_exit) == [0.0, 0.0, 0.0, 0.0, 2_000.0, 0.0]
    assert row(p.variable) == [3_000.0, 3_000.0, 4_500.0, 3_500.0, 3_000.0, 7_000.0]


def test_non_recoverable_draw_is_a_guarantee() -> None:
    # paid max(earned, 3,000); nothing is owed or recovered
    plan = Plan("guarantee", commission=FLAT10, draw=Draw(3_000.0, recoverable=False))
    p = run(plan, BOOKINGS)
    assert row(p.components["advance"]) == [2_000.0, 500.0, 0.0, 0.0, 1_500.0, 0.0]
    assert row(p.components["recovery"]) == [0.0] * 6
    assert row(p.balance) == [0.0] * 6
    assert row(p.variable) == [3_000.0, 3_000.0, 6_000.0, 4_000.0, 3_000.0, 7_000.0]


def test_draw_prorated_and_inactive() -> None:
    # half employed in month 1: guarantee 0.5 × 3,000 = 1,500 (earned 1,000 → advance 500);
    # month 2 the draw is switched off (draw_active False): earned 2,500 repays the 500
    plan = Plan("draw", commission=FLAT10, draw=Draw(3_000.0))
    active = np.array([[True, False]])
    p = run(plan, BOOKINGS[:2], employed=[[0.5, 1.0]], draw_active=active,
            base_salary=36_000.0)  # fmt: skip
    assert row(p.components["base"]) == [1_500.0, 3_000.0]
    assert row(p.components["advance"]) == [500.0, 0.0]
    assert row(p.components["recovery"]) == [0.0, -500.0]
    assert row(p.total) == [3_000.0, 5_000.0]


def test_draw_periods_limit_applies_without_draw_active() -> None:
    # Draw(3,000, periods=2), hired in month 2: months 2-3 are guaranteed (2,000 advanced
    # each), month 4 earning 1,000 is paid 1,000 (non-recoverable: nothing owed)
    plan = Plan("ramp", commission=FLAT10, draw=Draw(3_000.0, recoverable=False, periods=2))
    p = run(plan, [0.0, 10_000.0, 10_000.0, 10_000.0], employed=[[0, 1, 1, 1]])
    assert row(p.components["advance"]) == [0.0, 2_000.0, 2_000.0, 0.0]
    assert row(p.variable) == [0.0, 3_000.0, 3_000.0, 1_000.0]
    # an explicit draw_active wins over the count
    active = np.array([[False, False, True, True]])
    p = run(plan, [0.0, 10_000.0, 10_000.0, 10_000.0], employed=[[0, 1, 1, 1]],
            draw_active=active)  # fmt: skip
    assert row(p.components["advance"]) == [0.0, 0.0, 2_000.0, 2_000.0]


# ------------------------------------------------------------------ (c) clawbacks
def test_clawback_at_original_rate_with_carry_forward() -> None:
    # marginal 5% to quota, 10% above; quota 100,000 a month; no draw
    # month 1: 150,000 → 100,000 × 5% + 50,000 × 10% = 10,000; effective rate 1/15 = 6.667%
    # month 2: 50,000 → 2,500 (5%); a 30,000 deal of month 1 is cancelled (lag 1):
    #          clawback 30,000 × 1/15 = 2,000 (month 1's rate, not month 2's 5%): paid 500
    # month 3: 20,000 → 1,000; a 60,000 deal of month 1 is cancelled (lag 2):
    #          clawback 4,000; variable −3,000: paid 0, the 3,000 is carried as a balance
    #          (shown as an advance so that the components still sum to the total)
    # month 4: 100,000 → 5,000; 3,000 recovered: paid 2,000, balance 0
    plan = Plan(
        "claw",
        commission=Commission((Tier(0, 1, 0.05), Tier(1, INF, 0.10))),
        clawback=Clawback(90),
    )
    cancelled = np.zeros((1, 4, 3))
    cancelled[0, 1, 1] = 30_000.0
    cancelled[0, 2, 2] = 60_000.0
    p = run(plan, [150_000.0, 50_000.0, 20_000.0, 100_000.0], cancelled=cancelled)
    assert row(p.components["commission"]) == [10_000.0, 2_500.0, 1_000.0, 5_000.0]
    assert row(p.components["clawback"]) == [0.0, -2_000.0, -4_000.0, 0.0]
    assert row(p.components["advance"]) == [0.0, 0.0, 3_000.0, 0.0]
    assert row(p.components["recovery"]) == [0.0, 0.0, 0.0, -3_000.0]
    assert row(p.balance) == [0.0, 0.0, 3_000.0, 0.0]
    assert row(p.total) == [10_000.0, 500.0, 0.0, 2_000.0]


def test_clawback_at_the_paid_rate_after_cap_and_gate() -> None:
    # month 1: 100,000 at 10% = 10,000, capped at 6,000: paid rate 6%;
    # month 2: 40,000 < gate 50%: nothing paid, paid rate 0;
    # month 3: 80,000 → 8,000 → capped 6,000; cancellations of 50,000 from month 1 and of
    #          20,000 from month 2: 50,000 × 6% + 20,000 × 0% = 3,000
    plan = Plan("claw", commission=FLAT10.replace(cap_payout=6_000.0, gate=0.5),
                clawback=Clawback(90))  # fmt: skip
    cancelled = np.zeros((1, 3, 3))  # (rep, cancelled in, lag)
    cancelled[0, 2, 2] = 50_000.0
    cancelled[0, 2, 1] = 20_000.0
    p = run(plan, [100_000.0, 40_000.0, 80_000.0], cancelled=cancelled)
    assert row(p.components["commission"]) == [6_000.0, 0.0, 6_000.0]
    assert row(p.components["clawback"]) == [0.0, 0.0, -3_000.0]
    assert row(p.total) == [6_000.0, 0.0, 3_000.0]
    np.testing.assert_allclose(p.paid_rate[0], [0.06, 0.0, 0.075], rtol=1e-12)


def test_clawback_needs_the_clawback_component() -> None:
    cancelled = np.zeros((1, 2, 2))
    cancelled[0, 1, 1] = 10_000.0
    p = run(Plan("no claw", commission=FLAT10), [50_000.0, 50_000.0], cancelled=cancelled)
    assert row(p.components["clawback"]) == [0.0, 0.0]


# ------------------------------------------------------------------ (d) gate and caps
def test_gate_cliff() -> None:
    # 10% flat from a 50% gate: 49,999 pays nothing, 50,000 pays 5,000 on all of it
    plan = Plan("gate", commission=FLAT10.replace(gate=0.5))
    p = run(plan, [49_999.0, 50_000.0, 0.0])
    assert row(p.components["commission"]) == [0.0, 5_000.0, 0.0]
    assert row(p.rate) == [0.0, 0.1, 0.0]


def test_attainment_cap() -> None:
    # measure above 150% of quota earns nothing more: 200,000 pays 150,000 × 10% = 15,000,
    # an effective rate of 15,000 / 200,000 = 7.5%
    plan = Plan("cap", commission=FLAT10.replace(cap_attainment=1.5))
    p = run(plan, [120_000.0, 200_000.0])
    assert row(p.components["commission"]) == [12_000.0, 15_000.0]
    np.testing.assert_allclose(p.rate[0], [0.1, 0.075], rtol=1e-12)
    assert row(p.cap_cut) == [0.0, 0.0]


def test_payout_caps_amount_and_target_incentive() -> None:
    # TI 60,000 a year = 5,000 a month; caps 8,000 and 1.5 × 5,000 = 7,500: the lower wins
    # 60,000 → 6,000 (under); 120,000 → 12,000 → 7,500, cut 4,500
    plan = Plan("cap", commission=FLAT10.replace(cap_payout=8_000.0, cap_payout_ti=1.5))
    p = run(plan, [60_000.0, 120_000.0], target_incentive=60_000.0)
    assert row(p.components["commission"]) == [6_000.0, 7_500.0]
    assert row(p.cap_cut) == [0.0, 4_500.0]
    assert row(p.rate) == [0.1, 0.1]  # the rate is before the payout cap
    # half employed: TI 2,500, cap 1.5 × 2,500 = 3,750
    p = run(plan, [60_000.0, 120_000.0], target_incentive=60_000.0, employed=0.5)
    assert row(p.components["commission"]) == [3_750.0, 3_750.0]


def test_amount_cap_with_zero_target_incentive() -> None:
    # cap 8,000: 120,000 at 10% pays 8,000 whatever the TI (here none, so a TI multiple
    # that is not set must not turn into inf × 0)
    plan = Plan("cap", commission=FLAT10.replace(cap_payout=8_000.0))
    p = run(plan, [60_000.0, 120_000.0], target_incentive=0.0)
    assert row(p.components["commission"]) == [6_000.0, 8_000.0]
    assert row(p.total) == [6_000.0, 8_000.0]


# ------------------------------------------------------------------ (e) ytd true-up
QTR_TIERS = Commission((Tier(0, 1, 0.05), Tier(1, INF, 0.10)))


def test_ytd_true_up_across_a_quarter() -> None:
    # quota 10,000 a month; 5% to quota, 10% above (marginal); year-to-date attainment
    # month  bookings  ytd bookings  ytd quota  ytd att.  earned to date                 pays
    #   1     5,000       5,000       10,000     0.50     5,000 × 5%           =   250     250
    #   2    20,000      25,000       20,000     1.25     20,000 × 5% + 5,000 × 10%
    #                                                      = 1,000 + 500        = 1,500   1,250
    #   3         0      25,000       30,000     0.833    25,000 × 5%          = 1,250       0
    #                                                     (below the 1,500 paid: not taken back)
    #   4 (new plan year) 12,000     10,000      1.20     500 + 200            =   700     700
    #   5     9,000      21,000       20,000     1.05     1,000 + 100          = 1,100     400
    plan = Plan("ytd", attainment="ytd", commission=QTR_TIERS)
    bookings = [5_000.0, 20_000.0, 0.0, 12_000.0, 9_000.0]
    p = run(plan, bookings, quota=10_000.0, year=[0, 0, 0, 1, 1])
    assert row(p.components["commission"]) == [250.0, 1_250.0, 0.0, 700.0, 400.0]
    np.testing.assert_allclose(p.attainment[0], [0.5, 1.25, 25 / 30, 1.2, 1.05], rtol=1e-12)
    # per-period attainment for contrast: 250, 20,000 → 500 + 1,000 = 1,500, 0, 700, 450
    p = run(plan.replace(attainment="period"), bookings, quota=10_000.0, year=[0, 0, 0, 1, 1])
    assert row(p.components["commission"]) == [250.0, 1_500.0, 0.0, 700.0, 450.0]


def test_ytd_bonus_true_up_is_paid_once() -> None:
    # a 1,000 step bonus at 100% year-to-date: reached in month 2 (125%), lost again in
    # month 3 (83%) but not taken back, and not paid again in month 4 (back to 100%)
    plan = Plan("ytd", attainment="ytd", bonuses=(QuotaBonus("q", ((1.0, 1_000.0),)),))
    p = run(plan, [5_000.0, 20_000.0, 0.0, 15_000.0], quota=10_000.0)
    assert row(p.bonuses["q"]) == [0.0, 1_000.0, 0.0, 0.0]


def test_ytd_payout_cap_is_on_the_year_to_date() -> None:
    # docs/plans.md: "under ytd they cap the cumulative commission at the cumulative cap"
    # (the sum of the period caps so far, 1,000 a month), so a period can pay more than its own
    # cap when it makes up an earlier one (the Commission docstring says "per period").
    # month 1: earned 500 (≤ 1,000) pays 500; month 2: earned to date 3,000, capped at 2,000,
    # pays 1,500 (> the 1,000 period cap); month 3: earned to date 3,000 ≤ 3,000 pays 1,000.
    # cap_cut is the uncapped true-up less the paid one: 0, 2,500 − 1,500, 0 − 1,000
    plan = Plan("ytd cap", attainment="ytd", commission=FLAT10.replace(cap_payout=1_000.0))
    p = run(plan, [5_000.0, 25_000.0, 0.0], quota=10_000.0)
    assert row(p.components["commission"]) == [500.0, 1_500.0, 1_000.0]
    assert row(p.cap_cut) == [0.0, 1_000.0, -1_000.0]


# ------------------------------------------------------------------ (f) bonuses
def test_step_bonus() -> None:
    # steps at 80% → 500, 100% → 1,000, 120% → 2,000: the highest reached pays
    bonus = QuotaBonus("steps", ((0.8, 500.0), (1.0, 1_000.0), (1.2, 2_000.0)))
    p = run(Plan("b", bonuses=(bonus,)), [79_000.0, 80_000.0, 110_000.0, 120_000.0, 300_000.0])
    assert row(p.bonuses["steps"]) == [0.0, 500.0, 1_000.0, 2_000.0, 2_000.0]
    assert row(p.components["bonus"]) == [0.0, 500.0, 1_000.0, 2_000.0, 2_000.0]


def test_linear_bonus() -> None:
    # linear from 1,000 at 100% to 3,000 at 150%: nothing below 100% (a jump at 100%),
    # 125% → 1,000 + 0.5 × 2,000 = 2,000, flat 3,000 above 150%
    bonus = QuotaBonus("lin", ((1.0, 1_000.0), (1.5, 3_000.0)), kind="linear")
    p = run(Plan("b", bonuses=(bonus,)), [99_000.0, 100_000.0, 125_000.0, 200_000.0])
    assert row(p.bonuses["lin"]) == [0.0, 1_000.0, 2_000.0, 3_000.0]


def test_bonuses_of_target_incentive_add_up() -> None:
    # TI 120,000 a year = 10,000 a month; step 20% of TI at 100%; linear 0 at 100% to
    # 50% of TI at 150%: at 130%: 2,000 + 0.6 × 5,000 = 5,000
    step = QuotaBonus("step", ((1.0, 0.2),), of_target_incentive=True)
    lin = QuotaBonus("lin", ((1.0, 0.0), (1.5, 0.5)), kind="linear", of_target_incentive=True)
    p = run(Plan("b", bonuses=(step, lin)), [90_000.0, 130_000.0], target_incentive=120_000.0)
    assert row(p.bonuses["step"]) == [0.0, 2_000.0]
    assert row(p.bonuses["lin"]) == [0.0, 3_000.0]
    assert row(p.components["bonus"]) == [0.0, 5_000.0]


# ------------------------------------------------------------------ (g) team pools
def test_team_pool_shares() -> None:
    # team 0 = reps 0-2 (quota 10,000 each), team 1 = rep 3, rep 4 has no team.
    # team 0 books 6,000 + 9,000 + 15,000 = 30,000 of 30,000: 100% ≥ gate 100%
    # pool = 2% × 30,000 + 600 = 1,200
    #   equal: 400 each; credit: 1,200 × 6/30, 9/30, 15/30 = 240, 360, 600;
    #   target incentive (30k, 60k, 90k a year → 2.5k, 5k, 7.5k a month): 200, 400, 600
    # team 1 books 5,000 of 10,000: 50% < gate: nothing; rep 4: no team, nothing
    measure = [[6_000.0], [9_000.0], [15_000.0], [5_000.0], [50_000.0]]
    team = np.array([0, 0, 0, 1, -1])
    tis = [30_000.0, 60_000.0, 90_000.0, 60_000.0, 60_000.0]
    expected = {
        "equal": [400.0, 400.0, 400.0, 0.0, 0.0],
        "credit": [240.0, 360.0, 600.0, 0.0, 0.0],
        "target_incentive": [200.0, 400.0, 600.0, 0.0, 0.0],
    }
    for share, want in expected.items():
        pool = TeamPool("team", rate=0.02, amount=600.0, gate=1.0, share=share)  # type: ignore[arg-type]
        p = run(Plan("pool", team_pools=(pool,)), measure, 10_000.0, team=team,
                target_incentive=tis)  # fmt: skip
        got = [round(float(v), 2) for v in p.team_pools["team"][:, 0]]
        assert got == want, share
        np.testing.assert_allclose(p.components["team_pool"], p.team_pools["team"])


def test_team_pool_per_period_and_employment() -> None:
    # per period, even under ytd: month 1 team books 20,000 of 20,000 → pool 1,000, shared
    # equally 500/500; month 2 rep 1 is not employed: the whole 1,000 goes to rep 0
    # (the team's measure and quota still count rep 1's 10,000 / 10,000)
    pool = TeamPool("team", amount=1_000.0, gate=1.0)
    plan = Plan("pool", attainment="ytd", team_pools=(pool,))
    p = run(plan, [[10_000.0, 10_000.0], [10_000.0, 10_000.0]], 10_000.0,
            employed=[[1, 1], [1, 0]], team=np.array([0, 0]))  # fmt: skip
    assert p.team_pools["team"].tolist() == [[500.0, 1_000.0], [500.0, 0.0]]


# ------------------------------------------------------------------ base, spiff, proration
def test_base_spiff_and_proration() -> None:
    # base 60,000 a year = 5,000 a month; hired half-way through month 1 (employed 0.5:
    # 2,500), left after month 3 (0); SPIFF money passes through as given
    plan = Plan("base", commission=FLAT10)
    p = run(plan, [10_000.0, 20_000.0, 0.0], employed=[[0.5, 1.0, 0.0]], base_salary=60_000.0,
            spiff=np.array([[0.0, 250.0, 0.0]]))  # fmt: skip
    assert row(p.components["base"]) == [2_500.0, 5_000.0, 0.0]
    assert row(p.components["spiff"]) == [0.0, 250.0, 0.0]
    assert row(p.total) == [3_500.0, 7_250.0, 0.0]


def test_components_sum_to_total_with_scenarios() -> None:
    plan = Plan("s", commission=FLAT10, draw=Draw(1_000.0))
    x = KernelInputs(
        measure=np.array([[[5_000.0, 30_000.0]], [[20_000.0, 0.0]]]),  # (S=2, R=1, P=2)
        quota=np.array([[10_000.0, 10_000.0]]),
        employed=np.ones((1, 2)),
        base_salary=np.array([12_000.0]),
        target_incentive=np.array([0.0]),
        year=np.array([0, 0]),
    )
    p = payout(plan, x)
    # scenario 0: 500 → 1,000 (owes 500), 3,000 → repays 500: 2,500; base 1,000 a month
    # scenario 1: 2,000, then 0 → advance 1,000 (owes 1,000)
    np.testing.assert_allclose(p.total, [[[2_000.0, 3_500.0]], [[3_000.0, 2_000.0]]])
    np.testing.assert_allclose(p.balance, [[[500.0, 0.0]], [[0.0, 1_000.0]]], atol=1e-9)
    np.testing.assert_allclose(sum(p.components[c] for c in COMPONENTS), p.total)


# ------------------------------------------------------------------ properties
PROPS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPS
@given(gen.CASES)
def test_payouts_never_negative(case: Any) -> None:
    p = payout(case.plan, case.inputs())
    for name in COMPONENTS:
        values = p.components[name]
        if name in ("clawback", "recovery"):
            assert (values <= 0).all(), name
        else:
            assert (values >= 0).all(), name
    assert (p.total >= -1e-9).all()
    assert (p.variable >= -1e-9).all()
    assert (p.balance >= -1e-9).all()


def _monotone(plan: Plan) -> Plan:
    """The plan without a retroactive decelerator (a cliff) or falling bonus amounts: rates
    and amounts sorted ascending."""
    c = plan.commission
    if c is not None and c.method == "retroactive":
        rates = sorted(c.rates)
        c = c.replace(tiers=tuple(t.replace(rate=r) for t, r in zip(c.tiers, rates, strict=True)))
    bonuses = tuple(
        b.replace(
            points=tuple(zip([x for x, _ in b.points], sorted(y for _, y in b.points), strict=True))
        )
        for b in plan.bonuses
    )
    return plan.replace(commission=c, bonuses=bonuses)


@PROPS
@given(gen.CASES, st.integers(0, 100), st.floats(1.0, 50_000.0))
def test_total_monotone_in_measure(case: Any, where: int, more: float) -> None:
    """Raising one rep's measure in one period never lowers that rep's pay: per period with
    per-period attainment; per plan year to date under ytd (where a raise can move pay between
    periods), without a draw there (a per-period guarantee is not monotone in timing).
    Clawbacks are left out (a higher close-period rate claws back more)."""
    plan = _monotone(case.plan)
    if plan.attainment == "ytd":
        plan = plan.replace(draw=None)
    arrays = dict(case.arrays, cancelled=None, commission_base=None)
    measure = arrays["measure"]
    r, p = divmod(where % measure.size, measure.shape[1])
    raised = measure.copy()
    raised[r, p] += more
    before = payout(plan, KernelInputs(**arrays)).total[r]
    after = payout(plan, KernelInputs(**dict(arrays, measure=raised))).total[r]
    if plan.attainment == "period":
        assert (after >= before - 1e-6).all()
    else:
        year = arrays["year"]
        for y in np.unique(year):
            cum_before = np.cumsum(before[year == y])
            cum_after = np.cumsum(after[year == y])
            assert (cum_after >= cum_before - 1e-6).all()


@PROPS
@given(gen.CASES, st.floats(0, 5_000), st.sampled_from([INF, 0.0, 0.5, 1.5]))
def test_payout_caps_hold(case: Any, amount: float, multiple: float) -> None:
    c = case.plan.commission or FLAT10
    plan = case.plan.replace(commission=c.replace(cap_payout=amount, cap_payout_ti=multiple))
    x = case.inputs()
    p = payout(plan, x)
    ti = x.target_incentive[:, None] / plan.periods_per_year * x.employed
    cap = np.minimum(amount, multiple * ti if math.isfinite(multiple) else np.inf)
    cap = np.broadcast_to(cap, ti.shape)
    paid = p.components["commission"]
    if plan.attainment == "period":
        assert (paid <= cap + 1e-6).all()
        assert (p.cap_cut >= -1e-9).all()
    else:  # year to date: paid so far ≤ the period caps so far
        for y in np.unique(x.year):
            sel = x.year == y
            assert (np.cumsum(paid[:, sel], axis=1) <= np.cumsum(cap[:, sel], axis=1) + 1e-6).all()
    # what the cap cut plus what was paid is what the uncapped plan pays
    uncapped = payout(plan.replace(commission=c.replace(cap_payout=INF, cap_payout_ti=INF)), x)
    np.testing.assert_allclose(paid + p.cap_cut, uncapped.components["commission"], atol=1e-6)


@PROPS
@given(gen.CASES, st.sampled_from([1.0, 1.2, 1.5, 2.0]))
def test_attainment_cap_holds(case: Any, cap_attainment: float) -> None:
    """Under per-period attainment, measure above ``cap_attainment × quota`` earns nothing."""
    c = (case.plan.commission or FLAT10).replace(gate=0.0, cap_attainment=cap_attainment)
    plan = case.plan.replace(attainment="period", commission=c)
    arrays = dict(case.arrays, commission_base=None)
    limit = cap_attainment * arrays["quota"]
    at_cap = np.where(arrays["quota"] > 0, np.minimum(arrays["measure"], limit), arrays["measure"])
    full = payout(plan, KernelInputs(**arrays)).components["commission"]
    capped = payout(plan, KernelInputs(**dict(arrays, measure=at_cap))).components["commission"]
    np.testing.assert_allclose(full, capped, rtol=1e-9, atol=1e-6)


@PROPS
@given(gen.CASES)
def test_zero_measure_pays_only_base_and_draw(case: Any) -> None:
    # a bonus threshold at 0% or an ungated fixed team pool pays on nothing, by design
    plan = case.plan.replace(
        bonuses=tuple(b for b in case.plan.bonuses if b.points[0][0] > 0),
        team_pools=tuple(t for t in case.plan.team_pools if t.amount == 0 or t.gate > 0),
    )
    arrays = dict(case.arrays, spiff=None, cancelled=None)
    arrays["measure"] = np.zeros_like(arrays["measure"])
    if arrays["commission_base"] is not None:
        arrays["commission_base"] = np.zeros_like(arrays["commission_base"])
    x = KernelInputs(**arrays)
    p = payout(plan, x)
    ppy = plan.periods_per_year
    base = x.base_salary[:, None] / ppy * x.employed
    if x.draw_active is not None:
        active = x.draw_active
    else:  # where employed, for the draw's first ``periods`` from the first employed period
        active = x.employed > 0
        if plan.draw is not None and plan.draw.periods:
            first = np.argmax(active, axis=1)[:, None]
            active = active & (np.arange(active.shape[1]) - first < plan.draw.periods)
    draw = plan.draw.amount * x.employed * active if plan.draw else np.zeros_like(base)
    np.testing.assert_allclose(p.components["base"], base)
    np.testing.assert_allclose(p.components["advance"], draw)
    np.testing.assert_allclose(p.total, base + draw)
    for name in ("commission", "bonus", "team_pool", "spiff", "clawback", "recovery"):
        assert (p.components[name] == 0).all(), name


@PROPS
@given(gen.SCENARIO_CASES)
def test_inputs_not_mutated(case: Any) -> None:
    before = {k: None if v is None else v.copy() for k, v in case.arrays.items()}
    frozen = {}
    for k, v in case.arrays.items():
        if v is not None:
            v = v.copy()
            v.setflags(write=False)  # writing into an input raises
        frozen[k] = v
    payout(case.plan, KernelInputs(**frozen))
    payout(case.plan, case.inputs())
    for k, v in before.items():
        if v is None:
            assert case.arrays[k] is None
        else:
            np.testing.assert_array_equal(case.arrays[k], v, err_msg=k)


def test_plan_replace_returns_new_plan() -> None:
    plan = Plan("flat", commission=FLAT10, draw=Draw(1_000.0))
    cheaper = plan.replace(**{"commission.tiers.0.rate": 0.08, "draw.amount": 500.0})
    assert cheaper is not plan
    assert plan.commission is not None and cheaper.commission is not None
    assert plan.commission.rates == (0.10,) and cheaper.commission.rates == (0.08,)
    assert plan.draw == Draw(1_000.0) and cheaper.draw == Draw(500.0)
    assert cheaper.replace(period="quarter").periods_per_year == 4
    assert plan.period == "month"
    with pytest.raises(PlanError, match="gate"):
        plan.replace(**{"commission.gate": -1.0})
    with pytest.raises(AttributeError):
        plan.name = "changed"  # type: ignore[misc]
    # the changed plan pays differently, the original as before
    assert row(run(plan, [10_000.0]).components["commission"]) == [1_000.0]
    assert row(run(cheaper, [10_000.0]).components["commission"]) == [800.0]
