"""Lead-source figures: a quality bubble chart, a shrinkage ranking and rate trends.

Every data-derived string (source names, breakdown values, periods) is HTML-escaped and passed
as ``hovertext``/``text``, never inside a ``hovertemplate``, where ``%{...}`` would be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..segments import PERIODS
from ..sources import ComparisonResult, Rate, SourceQuality
from ._common import esc, rgba
from ._style import OUTCOME_COLOURS, layout

__all__ = ["source_bubble_figure", "source_ranking_figure", "source_trend_figure"]

Size = Literal["won_revenue", "revenue_per_lead"]
RATE_LABELS = {
    "lead_to_deal": "lead → deal",
    "deal_to_won": "deal → won",
    "lead_to_won": "lead → won",
}
SIZE_LABELS = {"won_revenue": "won revenue", "revenue_per_lead": "revenue per lead"}
# one colour per source (or breakdown value); grey is kept for small-n marks
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#ad494a")  # fmt: skip
SMALL = OUTCOME_COLOURS["open"]
BAND = {"fill": "toself", "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False}
BLUE = "#2171b5"


def _check(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _num(x: float, fmt: str = ",.0f") -> str:
    return "n/a" if pd.isna(x) else format(float(x), fmt)


def _rate_text(row: pd.Series, rate: str, confidence: float, method: str) -> str:
    """``lead → won: 22.2% [18.0%, 27.0%] · n = 329`` for one table row."""
    if pd.isna(row[rate]):
        return f"{RATE_LABELS[rate]}: n/a (no trials)"
    return (
        f"{RATE_LABELS[rate]}: {row[rate]:.1%} [{row[f'{rate}_low']:.1%}, "
        f"{row[f'{rate}_high']:.1%}] ({confidence:.0%} {esc(method)}) · n = {row[f'{rate}_n']:,.0f}"
    )


# ------------------------------------------------------------------ bubble chart
def _bubble_hover(row: pd.Series, q: SourceQuality, rate: str) -> str:
    head = f"<b>{esc(row['lead_source'])}</b>"
    head += "".join(f" · {esc(b)}: {esc(row[b])}" for b in q.by)
    lines = [
        head,
        f"leads: {_num(row['leads'])} · deals: {_num(row['deals'])} · won: {_num(row['won'])}",
        _rate_text(row, rate, q.confidence, q.method),
        f"won revenue: {_num(row['won_revenue'])} · revenue per lead: "
        f"{_num(row['revenue_per_lead'])} · avg won amount: {_num(row['avg_won_amount'])}",
        f"median cycle: {_num(row['median_cycle_days'], '.1f')} d · still open: "
        f"{_num(row['share_open'] * 100, '.1f')}%",
    ]
    if "roi" in row.index:
        lines.append(f"cost: {_num(row['cost'])} · ROI: {_num(row['roi'], '.2f')}")
    if row["small_n"]:
        lines.append(f"<i>small n (fewer than {q.min_n}): not reliable</i>")
    return "<br>".join(lines)


def source_bubble_figure(
    quality: SourceQuality,
    rate: Rate = "lead_to_won",
    size: Size = "won_revenue",
    max_size: float = 60.0,
) -> go.Figure:
    """Bubble chart of source quality: volume (x), a conversion rate (y), revenue (area).

    x is the source's leads (its deals when it has no leads, e.g. ``existing_customer``), y
    the chosen rate with its interval and n in the hover, the bubble *area* the chosen
    revenue measure (``sizemode="area"``, one ``sizeref`` for all traces so areas compare).
    Without a breakdown, colour is ROI when the result has cost columns (the colour scale is
    capped at the 90th percentile so one outlier does not wash out the rest; the hover gives
    the exact ROI). With a breakdown (``quality.by``, e.g. ``region`` or a period) there is one
    trace per breakdown value, coloured by it, toggled from the legend. Sources flagged
    ``small_n`` form one last trace, grey and hollow, labelled as not reliable. Rows whose
    rate has no trials are not drawn (named in the subtitle); traces with no points are left
    out.

    Parameters
    ----------
    quality
        Output of :func:`salesanalytics.sources.source_quality`.
    rate
        ``"lead_to_won"``, ``"lead_to_deal"`` or ``"deal_to_won"``.
    size
        ``"won_revenue"`` (won amount of the source's deals) or ``"revenue_per_lead"``;
        missing values draw the smallest bubble.
    max_size
        Diameter in pixels of the largest bubble.

    Returns
    -------
    plotly.graph_objects.Figure
        ``scatter`` traces: the sources (ROI-coloured, then any without spend data) or one
        per breakdown value, then the small-n sources.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.sources import source_quality
    >>> fig = source_bubble_figure(source_quality(sample.generate(800, seed=0)))
    >>> [t.name for t in fig.data]
    ['sources (colour: ROI)']
    """
    _check("rate", rate, list(RATE_LABELS))
    _check("size", size, list(SIZE_LABELS))
    t = quality.table.reset_index()
    drawn = t[rate].notna().to_numpy()
    missing = [
        esc(" · ".join(str(v) for v in r))
        for r in t.loc[~drawn, ["lead_source", *quality.by]].to_numpy()
    ]
    t = t[drawn]
    by_deals = ~(t["leads"].fillna(0) > 0)
    volume = t["leads"].where(~by_deals, t["deals"]).to_numpy(dtype=float)
    sizes = t[size].fillna(0.0).clip(lower=0.0).to_numpy(dtype=float)
    sizeref = 2.0 * sizes.max() / max_size**2 if len(sizes) and sizes.max() > 0 else 1.0
    small = t["small_n"].to_numpy(dtype=bool)
    hover = np.array([_bubble_hover(row, quality, rate) for _, row in t.iterrows()], dtype=object)
    names = np.array([esc(s) for s in t["lead_source"]], dtype=object)
    roi = t["roi"].to_numpy(dtype=float) if "roi" in t.columns else np.full(len(t), np.nan)
    costed = not quality.by and bool(np.isfinite(roi).any())
    traces: list[go.Scatter] = []
    area = {"sizemode": "area", "sizeref": sizeref, "sizemin": 4}

    def trace(rows: np.ndarray, name: str, marker: Mapping[str, object], label: str = "") -> None:
        if rows.any():
            traces.append(
                go.Scatter(
                    x=volume[rows],
                    y=t[rate].to_numpy(dtype=float)[rows],
                    mode="markers+text",
                    text=[f"{n}{label}" for n in names[rows]],
                    textposition="top center",
                    hovertext=hover[rows],
                    hoverinfo="text",
                    name=name,
                    marker={"size": sizes[rows], **area, **marker},
                )
            )

    line = {"line": {"color": "white", "width": 1}, "opacity": 0.85}
    if quality.by:
        groups = t[list(quality.by)].astype(str).agg(" · ".join, axis=1).to_numpy()
        for i, g in enumerate(dict.fromkeys(groups)):
            colour = PALETTE[i % len(PALETTE)]
            trace(~small & (groups == g), esc(g), {"color": colour, **line})
    elif costed:
        ok = np.isfinite(roi)
        cmax = float(np.quantile(roi[ok], 0.9)) if ok.sum() >= 5 else float(roi[ok].max())
        low = float(roi[ok].min())
        scale = {"colorscale": "Viridis", "cmin": low, "cmax": max(cmax, low + 1e-9)}
        bar = {"colorbar": {"title": {"text": "ROI"}}}
        trace(
            ~small & ok,
            "sources (colour: ROI)",
            {"color": roi[~small & ok], **scale, **bar, **line},
        )
        trace(~small & ~ok, "sources without spend data", {"color": BLUE, **line})
    else:
        trace(~small, "sources", {"color": BLUE, **line})
    hollow = {"color": rgba(SMALL, 0.08), "line": {"color": SMALL, "width": 2}}
    trace(small, f"small n (< {quality.min_n}): not reliable", hollow, " (small n)")
    fig = go.Figure(traces)
    by = f" by {' × '.join(esc(b) for b in quality.by)}" if quality.by else ""
    colour = "ROI" if costed else esc(" × ".join(quality.by)) if quality.by else "—"
    sub = (
        f"{esc(quality.view)} view · bubble area: {SIZE_LABELS[size]} · colour: {colour} · "
        f"{quality.confidence:.0%} {esc(quality.method)} interval in hover · hollow grey: "
        f"fewer than {quality.min_n} leads (deals without leads)"
    )
    if missing:
        sub += f" · not drawn (no trials): {', '.join(missing)}"
    fig.update_layout(**layout(f"Lead-source quality{by}", sub))
    fig.update_xaxes(title="leads (deals for sources without leads)" if by_deals.any() else "leads")
    fig.update_yaxes(title=RATE_LABELS[rate], tickformat=".0%", rangemode="tozero")
    return fig


# ------------------------------------------------------------------ ranking
def source_ranking_figure(comparison: ComparisonResult) -> go.Figure:
    """Sources ranked by their shrunken (posterior mean) rate, with credible intervals.

    Horizontal bars give each source's empirical-Bayes posterior mean with its equal-tailed
    credible interval (error bars); a diamond marks the raw rate k/n beside it, so the
    shrinkage shows as the gap. Sources with n below ``comparison.min_n`` come after a
    dashed separator, in grey, labelled "not ranked (n < min_n)". A dotted vertical line
    marks the fitted prior mean α / (α + β), towards which small sources are pulled.

    Parameters
    ----------
    comparison
        Output of :func:`salesanalytics.sources.compare_sources`.

    Returns
    -------
    plotly.graph_objects.Figure
        ``bar`` traces (ranked, then not ranked; only those with sources), then one
        ``scatter`` of raw rates; the separator and the prior mean are layout shapes.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.sources import compare_sources
    >>> fig = source_ranking_figure(compare_sources(sample.generate(800, seed=0), seed=0))
    >>> [t.type for t in fig.data]
    ['bar', 'scatter']
    """
    c = comparison
    t = c.table
    eligible = t["eligible"].to_numpy(dtype=bool)
    names = [esc(s) for s in t.index]
    labels = [
        f"{int(r)}. {n}" if e else f"{n} · not ranked (n < {c.min_n})"
        for n, r, e in zip(names, t["rank"], eligible, strict=True)
    ]
    mean = t["posterior_mean"].to_numpy(dtype=float)
    low, high = t["credible_low"].to_numpy(dtype=float), t["credible_high"].to_numpy(dtype=float)
    hover = [
        f"<b>{n}</b><br>"
        + (f"rank {int(r)} of {int(eligible.sum())}" if e else f"not ranked: n < {c.min_n}")
        + f"<br>posterior mean: {m:.1%} [{lo:.1%}, {hi:.1%}] ({c.confidence:.0%} credible)"
        + f"<br>raw rate: {int(k):,} / n = {int(nn):,} = {raw:.1%}"
        for n, r, e, m, lo, hi, k, nn, raw in zip(
            names, t["rank"], eligible, mean, low, high, t["k"], t["n"], t["rate"], strict=True
        )
    ]
    labels_a, hover_a = np.array(labels, dtype=object), np.array(hover, dtype=object)
    err = {"array": high - mean, "arrayminus": mean - low}
    traces: list[go.Bar | go.Scatter] = []
    for rows, name, colour in (
        (eligible, "posterior mean (shrunken)", BLUE),
        (~eligible, f"not ranked (n < {c.min_n})", SMALL),
    ):
        if rows.any():
            traces.append(
                go.Bar(
                    x=mean[rows],
                    y=labels_a[rows],
                    orientation="h",
                    name=name,
                    marker={"color": rgba(colour, 0.75 if colour == BLUE else 0.4)},
                    error_x={k: v[rows] for k, v in err.items()},
                    hovertext=hover_a[rows],
                    hoverinfo="text",
                )
            )
    traces.append(
        go.Scatter(
            x=t["rate"].to_numpy(dtype=float),
            y=labels,
            mode="markers",
            name="raw rate k / n",
            marker={"symbol": "diamond", "color": "black", "size": 9},
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig = go.Figure(traces)
    a, b = c.prior
    prior_mean = a / (a + b)
    fig.add_vline(
        x=prior_mean,
        line={"dash": "dot", "color": OUTCOME_COLOURS["lost"], "width": 1.5},
        annotation_text=f"prior mean {prior_mean:.1%}",
        annotation_position="top",
    )
    if eligible.any() and not eligible.all():
        cut = float(eligible.sum()) - 0.5
        fig.add_hline(
            y=cut,
            line={"dash": "dash", "color": SMALL, "width": 1.5},
            annotation_text=f"not ranked (n < {c.min_n}) ↓",
            annotation_position="bottom right",
        )
    fig.update_layout(
        **layout(
            f"Sources ranked by {RATE_LABELS.get(c.rate, esc(c.rate))} (empirical-Bayes shrinkage)",
            f"{esc(c.view)} view · bars: posterior mean with {c.confidence:.0%} credible "
            f"interval · ◆ raw rate · Beta({a:.3g}, {b:.3g}) prior · {esc(c.test)} "
            f"p = {c.p_value:.3g}",
        ),
        barmode="overlay",
        height=max(400, 30 * len(t) + 180),
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels, autorange="reversed", title=None)
    fig.update_xaxes(
        title=RATE_LABELS.get(c.rate, esc(c.rate)), tickformat=".0%", rangemode="tozero"
    )
    return fig


# ------------------------------------------------------------------ trends
def source_trend_figure(
    quality: SourceQuality, rate: Rate = "lead_to_won", sources: Sequence[str] | None = None
) -> go.Figure:
    """A rate per source over creation periods, with interval bands.

    For a result of ``source_quality(ds, period="month" | "quarter" | "year")``: one line per
    source (periods where the rate has no trials are left out) over its shaded interval band.
    Points resting on fewer than ``quality.min_n`` trials are drawn hollow. These are cohort
    rates by creation period, so the latest periods are incomplete (deals still open count as
    not yet won; the hover gives the share open).

    Parameters
    ----------
    quality
        Output of :func:`salesanalytics.sources.source_quality` with ``period=``.
    rate
        ``"lead_to_won"``, ``"lead_to_deal"`` or ``"deal_to_won"``.
    sources
        The sources to draw (default all); colours stay those of the full set.

    Returns
    -------
    plotly.graph_objects.Figure
        Two ``scatter`` traces per source drawn: the band, then the line.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.sources import source_quality
    >>> q = source_quality(sample.generate(800, seed=0), period="quarter")
    >>> fig = source_trend_figure(q, sources=["referral", "website"])
    >>> [t.name for t in fig.data][1::2]
    ['referral', 'website']
    """
    _check("rate", rate, list(RATE_LABELS))
    period = quality.by[0] if len(quality.by) == 1 else ""
    if not (period.startswith("created_") and period.removeprefix("created_") in PERIODS):
        raise ValueError("source_trend_figure needs source_quality(ds, period=...)")
    t = quality.table.reset_index()
    every = list(dict.fromkeys(str(s) for s in t["lead_source"]))
    chosen = every if sources is None else list(sources)
    unknown = [s for s in chosen if s not in every]
    if unknown:
        raise ValueError(f"no source {unknown}; choose among {every}")
    t = t[t[rate].notna()]
    traces: list[go.Scatter] = []
    for source in chosen:
        rows = t[t["lead_source"].astype(str) == source]
        if rows.empty:
            continue
        colour = PALETTE[every.index(source) % len(PALETTE)]
        x = [esc(p) for p in rows[period]]
        low, high = rows[f"{rate}_low"].to_numpy(float), rows[f"{rate}_high"].to_numpy(float)
        traces.append(
            go.Scatter(
                x=[*x, *x[::-1]],
                y=[*high, *low[::-1]],
                fillcolor=rgba(colour, 0.15),
                legendgroup=esc(source),
                **BAND,
                name=f"{esc(source)} interval",
            )
        )
        small = rows[f"{rate}_n"].to_numpy(float) < quality.min_n
        symbols = ["circle-open" if s else "circle" for s in small]
        hover = [
            f"<b>{esc(source)}</b> · {esc(row[period])}<br>"
            + _rate_text(row, rate, quality.confidence, quality.method)
            + f"<br>deals still open: {_num(row['share_open'] * 100, '.1f')}%"
            + (f"<br><i>small n (fewer than {quality.min_n}): not reliable</i>" if s else "")
            for (_, row), s in zip(rows.iterrows(), small, strict=True)
        ]
        traces.append(
            go.Scatter(
                x=x,
                y=rows[rate].to_numpy(float),
                mode="lines+markers",
                name=esc(source),
                legendgroup=esc(source),
                line={"color": colour, "width": 2},
                marker={"color": colour, "size": 8, "symbol": symbols},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    fig = go.Figure(traces)
    unit = period.removeprefix("created_")
    fig.update_layout(
        **layout(
            f"{RATE_LABELS[rate]} by lead source and {unit} of creation",
            f"{esc(quality.view)} view · {quality.confidence:.0%} {esc(quality.method)} band · "
            f"hollow: fewer than {quality.min_n} trials · latest periods incomplete "
            "(open deals count as not yet won)",
        )
    )
    created = "deal" if rate == "deal_to_won" else "lead"
    fig.update_xaxes(
        title=f"{created} created ({unit})", type="category", categoryorder="category ascending"
    )
    fig.update_yaxes(title=RATE_LABELS[rate], tickformat=".0%", rangemode="tozero")
    return fig
