"""The command line: exit codes, one-line errors, JSON shape, byte-identical samples."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from salesanalytics import __version__
from salesanalytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"salesanalytics {__version__}"
    for cmd in ("validate", "funnel", "sample"):
        code, out, _ = run([cmd, "--help"], capsys)
        assert code == 0 and "usage: salesanalytics " + cmd in out


def test_entry_point_is_installed() -> None:
    exe = Path(sys.executable).parent / "salesanalytics"
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and __version__ in done.stdout


def test_validate_sample_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", str(SAMPLE)], capsys)
    assert code == 0, err
    assert "Usable:" in out and "balanced: True" in out
    code, out, _ = run(["validate", str(SAMPLE), "--json", "--max-problems", "3"], capsys)
    payload = json.loads(out)
    assert code == 0 and payload["usable"] and payload["balanced"]
    assert {
        "version",
        "paths",
        "as_of",
        "fidelity",
        "timezone",
        "sources",
        "tables",
        "problem_counts",
        "problems",
        "problems_truncated",
        "notes",
    } <= set(payload)
    assert len(payload["problems"]) <= 3
    deals = payload["tables"]["deals"]
    assert deals["rows_in"] == deals["loaded"] + deals["merged"] + deals["rejected"]
    assert all(len(s["sha256"]) == 64 for s in payload["sources"])


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["validate", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no such file" in err
    bad = tmp_path / "deals.csv"
    bad.write_text(
        "deal_id,created_at,outcome,amount,owner_id\nD1,2024-01-01,open,-5,r\n"
        "D2,2024-01-01,open,5,r\n",
        encoding="utf-8",
    )
    code, out, err = run(["validate", str(bad), "--strict"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "deals.csv:2 column amount" in err
    code, out, err = run(["validate", str(bad)], capsys)
    assert code == 0 and "negative_amount" in out
    code, _, err = run(["validate"], capsys)
    assert code == 2 and "error" in err
    code, _, err = run(["validate", str(bad), "--mapping", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and "mapping file not found" in err


def test_funnel_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["funnel", str(SAMPLE)], capsys)
    assert code == 0 and "cohort view" in out and "Win rate" in out
    code, out, _ = run(["funnel", str(SAMPLE), "--json", "--policy", "observed"], capsys)
    payload = json.loads(out)
    assert payload["policy"] == "observed"
    assert [s["stage"] for s in payload["stages"]] == [
        "lead",
        "contacted",
        "proposal",
        "negotiation",
        "won",
    ]
    code, out, _ = run(["funnel", str(SAMPLE), "--csv"], capsys)
    assert out.splitlines()[0].startswith("stage,reached,still_open")


def test_sample_is_byte_identical_for_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def digest(folder: Path) -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
        }

    for name in ("a", "b"):
        code, _, err = run(
            ["sample", "--out", str(tmp_path / name), "--deals", "300", "--seed", "7", "--quiet"],
            capsys,
        )
        assert code == 0, err
    code, _, _ = run(
        ["sample", "--out", str(tmp_path / "c"), "--deals", "300", "--seed", "8", "--quiet"], capsys
    )
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b and a != c
    assert {
        "deals.csv",
        "stage_events.csv",
        "leads.csv",
        "activities.csv",
        "reps.csv",
        "quotas.csv",
        "spend.csv",
    } <= set(a)
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.endswith(".tmp")]
    code, _, err = run(["sample", "--out", str(tmp_path / "d"), "--deals", "0"], capsys)
    assert code == 2


def test_committed_sample_is_what_the_generator_makes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """data/sample is reproducible: the documented command regenerates the same bytes."""
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.strip().startswith("salesanalytics sample"))
    args = line.strip().split()[1:]
    out_at = args.index("--out")
    args[out_at + 1] = str(tmp_path / "regen")
    code, _, err = run([*args, "--quiet"], capsys)
    assert code == 0, err
    for p in sorted((tmp_path / "regen").iterdir()):
        assert p.read_bytes() == (SAMPLE / p.name).read_bytes(), p.name


def test_funnel_by_and_as_of(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["funnel", str(SAMPLE), "--by", "region", "--as-of", "2025-06-30", "--json"], capsys
    )
    payload = json.loads(out)
    assert code == 0 and payload["by"] == ["region"]
    assert payload["as_of"].startswith("2025-06-30")
    assert {s["region"] for s in payload["stages"]} == {"East", "North", "South", "West"}
    full = json.loads(run(["funnel", str(SAMPLE), "--json"], capsys)[1])
    assert payload["deals"] < full["deals"] == 3000
    code, _, err = run(["funnel", str(SAMPLE), "--by", "a,b,c"], capsys)
    assert code == 2 and "one or two" in err
    code, _, err = run(["funnel", str(SAMPLE), "--by", "nope"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_funnel_csv_neutralises_formulas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,outcome,amount,owner_id,lead_source\n"
        "A,2024-01-01,open,5,r,=HYPERLINK(1)\nB,2024-01-01,won,5,r,web\n",
        encoding="utf-8",
    )
    code, out, _ = run(
        ["funnel", str(tmp_path / "deals.csv"), "--by", "lead_source", "--csv"], capsys
    )
    assert code == 0
    assert "'=HYPERLINK(1)" in out and "\n=HYPERLINK" not in out
