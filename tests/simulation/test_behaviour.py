"""Behavioural responses: off by default, elasticity 0 leaves the measure alone, hand-worked
pull-ins and push-outs, cap slowdown, year-to-date timing, shapes and the engine's arrays."""

from __future__ import annotations

import numpy as np
import pytest

from salesanalytics.plans.spec import INF, Commission, Plan, QuotaBonus, Tier
from salesanalytics.simulation.behaviour import (
    CapSlowdown,
    EffortResponse,
    Response,
    TimingGames,
    apply_responses,
    describe,
    marginal_rate,
    note,
)

STEP = Plan(
    "step",
    commission=Commission((Tier(0, INF, 0.05),)),
    bonuses=(QuotaBonus("q", ((1.0, 5000.0),)),),
)
CAPPED = Plan("capped", commission=Commission((Tier(0, INF, 0.05),), cap_attainment=1.5))
ACCEL = Plan("accel", commission=Commission((Tier(0, 1.0, 0.04), Tier(1.0, INF, 0.08))))
FLAT = Plan("flat", commission=Commission((Tier(0, INF, 0.04),)))
Q = np.array([[100.0, 100.0, 100.0]])


def draws(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    quota = rng.uniform(50, 150, size=(4, 6))
    return quota * rng.lognormal(0, 0.4, size=(32, 4, 6)), quota


ALL: list[Response] = [EffortResponse(), TimingGames(), CapSlowdown()]


def test_off_by_default() -> None:
    m, q = draws()
    assert apply_responses(STEP, m, q) is m
    assert apply_responses(STEP, m, q, []) is m
    out = apply_responses(CAPPED, m, q, ALL)  # every response at its default: no effect
    np.testing.assert_array_equal(out, m)
    assert all(isinstance(r, Response) for r in ALL)
    assert note(()) == "behavioural responses: off"


def test_elasticity_zero_is_unchanged() -> None:
    m, q = draws(1)
    out = EffortResponse(0.0, reference=FLAT).apply(ACCEL, m, q)
    np.testing.assert_array_equal(out, m)


def test_effort_follows_marginal_rate_ratio() -> None:
    m = np.array([[50.0, 150.0, 0.0]])
    out = EffortResponse(0.5, reference=FLAT).apply(ACCEL, m, Q)
    # below quota both pay 4%: unchanged; above quota 8% vs 4%: × 2^0.5
    np.testing.assert_allclose(out, [[50.0, 150.0 * 2**0.5, 0.0]])
    clipped = EffortResponse(1.0, reference=FLAT, limit=1.5).apply(ACCEL, m, Q)
    np.testing.assert_allclose(clipped, [[50.0, 225.0, 0.0]])
    # no reference: a linear plan paying the same at quota (6% of quota at 100%)
    own = EffortResponse(1.0).apply(ACCEL, np.array([[150.0]]), np.array([[100.0]]))
    np.testing.assert_allclose(own, [[150.0 * 0.08 / 0.04]])
    # a flat plan against itself: no change
    m2, q2 = draws(2)
    np.testing.assert_allclose(EffortResponse(0.7).apply(FLAT, m2, q2), m2)


def test_effort_on_target_incentive_plan_uses_target_incentive() -> None:
    ti_plan = Plan(
        "ti",
        commission=Commission((Tier(0, 1.0, 1.0), Tier(1.0, INF, 2.0)), rate_of="target_incentive"),
    )
    rate = marginal_rate(
        ti_plan, np.array([[0.5, 1.5]]), np.array([[1000.0, 1000.0]]), np.array([1200.0])
    )
    np.testing.assert_allclose(rate, [[0.1, 0.2]])  # monthly TI 100 per 1,000 of quota
    out = EffortResponse(1.0).apply(
        ti_plan, np.array([[1500.0]]), np.array([[1000.0]]), target_incentive=np.array([1200.0])
    )
    np.testing.assert_allclose(out, [[3000.0]])  # 0.2 against 0.1 on target


def test_timing_pull_in_hand_example() -> None:
    m = np.array([[90.0, 100.0, 100.0], [70.0, 100.0, 100.0], [120.0, 100.0, 100.0]])
    out = TimingGames(0.2).apply(STEP, m, np.ones((3, 3)) * 100)
    # rep 1: 90% + 20% of next month's 100 = 110%: pulls 20; then month 2 is 80%, and
    # 20% of month 3 (20) lifts it to exactly 100%: pulls again
    np.testing.assert_allclose(out[0], [110.0, 100.0, 80.0])
    np.testing.assert_allclose(out[1], m[1])  # 70% + 20 stays below 100%: no pull
    np.testing.assert_allclose(out[2], m[2])  # already above: nothing to gain
    np.testing.assert_allclose(out.sum(), m.sum())  # pulled, not created
    discounted = TimingGames(0.2, discount=0.1).apply(STEP, m[:1, :2], Q[:, :2])
    np.testing.assert_allclose(discounted, [[108.0, 80.0]])  # booked at 90%


def test_timing_push_out_above_cap() -> None:
    out = TimingGames(0.5).apply(CAPPED, np.array([[200.0, 100.0, 200.0]]), Q)
    # month 1: 50 above the 150% cap, half pushed; month 3: pushed out of the span
    np.testing.assert_allclose(out, [[175.0, 125.0, 175.0]])


def test_timing_year_to_date_only_at_year_end() -> None:
    bonus = QuotaBonus("y", ((1.0, 1000.0),))
    plan = Plan("ytd", period="quarter", attainment="ytd", bonuses=(bonus,))
    m = np.array([[40.0, 50.0, 50.0, 50.0]])
    q = np.full((1, 4), 50.0)
    out = TimingGames(0.5).apply(plan, m, q, year=np.array([0, 0, 1, 1]))
    # quarter 1 ends at 80% YTD (not a year end: no pull); year 1 ends at 90%, and half of
    # quarter 3 (25) lifts it to 115%: pulled across the year end
    np.testing.assert_allclose(out, [[40.0, 75.0, 25.0, 50.0]])


def test_cap_slowdown() -> None:
    m = np.array([[200.0, 100.0, 160.0]])
    np.testing.assert_allclose(CapSlowdown(0.5).apply(CAPPED, m, Q), [[175.0, 100.0, 155.0]])
    deferred = CapSlowdown(0.5, deferred=1.0).apply(CAPPED, m, Q)
    np.testing.assert_allclose(deferred, [[175.0, 125.0, 155.0]])
    np.testing.assert_array_equal(CapSlowdown(0.9).apply(FLAT, m, Q), m)  # no cap


def test_shapes_determinism_and_inputs_untouched() -> None:
    m, q = draws(3)
    before = m.copy()
    responses = [EffortResponse(0.2, reference=FLAT), TimingGames(0.3, 0.05), CapSlowdown(0.4)]
    a = apply_responses(CAPPED, m, q, responses)
    b = apply_responses(CAPPED, m, q, responses)
    assert a.shape == m.shape
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m, before)
    assert not np.array_equal(a, m)


def test_validation() -> None:
    with pytest.raises(ValueError, match="share"):
        TimingGames(1.5)
    with pytest.raises(ValueError, match="deferred"):
        CapSlowdown(0.5, deferred=-0.1)
    with pytest.raises(ValueError, match="limit"):
        EffortResponse(0.1, limit=0.5)


def test_outputs_state_assumptions_and_sources() -> None:
    rs = [EffortResponse(0.1, reference=FLAT), TimingGames(0.2, 0.07), CapSlowdown(0.5)]
    d = describe(rs)
    assert list(d["response"]) == ["EffortResponse", "TimingGames", "CapSlowdown"]
    assert d.loc[0, "parameters"] == "elasticity=0.1, reference='flat', limit=4.0"
    assert "Misra & Nair" in d.loc[2, "source"] and "Larkin" in d.loc[1, "source"]
    assert "Chung" in d.loc[0, "source"] and all(d["assumption"].str.len() > 40)
    text = note(rs)
    assert text.startswith("behavioural responses ON") and "TimingGames(share=0.2" in text


def test_engine_arrays() -> None:
    """The hook on what ``run_chunk`` holds: a plan's aggregated (T, R, P) measure and
    (R, P) quota, the population's target incentives and the plan years."""
    from salesanalytics import sample
    from salesanalytics.plans.spec import Eligibility
    from salesanalytics.simulation import AttainmentScenario, Normal, Population
    from salesanalytics.simulation.engine import plan_arrays

    pop = Population.from_dataset(sample.generate(600, seed=0))
    scenario = AttainmentScenario(pop, Normal(1.0, 0.4))
    s = scenario.sample(np.random.default_rng(0), 8)
    plan = Plan(
        "q", period="quarter", eligibility=Eligibility(roles=("AE",)), commission=CAPPED.commission
    )
    layout = plan_arrays(plan, pop)
    measure, quota = layout.aggregate(s.measure), layout.aggregate(s.quota)
    out = apply_responses(
        plan,
        measure,
        quota,
        [CapSlowdown(0.5)],
        target_incentive=pop.target_incentive,
        year=layout.year,
    )
    assert out.shape == measure.shape and (out <= measure + 1e-9).all()
    assert (out < measure - 1e-9).any()
