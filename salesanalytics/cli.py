"""The ``salesanalytics`` command line: cron-safe, no prompts, documented exit codes.

Exit codes: ``0`` success (data usable), ``2`` bad input or usage (a one-line reason on
stderr), ``1`` internal error. ``--json`` output shapes are documented in ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .dataset import Dataset
from .quality import DataError, describe

__all__ = ["main"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors: exit 2 with one line
        self.print_usage(sys.stderr)
        raise SystemExit(f"{self.prog}: error: {message}")


def _load(args: argparse.Namespace) -> Dataset:
    from .io import load

    return load(
        args.path,
        mapping=args.mapping,
        strict=getattr(args, "strict", False),
        timezone=args.timezone,
        dayfirst=args.dayfirst,
    )


def _add_load_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="+", help="export file(s) or a folder of them")
    p.add_argument("--mapping", metavar="FILE", help="TOML mapping of headers, files, stages")
    p.add_argument("--timezone", metavar="TZ", help="zone of naive timestamps (default UTC)")
    order = p.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_true",
        default=None,
        help="read ambiguous dates as day/month",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_false",
        help="read ambiguous dates as month/day (the default)",
    )


def _table_text(frame: pd.DataFrame) -> str:
    return frame.to_string(na_rep="", float_format=lambda v: f"{v:,.3f}")


# ---------------------------------------------------------------------- validate
def _validate_text(ds: Dataset, max_problems: int) -> str:
    q = ds.quality
    out = [f"salesanalytics {__version__}: data quality"]
    if ds.provenance.detected:
        out.append(f"Detected: {ds.provenance.detected}")
    out += [f"  {n}" for n in q.notes]
    out += ["", _table_text(q.counts), ""]
    codes = q.by_code()
    if not codes.empty:
        out.append("Problems by kind:")
        out.append(_table_text(codes.set_index(["table", "severity", "code"])))
        out.append("")
        out.append(f"First {min(max_problems, len(q.problems))} of {len(q.problems)} problems:")
        for rec in q.problems.head(max_problems).to_dict(orient="records"):
            out.append(f"  {rec['severity']:7} {describe(rec)}")
        out.append("")
    as_of = ds.as_of.isoformat() if ds.as_of is not None else "unknown"
    out.append(
        f"Usable: {len(ds.deals):,} deals, {len(ds.stage_events):,} stage events "
        f"(as of {as_of}; history: {ds.provenance.fidelity}; balanced: {q.balanced})"
    )
    return "\n".join(out)


def _suggest(args: argparse.Namespace) -> int:
    from .io.adapters.suggest import suggest_mapping, write_new_text

    text = suggest_mapping(args.path, format=args.format)
    out = write_new_text(text, args.mapping_out, inputs=args.path)
    print(
        f"wrote a starting mapping to {out}; edit it, then run: salesanalytics validate "
        f"--mapping {out} {' '.join(str(p) for p in args.path)}"
    )
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .io import load

    if args.suggest_mapping:
        return _suggest(args)
    ds = load(
        args.path,
        mapping=args.mapping,
        strict=args.strict,
        timezone=args.timezone,
        dayfirst=args.dayfirst,
        format=args.format,
    )
    if ds.deals.empty:
        raise DataError(
            "no usable deals: every deal row was rejected (run without --strict to see why)"
        )
    if args.json:
        payload = {
            "version": __version__,
            "paths": [str(p) for p in args.path],
            "usable": True,
            "as_of": ds.as_of.isoformat() if ds.as_of is not None else None,
            "fidelity": ds.provenance.fidelity,
            "detected": ds.provenance.detected,
            "timezone": ds.provenance.timezone,
            "sources": [s.__dict__ for s in ds.provenance.sources],
            **ds.quality.to_dict(max_problems=args.max_problems),
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(_validate_text(ds, args.max_problems))
    return EXIT_OK


# ---------------------------------------------------------------------- funnel
def _cmd_funnel(args: argparse.Namespace) -> int:
    from .asof import as_known_at
    from .funnel import stage_reach, win_rate
    from .io.write import neutralise

    ds = _load(args)
    if args.as_of:
        try:
            ds = as_known_at(ds, args.as_of)
        except ValueError as exc:
            raise DataError(f"--as-of {args.as_of!r}: not a date ({exc})") from None
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else None
    if by is not None and len(by) > 2:
        raise DataError("--by takes one or two columns, e.g. --by lead_source,region")
    try:
        result = stage_reach(ds, policy=args.policy, by=by)
        rates = win_rate(ds, by=by)
    except (KeyError, ValueError) as exc:
        raise DataError(f"--by {args.by}: {exc.args[0] if exc.args else exc}") from None
    table = result.table.reset_index()
    if args.json:
        payload = {
            "view": result.view,
            "policy": result.policy,
            "by": by or [],
            "as_of": ds.as_of.isoformat() if ds.as_of is not None else None,
            "deals": result.deals,
            "stages": json.loads(table.to_json(orient="records")),
            "win_rate": json.loads(rates.table.reset_index().to_json(orient="records")),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        text_cols = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
        safe = table.assign(**{c: neutralise(table[c]) for c in text_cols})
        safe.to_csv(sys.stdout, index=False, lineterminator="\n")
        return EXIT_OK
    as_of = ds.as_of.date() if ds.as_of is not None else "?"
    print(
        f"Funnel ({result.view} view, {result.policy} reach) of {result.deals:,} deals"
        + (f" by {', '.join(by)}" if by else "")
        + f"; as of {as_of}"
    )
    cols = ["reached", "still_open", "step_conversion", "step_low", "step_high"]
    print(_table_text(result.table[[*cols, "cumulative_conversion"]]))
    print("\nWin rate (won / closed) with 95% intervals:")
    wr = rates.table[
        ["won", "lost", "open", "win_rate", "win_rate_low", "win_rate_high", "value_win_rate"]
    ]
    print(_table_text(wr))
    return EXIT_OK


# ---------------------------------------------------------------------- sample
def _cmd_sample(args: argparse.Namespace) -> int:
    from . import sample
    from .io import save

    if args.deals < 1:
        raise DataError("--deals must be at least 1")
    ds = sample.generate(args.deals, seed=args.seed)
    paths = save(ds, args.out)
    if not args.quiet:
        size = sum(p.stat().st_size for p in paths)
        print(
            f"wrote {len(paths)} files ({size / 1e6:.1f} MB) to {args.out}: "
            + ", ".join(f"{p.name} ({len(ds.table(p.stem)):,} rows)" for p in paths)
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="salesanalytics",
        description=(
            "Sales funnel analytics, lead-source quality and commission-plan design. "
            "Exit codes: 0 ok, 2 bad input, 1 internal error."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        help="load exports and print the data-quality report",
        description="Load exports and report every rejected row and warning. "
        "Exit 0 when the data are usable, 2 when they are not.",
    )
    _add_load_options(p)
    p.add_argument("--strict", action="store_true", help="fail (exit 2) on any rejected row")
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/cli.md)")
    p.add_argument(
        "--max-problems",
        type=int,
        default=50,
        metavar="N",
        help="problems listed in the output (default 50; counts are always complete)",
    )
    p.add_argument(
        "--format",
        choices=["auto", "salesforce", "hubspot", "pipedrive", "zoho", "chinese", "generic"],
        default="auto",
        help="CRM the export comes from (default auto: detected, and printed with the reason)",
    )
    p.add_argument(
        "--suggest-mapping",
        action="store_true",
        help="write a starting mapping file from the headers instead of validating",
    )
    p.add_argument(
        "--mapping-out",
        metavar="FILE",
        default="salesanalytics-mapping.toml",
        help="where --suggest-mapping writes (default salesanalytics-mapping.toml; "
        "an existing file is never replaced)",
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "funnel",
        help="print reach and conversion per stage",
        description="Reach and conversion per stage with Wilson intervals.",
    )
    _add_load_options(p)
    p.add_argument(
        "--by",
        metavar="COL[,COL]",
        help="break down by one or two columns: lead_source, region, owner_id, team, "
        "created_month, created_quarter, ... (any deals column)",
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="compute as a report run on DATE would have (history after DATE ignored)",
    )
    p.add_argument(
        "--policy",
        choices=["implied", "observed", "strict"],
        default="implied",
        help="how skipped stages count (default implied)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV output")
    p.set_defaults(func=_cmd_funnel)

    p = sub.add_parser(
        "sample",
        help="write a synthetic dataset (canonical CSV files)",
        description="Generate a realistic synthetic dataset; the same seed "
        "gives byte-identical files.",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--deals", type=int, default=3000, metavar="N", help="deals (default 3000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_sample)

    from .cli_plans import add_plan_commands
    from .cli_report import add_report_command
    from .cli_simulate import add_simulate_command
    from .cli_sources import add_sources_command

    add_sources_command(sub, _add_load_options, _load)
    add_plan_commands(sub, _add_load_options, _load)
    add_simulate_command(sub, _add_load_options, _load)
    add_report_command(sub, _add_load_options, _load)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_BAD_INPUT
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except DataError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "bad input"
        print(f"salesanalytics: {first}", file=sys.stderr)
        rest = str(exc).strip().splitlines()[1:]
        if rest and not getattr(args, "json", False):
            print("\n".join(rest))
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # internal error: say so, exit 1
        print(f"salesanalytics: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
