"""Command-line command ``sources``: lead-source quality, economics and an honest ranking.

Registered by :mod:`salesanalytics.cli`; same exit codes (0 ok, 2 bad input, 1 internal).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from .quality import DataError

__all__ = ["add_sources_command"]

TEXT_COLUMNS = [
    "leads",
    "deals",
    "won",
    "lead_to_deal",
    "lead_to_won",
    "deal_to_won",
    "revenue_per_lead",
    "avg_won_amount",
    "median_cycle_days",
    "share_open",
    "cost_per_won",
    "roi",
    "small_n",
]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(json.loads(frame.reset_index().to_json(orient="records", date_format="iso")))


def _cmd_sources(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    from .io.write import neutralise
    from .sources import compare_sources, source_quality

    if args.spend:
        args.path = [*args.path, args.spend]
    ds = load(args)
    try:
        quality = source_quality(ds, by=args.by, period=args.period, min_n=args.min_n)
        comparison = compare_sources(ds, rate=args.rate, min_n=args.min_n, seed=args.seed)
    except (KeyError, ValueError) as exc:
        raise DataError(f"sources: {exc.args[0] if exc.args else exc}") from None
    table = quality.table
    if args.json:
        payload = {
            "caption": quality.caption,
            "by": list(quality.by),
            "as_of": ds.as_of.isoformat() if ds.as_of is not None else None,
            "notes": list(quality.notes),
            "sources": _records(table),
            "comparison": {
                "rate": comparison.rate,
                "test": comparison.test,
                "statistic": comparison.statistic,
                "p_value": comparison.p_value,
                "prior": list(comparison.prior),
                "ranking": _records(comparison.table),
                "pairs": _records(comparison.pairs.set_index(["source_a", "source_b"])),
            },
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    if args.csv:
        flat = table.reset_index()
        text = [c for c in flat.columns if not pd.api.types.is_numeric_dtype(flat[c])]
        safe = flat.assign(**{c: neutralise(flat[c].astype("str")) for c in text})
        safe.to_csv(sys.stdout, index=False, lineterminator="\n")
        return 0
    print(quality.caption)
    shown = table[[c for c in TEXT_COLUMNS if c in table.columns]]
    print(shown.to_string(na_rep="", float_format=lambda v: f"{v:,.3f}"))
    print(f"\n{comparison.caption}")
    ranked = comparison.table[["n", "rate", "posterior_mean", "credible_low", "credible_high"]]
    print(
        ranked.assign(rank=comparison.table["rank"]).to_string(
            na_rep="-", float_format=lambda v: f"{v:.3f}"
        )
    )
    small = comparison.table.index[~comparison.table["eligible"]].tolist()
    if small:
        print(f"Not ranked (fewer than {args.min_n}): {', '.join(map(str, small))}")
    return 0


def add_sources_command(
    sub: Any,
    add_load_options: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace], Any],
) -> None:
    """Register ``sources`` on the subcommand parser ``sub``."""
    p = sub.add_parser(
        "sources",
        help="lead-source quality, cost and a shrinkage ranking",
        description="Per lead source: lead->deal->won rates with intervals, revenue per "
        "lead, median cycle, cost and ROI (with spend); an overall test, pairwise tests "
        "with FDR control and an empirical-Bayes ranking (small sources are not ranked).",
    )
    add_load_options(p)
    p.add_argument("--spend", metavar="FILE", help="spend table: lead_source, period_start, cost")
    dim = p.add_mutually_exclusive_group()
    dim.add_argument("--by", metavar="COL", help="break down by a column (region, team, ...)")
    dim.add_argument("--period", choices=["month", "quarter", "year"], help="trend by period")
    p.add_argument(
        "--rate",
        choices=["lead_to_deal", "deal_to_won", "lead_to_won"],
        default="lead_to_deal",
        help="rate the sources are compared and ranked on (default lead_to_deal)",
    )
    p.add_argument("--min-n", type=int, default=30, metavar="N", help="smallest rankable source")
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte-Carlo exact test")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV output (formulas neutralised)")
    p.set_defaults(func=lambda args: _cmd_sources(args, load))
