"""Fairness figures: Lorenz curves, pay vs performance with inversions, fairness bars, and the
five consultant analyses.

* :func:`lorenz_figure` — per plan the Lorenz curve of pay (one trial), Gini in the legend.
* :func:`pay_performance_figure` — pay against attainment per rep, the inverted pairs (a better
  performer paid less) drawn as segments, the largest ``max_pairs`` pay differences only.
* :func:`fairness_bars_figure` — per metric a group of bars, one per plan, each metric divided
  by its largest absolute interval end so metrics share one axis; error bars are the interval.
* :func:`five_analyses_figures` — one figure per analysis of a
  :class:`~salesanalytics.fairness.analyses.FiveAnalyses`, plans overlaid.

Pure: figures never show or write. Every data-derived string (plan names, rep ids) is
HTML-escaped and passed as names or ``hovertext``, never inside a ``hovertemplate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..fairness.analyses import FiveAnalyses
from ..fairness.metrics import gini
from ..fairness.report import FairnessResult
from ..fairness.trial import METRICS
from ._common import esc, rgba
from ._style import layout

__all__ = [
    "fairness_bars_figure",
    "five_analyses_figures",
    "inverted_pairs",
    "lorenz_curve",
    "lorenz_figure",
    "pay_performance_figure",
]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
INVERSION_COLOUR = "#d62728"


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _trial(points: pd.DataFrame, plan: str, trial: int) -> pd.DataFrame:
    p = points[(points["plan"] == plan) & (points["trial"] == trial)]
    return p[np.isfinite(p["pay"]) & np.isfinite(p["attainment"])]


def lorenz_curve(pay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of reps and of pay, from the lowest paid (both start at 0).

    Examples
    --------
    >>> [v.tolist() for v in lorenz_curve(np.array([3.0, 1.0]))]
    [[0.0, 0.5, 1.0], [0.0, 0.25, 1.0]]
    """
    x = np.sort(np.asarray(pay, dtype=float))
    total = x.sum()
    share = np.cumsum(x) / total if total > 0 else np.zeros(len(x))
    return np.r_[0.0, np.arange(1, len(x) + 1) / max(len(x), 1)], np.r_[0.0, share]


def lorenz_figure(result: FairnessResult, *, trial: int = 0) -> go.Figure:
    """Lorenz curves of pay, one per plan, with each plan's Gini in the legend.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.fairness.fairness`.
    trial
        Which trial of a simulation (a backtest has trial 0 only).

    Returns
    -------
    plotly.graph_objects.Figure
        The line of equality, then per plan a ``scatter`` whose ``x`` is the cumulative share
        of reps and ``y`` the cumulative share of pay (reps from lowest to highest pay).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.fairness import fairness
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> bt = evaluate(Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), 0.05),))),
    ...               sample.generate(600, seed=0))
    >>> fig = lorenz_figure(fairness(bt, n_boot=50))
    >>> fig.data[1].name.startswith("flat (Gini 0.")
    True
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="equality", line={"color": "#999", "dash": "dot"}
        )
    )
    for i, plan in enumerate(result.plans):
        pay = _trial(result.points, plan, trial)["pay"].to_numpy(dtype=float)
        x, y = lorenz_curve(pay)
        g = float(gini(pay)[0]) if len(pay) else float("nan")
        label = esc(plan)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=f"{label} (Gini {g:.3f})",
                line={"color": _colour(i), "width": 2},
                hovertext=[label] * len(x),
                hoverinfo="x+y+text",
            )
        )
    fig.update_layout(
        **layout("Lorenz curves of pay", f"pay: {esc(result.pay)}; reps from lowest paid"),
        xaxis={"title": "share of reps", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "share of pay", "tickformat": ".0%"},
    )
    return fig


def inverted_pairs(points: pd.DataFrame, max_pairs: int = 50) -> pd.DataFrame:
    """The inverted pairs of one trial (``hi`` performs better, ``lo`` is paid more), the
    ``max_pairs`` largest pay differences first: columns ``hi``/``lo`` (row positions),
    ``gap`` (pay of ``lo`` minus pay of ``hi``).

    Examples
    --------
    >>> pts = pd.DataFrame({"attainment": [0.5, 1.0, 1.5], "pay": [3.0, 1.0, 2.0]})
    >>> inverted_pairs(pts).values.tolist()
    [[1.0, 0.0, 2.0], [2.0, 0.0, 1.0]]
    """
    a = points["attainment"].to_numpy(dtype=float)
    p = points["pay"].to_numpy(dtype=float)
    i, j = np.nonzero((a[:, None] > a[None, :]) & (p[:, None] < p[None, :]))
    gap = p[j] - p[i]
    order = np.argsort(-gap, kind="stable")[: max(int(max_pairs), 0)]
    return pd.DataFrame({"hi": i[order], "lo": j[order], "gap": gap[order]})


def pay_performance_figure(
    result: FairnessResult, plan: str | None = None, *, trial: int = 0, max_pairs: int = 50
) -> go.Figure:
    """Pay against attainment per rep, inverted pairs marked as segments.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.fairness.fairness`.
    plan
        Plan to draw (default: the first).
    trial
        Which trial of a simulation.
    max_pairs
        Draw at most this many inverted pairs, the largest pay differences first.

    Returns
    -------
    plotly.graph_objects.Figure
        A ``scatter`` of reps (``x`` attainment, ``y`` pay, in the order of
        ``result.points``) and a ``scatter`` of line segments, one per inverted pair
        (``None`` between segments).

    Examples
    --------
    >>> import pandas as pd
    >>> from salesanalytics.fairness.report import FairnessResult
    >>> pts = pd.DataFrame({"plan": "p", "trial": 0, "rep_id": ["a", "b", "c"],
    ...                     "attainment": [0.5, 1.0, 1.5], "pay": [3.0, 1.0, 2.0]})
    >>> fr = FairnessResult(pd.DataFrame({"plan": ["p"]}), pd.DataFrame(), pd.DataFrame(),
    ...                     pts, "backtest", "target", 0.9)
    >>> fig = pay_performance_figure(fr)
    >>> len(fig.data[1].x)  # two inverted pairs: 2 points + a gap each
    6
    """
    name = result.plans[0] if plan is None else plan
    if name not in result.plans:
        raise ValueError(f"no plan {plan!r}; plans: {result.plans}")
    pts = _trial(result.points, name, trial).reset_index(drop=True)
    pairs = inverted_pairs(pts, max_pairs)
    a, p = pts["attainment"].to_numpy(dtype=float), pts["pay"].to_numpy(dtype=float)
    ids = [esc(r) for r in pts["rep_id"]]
    xs: list[float | None] = []
    ys: list[float | None] = []
    text: list[str | None] = []
    for hi, lo, gap in pairs.itertuples(index=False):
        xs += [a[hi], a[lo], None]
        ys += [p[hi], p[lo], None]
        t = f"{ids[hi]} performs better but is paid {gap:.3g} less than {ids[lo]}"
        text += [t, t, None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=a,
            y=p,
            mode="markers",
            name="reps",
            marker={"color": _colour(0), "size": 8},
            hovertext=ids,
            hoverinfo="x+y+text",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=f"inverted pairs (largest {len(pairs)})",
            line={"color": rgba(INVERSION_COLOUR, 0.5), "width": 1},
            hovertext=text,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        **layout(f"Pay vs performance: {esc(name)}", f"pay: {esc(result.pay)}; red: inversions"),
        xaxis={"title": "attainment", "tickformat": ".0%"},
        yaxis={"title": "pay"},
    )
    return fig


def fairness_bars_figure(result: FairnessResult, metrics: list[str] | None = None) -> go.Figure:
    """Each metric per plan as a bar with its interval, divided by the metric's largest
    absolute interval end over plans (so all metrics share one 0–1 axis).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``bar`` trace per plan; ``x`` the metrics, ``y`` the normalised estimates,
        ``error_y`` the normalised interval, ``customdata`` the raw estimate, low and high.

    Examples
    --------
    >>> import pandas as pd
    >>> from salesanalytics.fairness.report import FairnessResult
    >>> t = pd.DataFrame({"plan": ["a", "b"], "metric": "gini", "estimate": [0.2, 0.4],
    ...                   "low": [0.1, 0.3], "high": [0.3, 0.5]})
    >>> fig = fairness_bars_figure(FairnessResult(t, pd.DataFrame(), pd.DataFrame(),
    ...                            pd.DataFrame(), "backtest", "target", 0.9))
    >>> [[float(v) for v in tr.y] for tr in fig.data]
    [[0.4], [0.8]]
    """
    t = result.table
    names = [k for k in METRICS if k in set(t["metric"])] if metrics is None else metrics
    t = t[t["metric"].isin(names)]
    ends = t[["estimate", "low", "high"]].abs().groupby(t["metric"]).max().max(axis=1)
    scale = ends.where(ends > 0, 1.0)
    fig = go.Figure()
    for i, plan in enumerate(result.plans):
        rows = t[t["plan"] == plan].set_index("metric").reindex(names)
        s = scale.reindex(names).to_numpy(dtype=float)
        est, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("estimate", "low", "high"))
        label = esc(plan)
        fig.add_trace(
            go.Bar(
                x=names,
                y=est / s,
                name=label,
                marker={"color": _colour(i)},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": np.maximum(hi - est, 0) / s,
                    "arrayminus": np.maximum(est - lo, 0) / s,
                },
                customdata=np.c_[est, lo, hi],
                hovertext=[
                    f"{label}<br>{k}: {e:.4g} [{a:.4g}, {b:.4g}]"
                    for k, e, a, b in zip(names, est, lo, hi, strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        **layout(
            "Fairness metrics per plan",
            f"each metric ÷ its largest |value| over plans; {round(100 * result.confidence)}% "
            "intervals",
        ),
        barmode="group",
        yaxis={"title": "relative value"},
    )
    return fig


def _hist(table: pd.DataFrame, title: str, xtitle: str, percent: bool) -> go.Figure:
    fig = go.Figure()
    for i, (plan, g) in enumerate(table.groupby("plan", sort=False)):
        lo, hi = g["low"].to_numpy(dtype=float), g["high"].to_numpy(dtype=float)
        f = 100 if percent else 1
        labels = [
            f"{a * f:.3g}+" if np.isinf(b) else f"{a * f:.3g}–{b * f:.3g}"
            for a, b in zip(lo, hi, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=g["share"].to_numpy(dtype=float),
                name=esc(plan),
                marker={"color": _colour(i)},
                customdata=g["reps"].to_numpy(dtype=float),
                hovertext=[esc(plan)] * len(g),
                hoverinfo="x+y+text",
            )
        )
    fig.update_layout(
        **layout(title), barmode="group", xaxis={"title": xtitle}, yaxis={"tickformat": ".0%"}
    )
    return fig


def five_analyses_figures(five: FiveAnalyses) -> dict[str, go.Figure]:
    """One figure per analysis, plans overlaid: ``earnings``, ``performance``,
    ``pay_vs_performance``, ``leverage`` and ``expense``.

    Each figure's values are the columns of the matching table of ``five``: the histograms
    plot ``share`` per bin, pay vs performance the reps' points and each band's
    ``mean_pay``, leverage ``pay_to_median`` per decile, expense ``cost_of_sales`` per plan.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.fairness import five_analyses
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> bt = evaluate(Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), 0.05),))),
    ...               sample.generate(600, seed=0))
    >>> sorted(five_analyses_figures(five_analyses(bt)))
    ['earnings', 'expense', 'leverage', 'pay_vs_performance', 'performance']
    """
    unit = "× target incentive" if five.pay == "target" else five.pay
    out = {
        "earnings": _hist(five.earnings, "Earnings distribution", f"pay ({unit})", False),
        "performance": _hist(five.performance, "Performance distribution", "attainment %", True),
    }
    pvp = go.Figure()
    lev = go.Figure()
    for i, plan in enumerate(five.plans):
        label, colour = esc(plan), _colour(i)
        pts = five.points[five.points["plan"] == plan]
        pvp.add_trace(
            go.Scatter(
                x=pts["attainment"],
                y=pts["pay"],
                mode="markers",
                name=label,
                legendgroup=label,
                marker={"color": rgba(colour, 0.5), "size": 6},
                hovertext=[esc(r) for r in pts["rep_id"]],
                hoverinfo="x+y+text",
            )
        )
        band = five.pay_vs_performance[five.pay_vs_performance["plan"] == plan]
        pvp.add_trace(
            go.Scatter(
                x=band["mean_attainment"],
                y=band["mean_pay"],
                mode="lines+markers",
                name=f"{label} band mean",
                legendgroup=label,
                line={"color": colour, "width": 2},
                hovertext=[f"{label} {esc(b)}" for b in band["band"]],
                hoverinfo="x+y+text",
            )
        )
        d = five.leverage[five.leverage["plan"] == plan]
        lev.add_trace(
            go.Scatter(
                x=d["decile"],
                y=d["pay_to_median"],
                mode="lines+markers",
                name=label,
                line={"color": colour},
                hovertext=[label] * len(d),
                hoverinfo="x+y+text",
            )
        )
    pvp.update_layout(
        **layout("Pay vs performance"),
        xaxis={"title": "attainment", "tickformat": ".0%"},
        yaxis={"title": f"pay ({unit})"},
    )
    lev.update_layout(
        **layout("Earnings leverage", "mean pay per attainment decile ÷ median pay"),
        xaxis={"title": "attainment decile", "dtick": 1},
        yaxis={"title": "pay ÷ median pay"},
    )
    e = five.expense
    expense = go.Figure(
        go.Bar(
            x=[esc(p) for p in e["plan"]],
            y=e["cost_of_sales"].to_numpy(dtype=float),
            marker={"color": [_colour(i) for i in range(len(e))]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (e["cost_of_sales_p95"] - e["cost_of_sales"]).to_numpy(dtype=float),
                "arrayminus": (e["cost_of_sales"] - e["cost_of_sales_p5"]).to_numpy(dtype=float),
            },
            name="cost of sales",
            hovertext=[esc(p) for p in e["plan"]],
            hoverinfo="x+y+text",
        )
    )
    expense.update_layout(
        **layout("Compensation expense", "total pay ÷ credited revenue"),
        yaxis={"title": "cost of sales", "tickformat": ".1%"},
    )
    out.update(pay_vs_performance=pvp, leverage=lev, expense=expense)
    return out
