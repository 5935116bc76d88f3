"""Command-line commands for commission plans: ``plan check`` and ``payouts``.

Registered by :mod:`salesanalytics.cli`; same exit codes (0 ok, 2 bad input, 1 internal).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .quality import DataError

__all__ = ["add_plan_commands", "read_plan_file"]

EXIT_OK = 0


def read_plan_file(path: str) -> Any:
    """A plan file for a command: its problems become one-line ``DataError`` (exit 2)."""
    from .io.plan_files import read_plan
    from .plans import PlanError

    try:
        return read_plan(path)
    except PlanError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the plan file ({exc.strerror or exc})") from None


def _cmd_plan_check(args: argparse.Namespace) -> int:
    from .io.plan_files import plan_check_main

    worst = EXIT_OK
    for path in args.files:
        worst = max(worst, plan_check_main(path, sys.stdout))
    return worst


def _cmd_payouts(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    from .fairness import fairness
    from .io.write import neutralise
    from .plans import PlanError, evaluate

    plan = read_plan_file(args.plan)
    ds = load(args)
    splits = None
    if args.splits:
        splits = pd.read_csv(args.splits, dtype={"deal_id": str, "rep_id": str, "role": str})
    try:
        bt = evaluate(plan, ds, start=args.start, end=args.end, splits=splits)
        statements = bt.statements
        fair = fairness(bt).table
    except PlanError as exc:
        raise DataError(str(exc)) from None
    table = statements.lines if args.lines else bt.table
    if args.json:
        by_rep = bt.by_rep().reset_index()
        payload = {
            "plan": plan.name,
            "period": plan.period,
            "attainment": plan.attainment,
            "periods": list(bt.calendar.labels),
            "reps": len(bt.staff.ids),
            "total": statements.total,
            "currency": plan.currency,
            "notes": list(bt.notes),
            "by_rep": json.loads(by_rep.to_json(orient="records")),
            "fairness": json.loads(fair.to_json(orient="records")),
            "rows": json.loads(table.to_json(orient="records", date_format="iso")),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
        safe = table.assign(**{c: neutralise(table[c].astype("str")) for c in text})
        safe.to_csv(sys.stdout, index=False, lineterminator="\n")
        return EXIT_OK
    print(bt.caption)
    for note in bt.notes:
        print(f"  note: {note}")
    shown = bt.by_rep()[["quota", "measure", "attainment", "base", "variable", "total"]]
    print(shown.to_string(float_format=lambda v: f"{v:,.2f}"))
    print("\nFairness (bootstrap over reps, 90% interval):")
    print(
        fair.set_index("metric")[["estimate", "low", "high"]].to_string(
            float_format=lambda v: f"{v:,.3f}"
        )
    )
    count = len(statements.totals)
    total = f"{statements.total:,.2f} {plan.currency}".rstrip()
    print(f"\nPlan total (sum of {count:,} statements): {total}")
    return EXIT_OK


def add_plan_commands(
    sub: Any,
    add_load_options: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace], Any],
) -> None:
    """Register ``plan check`` and ``payouts`` on the subcommand parser ``sub``."""
    p = sub.add_parser(
        "plan",
        help="check plan files",
        description="Commission plan files: check them for errors and warnings.",
    )
    plan_sub = p.add_subparsers(dest="plan_command", required=True, parser_class=type(p))
    c = plan_sub.add_parser(
        "check",
        help="validate plan files (exit 2 on any error)",
        description="Validate plan files: every error names the file, the component and "
        "the field, and says how to fix it; warnings point at risky designs.",
    )
    c.add_argument("files", nargs="+", type=Path, metavar="FILE", help="plan TOML file(s)")
    c.set_defaults(func=_cmd_plan_check)

    from .cli_scan import add_scan_command

    add_scan_command(plan_sub, load)

    p = sub.add_parser(
        "payouts",
        help="backtest a plan: payouts per rep and period, statements",
        description="Backtest a commission plan on the won deals of the data: payouts per "
        "rep and period by component, and statements whose lines are in cents and reconcile.",
    )
    add_load_options(p)
    p.add_argument("--plan", required=True, metavar="FILE", help="plan TOML file")
    p.add_argument("--start", metavar="DATE", help="window start (default: the quotas' span)")
    p.add_argument("--end", metavar="DATE", help="window end, exclusive")
    p.add_argument(
        "--splits", metavar="FILE", help="CSV of credit splits: deal_id, rep_id, share, role"
    )
    p.add_argument(
        "--lines", action="store_true", help="output statement lines instead of rep-periods"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV output (formulas neutralised)")
    p.set_defaults(func=lambda args: _cmd_payouts(args, load))
