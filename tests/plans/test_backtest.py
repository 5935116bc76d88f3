"""Backtests on a tiny hand-made company: crediting, quotas, proration, clawbacks, splits,
statements in cents — every expected figure worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesanalytics import Dataset
from salesanalytics.plans import (
    Clawback,
    Commission,
    Crediting,
    Draw,
    Eligibility,
    Plan,
    PlanError,
    QuotaRule,
    RateCard,
    Spiff,
    TeamPool,
    Tier,
    evaluate,
)
from salesanalytics.plans.statements import allocate, to_cents

INF = float("inf")


def utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4", "D5", "D6"],
            "created_at": [utc("2023-12-01")] * 6,
            "closed_at": [
                utc("2024-01-15"),
                utc("2024-01-20"),
                utc("2024-02-20"),
                utc("2024-03-05"),
                utc("2024-02-01"),
                pd.NaT,
            ],
            "outcome": ["won", "won", "won", "won", "lost", "open"],
            "amount": [6000.0, 8000.0, 3000.0, 2000.0, 9000.0, 7000.0],
            "owner_id": ["R1", "R1", "R2", "R1", "R1", "R2"],
            "product_line": ["A", "B", "A", "A", "A", "A"],
            "cancelled_at": [pd.NaT, pd.NaT, pd.NaT, utc("2024-03-20"), pd.NaT, pd.NaT],
        }
    )
    events = pd.DataFrame(
        {"deal_id": deals["deal_id"], "stage": "lead", "entered_at": deals["created_at"]}
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "M1", "S1"],
            "team": ["A", "A", "A", "B"],
            "role": ["AE", "AE", "Manager", "AE"],
            "manager_id": ["M1", "M1", None, None],
            "hire_date": [utc("2020-01-01"), utc("2024-02-15"), utc("2019-01-01"), pd.NaT],
            "end_date": [pd.NaT, pd.NaT, pd.NaT, utc("2023-06-30")],
            "base_salary": [120_000.0, 60_000.0, 240_000.0, 100_000.0],
            "target_incentive": [24_000.0, 12_000.0, 48_000.0, 0.0],
        }
    )
    months = [utc("2024-01-01"), utc("2024-02-01"), utc("2024-03-01"), utc("2024-04-01")]
    rows = []
    for rep, amounts in (("R1", [10_000, 10_000, 10_000]), ("M1", [20_000, 20_000, 20_000])):
        rows += [(rep, months[i], months[i + 1], a) for i, a in enumerate(amounts)]
    rows += [("R2", months[1], months[2], 5_000), ("R2", months[2], months[3], 10_000)]
    quotas = pd.DataFrame(rows, columns=["rep_id", "period_start", "period_end", "quota"])
    return Dataset(
        {"deals": deals, "stage_events": events, "reps": reps, "quotas": quotas},
    )


AE = Eligibility(roles=("AE",))
TIERED = Commission((Tier(0, 1, 0.05), Tier(1, INF, 0.10)))


def _row(bt, rep: str, period: str) -> pd.Series:  # type: ignore[no-untyped-def]
    t = bt.table
    return t[(t["rep_id"] == rep) & (t["period"] == period)].iloc[0]


def test_marginal_tiers_proration_and_clawback(ds: Dataset) -> None:
    plan = Plan("tiered", eligibility=AE, commission=TIERED, clawback=Clawback(30))
    bt = evaluate(plan, ds)
    assert bt.calendar.labels == ("2024-01", "2024-02", "2024-03")
    assert list(bt.staff.ids) == ["R1", "R2"]  # S1 left before the window, M1 is a manager
    jan = _row(bt, "R1", "2024-01")
    # 14,000 on a 10,000 quota: 10,000 x 5% + 4,000 x 10% = 900
    assert jan["measure"] == 14_000 and jan["attainment"] == pytest.approx(1.4)
    assert jan["commission"] == pytest.approx(900.0)
    assert jan["base"] == pytest.approx(10_000.0)
    # R2 hired 15 Feb: employed 15 of 29 days; base 60,000 / 12 x 15/29
    feb = _row(bt, "R2", "2024-02")
    assert feb["employed"] == pytest.approx(15 / 29)
    assert feb["base"] == pytest.approx(5000 * 15 / 29)
    assert feb["commission"] == pytest.approx(150.0)  # 3,000 at 60% of 5,000: 5%
    # D4: 2,000 in March at 5% = 100, cancelled 15 days later: clawed back at 5%
    mar = _row(bt, "R1", "2024-03")
    assert mar["commission"] == pytest.approx(100.0)
    assert mar["clawback"] == pytest.approx(-100.0)
    assert mar["total"] == pytest.approx(10_000.0)


def test_statement_lines_in_cents_reconcile(ds: Dataset) -> None:
    plan = Plan("tiered", eligibility=AE, commission=TIERED, clawback=Clawback(30))
    bt = evaluate(plan, ds)
    st = bt.statements
    jan = st.statement("R1", "2024-01").lines.set_index("item")
    # effective rate 900 / 14,000; D1 6,000 -> 385.714..., D2 8,000 -> 514.285...;
    # floors 38571 + 51428 = 89999 cents, the last cent goes to the larger remainder (D2)
    assert jan.loc["D1", "cents"] == 38571 and jan.loc["D2", "cents"] == 51429
    assert jan.loc["base salary", "cents"] == 1_000_000
    assert st.statement("R1", "2024-01").total == 10_900.00
    mar = st.statement("R1", "2024-03").lines.set_index("component")
    assert mar.loc["clawback", "item"] == "D4" and mar.loc["clawback", "cents"] == -10_000
    # reconciliation: lines -> statements -> plan, exactly in cents
    by_statement = st.lines.groupby(["rep_id", "period"], sort=False)["cents"].sum()
    assert (by_statement.to_numpy() == st.totals["total"].to_numpy()).all()
    assert st.total == int(st.lines["cents"].sum()) / 100
    # and the statements agree with the kernel's floats to within half a cent per component
    kernel = bt.table.set_index(["rep_id", "period"])["total"]
    diff = (st.totals["total"] / 100 - kernel.reindex(st.totals.index)).abs()
    assert (diff <= 0.005 * 8).all()


def test_manager_overlay_and_annual_quota(ds: Dataset) -> None:
    plan = Plan(
        "manager",
        eligibility=Eligibility(roles=("Manager",)),
        crediting=Crediting(rules=("manager",)),
        commission=Commission((Tier(0, INF, 0.01),)),
    )
    bt = evaluate(plan, ds)
    assert bt.measure.ravel().tolist() == [14_000.0, 3_000.0, 2_000.0]
    assert bt.table["commission"].sum() == pytest.approx(190.0)
    annual = plan.replace(quota=QuotaRule(source="annual", annual=120_000.0))
    assert evaluate(annual, ds).quota.ravel().tolist() == [10_000.0] * 3


def test_splits_and_rate_cards_and_spiffs(ds: Dataset) -> None:
    splits = pd.DataFrame(
        {
            "deal_id": ["D1", "D1", "D1"],
            "rep_id": ["R1", "R2", "R2"],
            "share": [0.5, 0.5, 0.25],
            "role": ["split", "split", "overlay"],
        }
    )
    plan = Plan(
        "split",
        eligibility=AE,
        crediting=Crediting(rules=("splits",)),
        commission=Commission((Tier(0, INF, 0.05),)),
        rate_cards=(RateCard("product_line", values=(("B", 0.5),)),),
        spiffs=(Spiff("A launch", amount=100.0, where=(("product_line", ("A",)),)),),
    )
    bt = evaluate(plan, ds, splits=splits)
    c = bt.credits.set_index(["deal_id", "rep_id", "rule"])
    assert c.loc[("D1", "R1", "split"), "measure"] == 3000.0
    assert c.loc[("D1", "R2", "overlay"), "measure"] == 1500.0
    # R2 was not employed in January, yet credit is credit: 0.5 + 0.25 of D1
    jan_r1 = _row(bt, "R1", "2024-01")
    # R1: half of D1 (3,000 at 5%) + D2 (8,000 x 0.5 rate card at 5%) = 150 + 200
    assert jan_r1["commission"] == pytest.approx(350.0)
    # SPIFF: 100 per product-A deal x share: R1 gets 50 for D1 and 100 for D4
    assert bt.credits.loc[bt.credits["rep_id"] == "R1", "spiff:A launch"].sum() == 150.0
    bad = splits.assign(share=[0.5, 0.4, 0.25])
    with pytest.raises(PlanError, match=r"\[crediting\] splits.share: .*D1 \(90%\)"):
        evaluate(plan, ds, splits=bad)


def test_ytd_quarter_true_up_and_team_pool(ds: Dataset) -> None:
    plan = Plan(
        "ytd",
        period="month",
        attainment="ytd",
        eligibility=AE,
        commission=Commission((Tier(0, 1, 0.05), Tier(1, INF, 0.10)), method="retroactive"),
        team_pools=(TeamPool("team", rate=0.01, share="equal"),),
    )
    bt = evaluate(plan, ds)
    r1 = bt.table[bt.table["rep_id"] == "R1"]
    # YTD R1: Jan 14,000/10,000 -> 10% on 14,000 = 1,400; Feb 14,000/20,000 -> 5% = 700
    # (less than paid: 0); Mar 16,000/30,000 -> 5% x 16,000 = 800 (< 1,400 paid: 0)
    assert r1["commission"].round(6).tolist() == [1400.0, 0.0, 0.0]
    # team A pool = 1% of the team's measure, equal shares among employed reps
    pool = bt.table.set_index(["rep_id", "period"])["team_pool"]
    assert pool[("R1", "2024-01")] == pytest.approx(140.0)
    assert pool[("R1", "2024-02")] == pytest.approx(15.0) == pool[("R2", "2024-02")]
    st = bt.statements
    assert int(st.lines["cents"].sum()) == int(st.totals["total"].sum())


def test_draw_limited_to_first_periods(ds: Dataset) -> None:
    plan = Plan("draw", eligibility=AE, commission=TIERED, draw=Draw(500.0, periods=1))
    r2 = evaluate(plan, ds).table.query("rep_id == 'R2'")
    # Feb: draw 500 prorated 15/29 = 258.62 against 150 earned: advance 108.62;
    # Mar: no draw any more; 0 earned
    assert r2["advance"].tolist() == pytest.approx([500 * 15 / 29 - 150, 0.0])
    assert r2["balance"].tolist() == pytest.approx([500 * 15 / 29 - 150] * 2)


def test_clear_errors(ds: Dataset) -> None:
    with pytest.raises(PlanError, match=r"\[quota\] source: no quota for 1 rep-period.*R1 2023-12"):
        evaluate(Plan("p", eligibility=AE, commission=TIERED), ds, start="2023-12-01")
    no_reps = Dataset({"deals": ds.deals, "stage_events": ds.stage_events})
    with pytest.raises(PlanError, match="no reps table"):
        evaluate(Plan("p", commission=TIERED), no_reps)
    with pytest.raises(PlanError, match="no rep on the plan"):
        evaluate(Plan("p", eligibility=Eligibility(roles=("CEO",)), commission=TIERED), ds)


def test_inputs_not_mutated(ds: Dataset) -> None:
    before = {name: frame.copy() for name, frame in ds}
    plan = Plan("tiered", eligibility=AE, commission=TIERED, clawback=Clawback(30))
    evaluate(plan, ds).statements  # noqa: B018
    for name, frame in ds:
        pd.testing.assert_frame_equal(frame, before[name])


def test_cents_rounding_rule() -> None:
    assert to_cents(np.array([0.005, 0.015, 0.025, -0.005])).tolist() == [0, 2, 2, 0]
    raw = np.array([1 / 3, 1 / 3, 1 / 3, 0.105, 0.105])
    group = np.array([0, 0, 0, 1, 1])
    cents = allocate(raw, group, np.array([100, 21]))
    assert cents.tolist() == [34, 33, 33, 11, 10]
