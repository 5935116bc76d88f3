"""The frontier and gaming-risk figures as objects: plotted values equal the tables, escaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesanalytics.fairness.gaming import scan_plan
from salesanalytics.plans import Commission, Plan, QuotaBonus, Tier
from salesanalytics.plots.design import frontier_figure, gaming_table_figure

EVIL = "<script>alert(1)</script>"


def test_frontier_points_and_line() -> None:
    t = pd.DataFrame(
        {
            "rate": [0.06, 0.06, 0.08, 0.08, 0.10],
            "cap": [1.5, 3.0, 1.5, 3.0, 1.5],
            "cost_of_sales": [0.10, 0.12, np.nan, 0.09, 0.15],
            "rank_correlation": [0.7, 0.9, 0.8, 0.8, 0.95],
            "on_frontier": [False, True, False, True, True],
        }
    )
    fig = frontier_figure(t, "rate", "cap")
    points, line = fig.data
    assert list(points.x) == [0.10, 0.12, 0.09, 0.15]  # the NaN-cost point is left out
    assert list(line.x) == [0.09, 0.12, 0.15] and list(line.y) == [0.8, 0.9, 0.95]
    assert "rate = 0.06<br>cap = 1.5" in points.hovertext[0]
    with pytest.raises(KeyError, match="no column 'gini'"):
        frontier_figure(t, "rate", "cap", fairness="gini")


def test_gaming_table_values_and_escaping() -> None:
    plan = Plan(
        EVIL,
        commission=Commission((Tier(0, float("inf"), 0.05),)),
        bonuses=(QuotaBonus("club", ((1.0, 5000.0),)),),
    )
    scan = scan_plan(plan, quota=1.2e6, target_incentive=60e3, typical_deal=20e3)
    fig = gaming_table_figure(scan, top=3)
    cells = fig.data[0].cells.values
    assert cells[4] == [f"{v:,.0f}" for v in scan.table["at_stake"].head(3)]
    assert "5,000" in cells[4]  # the step bonus: exactly its amount at stake
    assert "<script>" not in fig.layout.title.text and "&lt;script&gt;" in fig.layout.title.text
