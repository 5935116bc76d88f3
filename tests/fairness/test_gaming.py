"""Gaming-risk scanner: exact values at cliffs (step bonus, retroactive tier, gate), kinks,
caps, year-to-date plans, agreement with a direct kernel call, and the sample plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from salesanalytics.fairness.gaming import GamingScan, scan_plan, scan_plan_for, typical_rep
from salesanalytics.plans.kernel import KernelInputs, payout
from salesanalytics.plans.spec import (
    INF,
    Commission,
    Draw,
    Plan,
    QuotaBonus,
    QuotaRule,
    Tier,
)

ROOT = Path(__file__).resolve().parents[2]
Q = 1_200_000.0  # annual: 100,000 a month
TI = 60_000.0
DEAL = 20_000.0  # 20% of a month's quota


def scan(plan: Plan, deal: float = DEAL, **kwargs: Any) -> GamingScan:
    return scan_plan(plan, quota=Q, target_incentive=TI, typical_deal=deal, **kwargs)


def row(s: GamingScan, move: str, at: float | None = None) -> Any:
    t = s.table[s.table["move"] == move]
    if at is not None:
        t = t[np.isclose(t["attainment"], at)]
    assert len(t) == 1, t
    return t.iloc[0]


def test_step_bonus_cliff_exact() -> None:
    plan = Plan(
        "step",
        commission=Commission((Tier(0, INF, 0.05),)),
        bonuses=(QuotaBonus("quota", ((1.0, 5000.0),)),),
    )
    s = scan(plan)
    within = row(s, "threshold")
    assert within["gain"] == 5000.0 + 0.05 * DEAL  # the bonus plus the deal's commission
    assert within["normal"] == 0.05 * DEAL and within["at_stake"] == 5000.0
    assert within["this_before"] == pytest.approx(0.8) and within["kind"] == "cliff"
    timing = row(s, "pull-in")
    assert timing["at_stake"] == 5000.0 and timing["per_year"] == 60_000.0
    assert (
        "from next month into this month lifts attainment past the 100% cliff" in (timing["what"])
    )
    assert "pays 5,000 more" in timing["what"]
    assert within["flag"] == "cliff: pay jumps by 5,000 at 100%"
    assert list(s.table["rank"]) == [1, 2]


def test_retroactive_tier_boundary_exact() -> None:
    # the whole month re-rated from 4% to 6% at 100%: 2% of 100,000 = 2,000; at 150%: 1.5 × 1%
    tiers = (Tier(0, 1.0, 0.04), Tier(1.0, 1.5, 0.06), Tier(1.5, INF, 0.07))
    s = scan(Plan("retro", commission=Commission(tiers, method="retroactive")))
    assert row(s, "threshold", 1.0)["at_stake"] == 2000.0
    assert row(s, "pull-in", 1.0)["at_stake"] == 2000.0
    assert row(s, "threshold", 1.5)["at_stake"] == 1500.0
    assert row(s, "threshold", 1.0)["gain"] == 0.06 * 100_000 - 0.04 * 80_000
    assert s.table["at_stake"].is_monotonic_decreasing


def test_marginal_kink_pays_only_by_timing() -> None:
    tiers = (Tier(0, 1.0, 0.04), Tier(1.0, INF, 0.08))
    s = scan(Plan("marginal", commission=Commission(tiers)))
    assert row(s, "threshold")["at_stake"] == 0.0
    assert "pays nothing beyond the normal rate" in row(s, "threshold")["what"]
    pull = row(s, "pull-in")  # paid at 8% above quota this month instead of 4% next month
    assert pull["at_stake"] == pytest.approx(DEAL * 0.04, abs=0.01)
    assert pull["this_before"] == 1.0 and pull["next_before"] == pytest.approx(0.8)
    assert pull["flag"] == "marginal rate jumps 4.00% -> 8.00% at 100%"
    assert s.table.loc[0, "move"] == "pull-in"


def test_attainment_cap_makes_effort_worthless_and_invites_push_out() -> None:
    s = scan(Plan("capped", commission=Commission((Tier(0, INF, 0.05),), cap_attainment=1.5)))
    push = s.table.iloc[0]
    assert push["move"] == "push-out" and push["at_stake"] == pytest.approx(0.05 * DEAL)
    assert push["flag"] == "cap: effort above 150% earns nothing"
    assert "pushes one 20,000 deal out into next month" in push["what"]


def test_payout_cap_found_by_the_curve() -> None:
    # 5% of measure capped at 6,000 a month: the cap binds at 120%
    s = scan(Plan("pcap", commission=Commission((Tier(0, INF, 0.05),), cap_payout=6000.0)))
    push = row(s, "push-out")
    assert push["attainment"] == pytest.approx(1.2) and push["source"] == "payout cap"
    assert push["at_stake"] == pytest.approx(1000.0, abs=0.01)


def test_gate_on_target_incentive_plan() -> None:
    # retroactive 0.8/1.0 × TI with a gate at 50%: monthly TI 5,000; at 50% pay 0.4 TI = 2,000
    tiers = (Tier(0, 1.0, 0.8), Tier(1.0, INF, 1.0))
    c = Commission(tiers, method="retroactive", rate_of="target_incentive", gate=0.5)
    s = scan(Plan("gated", commission=c))
    gate = row(s, "threshold", 0.5)
    assert gate["at_stake"] == 2000.0 and gate["source"] == "gate"
    quota_step = row(s, "threshold", 1.0)  # 1.0 × 5,000 - 0.8 × 5,000 = 1,000
    assert quota_step["at_stake"] == 1000.0


def test_timing_agrees_with_a_direct_kernel_call() -> None:
    plan = Plan(
        "mix",
        commission=Commission((Tier(0, 1.0, 0.04), Tier(1.0, INF, 0.06)), method="retroactive"),
        bonuses=(QuotaBonus("q", ((1.0, 1000.0),)),),
        draw=Draw(3000.0),
    )
    s = scan(plan)
    pull = row(s, "pull-in", 1.0)
    q = 100_000.0
    this, nxt = pull["this_before"] * q, pull["next_before"] * q

    def pay(m: list[float]) -> float:
        x = KernelInputs(
            measure=np.array([m]),
            quota=np.full((1, 2), q),
            employed=np.ones((1, 2)),
            base_salary=np.zeros(1),
            target_incentive=np.array([TI]),
            year=np.zeros(2, dtype=np.int64),
        )
        out = payout(plan, x)  # the draw shortfall still owed is not pay
        return float(out.variable.sum() - out.balance[0, -1])

    direct = pay([this + DEAL, nxt]) - pay([this, nxt + DEAL])
    assert pull["at_stake"] == pytest.approx(direct, abs=0.01)


def test_year_to_date_plan_scans_the_year_end() -> None:
    bonus = QuotaBonus(
        "team", ((0.8, 0.5), (1.0, 1.0), (1.2, 1.5)), kind="linear", of_target_incentive=True
    )
    plan = Plan("manager", period="quarter", attainment="ytd", bonuses=(bonus,))
    s = scan(plan, deal=50_000.0)
    cliff = row(s, "threshold", 0.8)
    assert cliff["at_stake"] == pytest.approx(0.5 * TI, abs=0.01)  # half the annual TI
    assert cliff["per_year"] == cliff["at_stake"]  # once a year
    assert "plan year" in row(s, "pull-in", 0.8)["what"]
    assert s.inputs["scanned"] == "plan year"
    assert scan(plan, deal=50_000.0, periods_per_year=4).table["per_year"].max() == pytest.approx(
        4 * 0.5 * TI, abs=0.05
    )


def test_plan_amounts_take_precedence_and_flat_plans_are_clean() -> None:
    flat = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    s = scan(flat)
    assert s.table.empty and "rank" in s.table.columns and "what" in s.table.columns
    own = Plan(
        "own",
        quota=QuotaRule(source="annual", annual=2_400_000.0),
        bonuses=(QuotaBonus("q", ((1.0, 500.0),)),),
    )
    s = scan(own)
    assert s.inputs["quota"] == 2_400_000.0
    assert s.inputs["deal_attainment"] == pytest.approx(0.1)
    assert row(s, "threshold")["at_stake"] == 500.0


def test_big_deal_starts_from_zero() -> None:
    # the deal (150% of quota) is bigger than the gate's attainment (50%)
    c = Commission((Tier(0, INF, 0.05),), gate=0.5)
    s = scan(Plan("big", commission=c), deal=150_000.0)
    within = row(s, "threshold")
    assert within["this_before"] == 0.0 and within["gain"] == 0.05 * 150_000
    assert within["at_stake"] == pytest.approx(0.05 * 50_000)  # the part up to the gate


def test_validation_and_display() -> None:
    plan = Plan("<b>x</b>", bonuses=(QuotaBonus("q", ((1.0, 5.0),)),))
    with pytest.raises(ValueError, match="typical_deal"):
        scan(plan, deal=0.0)
    with pytest.raises(ValueError, match="quota"):
        scan_plan(plan, quota=-1, target_incentive=TI, typical_deal=DEAL)
    s = scan(plan)
    assert "<b>" not in s._repr_html_() and "&lt;b&gt;" in s._repr_html_()
    assert s.summary().index.name == "rank" and len(s.top(1)) == 1


@pytest.mark.slow
def test_sample_plans() -> None:
    from salesanalytics.io import load
    from salesanalytics.io.plan_files import read_plan

    ds = load(ROOT / "data" / "sample")
    plan = read_plan(ROOT / "data" / "sample" / "plans" / "current.toml")
    rep = typical_rep(plan, ds)
    assert rep["quota"] > 0 and rep["typical_deal"] > 0 and rep["target_incentive"] > 0
    s = scan_plan_for(plan, ds)
    top = s.table.iloc[0]
    assert top["source"] == "attainment cap" and top["move"] == "push-out"
    assert s.inputs["deal"] == rep["typical_deal"]


def test_draw_floor_only_games_a_non_recoverable_draw() -> None:
    flat = Commission((Tier(0, INF, 0.05),))
    for recoverable, value in ((True, 0.0), (False, 0.05 * DEAL)):
        s = scan(Plan("draw", commission=flat, draw=Draw(3000.0, recoverable=recoverable)))
        timing = s.table[s.table["move"] != "threshold"].iloc[0]
        assert timing["attainment"] == pytest.approx(0.6) and timing["source"] == "draw"
        assert timing["at_stake"] == pytest.approx(value, abs=0.01)
