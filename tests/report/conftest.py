"""Shared fixtures of the report tests: small sample data with hostile strings, two plans, and
one report built from them by the ``report`` command (built once per session: ~5 s)."""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from salesanalytics.cli import _add_load_options, _load, _Parser
from salesanalytics.cli_report import add_report_command
from salesanalytics.quality import DataError

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "data" / "sample" / "plans"
SCRIPT = "<script>alert(1)</script>"
"""A lead source that must stay text in the page."""
IMG = '<img src=x onerror="alert(2)">'
"""A team name that must stay text in the page."""
FORMULA = "=cmd|' /C calc'!A0"
"""A lead source that a spreadsheet would run as a formula."""
TRIALS = "64"


def parser() -> argparse.ArgumentParser:
    """A parser with only the ``report`` command, built as ``salesanalytics.cli`` builds it."""
    p = _Parser(prog="salesanalytics")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_report_command(sub, _add_load_options, _load)
    return p


def run(argv: Sequence[str]) -> int:
    """The exit code, with errors handled as ``salesanalytics.cli.main`` handles them."""
    try:
        args = parser().parse_args(list(argv))
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except DataError as exc:
        print(f"salesanalytics: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"salesanalytics: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 sample deals saved as CSV, with hostile lead-source and team names."""
    from salesanalytics import sample
    from salesanalytics.io import save

    ds = sample.generate(600, seed=0)
    rename = {"webinar": SCRIPT, "social": FORMULA}
    changes = {
        name: ds.table(name).assign(lead_source=ds.table(name)["lead_source"].replace(rename))
        for name in ("deals", "leads", "spend")
    }
    reps = ds.reps.assign(
        team=ds.reps["team"].mask(ds.reps["team"] == ds.reps["team"].iloc[0], IMG)
    )
    folder = tmp_path_factory.mktemp("data")
    save(ds.replace(reps=reps, **changes), folder)
    return folder


@pytest.fixture(scope="session")
def plans_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two AE plans from data/sample/plans."""
    folder = tmp_path_factory.mktemp("plans")
    for name in ("current.toml", "flat-rate.toml"):
        shutil.copy(PLANS / name, folder / name)
    return folder


def report_args(data: Path, plans: Path, out: Path, *extra: str) -> list[str]:
    """Arguments of a quick, quiet report run."""
    return ["report", str(data), "--plans", str(plans), "--out", str(out), "--trials", TRIALS,
            "--quiet", *extra]  # fmt: skip


@dataclass(frozen=True)
class Built:
    """One run: its output folder, exit code and what it printed."""

    out: Path
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def built(data_dir: Path, plans_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One quiet run of the ``report`` command on the hostile sample data."""
    out = tmp_path_factory.mktemp("out")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run(report_args(data_dir, plans_dir, out))
    return Built(out, code, stdout.getvalue(), stderr.getvalue())


class Cli:
    """What the tests need from this file (tests are not a package): the hostile strings, the
    argument builder and the runner."""

    SCRIPT = SCRIPT
    IMG = IMG
    FORMULA = FORMULA
    PLANS = PLANS
    ROOT = ROOT
    run = staticmethod(run)
    args = staticmethod(report_args)


@pytest.fixture(scope="session")
def cli() -> type[Cli]:
    """The helpers of this file, as a fixture."""
    return Cli
