"""``salesanalytics report``: exit codes, the files written, escaping, formula neutralisation,
provenance hashes, atomicity (a failed or killed run leaves the previous report intact) and
the lock. Fixtures (data with hostile strings, two plans, one built report) are in conftest."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from salesanalytics.report import LOCK_NAME, REPORT_NAME
from salesanalytics.report.write import MANIFEST_NAME, TMP_PREFIX

TABLES = {
    "summary",
    "funnel",
    "win_rate",
    "funnel_by_lead_source",
    "sources",
    "source_ranking",
    "sop_by_owner",
    "response_effect",
    "backtests",
    "backtest_by_rep",
    "cost_summary",
    "fairness",
    "fairness_gaps",
    "quality_counts",
    "quality_problems",
    "provenance",
    "run",
}
SECTIONS = ["summary", "funnel", "sources", "sop", "plans", "quality", "provenance"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------------- a good run
def test_quiet_run_writes_page_and_tables(built: Any) -> None:
    assert built.code == 0, built.stderr
    assert (built.stdout, built.stderr) == ("", "")
    names = {p.name for p in built.out.iterdir()}
    assert {f"{t}.csv" for t in TABLES} | {REPORT_NAME, MANIFEST_NAME} == names
    assert not any(n.startswith(TMP_PREFIX) for n in names)
    assert LOCK_NAME not in names


def test_page_is_self_contained(built: Any) -> None:
    from plotly.offline import get_plotlyjs

    page = (built.out / REPORT_NAME).read_text(encoding="utf-8")
    js = get_plotlyjs()
    assert page.count(js[:500]) == 1  # plotly.js embedded once
    rest = page.replace(js, "")
    assert "<script src" not in rest and "http://" not in rest and "https://" not in rest
    assert "Content-Security-Policy" in page
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page and f'href="#{sid}"' in page
    assert (
        page.count('class="plotly-graph-div"') == 7
    )  # funnel, heatmap, 2 sources, response, cost, fairness


def test_hostile_names_stay_text(built: Any, cli: Any) -> None:
    page = (built.out / REPORT_NAME).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    # inside the figures' JSON, '<' is escaped as \u003c, never a raw tag
    assert "alert(1)</script>" not in page


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_csv_formulas_neutralised(built: Any, cli: Any) -> None:
    assert f"'{cli.FORMULA}" in _cells(built.out / "sources.csv")
    assert cli.SCRIPT in _cells(built.out / "sources.csv")  # CSV keeps text as it is
    for path in built.out.glob("*.csv"):
        for cell in _cells(path):
            if cell.startswith(("=", "+", "-", "@")):
                assert _is_number(cell), (path.name, cell)


def test_provenance_hashes(built: Any, data_dir: Path) -> None:
    page = (built.out / REPORT_NAME).read_text(encoding="utf-8")
    listed = {row["sha256"] for row in csv.DictReader((built.out / "provenance.csv").open())}
    for path in data_dir.glob("*.csv"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest in listed and digest in page, path.name
    run = dict(csv.reader((built.out / "run.csv").open()))
    assert run["seed"] == "0" and run["trials"] == "64"
    assert run["command line"].startswith("salesanalytics report ")


def test_summary_and_tables_have_content(built: Any) -> None:
    rows = list(csv.DictReader((built.out / "cost_summary.csv").open()))
    assert [r["plan"] for r in rows] == ["current", "flat-rate"]
    fairness = list(csv.DictReader((built.out / "fairness.csv").open()))
    assert {r["metric"] for r in fairness} >= {"rank_correlation", "gini"}
    summary = {r["measure"]: r["value"] for r in csv.DictReader((built.out / "summary.csv").open())}
    assert summary["Deals"] == "600"


def test_loud_run_with_config_and_as_of(
    data_dir: Path, plans_dir: Path, tmp_path: Path, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "report.toml"
    config.write_text('[report]\ntitle = "Q2 <review>"\nsla_hours = 4\n', encoding="utf-8")
    out = tmp_path / "out"
    argv = [a for a in cli.args(data_dir, plans_dir, out) if a != "--quiet"]
    argv[argv.index("--trials") + 1] = "32"
    assert cli.run([*argv, "--config", str(config), "--as-of", "2025-06-30"]) == 0
    stdout, err = capsys.readouterr()
    assert stdout.startswith(f"wrote {out / REPORT_NAME}") and err == ""
    page = (out / REPORT_NAME).read_text(encoding="utf-8")
    assert "<title>Q2 &lt;review&gt;</title>" in page
    assert "as of 2025-06-30" in page and "within 4 h" in page
    run = dict(csv.reader((out / "run.csv").open()))
    assert run["as of (requested)"] == "2025-06-30" and run["trials"] == "32"
    assert "--config" in run["command line"]


def test_sections_the_data_cannot_support_say_why() -> None:
    from salesanalytics import sample
    from salesanalytics.io import read_plans
    from salesanalytics.report import ReportOptions, build_report

    ds = sample.generate(300, seed=1)
    plans = read_plans([Path(__file__).resolve().parents[2] / "data/sample/plans/current.toml"])
    report = build_report(ds.replace(leads=None, activities=None), plans, ReportOptions(trials=32))
    sop = next(s for s in report.sections if s.id == "sop")
    assert sop.blocks == () and sop.notes[0].startswith("not available for these data")
    assert "cost_summary" in report.tables and "sop_by_owner" not in report.tables


# ---------------------------------------------------------------------- bad input: exit 2
@pytest.mark.parametrize(
    "change",
    [
        "missing_data",
        "missing_plans",
        "bad_plan",
        "bad_config",
        "zero_trials",
        "bad_as_of",
    ],
)
def test_bad_input_exits_2_with_one_line(
    change: str,
    data_dir: Path,
    plans_dir: Path,
    tmp_path: Path,
    cli: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, plans, extra = data_dir, plans_dir, []
    if change == "missing_data":
        data = tmp_path / "nowhere"
    elif change == "missing_plans":
        plans = tmp_path / "no-plans"
    elif change == "bad_plan":
        plans = tmp_path / "plans"
        plans.mkdir()
        (plans / "broken.toml").write_text('name = "x"\n[commission\n', encoding="utf-8")
    elif change == "bad_config":
        config = tmp_path / "report.toml"
        config.write_text("[report]\ncolour = 'red'\n", encoding="utf-8")
        extra = ["--config", str(config)]
    elif change == "zero_trials":
        extra = ["--trials", "0"]
    elif change == "bad_as_of":
        extra = ["--as-of", "not-a-date"]
    out = tmp_path / "out"
    assert cli.run(cli.args(data, plans, out, *extra)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert not (out / REPORT_NAME).exists()
    assert not (out / LOCK_NAME).exists()


# ---------------------------------------------------------------------- atomicity
def test_failed_run_leaves_previous_report_intact(
    built: Any,
    data_dir: Path,
    plans_dir: Path,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from salesanalytics.report import write

    out = tmp_path / "out"
    shutil.copytree(built.out, out)
    before = _snapshot(out)
    calls = []
    real = write.write_csv_atomic

    def half_then_fail(frame: Any, path: Any) -> Path:
        calls.append(path)
        if len(calls) > len(TABLES) // 2:
            raise OSError(28, "No space left on device")
        return real(frame, path)

    monkeypatch.setattr(write, "write_csv_atomic", half_then_fail)
    assert cli.run(cli.args(data_dir, plans_dir, out, "--seed", "5")) == 1
    assert "internal error" in capsys.readouterr().err
    assert _snapshot(out) == before  # byte-identical, nothing added
    assert not any(p.name.startswith(TMP_PREFIX) for p in out.iterdir())


def test_killed_run_leaves_previous_report_intact_and_next_run_recovers(
    built: Any, data_dir: Path, plans_dir: Path, tmp_path: Path, cli: Any
) -> None:
    out = tmp_path / "out"
    shutil.copytree(built.out, out)
    before = _snapshot(out)
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from salesanalytics.report import write
        real, calls = write.write_csv_atomic, []
        def killed(frame, path):
            calls.append(path)
            if len(calls) == 4:
                os.kill(os.getpid(), signal.SIGKILL)  # as a cron timeout or OOM would
            return real(frame, path)
        write.write_csv_atomic = killed
        from conftest import run
        sys.exit(run({cli.args(data_dir, plans_dir, out, "--seed", "5")!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    # the previous files are intact; the dead run left its lock and temporary folder
    after = _snapshot(out)
    assert {k: after[k] for k in before} == before
    assert LOCK_NAME in after
    assert any(p.name.startswith(TMP_PREFIX) for p in out.iterdir())
    # the next run takes the stale lock over, cleans up and writes a new report
    assert cli.run(cli.args(data_dir, plans_dir, out, "--seed", "5")) == 0
    names = {p.name for p in out.iterdir()}
    assert LOCK_NAME not in names and not any(n.startswith(TMP_PREFIX) for n in names)
    assert "seed 5" in (out / REPORT_NAME).read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the lock
def test_live_lock_exits_2_and_is_left_alone(
    data_dir: Path, plans_dir: Path, tmp_path: Path, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(str(holder.pid), encoding="ascii")
        assert cli.run(cli.args(data_dir, plans_dir, out)) == 2
        err = capsys.readouterr().err
        assert f"another report run (process {holder.pid})" in err
        assert len(err.strip().splitlines()) == 1
        assert (out / LOCK_NAME).read_text(encoding="ascii") == str(holder.pid)
        assert not (out / REPORT_NAME).exists()
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_is_taken_over(tmp_path: Path) -> None:
    from salesanalytics.report import report_lock

    lock = tmp_path / LOCK_NAME
    lock.write_text(str(_dead_pid()), encoding="ascii")
    with report_lock(tmp_path) as held:
        assert held.read_text(encoding="ascii") == str(os.getpid())
    assert not lock.exists()


def test_young_lock_without_pid_counts_as_held(tmp_path: Path) -> None:
    from salesanalytics.report import LockHeld, report_lock

    (tmp_path / LOCK_NAME).write_text("", encoding="ascii")  # being written right now
    with pytest.raises(LockHeld), report_lock(tmp_path):
        pass


def test_lock_is_released_after_a_failure(tmp_path: Path) -> None:
    from salesanalytics.report import report_lock

    with pytest.raises(RuntimeError), report_lock(tmp_path):
        raise RuntimeError("boom")
    assert not (tmp_path / LOCK_NAME).exists()
