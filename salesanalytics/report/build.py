"""Build the report: dataset + plans + options -> :class:`Report` (pure; no file access).

:func:`build_report` runs the analyses (funnel, lead sources, SOP, plan backtests and
simulation with fairness, data quality, provenance), turns their results into escaped HTML
fragments and keeps the underlying tables for the CSV files. Writing is
:mod:`salesanalytics.report.write`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from .. import __version__
from ..dataset import Dataset
from ..plans import Plan
from . import template

__all__ = ["Report", "ReportOptions", "Section", "build_report"]


@dataclass(frozen=True)
class ReportOptions:
    """What the report computes and records.

    Attributes
    ----------
    trials, seed
        Monte Carlo trials per group of plans and the seed.
    sla_hours
        First-response target of the SOP section.
    funnel_by
        Breakdown column of the conversion heatmap (``None``: no heatmap).
    budget
        Optional budget for total pay (the cost table reports P(exceeding)).
    title
        Page title.
    command, generated_at, as_of, inputs
        Provenance: the command line, when the report was made, the ``--as-of`` date
        given (if any) and the input paths as given.
    """

    trials: int = 200
    seed: int = 0
    sla_hours: float = 24.0
    funnel_by: str | None = "lead_source"
    budget: float | None = None
    title: str = "Sales report"
    command: str = ""
    generated_at: str = ""
    as_of: str | None = None
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """One section of the page: an anchor ``id``, a ``title``, HTML ``blocks`` (already
    escaped), ``tables`` for CSV files (file stem -> frame) and ``notes`` (plain text)."""

    id: str
    title: str
    blocks: tuple[str, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A built report: sections in page order and the page's subtitle.

    Examples
    --------
    >>> r = Report("T", (Section("a", "A", ("<p>x</p>",), {"t": pd.DataFrame({"n": [1]})}),))
    >>> list(r.tables), r.figures
    (['t'], 0)
    """

    title: str
    sections: tuple[Section, ...]
    subtitle: str = ""
    headline: Mapping[str, str] = field(default_factory=dict)

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """Every section's tables by file stem (unique across the report)."""
        out: dict[str, pd.DataFrame] = {}
        for s in self.sections:
            for name, frame in s.tables.items():
                if name in out:
                    raise ValueError(f"table name {name!r} used twice")
                out[name] = frame
        return MappingProxyType(out)

    @property
    def figures(self) -> int:
        """Number of plotly figures in the page."""
        return sum(
            block.count('class="plotly-graph-div"') for s in self.sections for block in s.blocks
        )

    def html(self, plotly_js: str | None = None) -> str:
        """The self-contained page (see :func:`.template.render`)."""
        return template.render(self, plotly_js)


Builder = Callable[[Dataset, Sequence[Plan], ReportOptions, dict[str, str]], Section]


def _guard(builder: Builder, sid: str, title: str) -> Builder:
    """Run a section builder; a section the data cannot support says why instead."""

    def run(
        ds: Dataset, plans: Sequence[Plan], opts: ReportOptions, head: dict[str, str]
    ) -> Section:
        try:
            return builder(ds, plans, opts, head)
        except (KeyError, ValueError) as exc:
            reason = exc.args[0] if exc.args else type(exc).__name__
            return Section(sid, title, (), {}, (f"not available for these data: {reason}",))

    return run


def build_report(
    ds: Dataset, plans: Sequence[Plan], options: ReportOptions | None = None
) -> Report:
    """Compute every section of the report.

    Parameters
    ----------
    ds
        The data (already cut to the as-of date, if any).
    plans
        Commission plans to backtest and simulate (plans with the same eligible roles are
        simulated together, the first of them as the baseline).
    options
        :class:`ReportOptions`.

    Returns
    -------
    Report
        The sections; ``report.html()`` is the page, ``report.tables`` the CSV tables.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.io import read_plans
    >>> plans = read_plans(["data/sample/plans/current.toml", "data/sample/plans/flat-rate.toml"])
    >>> r = build_report(sample.generate(600, seed=0), plans, ReportOptions(trials=32))
    >>> [s.id for s in r.sections]
    ['summary', 'funnel', 'sources', 'sop', 'plans', 'quality', 'provenance']
    >>> r.figures >= 6, "cost_summary" in r.tables
    (True, True)
    """
    from . import sections as sec

    opts = options or ReportOptions()
    if opts.trials < 1:
        raise ValueError(f"trials must be at least 1, got {opts.trials}")
    head: dict[str, str] = {}
    parts = [
        _guard(sec.funnel, "funnel", "Funnel")(ds, plans, opts, head),
        _guard(sec.sources, "sources", "Lead sources")(ds, plans, opts, head),
        _guard(sec.sop, "sop", "Follow-up SOP")(ds, plans, opts, head),
        _guard(sec.plans, "plans", "Commission plans: cost and fairness")(ds, plans, opts, head),
        sec.quality(ds, plans, opts, head),
        sec.provenance(ds, plans, opts, head),
    ]
    summary = sec.summary(ds, plans, opts, head)
    as_of = ds.as_of.isoformat() if ds.as_of is not None else "unknown"
    subtitle = f"as of {as_of} · salesanalytics {__version__} · seed {opts.seed}"
    return Report(opts.title, (summary, *parts), subtitle, MappingProxyType(dict(head)))


def records(frame: pd.DataFrame) -> pd.DataFrame:
    """A result table with its index as columns (what the CSV files hold)."""
    named = [n for n in frame.index.names if n is not None]
    return frame.reset_index() if named else frame.reset_index(drop=True)
