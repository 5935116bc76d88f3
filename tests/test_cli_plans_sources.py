"""`salesanalytics sources`, `payouts` and `plan check`: exit codes, JSON and CSV output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PLANS = SAMPLE / "plans"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_sources_text_json_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sources", str(SAMPLE)], capsys)
    assert code == 0 and "Lead-source quality" in out and "referral" in out
    code, out, _ = run(["sources", str(SAMPLE), "--json", "--rate", "lead_to_won"], capsys)
    payload = json.loads(out)
    assert code == 0 and payload["comparison"]["rate"] == "lead_to_won"
    ranking = payload["comparison"]["ranking"]
    assert ranking[0]["rank"] == 1 and {r["lead_source"] for r in ranking} >= {"referral"}
    code, out, _ = run(["sources", str(SAMPLE), "--csv", "--period", "quarter"], capsys)
    frame = pd.read_csv(io.StringIO(out))
    assert code == 0 and {"lead_source", "created_quarter", "lead_to_deal"} <= set(frame.columns)


def test_sources_bad_column_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["sources", str(SAMPLE), "--by", "no_such_column"], capsys)
    assert code == 2 and err.startswith("salesanalytics: sources:")


def test_payouts_reconcile_in_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["payouts", str(SAMPLE), "--plan", str(PLANS / "current.toml"), "--json"], capsys
    )
    payload = json.loads(out)
    assert code == 0 and payload["plan"] == "current" and len(payload["periods"]) == 24
    by_rep = pd.DataFrame(payload["by_rep"])
    assert by_rep["total"].sum() == pytest.approx(payload["total"], abs=0.01 * len(payload["rows"]))
    code, out, _ = run(
        ["payouts", str(SAMPLE), "--plan", str(PLANS / "current.toml"), "--csv", "--lines"], capsys
    )
    lines = pd.read_csv(io.StringIO(out))
    assert code == 0 and int(lines["cents"].sum()) == round(payload["total"] * 100)
    code, out, _ = run(["payouts", str(SAMPLE), "--plan", str(PLANS / "flat-rate.toml")], capsys)
    assert code == 0 and "Plan total (sum of" in out


def test_plan_check_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(["plan", "check", str(PLANS)], capsys)
    assert code == 0 and "error" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[commission]\n[[commission.tiers]]\nrat = 0.05\n', "utf-8")
    code, out, _ = run(["plan", "check", str(bad)], capsys)
    assert code == 2 and "did you mean 'rate'" in out and "bad.toml" in out
    code, _, err = run(["payouts", str(SAMPLE), "--plan", str(bad)], capsys)
    assert code == 2 and "bad.toml" in err and "[commission]" in err
    code, _, err = run(["payouts", str(SAMPLE), "--plan", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and "missing.toml" in err
