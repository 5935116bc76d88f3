"""Tier schedules evaluated in blocks: against a per-value Python loop, every cell covered
once whatever the block size, and the fused simulation path equal to the full kernel."""

from __future__ import annotations

import numpy as np
import pytest

from salesanalytics.plans import schedule as schedule_module
from salesanalytics.plans.kernel import KernelInputs, payout
from salesanalytics.plans.schedule import _blocks, lean_commission, schedule, tier_commission
from salesanalytics.plans.spec import INF, Commission, Plan, Tier

TIERS = (Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.05), Tier(1.0, 1.5, 0.03), Tier(1.5, INF, 0.09))
COMMISSIONS = [
    Commission(TIERS),
    Commission(TIERS, method="retroactive"),
    Commission(TIERS, gate=0.6),
    Commission(TIERS, method="retroactive", gate=0.6, cap_attainment=1.7),
    Commission(TIERS, cap_attainment=1.2),
    Commission((Tier(0, INF, 0.07),)),
]


def by_hand(c: Commission, a: float) -> float:
    """Commission per unit of quota at one attainment, tier by tier in plain Python."""
    if a < c.gate:
        return 0.0
    capped = min(a, c.cap_attainment)
    if c.method == "retroactive":
        reached = [t for t in c.tiers if capped >= t.lower] or [c.tiers[0]]
        return reached[-1].rate * capped
    return sum(t.rate * (min(capped, t.upper) - t.lower) for t in c.tiers if capped > t.lower)


@pytest.mark.parametrize("c", COMMISSIONS, ids=lambda c: f"{c.method}-{c.gate}-{c.cap_attainment}")
def test_schedule_matches_a_loop_over_tiers(c: Commission) -> None:
    rng = np.random.default_rng(3)
    a = np.r_[rng.uniform(-0.5, 3.0, 5000), 0.0, 0.5, 0.6, 1.0, 1.2, 1.5, 1.7, 1e6]
    expected = np.array([by_hand(c, float(v)) for v in a])
    np.testing.assert_allclose(schedule(c, a), expected, rtol=1e-12, atol=1e-15)


def test_schedule_keeps_the_shape_and_reads_only() -> None:
    a = np.linspace(0, 2, 24).reshape(2, 3, 4)
    before = a.copy()
    out = schedule(COMMISSIONS[0], a)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(a, before)
    # at 75%: 0.5 × 2% + 0.25 × 5% = 0.0225; the effective rate 0.03
    per_quota, rate = tier_commission(COMMISSIONS[0], np.array([0.75]))
    assert per_quota[0] == pytest.approx(0.0225, rel=1e-12)
    assert rate[0] == pytest.approx(0.03, rel=1e-12)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((1, 1, 1), 8), ((5, 7, 3), 8), ((5, 7, 3), 21), ((5, 7, 3), 22), ((3, 100, 12), 50)],
)
def test_blocks_cover_every_cell_once(
    shape: tuple[int, int, int], size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule_module, "BLOCK_CELLS", size)
    seen = np.zeros(shape, dtype=int)
    for index in _blocks(shape):
        seen[index] += 1
    assert (seen == 1).all()


@pytest.mark.parametrize("size", [5, 37, 1 << 14])
@pytest.mark.parametrize("c", COMMISSIONS, ids=lambda c: f"{c.method}-{c.gate}-{c.cap_attainment}")
def test_fused_path_equals_the_full_kernel(
    c: Commission, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks within a scenario, across scenarios, or one block: the simulation's fused
    path pays what the statement path pays, cells without quota and the payout cap
    included."""
    monkeypatch.setattr(schedule_module, "BLOCK_CELLS", size)
    rng = np.random.default_rng(5)
    reps, periods = 9, 4
    quota = rng.uniform(5_000, 20_000, (reps, periods))
    quota[rng.random(quota.shape) < 0.15] = 0.0
    measure = rng.uniform(-0.1, 2.2, (3, 2, reps, periods)) * 10_000
    x = KernelInputs(
        measure=measure,
        quota=quota,
        employed=np.ones((reps, periods)),
        base_salary=np.full(reps, 60_000.0),
        target_incentive=np.full(reps, 48_000.0),
        year=np.zeros(periods, dtype=np.int64),
    )
    plan = Plan("p", commission=c.replace(cap_payout_ti=1.5))
    full, lean = payout(plan, x), payout(plan, x, detail=False)
    np.testing.assert_allclose(
        lean.components["commission"], full.components["commission"], rtol=1e-12, atol=1e-9
    )
    np.testing.assert_array_equal(lean.attainment, full.attainment)
    assert (lean.components["commission"] <= 1.5 * 48_000 / 12 + 1e-9).all()
    # by hand on one cell with quota and one without
    q0 = quota > 0
    r, p = np.argwhere(q0)[0]
    m = measure[1, 0, r, p]
    expected = min(by_hand(c, m / quota[r, p]) * quota[r, p], 1.5 * 4000)
    assert lean.components["commission"][1, 0, r, p] == pytest.approx(expected, rel=1e-12)
    if (~q0).any():
        r, p = np.argwhere(~q0)[0]
        no_quota = lean.components["commission"][:, :, r, p]
        first = 0.0 if c.gate > 0 else c.tiers[0].rate
        np.testing.assert_allclose(no_quota, np.minimum(first * measure[:, :, r, p], 6000))
        assert (lean.attainment[:, :, r, p] == 0).all()


def test_lean_commission_without_a_cap_and_with_a_scenario_quota() -> None:
    c = COMMISSIONS[0]
    rng = np.random.default_rng(8)
    quota = rng.uniform(1.0, 2.0, (4, 3, 5))
    measure = rng.uniform(0.0, 4.0, (4, 3, 5))
    attainment, commission = lean_commission(c, measure, quota, None)
    np.testing.assert_allclose(attainment, measure / quota, rtol=1e-15)
    expected = np.vectorize(lambda a: by_hand(c, a))(measure / quota) * quota
    np.testing.assert_allclose(commission, expected, rtol=1e-12)
