"""Plan figures: payout curves, payout by component per rep, a statement as a table.

* :func:`payout_curve_figure` — variable pay (or % of target incentive) against attainment,
  one line per plan, cliffs drawn as vertical steps and marked, 100% attainment marked.
* :func:`payout_components_figure` — stacked horizontal bars of each rep's payout by
  component (negative components to the left), reps sorted by total.
* :func:`statement_table_figure` — a statement's lines with the total as the last row,
  amounts from the statement's integer cents, so the table adds up exactly.

Every data-derived string (plan, rep, component and deal names, statement details) is
HTML-escaped and passed as ``hovertext`` or cell text, never inside a ``hovertemplate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..plans.backtest import Backtest
from ..plans.curve import PayoutCurve
from ..plans.kernel import COMPONENTS
from ..plans.statements import Statement
from ._common import esc
from ._style import layout

__all__ = ["payout_components_figure", "payout_curve_figure", "statement_table_figure"]

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#ad494a",
)  # fmt: skip
COMPONENT_LABELS = {
    "base": "base salary",
    "commission": "commission",
    "bonus": "bonus",
    "team_pool": "team pool",
    "spiff": "SPIFF",
    "clawback": "clawback",
    "advance": "draw advance",
    "recovery": "draw recovery",
}
COMPONENT_COLOURS = {
    "base": "#9ecae1",
    "commission": "#2171b5",
    "bonus": "#2ca02c",
    "team_pool": "#9467bd",
    "spiff": "#ff7f0e",
    "clawback": "#d62728",
    "advance": "#bcbd22",
    "recovery": "#8c564b",
}


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _rate(x: float, units: bool) -> str:
    if pd.isna(x):
        return "n/a"
    return f"{x:,.2f} per unit" if units else f"{x:.2%}"


def _curve_points(curve: PayoutCurve, plan: str, column: str, scale: float) -> pd.DataFrame:
    """The plotted points of one plan: the grid, plus each cliff's left limit and any point
    off the grid, in drawing order (a cliff is a vertical step)."""
    t = curve.table[curve.table["plan"] == plan]
    rows = pd.DataFrame(
        {
            "attainment": t["attainment"].to_numpy(),
            "order": 1,
            "y": t[column].to_numpy(),
            "rate": t["marginal_rate"].to_numpy(),
            "pay": t["variable"].to_numpy(),
            "total": t["total"].to_numpy(),
        }
    )
    base = float(t["base"].iloc[0]) if len(t) else 0.0
    pts = curve.points[curve.points["plan"] == plan]
    on_grid = np.isin(pts["attainment"].to_numpy(), rows["attainment"].to_numpy())
    parts = [rows]
    for side, keep, pay, rate in (
        (0, pts["kind"].to_numpy() == "cliff", "pay_before", "rate_before"),
        (1, ~on_grid, "pay_after", "rate_after"),
    ):
        p = pts[keep]
        parts.append(
            pd.DataFrame(
                {
                    "attainment": p["attainment"].to_numpy(),
                    "order": side,
                    "y": p[pay].to_numpy() / scale,
                    "rate": p[rate].to_numpy(),
                    "pay": p[pay].to_numpy(),
                    "total": p[pay].to_numpy() + base,
                }
            )
        )
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out.sort_values(["attainment", "order"], kind="stable", ignore_index=True)


def payout_curve_figure(curve: PayoutCurve, *, relative: bool = False) -> go.Figure:
    """Variable pay against attainment, one line per plan, cliffs and 100% marked.

    Parameters
    ----------
    curve
        Output of :func:`salesanalytics.plans.curve.payout_curve`.
    relative
        Plot variable pay as a share of the target incentive (every plan needs one)
        instead of an amount.

    Returns
    -------
    plotly.graph_objects.Figure
        Per plan a ``scatter`` line (the table's grid plus, at each cliff, the pay just
        before it, so the jump is drawn as a vertical step) and, when the plan has cliffs,
        a ``scatter`` of markers at the pay after each cliff. A dashed vertical line marks
        100% attainment.

    Examples
    --------
    >>> from salesanalytics.plans.curve import payout_curve
    >>> from salesanalytics.plans.spec import INF, Commission, Plan, Tier
    >>> plan = Plan("gated 5%", period="year",
    ...             commission=Commission((Tier(0, INF, 0.05),), gate=0.5))
    >>> fig = payout_curve_figure(payout_curve(plan, quota=1e5, target_incentive=5e3))
    >>> [t.mode for t in fig.data]
    ['lines', 'markers']
    """
    traces: list[go.Scatter] = []
    units_label = []
    for i, row in enumerate(curve.inputs.to_dict("records")):
        plan, colour = str(row["plan"]), PALETTE[i % len(PALETTE)]
        ti = float(row["target_incentive"]) * int(row["periods"])
        if relative and ti <= 0:
            raise ValueError(f"plan {plan!r} has no target incentive: use relative=False")
        scale = ti if relative else 1.0
        column = "variable_pct_ti" if relative else "variable"
        units = row["measure_kind"] == "units"
        units_label.append(f"{int(row['periods'])} {row['period']}")
        pts = _curve_points(curve, plan, column, scale)
        name = esc(plan)
        hover = [
            f"<b>{name}</b><br>attainment {a:.1%}<br>variable pay {_money(p)}"
            + (f" ({p / ti:.1%} of target incentive)" if ti > 0 else "")
            + f"<br>total pay {_money(tot)}<br>marginal rate {_rate(r, units)}"
            for a, p, tot, r in zip(
                pts["attainment"], pts["pay"], pts["total"], pts["rate"], strict=True
            )
        ]
        traces.append(
            go.Scatter(
                x=pts["attainment"],
                y=pts["y"],
                mode="lines",
                name=name,
                legendgroup=name,
                line={"color": colour, "width": 2},
                hovertext=hover,
                hoverinfo="text",
            )
        )
        cliffs = curve.points[(curve.points["plan"] == plan) & (curve.points["kind"] == "cliff")]
        if len(cliffs):
            traces.append(
                go.Scatter(
                    x=cliffs["attainment"],
                    y=cliffs["pay_after"] / scale,
                    mode="markers",
                    name=f"{name} cliffs",
                    legendgroup=name,
                    showlegend=False,
                    marker={"color": colour, "size": 9, "symbol": "diamond"},
                    hovertext=[
                        f"<b>{name}</b>: cliff at {a:.1%} ({esc(src)})<br>pay jumps "
                        f"{_money(j)}: {_money(b)} → {_money(p)}"
                        for a, src, j, b, p in zip(
                            cliffs["attainment"],
                            cliffs["source"],
                            cliffs["jump"],
                            cliffs["pay_before"],
                            cliffs["pay_after"],
                            strict=True,
                        )
                    ],
                    hoverinfo="text",
                )
            )
    fig = go.Figure(traces)
    over = " / ".join(dict.fromkeys(f"{u}(s)" for u in units_label))
    fig.update_layout(
        **layout(
            "Payout curves: variable pay by attainment",
            f"one rep over {esc(over)} · cliffs marked ◆ · team pools, SPIFFs, clawbacks and "
            "rate cards not included; a draw shows as a floor",
        )
    )
    fig.add_vline(x=1.0, line={"dash": "dash", "color": "#7f7f7f", "width": 1})
    fig.update_xaxes(title="attainment (share of quota)", tickformat=".0%")
    if relative:
        fig.update_yaxes(title="variable pay, share of target incentive", tickformat=".0%")
    else:
        fig.update_yaxes(title="variable pay", tickformat=",.0f")
    return fig


def payout_components_figure(backtest: Backtest, top: int = 30) -> go.Figure:
    """Each rep's payout over the backtest window by component, reps sorted by total.

    Parameters
    ----------
    backtest
        Output of :func:`salesanalytics.plans.backtest.evaluate`.
    top
        How many reps to show (the highest totals).

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal ``bar`` trace per component that is not zero for every shown rep
        (in statement order; clawbacks and recoveries are negative and stack to the
        left), then a ``scatter`` of markers at each rep's total. Values are those of
        :meth:`Backtest.by_rep`.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans.backtest import evaluate
    >>> from salesanalytics.plans.spec import INF, Commission, Eligibility, Plan, Tier
    >>> plan = Plan("flat 4%", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, INF, 0.04),)))
    >>> fig = payout_components_figure(evaluate(plan, sample.generate(300, seed=1)), top=5)
    >>> [t.type for t in fig.data]
    ['bar', 'bar', 'scatter']
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    reps = backtest.by_rep().sort_values("total", ascending=False, kind="stable").head(top)
    labels = [esc(r) for r in reps.index]
    currency = esc(backtest.plan.currency)
    totals = reps["total"].to_numpy(dtype=float)
    attainment = reps["attainment"].to_numpy(dtype=float)
    traces: list[go.Bar | go.Scatter] = []
    for name in COMPONENTS:
        values = reps[name].to_numpy(dtype=float)
        if not np.any(values != 0):
            continue
        label = COMPONENT_LABELS[name]
        traces.append(
            go.Bar(
                x=values,
                y=labels,
                orientation="h",
                name=label,
                marker={"color": COMPONENT_COLOURS[name]},
                hovertext=[
                    f"<b>{rep}</b><br>{label}: {_money(v)} {currency}<br>total {_money(t)}"
                    + (f" · attainment {a:.1%}" if np.isfinite(a) else "")
                    for rep, v, t, a in zip(labels, values, totals, attainment, strict=True)
                ],
                hoverinfo="text",
            )
        )
    traces.append(
        go.Scatter(
            x=totals,
            y=labels,
            mode="markers",
            name="total",
            marker={"color": "#000000", "symbol": "line-ns-open", "size": 14},
            hovertext=[
                f"<b>{rep}</b><br>total {_money(t)} {currency}"
                for rep, t in zip(labels, totals, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig = go.Figure(traces)
    fig.update_layout(
        **layout(
            f"Payout by component per rep — {esc(backtest.plan.name)}",
            f"{esc(backtest.caption)} · top {len(reps)} reps by total",
        )
    )
    fig.update_layout(barmode="relative", height=max(400, 24 * len(reps) + 180))
    fig.update_xaxes(title=f"payout {f'({currency})' if currency else ''}".strip())
    fig.update_yaxes(title="rep", autorange="reversed", type="category")
    return fig


def _cents_text(cents: int) -> str:
    """Integer cents as ``-1,234.05`` (no floating point on the way)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d}"


def statement_table_figure(statement: Statement) -> go.Figure:
    """A statement's lines as a table, the total as the last row.

    Amounts come from the statement's integer ``cents``, so the rows add up exactly to
    the total shown (and to :attr:`Statement.total`).

    Parameters
    ----------
    statement
        A statement, e.g. ``backtest.statements.statement(rep_id, period)``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``table`` trace: component, item, detail, quantity, rate and amount; one row
        per line and a last row with the total.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans.backtest import evaluate
    >>> from salesanalytics.plans.spec import INF, Commission, Eligibility, Plan, Tier
    >>> plan = Plan("flat 4%", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, INF, 0.04),)))
    >>> lines = evaluate(plan, sample.generate(300, seed=1)).statements.lines
    >>> fig = statement_table_figure(
    ...     Statement(lines["rep_id"].iloc[0], lines["period"].iloc[0],
    ...               lines[(lines["rep_id"] == lines["rep_id"].iloc[0])
    ...                     & (lines["period"] == lines["period"].iloc[0])]))
    >>> fig.data[0].type, fig.data[0].cells.values[0][-1]
    ('table', '<b>total</b>')
    """
    lines = statement.lines
    cents = lines["cents"].to_numpy(dtype=np.int64)
    total = int(cents.sum())
    columns = [
        [esc(COMPONENT_LABELS.get(str(c), c)) for c in lines["component"]],
        [esc(v) for v in lines["item"]],
        [esc(v) for v in lines["detail"]],
        ["" if pd.isna(q) else f"{q:,.2f}" for q in lines["quantity"]],
        ["" if pd.isna(r) else f"{100 * r:.4g}%" for r in lines["rate"]],
        [_cents_text(c) for c in cents],
    ]
    last = ["<b>total</b>", "", "", "", "", f"<b>{_cents_text(total)}</b>"]
    for column, value in zip(columns, last, strict=True):
        column.append(value)
    currency = esc(statement.currency)
    header = ["component", "item", "detail", "quantity", "rate", "amount"]
    if currency:
        header[-1] = f"amount ({currency})"
    fills = ["#ffffff"] * len(lines) + ["#f0f0f0"]
    fig = go.Figure(
        go.Table(
            columnwidth=[1.1, 1.3, 3.6, 1.1, 0.8, 1.1],
            header={
                "values": [f"<b>{h}</b>" for h in header],
                "align": "left",
                "fill_color": "#dbe9f6",
            },
            cells={
                "values": columns,
                "align": ["left", "left", "left", "right", "right", "right"],
                "fill_color": [fills] * len(columns),
                "height": 24,
            },
        )
    )
    fig.update_layout(
        **layout(
            f"Statement — {esc(statement.rep_id)}, {esc(statement.period)}",
            f"total {_cents_text(total)} {currency} · {len(lines)} lines · "
            "amounts rounded to cents; lines add up to the total exactly",
        )
    )
    fig.update_layout(height=max(300, 26 * (len(lines) + 2) + 140))
    return fig
