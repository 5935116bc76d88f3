"""`salesanalytics plan scan`: text, JSON and CSV output, inputs from numbers or from data,
and bad input (exit 2 through DataError)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.cli_scan import add_scan_command
from salesanalytics.quality import DataError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
STEP_PLAN = """
name = "{name}"
period = "month"

[commission]
[[commission.tiers]]
from = 0.0
rate = 0.05

[[bonuses]]
name = "quota"
kind = "step"
points = [{{ at = 1.0, amount = 5000.0 }}]
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salesanalytics")
    sub = p.add_subparsers(dest="command", required=True)
    plan_sub = sub.add_parser("plan").add_subparsers(dest="plan_command", required=True)
    add_scan_command(plan_sub)
    return p


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    args = parser().parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


@pytest.fixture
def step(tmp_path: Path) -> Path:
    path = tmp_path / "step.toml"
    path.write_text(STEP_PLAN.format(name="=step"), encoding="utf-8")
    return path


NUMBERS = ["--quota", "1200000", "--target-incentive", "60000", "--deal", "20000"]


def test_text(step: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "scan", str(step), *NUMBERS], capsys)
    assert code == 0
    assert "Gaming risks of plan '=step'" in out and "5,000.00" in out
    assert "1. closing one 20,000 deal that lifts attainment from 80% to 100%" in out
    assert "from next month into this month lifts attainment past the 100% cliff" in out


def test_json(step: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "scan", str(step), *NUMBERS, "--json"], capsys)
    payload = json.loads(out)
    (plan,) = payload["plans"]
    assert code == 0 and plan["inputs"]["deal"] == 20000.0
    assert [r["at_stake"] for r in plan["rows"]] == [5000.0, 5000.0]
    assert plan["rows"][0]["move"] == "threshold" and plan["rows"][0]["rank"] == 1


def test_csv_neutralises_formulas(step: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["plan", "scan", str(step), *NUMBERS, "--csv"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert code == 0 and set(frame["plan"]) == {"'=step"}
    assert frame["at_stake"].tolist() == [5000.0, 5000.0]


def test_top_and_flat_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat = tmp_path / "flat.toml"
    flat.write_text(
        'name = "flat"\n[commission]\n[[commission.tiers]]\nfrom = 0.0\nrate = 0.05\n',
        encoding="utf-8",
    )
    code, out = run(["plan", "scan", str(flat), "--quota", "1e6", "--deal", "1e4"], capsys)
    assert code == 0 and "no cliffs or kinks" in out


@pytest.mark.slow
def test_data(capsys: pytest.CaptureFixture[str]) -> None:
    plans = SAMPLE / "plans"
    files = [str(plans / "current.toml"), str(plans / "retroactive-gate-cap.toml")]
    code, out = run(["plan", "scan", *files, "--data", str(SAMPLE), "--json"], capsys)
    payload = json.loads(out)
    assert code == 0 and [p["plan"] for p in payload["plans"]] == [
        "current",
        "retroactive-gate-cap",
    ]
    current = payload["plans"][0]
    assert current["rows"][0]["source"] == "attainment cap"
    # a number given overrides the data's
    code, out = run(
        ["plan", "scan", files[0], "--data", str(SAMPLE), "--deal", "1000", "--json"], capsys
    )
    assert json.loads(out)["plans"][0]["inputs"]["deal"] == 1000.0


def test_bad_input(step: Path, tmp_path: Path) -> None:
    p = parser()
    args = p.parse_args(["plan", "scan", str(step), "--quota", "1e6"])
    with pytest.raises(DataError, match="--data PATH, or --quota and --deal"):
        args.func(args)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nperiod = "week"\n', encoding="utf-8")
    args = p.parse_args(["plan", "scan", str(bad), "--quota", "1e6", "--deal", "1"])
    with pytest.raises(DataError, match="period"):
        args.func(args)
    args = p.parse_args(
        ["plan", "scan", str(tmp_path / "missing.toml"), "--quota", "1", "--deal", "1"]
    )
    with pytest.raises(DataError):
        args.func(args)
    args = p.parse_args(["plan", "scan", str(step), "--quota", "1e6", "--deal", "-5"])
    with pytest.raises(DataError, match="typical_deal"):
        args.func(args)
