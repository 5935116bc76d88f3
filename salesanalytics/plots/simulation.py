"""Simulation figures: cost distributions, payout clouds, per-rep pay ranges, a comparison table.

* :func:`cost_distribution_figure` — overlaid histograms of total pay per trial, one per plan
  on shared bins, with each plan's P50 and P90 and the budget as vertical lines.
* :func:`payout_cloud_figure` — each rep's annual pay against annual attainment in the first
  trials (``result.cloud``), plans overlaid, 100% attainment marked.
* :func:`rep_pay_range_figure` — per rep the P10–P90 range of annual variable pay as a bar,
  the median as a marker and the target incentive as a second marker.
* :func:`comparison_table_figure` — one row per plan: expected cost with its interval, cost of
  sales, P90, probability over budget, pay at 100% against target, the Jensen gap, and the
  paired difference against the baseline with its interval; ready for a slide.

Every figure takes a :class:`~salesanalytics.simulation.result.SimulationResult`. Every
data-derived string (plan names, rep ids, currency) is HTML-escaped and passed as
``hovertext``, names or cell text, never inside a ``hovertemplate``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..simulation.result import SimulationResult
from ._common import esc, rgba
from ._style import layout

__all__ = [
    "comparison_table_figure",
    "cost_distribution_figure",
    "payout_cloud_figure",
    "rep_pay_range_figure",
]

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939", "#ad494a",
)  # fmt: skip
BUDGET_COLOUR = "#d62728"
GL_POINTS = 20_000
"""Above this many points per plan the cloud uses WebGL (``scattergl``)."""


def _money(x: float | None) -> str:
    """An amount as text: ``12,345``; ``n/a`` when missing."""
    return "n/a" if x is None or not math.isfinite(x) else f"{x:,.0f}"


def _share(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``12.3%``; ``n/a`` when missing."""
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}%"


def _currency(result: SimulationResult) -> str:
    return esc(next((p.currency for p in result.plans if p.currency), ""))


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _edges(values: np.ndarray, bins: int | None) -> np.ndarray:
    """Shared bin edges for all plans (at least one bin of positive width)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if not hi > lo:
        lo, hi = lo - max(abs(lo), 1.0) * 0.01, hi + max(abs(hi), 1.0) * 0.01
    n = bins if bins is not None else int(np.clip(np.sqrt(len(values)), 10, 60))
    return np.linspace(lo, hi, n + 1)


def cost_distribution_figure(
    result: SimulationResult, budget: float | None = None, *, bins: int | None = None
) -> go.Figure:
    """Distribution of total pay per trial for each plan, with P50, P90 and the budget.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.simulation.simulate`.
    budget
        Budget for total pay drawn as a vertical line; default ``result.budget``.
    bins
        Number of shared bins; default √trials between 10 and 60.

    Returns
    -------
    plotly.graph_objects.Figure
        Per plan a ``histogram`` of the per-trial totals (``x`` is the plan's ``total``
        column of ``result.per_trial``, in trial order; bars show the share of trials) and a
        ``scatter`` line trace with two vertical segments at its P50 and P90 (the
        ``total_p50``/``total_p90`` of :meth:`SimulationResult.cost_summary`). The budget is a
        layout shape; the subtitle gives each plan's probability of exceeding it.

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> import numpy as np, pandas as pd
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"]}),
    ...                  pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.full(2, 6e4), np.full(2, 6e3))
    >>> flat = Plan("flat 5%", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> result = simulate(flat, AttainmentScenario(pop, Normal(1.0, 0.2)), trials=64, seed=0)
    >>> fig = cost_distribution_figure(result, budget=133_000)
    >>> [t.type for t in fig.data], len(fig.layout.shapes)
    (['histogram', 'scatter'], 1)
    """
    budget = result.budget if budget is None else budget
    wide = result.totals("total")
    summary: dict[Any, dict[Any, Any]] = result.cost_summary().to_dict("index")
    edges = _edges(wide.to_numpy(dtype=float).ravel(), bins)
    size = float(edges[1] - edges[0])
    currency = _currency(result)
    traces: list[go.Histogram | go.Scatter] = []
    over = []
    for i, name in enumerate(result.names):
        values = wide[name].to_numpy(dtype=float)
        label, colour = esc(name), _colour(i)
        height = np.histogram(values, edges)[0].max() / len(values) * 1.08
        p50, p90 = float(summary[name]["total_p50"]), float(summary[name]["total_p90"])
        traces.append(
            go.Histogram(
                x=values,
                name=label,
                legendgroup=label,
                histnorm="probability",
                xbins={"start": float(edges[0]), "end": float(edges[-1]), "size": size},
                marker={"color": rgba(colour, 0.45), "line": {"color": colour, "width": 1}},
                hovertext=label,
                hoverinfo="x+y+text",
            )
        )
        traces.append(
            go.Scatter(
                x=[p50, p50, None, p90, p90],
                y=[0.0, height, None, 0.0, height],
                mode="lines",
                name=f"{label} P50 / P90",
                legendgroup=label,
                showlegend=False,
                line={"color": colour, "width": 2, "dash": "dot"},
                hovertext=[
                    f"<b>{label}</b><br>P50 {_money(p50)} {currency}",
                    f"<b>{label}</b><br>P50 {_money(p50)} {currency}",
                    None,
                    f"<b>{label}</b><br>P90 {_money(p90)} {currency}",
                    f"<b>{label}</b><br>P90 {_money(p90)} {currency}",
                ],
                hoverinfo="text",
            )
        )
        if budget is not None:
            values_over = float((values > budget).mean())
            over.append(f"{label} {_share(values_over)}")
    fig = go.Figure(traces)
    subtitle = f"{esc(result.caption)} · dotted: P50 and P90 of each plan"
    if budget is not None:
        subtitle += f"<br>P(total > budget {_money(budget)}): " + ", ".join(over)
        fig.add_vline(
            x=budget,
            line={"color": BUDGET_COLOUR, "width": 2, "dash": "dash"},
            annotation_text="budget",
            annotation_font_color=BUDGET_COLOUR,
        )
    fig.update_layout(**layout("Total pay per trial: distribution by plan", subtitle))
    fig.update_layout(barmode="overlay", margin={"t": 110})
    fig.update_xaxes(title=f"total pay per year {f'({currency})' if currency else ''}".strip())
    fig.update_yaxes(title="share of trials", tickformat=".0%")
    return fig


def payout_cloud_figure(
    result: SimulationResult, *, pay: Literal["variable", "pay"] = "variable"
) -> go.Figure:
    """Each rep's annual pay against annual attainment in the first trials, plans overlaid.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.simulation.simulate`; its ``cloud`` table holds the
        first :data:`~salesanalytics.simulation.engine.CLOUD_TRIALS` trials.
    pay
        ``"variable"`` (variable pay, the plan's part) or ``"pay"`` (total pay with base).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``scatter`` of markers per plan (``scattergl`` above 20,000 points): ``x`` the
        ``attainment`` and ``y`` the ``pay`` or ``variable`` column of ``result.cloud`` for
        that plan, in the table's order. A dashed vertical line marks 100% attainment.

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> import numpy as np, pandas as pd
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"]}),
    ...                  pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.full(2, 6e4), np.full(2, 6e3))
    >>> flat = Plan("flat 5%", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> result = simulate(flat, AttainmentScenario(pop, Normal(1.0, 0.2)), trials=32, seed=0)
    >>> fig = payout_cloud_figure(result)
    >>> fig.data[0].type, len(fig.data[0].x)
    ('scatter', 40)
    """
    if pay not in ("variable", "pay"):
        raise ValueError(f"pay must be 'variable' or 'pay', got {pay!r}")
    cloud = result.cloud
    currency = _currency(result)
    what = "variable pay" if pay == "variable" else "total pay"
    traces: list[go.Scatter | go.Scattergl] = []
    for i, name in enumerate(result.names):
        t = cloud[cloud["plan"] == name]
        label = esc(name)
        kind = go.Scattergl if len(t) > GL_POINTS else go.Scatter
        x = t["attainment"].to_numpy(dtype=float)
        y = t[pay].to_numpy(dtype=float)
        traces.append(
            kind(
                x=x,
                y=y,
                mode="markers",
                name=label,
                marker={"color": _colour(i), "size": 5, "opacity": 0.5},
                hovertext=[
                    f"<b>{label}</b><br>rep {esc(r)}, trial {int(k)}<br>attainment {a:.1%}"
                    f"<br>{what} {_money(v)} {currency}"
                    for r, k, a, v in zip(t["rep_id"], t["trial"], x, y, strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig = go.Figure(traces)
    trials = int(cloud["trial"].nunique()) if len(cloud) else 0
    fig.update_layout(
        **layout(
            f"Annual {what} against attainment",
            f"{esc(result.caption)} · each point a rep in one of the first {trials} trials",
        )
    )
    fig.add_vline(x=1.0, line={"dash": "dash", "color": "#7f7f7f", "width": 1})
    fig.update_xaxes(title="annual attainment (share of quota)", tickformat=".0%")
    fig.update_yaxes(
        title=f"annual {what} {f'({currency})' if currency else ''}".strip(), tickformat=",.0f"
    )
    return fig


def rep_pay_range_figure(
    result: SimulationResult, plan: str | None = None, top: int = 40
) -> go.Figure:
    """Per rep the P10–P90 range of annual variable pay, the median and the target incentive.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.simulation.simulate`.
    plan
        Plan to show; default the baseline (the first plan).
    top
        How many reps to show: the highest median variable pay.

    Returns
    -------
    plotly.graph_objects.Figure
        A horizontal ``bar`` from ``variable_p10`` (the bar's ``base``) to ``variable_p90``
        per rep, then a ``scatter`` of the medians (``variable_p50``) and a ``scatter`` of
        the target incentives, values from ``result.per_rep``; reps from the highest
        median down.

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> import numpy as np, pandas as pd
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"]}),
    ...                  pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.full(2, 6e4), np.full(2, 6e3))
    >>> flat = Plan("flat 5%", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> result = simulate(flat, AttainmentScenario(pop, Normal(1.0, 0.2)), trials=32, seed=0)
    >>> [t.type for t in rep_pay_range_figure(result).data]
    ['bar', 'scatter', 'scatter']
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    name = result.names[0] if plan is None else plan
    if name not in result.names:
        raise ValueError(f"no plan {name!r}; plans: {result.names}")
    reps = result.per_rep[result.per_rep["plan"] == name]
    reps = reps.sort_values("variable_p50", ascending=False, kind="stable").head(top)
    labels = [esc(r) for r in reps["rep_id"]]
    p10, p50, p90, ti = (
        reps[c].to_numpy(dtype=float)
        for c in ("variable_p10", "variable_p50", "variable_p90", "target_incentive")
    )
    currency = _currency(result)
    colour = _colour(result.names.index(name))
    hover = [
        f"<b>{rep}</b><br>variable pay P10 {_money(a)} · median {_money(b)} · P90 {_money(c)} "
        f"{currency}<br>target incentive {_money(d)}"
        for rep, a, b, c, d in zip(labels, p10, p50, p90, ti, strict=True)
    ]
    traces = [
        go.Bar(
            x=p90 - p10,
            y=labels,
            base=p10,
            orientation="h",
            name="P10–P90",
            marker={"color": rgba(colour, 0.35), "line": {"color": colour, "width": 1}},
            hovertext=hover,
            hoverinfo="text",
        ),
        go.Scatter(
            x=p50,
            y=labels,
            mode="markers",
            name="median",
            marker={"color": colour, "symbol": "line-ns-open", "size": 14, "line": {"width": 2}},
            hovertext=hover,
            hoverinfo="text",
        ),
        go.Scatter(
            x=ti,
            y=labels,
            mode="markers",
            name="target incentive",
            marker={"color": "#000000", "symbol": "diamond-open", "size": 8},
            hovertext=hover,
            hoverinfo="text",
        ),
    ]
    fig = go.Figure(traces)
    fig.update_layout(
        **layout(
            f"Annual variable pay per rep — {esc(name)}",
            f"{esc(result.caption)} · bar P10–P90, | median, ◇ target incentive · "
            f"top {len(reps)} reps by median",
        )
    )
    fig.update_layout(height=max(400, 22 * len(reps) + 180))
    fig.update_xaxes(
        title=f"annual variable pay {f'({currency})' if currency else ''}".strip(),
        tickformat=",.0f",
    )
    fig.update_yaxes(title="rep", autorange="reversed", type="category")
    return fig


def _comparison_rows(result: SimulationResult, confidence: float) -> pd.DataFrame:
    """The text of the comparison table's cells, one row per plan (escaped)."""
    stats: dict[Any, dict[Any, Any]] = result.cost_summary(confidence).to_dict("index")
    compare = result.compare(confidence) if len(result.names) > 1 else None
    diffs: dict[Any, dict[Any, Any]] = {}
    if compare is not None:
        total = compare.reset_index()
        diffs = total[total["measure"] == "total"].set_index("plan").to_dict("index")
    rows = []
    for name in result.names:
        s = stats[name]
        if compare is None or name == result.names[0]:
            diff = "baseline"
        else:
            d = diffs[name]
            diff = (
                f"{'+' if d['mean_difference'] >= 0 else ''}{_money(d['mean_difference'])} "
                f"({_money(d['low'])} to {_money(d['high'])}); "
                f"costs more in {_share(d['p_more'], 0)} of trials"
            )
        rows.append(
            {
                "plan": f"<b>{esc(name)}</b>",
                "expected cost": f"{_money(s['expected_total'])} "
                f"({_money(s['expected_total_low'])} – {_money(s['expected_total_high'])})",
                "cost of sales": _share(s["cost_of_sales"], 2),
                "P90": _money(s["total_p90"]),
                "P(over budget)": _share(s["p_over_budget"]) if "p_over_budget" in s else "n/a",
                "pay at 100% vs target": _share(s["pay_at_100_vs_target"]),
                "Jensen gap": f"{_money(s['jensen_gap'])} ({_share(s['jensen_gap_share'])})",
                "vs baseline": diff,
            }
        )
    return pd.DataFrame(rows)


def comparison_table_figure(result: SimulationResult, confidence: float = 0.95) -> go.Figure:
    """The plans side by side as a table ready for a slide.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.simulation.simulate` (the first plan is the
        baseline).
    confidence
        Level of the intervals of the expected cost and of the paired difference.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``table`` trace, one row per plan: expected total cost with its interval, cost of
        sales, P90 of total cost, probability of exceeding the budget (``n/a`` without one),
        variable pay at 100% attainment as a share of the target incentive, the Jensen gap
        (expected cost minus the cost at average attainment) and the paired difference in
        total cost against the baseline with its interval (:meth:`SimulationResult.compare`).

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> import numpy as np, pandas as pd
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"]}),
    ...                  pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.full(2, 6e4), np.full(2, 6e3))
    >>> flat = Plan("flat 5%", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> result = simulate(flat, AttainmentScenario(pop, Normal(1.0, 0.2)), trials=32, seed=0)
    >>> fig = comparison_table_figure(result)
    >>> fig.data[0].type, len(fig.data[0].cells.values)
    ('table', 8)
    """
    rows = _comparison_rows(result, confidence)
    currency = _currency(result)
    header = list(rows.columns)
    header[1] = f"expected cost{f' ({currency})' if currency else ''}, {confidence:.0%} interval"
    header[-1] = f"difference vs baseline, {confidence:.0%} interval"
    fills = ["#f7f7f7" if i % 2 else "#ffffff" for i in range(len(rows))]
    fig = go.Figure(
        go.Table(
            columnwidth=[1.4, 2.4, 0.9, 1.1, 0.9, 1.0, 1.5, 2.8],
            header={
                "values": [f"<b>{h}</b>" for h in header],
                "align": "left",
                "fill_color": "#dbe9f6",
                "height": 30,
            },
            cells={
                "values": [rows[c].tolist() for c in rows.columns],
                "align": ["left", "right", "right", "right", "right", "right", "right", "left"],
                "fill_color": [fills] * len(rows.columns),
                "height": 28,
            },
        )
    )
    budget = f" · budget {_money(result.budget)}" if result.budget is not None else ""
    fig.update_layout(
        **layout(
            "Plan comparison: cost and risk",
            f"{esc(result.caption)}{budget} · differences paired on the same trials",
        )
    )
    fig.update_layout(height=max(300, 30 * (len(rows) + 1) + 160), width=1200)
    return fig
