"""``salesanalytics simulate`` on data/sample: exit codes, JSON content, CSV neutralisation, and
one-line reasons for bad input. Parsers are built the way ``salesanalytics.cli`` builds them."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from salesanalytics.cli import _add_load_options, _load, _Parser
from salesanalytics.cli_simulate import add_simulate_command
from salesanalytics.quality import DataError

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FLAT = """
name = "{name}"
currency = "CNY"
period = "month"

[eligibility]
roles = ["AE"]

[commission]
measure = "bookings"
method = "marginal"
rate_of = "measure"

[[commission.tiers]]
from = 0.0
rate = 0.06
"""
TIERED = """
name = "tiered"
currency = "CNY"
period = "month"

[eligibility]
roles = ["AE"]

[commission]
measure = "bookings"
method = "marginal"
rate_of = "measure"
base_rate = 0.08

[[commission.tiers]]
from = 0.0
multiplier = 0.5

[[commission.tiers]]
from = 0.5
multiplier = 1.0

[[commission.tiers]]
from = 1.0
multiplier = 1.5
"""


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="salesanalytics")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_simulate_command(sub, _add_load_options, _load)
    return parser


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, handled as ``salesanalytics.cli.main`` does."""
    try:
        args = _parser().parse_args(argv)
        code = int(args.func(args))
    except SystemExit as exc:  # usage errors: _Parser raises with the message
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        code = 2 if isinstance(exc.code, str) else int(exc.code or 0)
    except DataError as exc:
        print(f"salesanalytics: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("plans")
    flat, tiered = folder / "flat.toml", folder / "tiered.toml"
    flat.write_text(FLAT.format(name="flat"), encoding="utf-8")
    tiered.write_text(TIERED, encoding="utf-8")
    return flat, tiered


def _args(plans: tuple[Path, Path], *extra: str) -> list[str]:
    flat, tiered = plans
    return [
        "simulate",
        str(SAMPLE),
        "--plan",
        str(flat),
        "--plan",
        str(tiered),
        "--trials",
        "64",
        "--seed",
        "3",
        "--scenario",
        "attainment",
        *extra,
    ]


def test_json(plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(_args(plans, "--budget", "8000000", "--json"), capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == ["flat", "tiered"]
    assert (doc["trials"], doc["seed"], doc["budget"]) == (64, 3, 8_000_000.0)
    assert doc["scenario"] == "attainment" and doc["currency"] == "CNY"
    summary = {r["plan"]: r for r in doc["cost_summary"]}
    assert set(summary) == {"flat", "tiered"}
    for row in summary.values():
        assert row["expected_total_low"] <= row["expected_total"] <= row["expected_total_high"]
        assert row["total_p10"] <= row["total_p50"] <= row["total_p90"] <= row["total_p99"]
        assert 0 <= row["p_over_budget"] <= 1
    assert summary["flat"]["jensen_gap"] == pytest.approx(0.0, abs=1e-6)  # linear plan
    comparison = {(r["plan"], r["measure"]): r for r in doc["comparison"]}
    assert set(comparison) == {("tiered", "total"), ("tiered", "variable"), ("tiered", "revenue")}
    total = comparison[("tiered", "total")]
    assert total["low"] <= total["mean_difference"] <= total["high"]
    assert total["mean_difference"] == pytest.approx(
        summary["tiered"]["expected_total"] - summary["flat"]["expected_total"]
    )
    assert comparison[("tiered", "revenue")]["mean_difference"] == 0  # same trials
    winners = doc["winners_losers"]["tiered"]
    ids = [w["rep_id"] for w in winners]
    assert 0 < len(ids) <= doc["reps"] and len(set(ids)) == len(ids)  # AEs only, once each
    assert {"rep_id", "mean_diff", "p_gain", "p_loss", "outcome"} <= set(winners[0])
    assert {w["outcome"] for w in winners} <= {"gains", "loses", "mixed"}
    # reproducible: the same seed gives the same document
    again = json.loads(_run(_args(plans, "--budget", "8000000", "--json"), capsys)[1])
    assert again == doc


def test_text(plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(_args(plans), capsys)
    assert code == 0, err
    assert "Simulation of 2 plan(s) over 64 trials (seed 3)" in out
    assert "expected_total" in out and "p_over_budget" not in out
    assert "Against the baseline flat" in out
    assert "tiered:" in out and "reps gain" in out


def test_csv_neutralised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "evil.toml"
    evil.write_text(FLAT.format(name="=HYPERLINK(1)"), encoding="utf-8")
    argv = ["simulate", str(SAMPLE), "--plan", str(evil), "--trials", "32"]
    code, out, err = _run([*argv, "--scenario", "attainment", "--csv"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("plan,expected_total,")
    assert len(lines) == 2 and lines[1].startswith("'=HYPERLINK(1),")


def test_history_scenario(plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a for a in _args(plans, "--json") if a not in ("--scenario", "attainment")]
    code, out, err = _run(argv, capsys)
    if importlib.util.find_spec("salesanalytics.simulation.history") is None:
        assert code == 2
        assert err.count("\n") == 1 and "--scenario attainment" in err
    else:
        assert code == 0, err
        assert json.loads(out)["scenario"] == "history"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--trials", "0"], "--trials must be at least 1"),
        (["--budget", "-5"], "--budget must be a positive amount"),
        (["--attainment-sd", "-0.1"], "--attainment-sd must be zero or more"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bad_options(
    plans: tuple[Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = _run(_args(plans, *extra), capsys)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_bad_plans_and_usage(
    plans: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat, _ = plans
    base = ["simulate", str(SAMPLE), "--trials", "32", "--scenario", "attainment"]
    code, _, err = _run([*base, "--plan", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and "cannot read the plan file" in err and err.count("\n") == 1
    broken = tmp_path / "broken.toml"
    broken.write_text(FLAT.format(name="x").replace("rate = 0.06", "rate = -1"), "utf-8")
    code, _, err = _run([*base, "--plan", str(broken)], capsys)
    assert code == 2 and "rate" in err and err.count("\n") == 1
    code, _, err = _run([*base, "--plan", str(flat), "--plan", str(flat)], capsys)
    assert code == 2 and "plan names must differ" in err
    code, _, err = _run(["simulate", str(SAMPLE), "--trials", "32"], capsys)  # no --plan
    assert code == 2 and "the following arguments are required: --plan" in err
    code, _, err = _run([*base, "--plan", str(flat), "--json", "--csv"], capsys)
    assert code == 2 and "not allowed with" in err
    sd_history = ["simulate", str(SAMPLE), "--plan", str(flat), "--attainment-sd", "0.3"]
    code, _, err = _run(sd_history, capsys)
    assert code == 2 and "--scenario attainment only" in err
