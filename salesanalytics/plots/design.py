"""Plan-design figures: the cost–fairness frontier of a parameter sweep and the gaming-risk
table of a plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..fairness.gaming import GamingScan
from ._common import esc
from ._style import layout

__all__ = ["frontier_figure", "gaming_table_figure"]


def frontier_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    *,
    cost: str = "cost_of_sales",
    fairness: str = "rank_correlation",
    title: str = "Cost and fairness of plan variants",
) -> go.Figure:
    """Scatter of cost against fairness for every point of a two-parameter sweep, the points
    on the Pareto frontier joined by a line.

    Parameters
    ----------
    table
        Output of :func:`salesanalytics.simulation.frontier` (with ``on_frontier``).
    x, y
        The two swept parameters (column names), shown in the hover text.
    cost, fairness
        The columns plotted on the horizontal and vertical axes.

    Returns
    -------
    plotly.graph_objects.Figure
        A ``scatter`` trace of all valid points and a ``scatter`` line through the frontier.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [1, 1, 2, 2], "b": [3, 4, 3, 4],
    ...                   "cost_of_sales": [0.10, 0.12, 0.11, 0.09],
    ...                   "rank_correlation": [0.7, 0.9, 0.6, 0.8],
    ...                   "on_frontier": [False, True, False, True]})
    >>> fig = frontier_figure(t, "a", "b")
    >>> [trace.name for trace in fig.data], [float(v) for v in fig.data[1].x]
    (['plan variants', 'cost-fairness frontier'], [0.09, 0.12])
    """
    for column in (x, y, cost, fairness):
        if column not in table.columns:
            raise KeyError(f"the frontier table has no column {column!r}")
    valid = table.dropna(subset=[cost, fairness])
    hover = [
        f"{esc(x)} = {vx:.4g}<br>{esc(y)} = {vy:.4g}<br>{esc(cost)} = {c:.4g}"
        f"<br>{esc(fairness)} = {f:.4g}"
        for vx, vy, c, f in zip(valid[x], valid[y], valid[cost], valid[fairness], strict=True)
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=valid[cost],
            y=valid[fairness],
            mode="markers",
            name="plan variants",
            hovertext=hover,
            hoverinfo="text",
            marker={"size": 9, "color": "#9aa5b1"},
        )
    )
    on = valid[valid["on_frontier"].astype(bool)] if "on_frontier" in valid else valid.iloc[:0]
    on = on.sort_values(cost)
    fig.add_trace(
        go.Scatter(
            x=on[cost],
            y=on[fairness],
            mode="lines+markers",
            name="cost-fairness frontier",
            marker={"size": 11, "color": "#1f6feb"},
            hoverinfo="skip",
        )
    )
    fig.update_layout(**layout(esc(title)))
    fig.update_xaxes(title_text=esc(cost), tickformat=".1%" if "cost_of_sales" in cost else None)
    fig.update_yaxes(title_text=esc(fairness))
    return fig


def gaming_table_figure(scan: GamingScan, top: int = 10) -> go.Figure:
    """The ``top`` gaming risks of a plan as a table: where, which move, money at stake per
    move and per year, and what happens in plain language.

    Examples
    --------
    >>> from salesanalytics.fairness.gaming import scan_plan
    >>> from salesanalytics.plans import Commission, Plan, QuotaBonus, Tier
    >>> plan = Plan("step", commission=Commission((Tier(0, float("inf"), 0.05),)),
    ...             bonuses=(QuotaBonus("club", ((1.0, 5000.0),)),))
    >>> fig = gaming_table_figure(scan_plan(plan, quota=1.2e6, target_incentive=60e3,
    ...                                     typical_deal=20e3))
    >>> fig.data[0].type
    'table'
    """
    t = scan.table.head(top)
    cells = [
        t["rank"].astype(int).tolist(),
        [f"{a:.0%}" for a in t["attainment"]],
        [esc(f"{k} ({s})") for k, s in zip(t["kind"], t["source"], strict=True)],
        [esc(m) for m in t["move"]],
        [f"{v:,.0f}" for v in t["at_stake"]],
        [f"{v:,.0f}" if np.isfinite(v) else "" for v in t["per_year"]],
        [esc(w) for w in t["what"]],
    ]
    header = ["#", "attainment", "where", "move", "at stake", "per year (max)", "what happens"]
    fig = go.Figure(
        go.Table(
            columnwidth=[3, 8, 14, 8, 9, 10, 48],
            header={"values": header, "align": "left", "fill_color": "#e8eef6"},
            cells={"values": cells, "align": "left"},
        )
    )
    fig.update_layout(**layout(esc(f"Gaming risks of plan {scan.plan}")))
    return fig
