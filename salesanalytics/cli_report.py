"""Command-line command ``report``: one self-contained HTML page plus its tables as CSV.

Registered by :mod:`salesanalytics.cli`; same exit codes (0 ok, 2 bad input, 1 internal).

``salesanalytics report PATH --plans DIR --out DIR [--as-of DATE] [--config FILE]
[--trials N] [--seed S] [--quiet]`` loads the data and the plans, builds the report
(:mod:`salesanalytics.report`) and writes ``DIR/report.html`` and the CSV files atomically
under a lock. Cron-safe: nothing prompts, nothing goes to the network or a display, and
``--quiet`` prints nothing on success. See ``docs/report.md``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import time
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .quality import DataError

__all__ = ["CONFIG_KEYS", "add_report_command", "read_config"]

EXIT_OK = 0
DEFAULT_TRIALS = 200
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "trials": int,
    "seed": int,
    "sla_hours": (int, float),
    "funnel_by": str,
    "budget": (int, float),
}
"""Keys of the ``[report]`` table of a ``--config`` file and their types."""


def read_config(path: str | Path) -> dict[str, Any]:
    """The ``[report]`` table of a TOML config file, checked (bad file or key: DataError).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "report.toml")
    ...     _ = open(f, "w").write('[report]\\ntitle = "Q3"\\nsla_hours = 4\\n')
    ...     read_config(f)
    {'title': 'Q3', 'sla_hours': 4}
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: the config file is not UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from None
    section = doc.get("report", {})
    if not isinstance(section, dict) or set(doc) - {"report"}:
        raise DataError(f"{path}: put the settings in a [report] table")
    for key, value in section.items():
        kind = CONFIG_KEYS.get(key)
        if kind is None:
            known = ", ".join(sorted(CONFIG_KEYS))
            raise DataError(f"{path}: unknown setting report.{key} (known: {known})")
        if isinstance(value, bool) or not isinstance(value, kind):
            raise DataError(f"{path}: report.{key} has the wrong type ({type(value).__name__})")
    return dict(section)


def _read_plans(folder: str) -> Any:
    from .io.plan_files import read_plans
    from .plans import PlanError

    if not Path(folder).is_dir():
        raise DataError(f"--plans {folder}: not a folder of plan TOML files")
    try:
        return read_plans(folder)
    except PlanError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"{folder}: cannot read the plan files ({exc.strerror or exc})") from None


def _command_line(args: argparse.Namespace) -> str:
    """The command as it would be typed, rebuilt from the parsed options."""
    parts = ["salesanalytics", "report", *map(str, args.path), "--plans", str(args.plans)]
    parts += ["--out", str(args.out)]
    for flag, value in [
        ("--mapping", args.mapping),
        ("--timezone", args.timezone),
        ("--as-of", args.as_of),
        ("--config", args.config),
        ("--trials", args.trials),
        ("--seed", args.seed),
    ]:
        if value is not None:
            parts += [flag, str(value)]
    if args.dayfirst is not None:
        parts.append("--dayfirst" if args.dayfirst else "--monthfirst")
    return shlex.join(parts)


def _options(args: argparse.Namespace) -> Any:
    from .report import ReportOptions

    settings = read_config(args.config) if args.config else {}
    if args.trials is not None:
        settings["trials"] = args.trials
    if args.seed is not None:
        settings["seed"] = args.seed
    opts = ReportOptions(**{"trials": DEFAULT_TRIALS, **settings})
    if opts.trials < 1:
        raise DataError(f"--trials must be at least 1, got {opts.trials}")
    if not (math.isfinite(opts.sla_hours) and opts.sla_hours > 0):
        raise DataError(f"sla_hours must be a positive number of hours, got {opts.sla_hours}")
    if opts.budget is not None and not (math.isfinite(opts.budget) and opts.budget > 0):
        raise DataError(f"budget must be a positive amount, got {opts.budget}")
    return replace(
        opts,
        budget=None if opts.budget is None else float(opts.budget),
        sla_hours=float(opts.sla_hours),
        command=_command_line(args),
        generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        as_of=args.as_of,
        inputs=tuple(str(p) for p in args.path),
    )


def _cmd_report(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    from .asof import as_known_at
    from .report import build_report, report_lock, write_report
    from .report.write import remove_leftovers

    started = time.perf_counter()
    opts = _options(args)
    plans = _read_plans(args.plans)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: exists and is not a folder")
    with report_lock(out):
        remove_leftovers(out)
        ds = load(args)
        if args.as_of:
            try:
                ds = as_known_at(ds, args.as_of)
            except ValueError as exc:
                raise DataError(f"--as-of {args.as_of!r}: not a date ({exc})") from None
        if ds.deals.empty:
            raise DataError("no usable deals in the data (run salesanalytics validate to see why)")
        report = build_report(ds, plans, opts)
        paths = write_report(report, out)
    if not args.quiet:
        size = paths[0].stat().st_size
        print(
            f"wrote {paths[0]} ({size / 1e6:.1f} MB, {report.figures} figures) and "
            f"{len(paths) - 1} CSV tables to {out} in {time.perf_counter() - started:.1f} s"
        )
    return EXIT_OK


def add_report_command(
    sub: Any,
    add_load_options: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace], Any],
) -> None:
    """Register ``report`` on the subcommand parser ``sub``."""
    p = sub.add_parser(
        "report",
        help="write the HTML report (funnel, sources, SOP, plans, quality) and its CSV tables",
        description="Build one self-contained HTML report (works offline, opens from disk) "
        "and the underlying tables as CSV files in --out, atomically and under a lock. "
        "Exit 0 ok, 2 bad input or another run holds the lock, 1 internal error.",
    )
    add_load_options(p)
    p.add_argument(
        "--plans", required=True, metavar="DIR", help="folder of commission plan TOML files"
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="report as it would have been on DATE (history after DATE ignored)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML file with a [report] table (docs/report.md)"
    )
    p.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help=f"simulated years per group of plans (default {DEFAULT_TRIALS})",
    )
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=lambda args: _cmd_report(args, load))
