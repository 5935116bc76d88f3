"""Cohort figures: share of each creation cohort that won, with the still-open share shaded."""

from __future__ import annotations

import plotly.graph_objects as go

from ..cohorts import CohortResult
from ._common import esc, rgba
from ._style import OUTCOME_COLOURS, layout

__all__ = ["cohort_figure"]


def cohort_figure(
    result: CohortResult, stage: str | None = None, segment: str | tuple[str, ...] | None = None
) -> go.Figure:
    """Share of each cohort that reached a stage (won by default), with the open share shaded.

    Young cohorts have many deals still open: their won share is not final. The grey
    bar stacked on top is the cohort's share still open, the most the won share could
    still grow by. Cohorts with fewer than ``result.min_n`` deals are drawn faded.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.cohorts.cohort_conversion`.
    stage
        The stage whose reach to draw; by default the last one (won).
    segment
        The segment (a value, or a tuple for several ``by`` columns), needed when the
        result was split with ``by=``.

    Returns
    -------
    plotly.graph_objects.Figure
        Two stacked ``bar`` traces: the reached share (with its interval) and the open share.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.cohorts import cohort_conversion
    >>> fig = cohort_figure(cohort_conversion(sample.generate(300, seed=1), period="quarter"))
    >>> [trace.type for trace in fig.data]
    ['bar', 'bar']
    """
    t = result.table.reset_index()
    by = list(result.by)
    key: tuple[str, ...] = ()
    if by:
        key = (segment,) if isinstance(segment, str) else tuple(segment or ())
        rows = [tuple(str(v) for v in r) for r in t[by].itertuples(index=False)]
        if key not in rows:
            raise ValueError(f"the result is split by {by}: pass segment= one of {set(rows)}")
        t = t[[r == key for r in rows]]
    stages = list(dict.fromkeys(str(s) for s in t["stage"]))
    chosen = stages[-1] if stage is None else stage
    if chosen not in stages:
        raise ValueError(f"no stage {chosen!r}; choose one of {stages}")
    s = t[t["stage"].astype(str) == chosen]
    cohorts = [esc(c) for c in s["cohort"]]
    conv = s["conversion"].to_numpy(dtype=float)
    open_share = s["open_share"].to_numpy(dtype=float)
    small = s["small_n"].to_numpy(dtype=bool)
    colour = OUTCOME_COLOURS["won"] if chosen == stages[-1] else "#2171b5"
    hover = [
        f"<b>cohort {c}</b> · age {age:.0f} days<br>{esc(chosen)}: {int(r):,} of {int(n):,} "
        f"= {v:.1%} [{lo:.1%}, {hi:.1%}]<br>still open: {int(o):,} ({os:.1%})"
        + (f"<br>small n (< {result.min_n})" if sm else "")
        for c, age, r, n, v, lo, hi, o, os, sm in zip(
            cohorts,
            s["age_days"],
            s["reached"],
            s["deals"],
            conv,
            s["conversion_low"],
            s["conversion_high"],
            s["open_deals"],
            open_share,
            small,
            strict=True,
        )
    ]
    fig = go.Figure(
        [
            go.Bar(
                x=cohorts,
                y=conv,
                name=f"reached {esc(chosen)}",
                marker={
                    "color": [rgba(colour, 0.35 if sm else 0.9) for sm in small],
                    "line": {"width": 0},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": s["conversion_high"].to_numpy(dtype=float) - conv,
                    "arrayminus": conv - s["conversion_low"].to_numpy(dtype=float),
                    "thickness": 1,
                    "color": "#444",
                },
                hovertext=hover,
                hoverinfo="text",
            ),
            go.Bar(
                x=cohorts,
                y=open_share,
                name="still open (not final)",
                marker={"color": rgba(OUTCOME_COLOURS["open"], 0.35)},
                hovertext=hover,
                hoverinfo="text",
            ),
        ]
    )
    where = f" — {' · '.join(esc(v) for v in key)}" if by else ""
    fig.update_layout(
        **layout(
            f"Share of each {esc(result.period)}ly cohort reaching {esc(chosen)}{where}",
            f"cohort view (deals grouped by creation {esc(result.period)}) · {result.policy} "
            f"reach · {result.deals:,} deals · grey: still open · faded: fewer than "
            f"{result.min_n} deals · {result.confidence:.0%} interval",
        ),
        barmode="stack",
        bargap=0.15,
    )
    fig.update_xaxes(title=f"cohort (created {esc(result.period)})", type="category")
    fig.update_yaxes(title="share of cohort's deals", range=[0, 1], tickformat=".0%")
    return fig
