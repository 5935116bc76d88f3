"""The report's sections, one function each: analyses -> escaped HTML blocks and CSV tables.

Each function takes the dataset, the plans, the :class:`~.build.ReportOptions` and a dict of
headline numbers that it may add to (the summary section shows them). Pure: no file access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..dataset import Dataset
from ..plans import Plan
from . import template as t
from .build import ReportOptions, Section, records

__all__ = ["funnel", "plans", "provenance", "quality", "sop", "sources", "summary"]

Head = dict[str, str]


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _money(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.0f}"


# ---------------------------------------------------------------------- funnel
def funnel(ds: Dataset, _plans: Sequence[Plan], opts: ReportOptions, head: Head) -> Section:
    """Reach and conversion per stage, the funnel figure and a conversion heatmap."""
    from ..funnel import stage_reach, win_rate
    from ..plots import conversion_heatmap, funnel_figure

    result = stage_reach(ds)
    rates = win_rate(ds)
    deals = ds.deals
    outcome = deals["outcome"].astype("str")
    won = int((outcome == "won").sum())
    closed = int(outcome.isin(["won", "lost"]).sum())
    head["Deals"] = f"{len(deals):,}"
    head["Win rate (won / closed)"] = _pct(won / closed if closed else float("nan"))
    if "amount" in deals.columns:
        head["Won revenue"] = _money(float(deals.loc[outcome == "won", "amount"].sum()))
        head["Open pipeline"] = _money(float(deals.loc[outcome == "open", "amount"].sum()))
    blocks = [
        t.text(
            "How many deals reach each stage and how many of them move on. Bars are deals; "
            "the step conversion is the share of deals at a stage that reached the next one "
            "(with its 95% interval)."
        ),
        t.figure(funnel_figure(result), "fig-funnel"),
        t.table(result.table, result.caption),
        t.table(rates.table, "Win rate by count and by value"),
    ]
    tables = {"funnel": records(result.table), "win_rate": records(rates.table)}
    if opts.funnel_by:
        by = stage_reach(ds, by=opts.funnel_by)
        blocks += [
            t.text(f"Cumulative conversion by {opts.funnel_by}", "h3"),
            t.figure(conversion_heatmap(by), "fig-funnel-by"),
        ]
        tables[f"funnel_by_{opts.funnel_by}"] = records(by.table)
    return Section("funnel", "Funnel", tuple(blocks), tables)


# ---------------------------------------------------------------------- sources
def sources(ds: Dataset, _plans: Sequence[Plan], opts: ReportOptions, head: Head) -> Section:
    """Lead-source quality and economics, the shrinkage ranking and their figures."""
    from ..plots import source_bubble_figure, source_ranking_figure
    from ..sources import compare_sources, source_quality

    quality = source_quality(ds)
    ranking = compare_sources(ds, seed=opts.seed)
    ranked = ranking.table[ranking.table["rank"] == 1]
    if len(ranked):
        head["Best lead source (lead → deal)"] = str(ranked.index[0])
    blocks = (
        t.text(
            "Which channels bring leads that become deals and revenue. Bubble area is won "
            "revenue; the ranking shrinks small sources towards the average, and sources with "
            "too few leads are not ranked."
        ),
        t.figure(source_bubble_figure(quality), "fig-sources"),
        t.figure(source_ranking_figure(ranking), "fig-source-ranking"),
        t.table(quality.table, quality.caption),
        t.table(
            ranking.table, f"Ranking on lead → deal ({ranking.test}, p = {ranking.p_value:.3g})"
        ),
    )
    tables = {"sources": records(quality.table), "source_ranking": records(ranking.table)}
    return Section("sources", "Lead sources", blocks, tables, tuple(quality.notes))


# ---------------------------------------------------------------------- SOP
def sop(ds: Dataset, _plans: Sequence[Plan], opts: ReportOptions, head: Head) -> Section:
    """First-response and follow-up compliance per rep, and conversion by response time."""
    from ..plots import response_curve_figure
    from ..response import response_effect
    from ..sop import sop_compliance

    overall = sop_compliance(ds, sla_hours=opts.sla_hours, by=None)
    per_rep = sop_compliance(ds, sla_hours=opts.sla_hours)
    effect = response_effect(ds)
    share = float(overall.table["sla_share"].iloc[0])
    head[f"Leads answered within {opts.sla_hours:g} h"] = _pct(share)
    blocks = (
        t.text(
            "How fast reps answer new leads and how often they follow up. The curve shows "
            "conversion by response-time band: an association, not proof that answering faster "
            "causes more conversions."
        ),
        t.figure(response_curve_figure(effect), "fig-response"),
        t.table(overall.table, overall.caption),
        t.table(per_rep.table, "Per rep"),
        t.table(effect.table, effect.caption),
    )
    tables = {
        "sop_by_owner": records(per_rep.table),
        "response_effect": records(effect.table),
    }
    return Section("sop", "Follow-up SOP", blocks, tables, tuple(per_rep.notes))


# ---------------------------------------------------------------------- plans
def _group_key(plan: Plan) -> str:
    roles = plan.eligibility.roles
    return ", ".join(roles) if roles else "all reps"


def _backtests(
    ds: Dataset, plans: Sequence[Plan], notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ..plans import evaluate

    rows, by_rep = [], []
    for plan in plans:
        try:
            bt = evaluate(plan, ds)
        except (KeyError, ValueError) as exc:
            notes.append(f"backtest of {plan.name}: {exc.args[0] if exc.args else exc}")
            continue
        reps = bt.by_rep()
        rows.append(
            {
                "plan": plan.name,
                "roles": _group_key(plan),
                "currency": plan.currency,
                "reps": len(reps),
                "periods": len(bt.calendar.labels),
                "from": bt.calendar.labels[0],
                "to": bt.calendar.labels[-1],
                "total": bt.total,
                "variable": float(reps["variable"].sum()),
                "base": float(reps["base"].sum()) if "base" in reps else float("nan"),
            }
        )
        by_rep.append(reps.reset_index().assign(plan=plan.name))
        notes.extend(f"{plan.name}: {n}" for n in bt.notes)
    frame = pd.DataFrame(rows)
    per_rep = pd.concat(by_rep, ignore_index=True) if by_rep else pd.DataFrame()
    if len(per_rep):
        per_rep = per_rep[["plan", *[c for c in per_rep.columns if c != "plan"]]]
    return frame, per_rep


def plans(ds: Dataset, plan_list: Sequence[Plan], opts: ReportOptions, head: Head) -> Section:
    """Backtest of every plan; per group of plans with the same roles, the simulated cost
    distribution (same trials for all plans of the group) and fairness metrics."""
    from ..fairness import fairness, fairness_metrics
    from ..plots import cost_distribution_figure, fairness_bars_figure
    from ..simulation import HistoryScenario, simulate

    notes: list[str] = []
    blocks = [
        t.text(
            "Each plan is first replayed on the real won deals (backtest), then simulated on "
            f"{opts.trials:,} possible next years fitted to the data's history (seed "
            f"{opts.seed}). Plans for the same roles are compared on the same simulated years; "
            "the first plan of each group is its baseline."
        )
    ]
    if not plan_list:
        return Section(
            "plans", "Commission plans: cost and fairness", tuple(blocks), {}, ("no plans given",)
        )
    backtests, per_rep = _backtests(ds, plan_list, notes)
    tables: dict[str, pd.DataFrame] = {"backtests": backtests, "backtest_by_rep": per_rep}
    if len(backtests):
        blocks.append(t.text("Backtest on the data", "h3"))
        blocks.append(t.table(backtests.set_index("plan"), "Paid under each plan over its window"))
        first = backtests.iloc[0]
        head[f"Backtest total: {first['plan']}"] = _money(float(first["total"]))
    groups: dict[str, list[Plan]] = {}
    for plan in plan_list:
        groups.setdefault(_group_key(plan), []).append(plan)
    scenario = HistoryScenario.from_history(ds)
    costs: list[pd.DataFrame] = []
    fair: list[pd.DataFrame] = []
    gaps: list[pd.DataFrame] = []
    for n, (key, members) in enumerate(groups.items()):
        try:
            result = simulate(
                members,
                scenario,
                opts.trials,
                opts.seed,
                budget=opts.budget,
                metrics=[fairness_metrics(scenario.population)],
            )
            fr = fairness(result)
        except (KeyError, ValueError) as exc:
            notes.append(f"simulation for {key}: {exc.args[0] if exc.args else exc}")
            continue
        summary = result.cost_summary()
        costs.append(records(summary).assign(roles=key))
        fair.append(fr.table.assign(roles=key))
        gaps.append(fr.gaps.assign(roles=key))
        blocks += [
            t.text(f"Plans for {key}: simulated cost", "h3"),
            t.text(result.caption, cls="caption"),
            t.figure(cost_distribution_figure(result, opts.budget), f"fig-cost-{n}"),
            t.table(summary.T, "Cost per plan (95% interval of the expected total)"),
            t.text(f"Plans for {key}: fairness", "h3"),
            t.text(
                "Does pay follow performance? Each bar is a metric per plan, scaled to a common "
                "axis; the table gives the values (see docs/fairness.md for their meaning).",
                cls="caption",
            ),
            t.figure(fairness_bars_figure(fr), f"fig-fairness-{n}"),
            t.table(fr.wide(), fr.caption),
            t.table(
                fr.gaps.set_index(["plan", "attribute", "level"]),
                "Pay gap against the reference group at equal attainment (0.05 = paid 5% more)",
            ),
        ]
        if n == 0:
            base = summary.iloc[0]
            head[f"Expected cost next year: {summary.index[0]}"] = _money(base["expected_total"])
            head[f"P90 cost next year: {summary.index[0]}"] = _money(base["total_p90"])
    if costs:
        tables["cost_summary"] = pd.concat(costs, ignore_index=True)
        tables["fairness"] = pd.concat(fair, ignore_index=True)
        tables["fairness_gaps"] = pd.concat(gaps, ignore_index=True)
    return Section(
        "plans", "Commission plans: cost and fairness", tuple(blocks), tables, tuple(notes)
    )


# ---------------------------------------------------------------------- quality, provenance
def quality(ds: Dataset, _plans: Sequence[Plan], _opts: ReportOptions, head: Head) -> Section:
    """What happened to every input row: counts per table and the problems found."""
    q = ds.quality
    codes = q.by_code()
    head["Rows rejected"] = (
        f"{int(q.counts['rejected'].sum()):,}" if "rejected" in q.counts else "0"
    )
    blocks = [
        t.text(
            "Every input row was loaded, merged into another row or rejected; warnings flag "
            f"rows that were loaded but look odd. Rows balance: {q.balanced}."
        ),
        t.table(q.counts, "Rows per table"),
    ]
    if not codes.empty:
        blocks.append(t.table(codes, "Problems by kind"))
        blocks.append(t.table(q.problems, "Problems (file, line, column, value)"))
    tables = {
        "quality_counts": records(q.counts),
        "quality_problems": q.problems.reset_index(drop=True),
    }
    return Section("quality", "Data quality", tuple(blocks), tables, tuple(q.notes))


def provenance(ds: Dataset, plan_list: Sequence[Plan], opts: ReportOptions, _head: Head) -> Section:
    """Input files with their SHA-256, the as-of date, version, seed and command line."""
    p = ds.provenance
    files = pd.DataFrame(
        [
            {
                "path": s.path,
                "sha256": s.sha256,
                "table": s.table,
                "rows": s.rows,
                "encoding": s.encoding,
            }
            for s in p.sources
        ],
        columns=["path", "sha256", "table", "rows", "encoding"],
    )
    facts: list[tuple[str, Any]] = [
        ("as of (data)", ds.as_of.isoformat() if ds.as_of is not None else "unknown"),
        ("as of (requested)", opts.as_of or "latest in the data"),
        ("salesanalytics version", __version__),
        ("seed", opts.seed),
        ("trials", opts.trials),
        ("SLA hours", opts.sla_hours),
        ("history fidelity", p.fidelity),
        ("time zone of naive timestamps", p.timezone),
        ("detected export format", p.detected or ""),
        ("plans", ", ".join(pl.name for pl in plan_list)),
        ("inputs", " ".join(opts.inputs)),
        ("command line", opts.command),
        ("generated at", opts.generated_at),
    ]
    run = pd.DataFrame([(k, str(v)) for k, v in facts], columns=["item", "value"])
    blocks = (
        t.table(run.set_index("item"), "Run"),
        t.table(files.set_index("path"), "Input files and their SHA-256"),
    )
    return Section("provenance", "Provenance", blocks, {"provenance": files, "run": run})


def summary(ds: Dataset, _plans: Sequence[Plan], opts: ReportOptions, head: Head) -> Section:
    """The headline numbers collected by the other sections."""
    as_of = ds.as_of.date().isoformat() if ds.as_of is not None else "unknown"
    frame = pd.DataFrame({"measure": list(head), "value": list(head.values())})
    blocks = (
        t.text(f"Data as of {as_of}; details in the sections below."),
        t.cards(head.items()),
    )
    return Section("summary", "Summary", blocks, {"summary": frame})
