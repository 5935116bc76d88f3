"""Flow figures from stage transitions: a Sankey of flows and Markov win probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..transitions import TransitionResult
from ._common import KIND_COLOURS, esc, pick_segment, rgba
from ._style import OUTCOME_COLOURS, STAGE_PALETTE, layout, stage_colours

__all__ = ["result_stage_colours", "transition_sankey", "win_probability_figure"]


def result_stage_colours(stages: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Stage colours for a full stage list ending in the won and lost stages."""
    if len(stages) >= 2:
        return stage_colours(list(stages[:-2]), won=stages[-2], lost=stages[-1])
    return stage_colours(list(stages))


def _rows(result: TransitionResult, frame: pd.DataFrame, segment: str | None) -> pd.DataFrame:
    chosen = pick_segment(frame["segment"], segment)
    return frame[frame["segment"].astype(str) == chosen]


def transition_sankey(result: TransitionResult, segment: str | None = None) -> go.Figure:
    """Sankey of stage-to-stage flows: forward moves, skips, regressions, wins, losses, reopens.

    Nodes are stages (coloured as in every figure); links are coloured by the kind of
    transition and their width is the number of transitions. The hover gives the counts
    of transitions and deals and the share of the source stage's exits.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.transitions.transition_matrix`.
    segment
        The segment to draw; needed only when the result has several.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``sankey`` trace.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.transitions import transition_matrix
    >>> fig = transition_sankey(transition_matrix(sample.generate(300, seed=1)))
    >>> fig.data[0].type
    'sankey'
    """
    t = _rows(result, result.table, segment)
    stages = [str(s) for s in result.stages]
    seen = dict.fromkeys([*map(str, t["from_stage"]), *map(str, t["to_stage"])])
    nodes = stages + [s for s in seen if s not in stages]
    index = {s: i for i, s in enumerate(nodes)}
    colours = result_stage_colours(result.stages)
    kinds = [str(k) for k in t["kind"]]
    hover = [
        f"{esc(a)} → {esc(b)} ({esc(k)})<br>transitions: {int(n):,} · deals: {int(d):,}"
        f"<br>share of exits from {esc(a)}: {p:.1%}"
        for a, b, k, n, d, p in zip(
            t["from_stage"],
            t["to_stage"],
            kinds,
            t["transitions"],
            t["deals"],
            t["probability"],
            strict=True,
        )
    ]
    seg = str(t["segment"].iloc[0]) if len(t) else "all"
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [esc(s) for s in nodes],
                "color": [colours.get(s, OUTCOME_COLOURS["open"]) for s in nodes],
                "pad": 18,
                "hovertemplate": "%{label}<br>%{value:,} transitions<extra></extra>",
            },
            link={
                "source": [index[str(s)] for s in t["from_stage"]],
                "target": [index[str(s)] for s in t["to_stage"]],
                "value": t["transitions"].to_numpy(dtype=float),
                "color": [rgba(KIND_COLOURS.get(k, STAGE_PALETTE[0]), 0.55) for k in kinds],
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
            },
        )
    )
    legend = " · ".join(
        f"<span style='color:{c}'>■</span> {k}" for k, c in KIND_COLOURS.items() if k in set(kinds)
    )
    fig.update_layout(
        **layout(
            f"Stage flows — {esc(seg)}",
            f"{result.view} view · {esc(result.counting)} · {result.n_deals:,} deals<br>{legend}",
        )
    )
    fig.update_layout(margin={"t": 110})
    return fig


def win_probability_figure(result: TransitionResult, segment: str | None = None) -> go.Figure:
    """Probability of eventually winning from each open stage: Markov, observed and CRM.

    Three series per stage: the Markov estimate with its bootstrap interval, the observed
    share of closed deals that won after being in the stage (Wilson interval), and the
    CRM's stage probability (no interval).

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.transitions.transition_matrix`.
    segment
        The segment to draw; needed only when the result has several.

    Returns
    -------
    plotly.graph_objects.Figure
        Three ``scatter`` traces (Markov, observed, CRM), x = stage, y = probability.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.transitions import transition_matrix
    >>> fig = win_probability_figure(transition_matrix(sample.generate(300, seed=1)))
    >>> [trace.name for trace in fig.data]
    ['Markov estimate', 'observed (closed deals)', 'CRM probability']
    """
    w = _rows(result, result.win_probability, segment)
    stages = [esc(s) for s in w["stage"]]
    p = w["p_win"].to_numpy(dtype=float)
    e = w["empirical_win"].to_numpy(dtype=float)
    crm = w["crm_probability"].to_numpy(dtype=float)

    def err(mid: np.ndarray, lo: str, hi: str) -> dict[str, object]:
        return {
            "type": "data",
            "symmetric": False,
            "array": w[hi].to_numpy(dtype=float) - mid,
            "arrayminus": mid - w[lo].to_numpy(dtype=float),
            "thickness": 1.5,
        }

    markov_hover = [
        f"<b>{s}</b><br>Markov P(win): {v:.1%} [{lo:.1%}, {hi:.1%}]<br>P(lost): {pl:.1%}"
        for s, v, lo, hi, pl in zip(
            stages, p, w["p_win_low"], w["p_win_high"], w["p_lost"], strict=True
        )
    ]
    emp_hover = [
        f"<b>{s}</b><br>observed win share: {v:.1%} [{lo:.1%}, {hi:.1%}]"
        f"<br>closed: {int(c):,} · still open: {int(o):,}"
        for s, v, lo, hi, c, o in zip(
            stages,
            e,
            w["empirical_low"],
            w["empirical_high"],
            w["closed"],
            w["still_open"],
            strict=True,
        )
    ]
    crm_hover = [
        f"<b>{s}</b><br>CRM probability: {v:.0%}<br>source: {esc(src)}"
        for s, v, src in zip(stages, crm, w["crm_source"], strict=True)
    ]
    fig = go.Figure(
        [
            go.Scatter(
                x=stages,
                y=p,
                mode="markers+lines",
                name="Markov estimate",
                marker={"size": 10, "color": OUTCOME_COLOURS["won"]},
                error_y=err(p, "p_win_low", "p_win_high"),
                hovertext=markov_hover,
                hoverinfo="text",
            ),
            go.Scatter(
                x=stages,
                y=e,
                mode="markers",
                name="observed (closed deals)",
                marker={"size": 9, "symbol": "circle-open", "color": "#1f77b4"},
                error_y=err(e, "empirical_low", "empirical_high"),
                hovertext=emp_hover,
                hoverinfo="text",
            ),
            go.Scatter(
                x=stages,
                y=crm,
                mode="markers",
                name="CRM probability",
                marker={"size": 11, "symbol": "x", "color": OUTCOME_COLOURS["open"]},
                hovertext=crm_hover,
                hoverinfo="text",
            ),
        ]
    )
    seg = str(w["segment"].iloc[0]) if len(w) else "all"
    fig.update_layout(
        **layout(
            f"Probability of winning from each stage — {esc(seg)}",
            f"{result.view} view · Markov estimate ({result.confidence:.0%} bootstrap "
            "interval) vs observed share vs the CRM's stage probability",
        )
    )
    fig.update_xaxes(title="stage")
    fig.update_yaxes(title="probability of winning", range=[0, 1], tickformat=".0%")
    return fig
