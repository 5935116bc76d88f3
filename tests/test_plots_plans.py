"""Plan figures as objects: trace types and counts, plotted values equal the result tables,
data strings escaped, and a statement table that adds up to the statement total."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from salesanalytics import sample
from salesanalytics.dataset import Dataset
from salesanalytics.plans.backtest import Backtest, evaluate
from salesanalytics.plans.curve import PayoutCurve, payout_curve
from salesanalytics.plans.kernel import COMPONENTS
from salesanalytics.plans.spec import (
    INF,
    Clawback,
    Commission,
    Draw,
    Eligibility,
    Plan,
    QuotaBonus,
    Spiff,
    TeamPool,
    Tier,
)
from salesanalytics.plots.plans import (
    payout_components_figure,
    payout_curve_figure,
    statement_table_figure,
)

EVIL = "<script>alert(1)</script>"
TIERS = (Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, INF, 0.08))


def _assert_escaped(fig: go.Figure) -> None:
    text = fig.to_json()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


@pytest.fixture(scope="module")
def ds() -> Dataset:
    """The sample, with a few won deals cancelled ten days after closing (clawbacks)."""
    data = sample.generate(800, seed=0)
    deals = data.deals.copy()
    won = deals.index[deals["outcome"] == "won"][::15]
    cancelled = pd.Series(pd.NaT, index=deals.index, dtype=deals["closed_at"].dtype)
    cancelled[won] = deals.loc[won, "closed_at"] + pd.Timedelta(days=10)
    return data.replace(deals=deals.assign(cancelled_at=cancelled))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(
        EVIL,
        currency="CNY",
        eligibility=Eligibility(roles=("AE",)),
        commission=Commission(TIERS, gate=0.3),
        bonuses=(QuotaBonus(EVIL, ((1.0, 0.1),), of_target_incentive=True),),
        spiffs=(Spiff("big deal", amount=100.0, min_amount=50_000),),
        team_pools=(TeamPool("pool", rate=0.002),),
        draw=Draw(500.0),
        clawback=Clawback(90),
    )


@pytest.fixture(scope="module")
def bt(ds: Dataset, plan: Plan) -> Backtest:
    return evaluate(plan, ds)


@pytest.fixture(scope="module")
def curve(plan: Plan) -> PayoutCurve:
    flat = Plan("flat 5%", period="year", commission=Commission((Tier(0, INF, 0.05),)))
    return payout_curve([plan, flat], quota=1_200_000, target_incentive=120_000, periods="year")


# ------------------------------------------------------------------ payout curve
def test_curve_traces_and_values(curve: PayoutCurve) -> None:
    fig = payout_curve_figure(curve)
    # the tiered plan: line + cliff markers (gate, bonus); the flat plan: a line only
    assert [(t.type, t.mode) for t in fig.data] == [
        ("scatter", "lines"),
        ("scatter", "markers"),
        ("scatter", "lines"),
    ]
    for trace, name in ((fig.data[0], EVIL), (fig.data[2], "flat 5%")):
        t = curve.table[curve.table["plan"] == name]
        p = curve.points[curve.points["plan"] == name]
        xy = pd.DataFrame({"x": trace.x, "y": trace.y})
        assert (np.diff(xy["x"]) >= 0).all()  # drawn left to right
        on_grid = xy[xy["x"].isin(t["attainment"])].drop_duplicates("x", keep="last")
        assert np.allclose(on_grid["x"], t["attainment"])
        assert np.allclose(on_grid["y"], t["variable"])
        # every point off the grid is a point of the plan (a cliff's left limit or a kink)
        extra = xy.drop(on_grid.index)
        for x, y in extra.itertuples(index=False):
            row = p[np.isclose(p["attainment"], x)]
            assert len(row) == 1 and np.isclose(y, row[["pay_before", "pay_after"]]).any()
        off_grid = (~p["attainment"].isin(t["attainment"])).sum()
        assert len(xy) == len(t) + (p["kind"] == "cliff").sum() + off_grid
    cliffs = curve.points[(curve.points["plan"] == EVIL) & (curve.points["kind"] == "cliff")]
    assert len(cliffs) >= 2
    assert np.allclose(fig.data[1].x, cliffs["attainment"])
    assert np.allclose(fig.data[1].y, cliffs["pay_after"])
    # a cliff is drawn as a vertical step: the pay just before, then the pay at the point
    line = pd.DataFrame({"x": fig.data[0].x, "y": fig.data[0].y})
    for a, before, after in cliffs[["attainment", "pay_before", "pay_after"]].to_numpy():
        ys = line.loc[np.isclose(line["x"], a), "y"].to_numpy()
        assert ys[0] == pytest.approx(before) and ys[-1] == pytest.approx(after)
    assert [s.x0 for s in fig.layout.shapes] == [1.0]  # 100% attainment
    assert "marginal rate" in fig.data[0].hovertext[0]


def test_curve_relative(curve: PayoutCurve) -> None:
    fig = payout_curve_figure(curve, relative=True)
    t = curve.table[curve.table["plan"] == "flat 5%"]
    assert np.allclose(fig.data[2].y, t["variable_pct_ti"])
    assert fig.layout.yaxis.tickformat == ".0%"
    no_ti = payout_curve(Plan("no ti", commission=Commission(TIERS)), quota=1e5, target_incentive=0)
    with pytest.raises(ValueError, match="no target incentive"):
        payout_curve_figure(no_ti, relative=True)
    assert len(payout_curve_figure(no_ti).data) == 1


def test_curve_escaped(curve: PayoutCurve) -> None:
    fig = payout_curve_figure(curve)
    _assert_escaped(fig)
    assert fig.data[0].name == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert not any(t.hovertemplate for t in fig.data)  # data strings stay out of templates


# ------------------------------------------------------------------ components per rep
def test_components_values_equal_by_rep(bt: Backtest) -> None:
    fig = payout_components_figure(bt, top=12)
    reps = bt.by_rep().sort_values("total", ascending=False).head(12)
    shown = [c for c in COMPONENTS if (reps[c] != 0).any()]
    assert {"base", "commission", "bonus", "team_pool", "spiff", "clawback"} <= set(shown)
    assert [t.type for t in fig.data] == ["bar"] * len(shown) + ["scatter"]
    assert fig.layout.barmode == "relative"
    for trace, component in zip(fig.data[:-1], shown, strict=True):
        assert trace.orientation == "h"
        assert list(trace.y) == list(reps.index)
        assert np.allclose(trace.x, reps[component])
    assert np.allclose(fig.data[-1].x, reps["total"])
    stacked = np.sum([t.x for t in fig.data[:-1]], axis=0)
    assert np.allclose(stacked, reps["total"])
    assert (reps["total"].diff().dropna() <= 0).all()  # sorted by total
    clawback = fig.data[shown.index("clawback")]
    assert (np.asarray(clawback.x) <= 0).all() and (np.asarray(clawback.x) < 0).any()


def test_components_top_and_escaping(bt: Backtest) -> None:
    fig = payout_components_figure(bt, top=3)
    assert len(fig.data[0].y) == 3
    assert set(fig.data[0].y) == set(bt.by_rep()["total"].nlargest(3).index)
    _assert_escaped(fig)
    with pytest.raises(ValueError, match="top"):
        payout_components_figure(bt, top=0)


# ------------------------------------------------------------------ statement table
def _cents(text: str) -> int:
    text = text.replace("<b>", "").replace("</b>", "").replace(",", "")
    sign = -1 if text.startswith("-") else 1
    whole, part = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(part))


def test_statement_table_sums_to_total(bt: Backtest) -> None:
    lines = bt.statements.lines
    busiest = lines.groupby(["rep_id", "period"]).size().idxmax()
    statement = bt.statements.statement(*busiest)
    fig = statement_table_figure(statement)
    assert [t.type for t in fig.data] == ["table"]
    cells = fig.data[0].cells.values
    assert len(cells) == 6 and all(len(c) == len(statement.lines) + 1 for c in cells)
    amounts = [_cents(a) for a in cells[-1]]
    assert amounts[:-1] == statement.lines["cents"].tolist()
    assert sum(amounts[:-1]) == amounts[-1] == round(statement.total * 100)
    assert cells[0][-1] == "<b>total</b>"
    assert "CNY" in fig.data[0].header.values[-1]
    # every statement of a rep with a clawback or a bonus line renders and adds up
    for component in ("clawback", "bonus", "recovery"):
        row = lines[lines["component"] == component].iloc[0]
        s = bt.statements.statement(row["rep_id"], row["period"])
        cells = statement_table_figure(s).data[0].cells.values
        assert sum(_cents(a) for a in cells[-1][:-1]) == _cents(cells[-1][-1])
        assert _cents(cells[-1][-1]) == int(s.lines["cents"].sum())


def test_statement_table_escaped(bt: Backtest) -> None:
    lines = bt.statements.lines
    row = lines[lines["component"] == "bonus"].iloc[0]
    fig = statement_table_figure(bt.statements.statement(row["rep_id"], row["period"]))
    _assert_escaped(fig)
