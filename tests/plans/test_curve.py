"""Payout curves: hand-worked pay at chosen attainments, cliffs and kinks, caps, draws, and
agreement with a direct call of the kernel."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from salesanalytics.plans.curve import PayoutCurve, payout_curve
from salesanalytics.plans.kernel import KernelInputs, payout
from salesanalytics.plans.spec import (
    INF,
    Clawback,
    Commission,
    Draw,
    Plan,
    PlanError,
    QuotaBonus,
    QuotaRule,
    Spiff,
    TeamPool,
    Tier,
)

Q = 100_000.0
TI = 10_000.0
TIERS = (Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, INF, 0.08))
EVIL = "<script>alert(1)</script>"


def yearly(name: str, **kwargs: Any) -> Plan:
    return Plan(name, period="year", **kwargs)


def flat(rate: float = 0.05, **commission: Any) -> Commission:
    return Commission((Tier(0, INF, rate),), **commission)


def at(curve: PayoutCurve, column: str, plan: str | None = None) -> pd.Series:
    """``column`` by attainment (rounded to 6 places) for one plan."""
    t = curve.table if plan is None else curve.table[curve.table["plan"] == plan]
    return pd.Series(t[column].to_numpy(), index=t["attainment"].round(6).to_numpy())


def points(curve: PayoutCurve, plan: str | None = None) -> pd.DataFrame:
    p = curve.points if plan is None else curve.points[curve.points["plan"] == plan]
    return p.reset_index(drop=True)


def test_marginal_tiers_hand_worked() -> None:
    # 2% on the first 50,000, 4% on the next 50,000, 8% above 100,000
    curve = payout_curve(
        yearly("marginal", commission=Commission(TIERS)), quota=Q, target_incentive=TI
    )
    c = at(curve, "commission")
    assert c[0.25] == pytest.approx(500)  # 0.02 × 25,000
    assert c[0.5] == pytest.approx(1_000)  # 0.02 × 50,000
    assert c[0.75] == pytest.approx(2_000)  # 1,000 + 0.04 × 25,000
    assert c[1.0] == pytest.approx(3_000)  # 1,000 + 0.04 × 50,000
    assert c[1.5] == pytest.approx(7_000)  # 3,000 + 0.08 × 50,000
    m = at(curve, "marginal_rate")
    assert (m[0.1], m[0.49], m[0.5], m[0.99], m[1.0], m[2.5]) == pytest.approx(
        (0.02, 0.02, 0.04, 0.04, 0.08, 0.08)
    )
    assert at(curve, "effective_rate")[1.5] == pytest.approx(7_000 / 150_000)
    assert at(curve, "measure")[1.5] == pytest.approx(150_000)
    assert at(curve, "variable_pct_ti")[1.0] == pytest.approx(0.3)
    t = curve.table
    assert np.allclose(t["variable"], t["commission"] + t["bonus"] + t["advance"])
    assert np.allclose(t["total"], t["variable"] + t["base"])
    p = points(curve)
    assert p["attainment"].tolist() == [0.5, 1.0]
    assert p["kind"].tolist() == ["kink", "kink"]
    assert p["source"].tolist() == ["tier 2", "tier 3"]
    assert np.allclose(p[["rate_before", "rate_after"]], [[0.02, 0.04], [0.04, 0.08]])
    assert p["jump"].tolist() == [0.0, 0.0]
    assert p["pay_after"].tolist() == pytest.approx([1_000, 3_000])


def test_amounts_are_annual_and_spread_over_periods() -> None:
    monthly = Plan("monthly", commission=Commission(TIERS))
    one = payout_curve(monthly, quota=Q, target_incentive=TI, base_salary=60_000)
    assert at(one, "commission")[1.5] == pytest.approx(7_000 / 12)
    assert at(one, "base")[1.5] == pytest.approx(5_000)
    assert at(one, "measure")[1.0] == pytest.approx(Q / 12)
    for periods in (12, "year"):
        year = payout_curve(monthly, quota=Q, target_incentive=TI, periods=periods)
        assert at(year, "commission")[1.5] == pytest.approx(7_000)
        assert at(year, "measure")[1.0] == pytest.approx(Q)
        assert year.inputs["periods"].tolist() == [12]
    two_years = payout_curve(monthly, quota=Q, target_incentive=TI, periods=24)
    assert at(two_years, "commission")[1.5] == pytest.approx(14_000)
    # year-to-date attainment with true-up pays the same on identical months
    ytd = payout_curve(monthly.replace(attainment="ytd"), quota=Q, target_incentive=TI, periods=12)
    assert np.allclose(ytd.table["variable"], year.table["variable"])


def test_retroactive_tier_boundaries_are_cliffs() -> None:
    plan = yearly("retro", commission=Commission(TIERS, method="retroactive"))
    curve = payout_curve(plan, quota=Q, target_incentive=TI)
    c = at(curve, "commission")
    assert c[0.49] == pytest.approx(980)  # 2% of 49,000
    assert c[0.5] == pytest.approx(2_000)  # 4% of 50,000: the whole measure re-rated
    assert c[0.99] == pytest.approx(3_960)
    assert c[1.0] == pytest.approx(8_000)
    assert c[1.5] == pytest.approx(12_000)
    p = points(curve)
    assert p["kind"].tolist() == ["cliff", "cliff"]
    assert p["attainment"].tolist() == [0.5, 1.0]
    assert p["source"].tolist() == ["tier 2", "tier 3"]
    assert p["pay_before"].tolist() == pytest.approx([1_000, 4_000])
    assert p["pay_after"].tolist() == pytest.approx([2_000, 8_000])
    assert p["jump"].tolist() == pytest.approx([1_000, 4_000])


def test_gate_is_a_cliff() -> None:
    curve = payout_curve(yearly("gated", commission=flat(gate=0.5)), quota=Q, target_incentive=TI)
    c, m = at(curve, "commission"), at(curve, "marginal_rate")
    assert c[0.49] == 0 and c[0.5] == pytest.approx(2_500)
    assert m[0.3] == 0 and m[0.5] == pytest.approx(0.05)
    p = points(curve)
    assert p[["attainment", "kind", "source"]].to_numpy().tolist() == [[0.5, "cliff", "gate"]]
    assert p["jump"].iloc[0] == pytest.approx(2_500)


def test_step_and_linear_bonuses() -> None:
    step = yearly("step", bonuses=(QuotaBonus("club", ((1.0, 5_000.0), (1.5, 8_000.0))),))
    ti = yearly("ti", bonuses=(QuotaBonus("ti", ((1.0, 0.25),), of_target_incentive=True),))
    linear = yearly(
        "linear", bonuses=(QuotaBonus("ramp", ((1.0, 0.0), (2.0, 10_000.0)), kind="linear"),)
    )
    curve = payout_curve([step, ti, linear], quota=Q, target_incentive=20_000)
    b = at(curve, "bonus", "step")
    assert (b[0.99], b[1.0], b[1.49], b[1.5], b[2.5]) == (0, 5_000, 5_000, 8_000, 8_000)
    assert (at(curve, "marginal_rate", "step") == 0).all()
    p = points(curve, "step")
    assert p[["attainment", "kind", "source"]].to_numpy().tolist() == [
        [1.0, "cliff", "bonus club"],
        [1.5, "cliff", "bonus club"],
    ]
    assert p["jump"].tolist() == pytest.approx([5_000, 3_000])
    assert points(curve, "ti")["jump"].tolist() == pytest.approx([5_000])  # 25% of 20,000
    r = at(curve, "bonus", "linear")
    assert (r[0.5], r[1.0], r[1.5], r[2.0], r[2.5]) == pytest.approx((0, 0, 5_000, 10_000, 10_000))
    assert at(curve, "marginal_rate", "linear")[1.5] == pytest.approx(0.1)  # 10,000 / 100,000
    p = points(curve, "linear")
    assert p[["attainment", "kind"]].to_numpy().tolist() == [[1.0, "kink"], [2.0, "kink"]]


def test_caps_flatten_the_curve() -> None:
    plans = [
        yearly("payout cap", commission=flat(cap_payout=6_000)),
        yearly("ti cap", commission=flat(cap_payout_ti=0.5)),
        yearly("attainment cap", commission=flat(cap_attainment=1.5)),
    ]
    curve = payout_curve(plans, quota=Q, target_incentive=TI)
    c = at(curve, "commission", "payout cap")
    assert c[1.0] == pytest.approx(5_000) and c[1.2] == pytest.approx(6_000)
    assert c.max() == pytest.approx(6_000) and np.allclose(c[c.index >= 1.2], 6_000)
    assert (at(curve, "marginal_rate", "payout cap")[c.index >= 1.2] == 0).all()
    p = points(curve, "payout cap")
    assert p["source"].tolist() == ["payout cap"] and p["kind"].tolist() == ["kink"]
    assert p["attainment"].iloc[0] == pytest.approx(1.2, abs=1e-9)  # 6,000 / 5% / 100,000
    assert np.allclose(p[["rate_before", "rate_after"]], [[0.05, 0]])
    assert at(curve, "commission", "ti cap").max() == pytest.approx(5_000)  # half of 10,000
    assert points(curve, "ti cap")["attainment"].tolist() == pytest.approx([1.0])
    a = at(curve, "commission", "attainment cap")
    assert a[1.5] == pytest.approx(7_500) and a[2.5] == pytest.approx(7_500)
    assert points(curve, "attainment cap")["source"].tolist() == ["attainment cap"]


def test_draw_is_a_floor() -> None:
    guarantee = yearly("guarantee", commission=flat(), draw=Draw(1_000, recoverable=False))
    recoverable = yearly("recoverable", commission=flat(), draw=Draw(1_000))
    curve = payout_curve([guarantee, recoverable], quota=Q, target_incentive=TI)
    for name in ("guarantee", "recoverable"):
        v, adv = at(curve, "variable", name), at(curve, "advance", name)
        assert v[0.0] == 1_000 and v[0.1] == pytest.approx(1_000) and v[0.4] == pytest.approx(2_000)
        assert adv[0.1] == pytest.approx(500)  # 1,000 guaranteed, 500 earned
        assert at(curve, "marginal_rate", name)[0.1] == 0
        p = points(curve, name)
        assert p[["kind", "source"]].to_numpy().tolist() == [["kink", "draw"]]
        assert p["attainment"].iloc[0] == pytest.approx(0.2, abs=1e-9)
    assert at(curve, "balance", "guarantee")[0.1] == 0
    assert at(curve, "balance", "recoverable")[0.1] == pytest.approx(500)  # owed
    # a draw for the first period only, over three months
    first = Plan("first", commission=flat(), draw=Draw(100, recoverable=False, periods=1))
    v = at(payout_curve(first, quota=Q, target_incentive=TI, periods=3), "variable")
    assert v[0.0] == pytest.approx(100)


def test_target_incentive_rate_and_plan_overrides() -> None:
    plan = yearly(
        "ti",
        target_incentive=20_000,
        base_salary=50_000,
        quota=QuotaRule(source="annual", annual=200_000),
        commission=Commission((Tier(0, 1, 0.8), Tier(1, INF, 1.5)), rate_of="target_incentive"),
    )
    curve = payout_curve(plan, quota=Q, target_incentive=TI, base_salary=1)
    assert curve.inputs[["quota", "target_incentive", "base_salary"]].iloc[0].tolist() == [
        200_000,
        20_000,
        50_000,
    ]
    c = at(curve, "commission")
    assert c[1.0] == pytest.approx(16_000)  # 0.8 × 20,000
    assert c[1.5] == pytest.approx(16_000 + 0.5 * 1.5 * 20_000)
    assert at(curve, "marginal_rate")[1.5] == pytest.approx(1.5 * 20_000 / 200_000)
    assert at(curve, "total")[0.0] == pytest.approx(50_000)


def test_plans_share_the_grid_and_keep_their_order() -> None:
    plans = [yearly(n, commission=flat(r)) for n, r in (("b", 0.03), ("a", 0.05), ("c", 0.01))]
    curve = payout_curve(plans, quota=Q, target_incentive=TI, attainment=[1.5, 0, 0.5, 1, 0.5])
    assert curve.plans == ["b", "a", "c"]
    assert list(dict.fromkeys(curve.table["plan"])) == ["b", "a", "c"]
    for _, t in curve.table.groupby("plan", sort=False):
        assert t["attainment"].tolist() == [0.0, 0.5, 1.0, 1.5]
    default = payout_curve(plans, quota=Q, target_incentive=TI)
    grids = [t["attainment"].to_numpy() for _, t in default.table.groupby("plan")]
    assert all(np.array_equal(g, np.linspace(0, 2.5, 251)) for g in grids)
    s = curve.summary()
    assert s.loc["a", "variable_at_quota"] == pytest.approx(5_000)
    assert s.loc["a", "max_marginal_rate"] == pytest.approx(0.05)
    assert s["cliffs"].tolist() == [0, 0, 0]


def test_team_pools_spiffs_and_clawbacks_are_left_out() -> None:
    plain = yearly("plain", commission=Commission(TIERS))
    busy = plain.replace(
        name="busy",
        team_pools=(TeamPool("pool", rate=0.01),),
        spiffs=(Spiff("s", amount=100.0),),
        clawback=Clawback(90),
    )
    curve = payout_curve([plain, busy], quota=Q, target_incentive=TI)
    columns = ["attainment", "commission", "variable", "marginal_rate"]
    a = curve.table[curve.table["plan"] == "plain"][columns].to_numpy()
    b = curve.table[curve.table["plan"] == "busy"][columns].to_numpy()
    assert np.array_equal(a, b)


def test_agrees_with_a_direct_kernel_call() -> None:
    """The unit-quota route equals measure a × q over quota q, off the boundaries."""
    plan = yearly(
        "mixed",
        commission=Commission(TIERS, method="retroactive", cap_payout=9_000, gate=0.2),
        bonuses=(QuotaBonus("club", ((1.1, 700.0),)),),
        draw=Draw(300),
    )
    grid = np.array([0.05, 0.3, 0.77, 1.13, 1.23, 2.1])
    curve = payout_curve(plan, quota=Q, target_incentive=TI, base_salary=40_000, attainment=grid)
    x = KernelInputs(
        measure=(grid * Q)[:, None, None],
        quota=np.full((1, 1), Q),
        employed=np.ones((1, 1)),
        base_salary=np.array([40_000.0]),
        target_incentive=np.array([TI]),
        year=np.zeros(1, dtype=np.int64),
    )
    direct = payout(plan, x)
    assert np.allclose(curve.table["variable"], direct.variable[:, 0, 0])
    assert np.allclose(curve.table["total"], direct.total[:, 0, 0])


def test_marginal_rate_matches_differences_between_grid_points() -> None:
    curve = payout_curve(
        yearly("marginal", commission=Commission(TIERS)),
        quota=Q,
        target_incentive=TI,
        attainment=np.linspace(0.6, 0.9, 7),
    )
    t = curve.table
    slope = np.diff(t["variable"]) / np.diff(t["measure"])
    assert np.allclose(slope, 0.04) and np.allclose(t["marginal_rate"], 0.04)


def test_inputs_validated() -> None:
    plan = yearly("p", commission=flat())
    with pytest.raises(ValueError, match="names must differ"):
        payout_curve([plan, plan], quota=Q, target_incentive=TI)
    with pytest.raises(ValueError, match="at least one plan"):
        payout_curve([], quota=Q, target_incentive=TI)
    with pytest.raises(ValueError, match="quota"):
        payout_curve(plan, quota=0, target_incentive=TI)
    with pytest.raises(ValueError, match="attainment"):
        payout_curve(plan, quota=Q, target_incentive=TI, attainment=[-0.1, 1.0])
    with pytest.raises(ValueError, match="periods"):
        payout_curve(plan, quota=Q, target_incentive=TI, periods=0)


def test_no_points_and_html_escaped() -> None:
    curve = payout_curve(yearly(EVIL, commission=flat()), quota=Q, target_incentive=TI)
    assert curve.points.empty and list(curve.points.columns)[:3] == ["plan", "attainment", "kind"]
    html = curve._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_attainment_cap_is_a_kink_and_bounded_last_tier_is_refused() -> None:
    """Tiers that stop at 200% are refused (unclear above); cap_attainment says it."""
    with pytest.raises(PlanError, match=r"tiers\[2\]\.to: the last tier ends at 2"):
        Commission((Tier(0, 1, 0.05), Tier(1, 2, 0.1)))
    capped = Commission((Tier(0, 1, 0.05), Tier(1, INF, 0.1)), cap_attainment=2.0)
    plan = yearly("bounded", commission=capped)
    curve = payout_curve(plan, quota=Q, target_incentive=TI)
    c = at(curve, "commission")
    assert c[2.0] == pytest.approx(15_000) and c[2.5] == pytest.approx(15_000)
    p = points(curve)
    assert p[["attainment", "kind"]].to_numpy().tolist() == [[1.0, "kink"], [2.0, "kink"]]
