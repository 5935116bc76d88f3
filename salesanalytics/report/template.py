"""The report's HTML: safe fragments (text, tables, figures, headline cards) and the page.

Every data-derived string goes through :func:`html.escape` (:func:`text`, :func:`cards`) or
``DataFrame.to_html(escape=True)`` (:func:`table`); figures are embedded with
``fig.to_html(full_html=False, include_plotlyjs=False)``, whose JSON escapes ``<``, and
plotly.js itself appears once, in the page head (:func:`render`). The page loads nothing
from the network: a Content-Security-Policy forbids it, so it works offline and from disk.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .build import Report

__all__ = ["CSP", "cards", "figure", "number", "render", "table", "text"]

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)
"""Content-Security-Policy of the page: inline code only, no network at all."""

MAX_HTML_ROWS = 60
"""Rows of a table shown in the page (the CSV file always has all of them)."""

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0; color: #1f2933; background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; color: #d9e2ec; }
nav { background: #fff; border-bottom: 1px solid #d9e2ec; padding: 8px 32px; }
nav a { margin-right: 18px; color: #2680c2; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1200px; }
section { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px;
          margin: 18px 0; padding: 8px 20px 16px; }
h2 { font-size: 18px; border-bottom: 1px solid #e4e7eb; padding-bottom: 6px; }
h3 { font-size: 15px; margin-top: 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .value { font-size: 20px; font-weight: 600; }
.card .label { color: #52606d; font-size: 12px; }
.table { overflow-x: auto; }
table.dataframe { border-collapse: collapse; font-size: 12px; margin: 6px 0 12px; }
table.dataframe th, table.dataframe td { border: 1px solid #e4e7eb; padding: 3px 7px; }
table.dataframe td { text-align: right; }
table.dataframe thead th { background: #f0f4f8; }
.caption { color: #52606d; font-size: 12px; margin: 2px 0; }
.note { color: #8d2b0b; }
.figure { margin: 8px 0 16px; min-height: 420px; }
"""


def text(value: object, tag: str = "p", cls: str | None = None) -> str:
    """A data-derived string as an escaped HTML element.

    Examples
    --------
    >>> text("<script>alert(1)</script>")
    '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    >>> text("why", "li", cls="note")
    '<li class="note">why</li>'
    """
    attr = f' class="{cls}"' if cls else ""
    return f"<{tag}{attr}>{html.escape(str(value))}</{tag}>"


def number(value: Any) -> str:
    """A value for display: thousands separators for large numbers, 3 decimals for small.

    Examples
    --------
    >>> number(24859250.72), number(0.4451), number(float("nan")), number(12)
    ('24,859,251', '0.445', '', '12')
    """
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return ""
    if v.is_integer() and abs(v) >= 1:
        return f"{v:,.0f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}"


def table(frame: pd.DataFrame, caption: str = "", *, max_rows: int = MAX_HTML_ROWS) -> str:
    """A frame as an escaped HTML table (at most ``max_rows`` rows) with an escaped caption.

    Examples
    --------
    >>> import pandas as pd
    >>> out = table(pd.DataFrame({"source": ["<b>x</b>"], "n": [3]}), "by <source>")
    >>> "&lt;b&gt;x&lt;/b&gt;" in out and "<b>x" not in out and "by &lt;source&gt;" in out
    True
    """
    shown = frame.head(max_rows)
    body = shown.to_html(escape=True, na_rep="", float_format=number, border=0, classes="dataframe")
    more = (
        text(f"first {max_rows} of {len(frame):,} rows; the CSV file has all", cls="caption")
        if len(frame) > max_rows
        else ""
    )
    head = text(caption, cls="caption") if caption else ""
    return f'{head}<div class="table">{body}</div>{more}'


def figure(fig: Any, div_id: str) -> str:
    """A plotly figure as a ``<div>`` and its drawing script, without plotly.js itself."""
    inner = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="figure">{inner}</div>'


def cards(items: Iterable[tuple[str, str]]) -> str:
    """Headline numbers as cards: ``(label, value)`` pairs, both escaped.

    Examples
    --------
    >>> cards([("Deals", "3,000")])
    '<div class="cards"><div class="card"><div class="value">3,000</div><div class="label">Deals</div></div></div>'
    """  # noqa: E501
    inner = "".join(
        f'<div class="card"><div class="value">{html.escape(v)}</div>'
        f'<div class="label">{html.escape(k)}</div></div>'
        for k, v in items
    )
    return f'<div class="cards">{inner}</div>'


def notes(items: Sequence[str]) -> str:
    """Remarks as an escaped list (empty string when there are none)."""
    if not items:
        return ""
    return "<ul>" + "".join(text(n, "li", cls="note") for n in items) + "</ul>"


def render(report: Report, plotly_js: str | None = None) -> str:
    """The whole page: head with CSS and plotly.js (once), table of contents, sections.

    Parameters
    ----------
    report
        The report to render.
    plotly_js
        The plotly.js source to embed (default: the one shipped with the plotly package).
    """
    if plotly_js is None:
        from ..plots._common import plotly_js as shipped

        plotly_js = shipped()
    title = html.escape(report.title)
    toc = "".join(
        f'<a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>' for s in report.sections
    )
    body = "".join(
        f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>'
        + "".join(s.blocks)
        + notes(s.notes)
        + "</section>"
        for s in report.sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{plotly_js}</script>'
        "</head><body>"
        f"<header><h1>{title}</h1>{text(report.subtitle)}</header>"
        f'<nav aria-label="Contents">{toc}</nav>'
        f"<main>{body}</main></body></html>\n"
    )
