"""Command line: ``salesanalytics plan scan FILE``, the gaming-risk table of plan files.

:func:`add_scan_command` registers ``scan`` on the ``plan`` subcommand parser. The typical
rep comes from ``--data`` (median quota, target incentive and won deal of the plan's reps) or
from ``--quota``, ``--target-incentive`` and ``--deal``, which also override the data's.
Same exit codes as the rest of the command line (0 ok, 2 bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .quality import DataError

if TYPE_CHECKING:
    from .dataset import Dataset
    from .fairness.gaming import GamingScan

__all__ = ["add_scan_command"]

EXIT_OK = 0
SHOWN = ["rank", "attainment", "source", "move", "at_stake", "per_year", "flag"]


def _load(args: argparse.Namespace) -> Dataset:
    from .io import load

    return load(args.path, mapping=args.mapping, timezone=args.timezone, dayfirst=args.dayfirst)


def _scans(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> list[GamingScan]:
    from .cli_plans import read_plan_file
    from .fairness.gaming import scan_plan, typical_rep
    from .plans import PlanError

    given = {
        "quota": args.quota,
        "target_incentive": args.target_incentive,
        "typical_deal": args.deal,
    }
    if not args.path and (args.quota is None or args.deal is None):
        raise DataError("plan scan: give --data PATH, or --quota and --deal (annual quota)")
    ds = load(args) if args.path else None
    scans = []
    for path in args.files:
        plan = read_plan_file(path)
        try:
            values = typical_rep(plan, ds) if ds is not None else {"target_incentive": 0.0}
            values.update({k: v for k, v in given.items() if v is not None})
            scans.append(scan_plan(plan, **values, periods_per_year=args.per_year))
        except PlanError as exc:
            raise DataError(str(exc)) from None
        except ValueError as exc:
            raise DataError(f"plan scan: {path}: {exc}") from None
    return scans


def _text(scan: GamingScan, top: int) -> str:
    i = scan.inputs
    lines = [
        scan.caption,
        f"  typical rep: quota {float(i['quota']):,.0f} a year, target incentive "
        f"{float(i['target_incentive']):,.0f} a year, deal {float(i['deal']):,.0f}",
    ]
    t = scan.table.head(top)
    if not len(t):
        lines.append("  no cliffs or kinks: moving one deal pays nothing beyond the normal rate")
        return "\n".join(lines)
    shown = t[SHOWN].assign(attainment=[f"{a:.1%}" for a in t["attainment"]])
    lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    lines += [f"  {r}. {w}" for r, w in zip(t["rank"], t["what"], strict=True)]
    if len(scan.table) > top:
        lines.append(f"  ({len(scan.table) - top} more rows: --top N, --json or --csv)")
    return "\n".join(lines)


def _cmd_scan(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    from .io.write import neutralise

    scans = _scans(args, load)
    if args.json:
        payload = {
            "plans": [
                {
                    "plan": s.plan,
                    "caption": s.caption,
                    "inputs": s.inputs,
                    "rows": json.loads(s.table.to_json(orient="records")),
                }
                for s in scans
            ]
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        table = pd.concat([s.table for s in scans], ignore_index=True)
        text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
        safe = table.assign(**{c: neutralise(table[c].astype("str")) for c in text})
        safe.to_csv(sys.stdout, index=False, lineterminator="\n")
        return EXIT_OK
    print("\n\n".join(_text(s, args.top) for s in scans))
    return EXIT_OK


def add_scan_command(
    plan_sub: Any, load: Callable[[argparse.Namespace], Any] | None = None
) -> None:
    """Register ``scan`` on the ``plan`` subcommand parser ``plan_sub``.

    ``load`` reads the dataset from the parsed arguments (``path``, ``mapping``,
    ``timezone``, ``dayfirst``); by default :func:`salesanalytics.io.load`.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="salesanalytics")
    >>> plan_sub = parser.add_subparsers(dest="command").add_parser("plan").add_subparsers()
    >>> add_scan_command(plan_sub)
    >>> args = parser.parse_args(["plan", "scan", "a.toml", "--quota", "1e6", "--deal", "5e4"])
    >>> args.files, args.quota, args.path
    ([PosixPath('a.toml')], 1000000.0, None)
    """
    s = plan_sub.add_parser(
        "scan",
        help="gaming-risk table: money at each cliff and kink of a plan",
        description="Scan plan files for gaming risks: every cliff and kink of the pay curve, "
        "and what a rep gains by moving one typical deal across it (within a period and "
        "between periods), ranked by money at stake.",
    )
    s.add_argument("files", nargs="+", type=Path, metavar="FILE", help="plan TOML file(s)")
    s.add_argument(
        "--data", nargs="+", dest="path", metavar="PATH", help="export file(s) or folder"
    )
    s.add_argument("--mapping", metavar="FILE", help="TOML mapping of headers, files, stages")
    s.add_argument("--timezone", metavar="TZ", help="zone of naive timestamps (default UTC)")
    s.add_argument("--quota", type=float, metavar="AMOUNT", help="annual quota of the rep")
    s.add_argument(
        "--target-incentive", type=float, metavar="AMOUNT", help="annual target incentive"
    )
    s.add_argument("--deal", type=float, metavar="AMOUNT", help="typical deal (plan measure)")
    s.add_argument(
        "--per-year", type=int, metavar="N", help="chances a year (default: plan periods)"
    )
    s.add_argument("--top", type=int, default=10, metavar="N", help="rows shown per plan")
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output (all rows)")
    fmt.add_argument("--csv", action="store_true", help="CSV output (formulas neutralised)")
    s.set_defaults(dayfirst=None, func=lambda args: _cmd_scan(args, load or _load))
