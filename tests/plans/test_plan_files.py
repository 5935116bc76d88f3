"""Plan files: reading, syntax errors with lines, folders, checks, and the sample plan library."""

from __future__ import annotations

import io
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.io.plan_files import check_plan_file, plan_check_main, read_plan, read_plans
from salesanalytics.plans import PlanError
from salesanalytics.plans.kernel import tier_commission
from salesanalytics.plans.parse import plan_from_dict, plan_to_dict

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "data" / "sample" / "plans"
LIBRARY_FILES = sorted(LIBRARY.glob("*.toml"))

FLAT = 'name = "flat"\n[commission]\n[[commission.tiers]]\nrate = 0.05\n'


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------ the library
def test_library_has_current_and_alternatives() -> None:
    names = {p.stem for p in LIBRARY_FILES}
    assert {
        "current",
        "flat-rate",
        "marginal-accelerators",
        "retroactive-gate-cap",
        "team-pool",
    } <= names
    for path in LIBRARY_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"# {path.name}"), f"{path.name} lacks its header comment"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_library_file_parses_without_errors_or_warnings(path: Path) -> None:
    plan = read_plan(path)
    assert plan.name == path.stem and plan.currency == "CNY"
    assert plan_from_dict(plan_to_dict(plan)) == plan
    findings = check_plan_file(path)
    assert not [f for f in findings if ": error: " in f or ": warning: " in f], findings


def test_library_plans_pay_the_target_incentive_at_quota() -> None:
    """Target-incentive plans pay exactly 1.0 x TI at 100% (team pool: 0.8 + the pool's 0.2);
    bookings plans pay ~6% of quota, the sample's sum of monthly TI over sum of quota."""
    reps = pd.read_csv(ROOT / "data/sample/reps.csv")
    quotas = pd.read_csv(ROOT / "data/sample/quotas.csv", parse_dates=["period_start"])
    q = quotas.merge(reps, on="rep_id")
    q = q[(q.role == "AE") & (q.period_start - pd.to_datetime(q.hire_date)).dt.days.gt(150)]
    ti_per_quota = (q.target_incentive / 12).sum() / q.quota.sum()
    assert ti_per_quota == pytest.approx(0.06, abs=0.001)
    mix = {"Platform": 1.0, "Analytics": 1.0, "Services": 0.8, "Hardware": 0.5}
    deals = pd.read_csv(ROOT / "data/sample/deals.csv")
    won = deals[deals.outcome == "won"]
    weight = (won.amount * won.product_line.map(mix)).sum() / won.amount.sum()
    for plan in read_plans(LIBRARY):
        at_quota = 0.0
        if plan.commission is not None:
            at_quota = float(tier_commission(plan.commission, np.array([1.0]))[0][0])
        for b in plan.bonuses:
            at_quota += float(np.interp(1.0, *zip(*b.points, strict=True)))
        if plan.commission is None or plan.commission.rate_of == "target_incentive":
            pool = 1.0 - at_quota if plan.team_pools else 0.0
            if plan.team_pools:
                assert plan.team_pools[0].rate == pytest.approx(pool * ti_per_quota, rel=0.05)
            assert at_quota + pool == pytest.approx(1.0), plan.name
        else:
            w = weight if plan.rate_cards else 1.0
            assert at_quota * w == pytest.approx(ti_per_quota, rel=0.03), plan.name


# ------------------------------------------------------------------ reading
def test_read_plan_never_writes(tmp_path: Path) -> None:
    path = _write(tmp_path, "flat.toml", FLAT)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert read_plan(path).commission is not None
    check_plan_file(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", 'name = "x"\n\n[commission\nmethod = "marginal"\n')
    with pytest.raises(PlanError) as info:
        read_plan(path)
    err = info.value
    assert (err.file, err.component, err.field) == (str(path), "toml", "line 3")
    assert "[commission" in err.problem and "Fix: " in str(err)
    dup = _write(tmp_path, "dup.toml", 'name = "x"\nname = "y"\n')
    with pytest.raises(PlanError, match=r"dup.toml: \[toml\] line 2: .*Fix: each key once"):
        read_plan(dup)


def test_encoding_bom_and_not_utf8(tmp_path: Path) -> None:
    assert read_plan(_write(tmp_path, "bom.toml", "\ufeff" + FLAT)).name == "flat"
    path = _write(tmp_path, "gbk.toml", FLAT + 'description = "销售计划"\n', "gb18030")
    with pytest.raises(PlanError, match=r"gbk.toml: \[file\] line 5: .*UTF-8"):
        read_plan(path)


def test_plan_error_from_file_names_file_component_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.toml", FLAT.replace("rate = 0.05", "rate = 5"))
    with pytest.raises(PlanError) as info:
        read_plan(path)
    assert (info.value.file, info.value.component, info.value.field) == (
        str(path),
        "commission",
        "tiers[1].rate",
    )
    assert "rate = 0.05" in str(info.value)


def test_read_plans_folder_sorted_and_duplicates(tmp_path: Path) -> None:
    _write(tmp_path, "b.toml", FLAT.replace('"flat"', '"b"'))
    _write(tmp_path, "a.toml", FLAT.replace('"flat"', '"a"'))
    _write(tmp_path, "notes.txt", "not a plan")
    assert [p.name for p in read_plans(tmp_path)] == ["a", "b"]
    assert [p.name for p in read_plans([tmp_path / "b.toml"])] == ["b"]
    _write(tmp_path, "c.toml", FLAT.replace('"flat"', '"a"'))
    with pytest.raises(PlanError) as info:
        read_plans(tmp_path)
    assert info.value.file.endswith("c.toml") and info.value.field == "name"
    assert "a.toml" in info.value.problem
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PlanError, match=r"no \*\.toml plan files"):
        read_plans(empty)


# ------------------------------------------------------------------ checks
WARNINGS = [
    (  # retroactive decelerator: pay falls at 100%
        "[commission]\nmethod = 'retroactive'\n[[commission.tiers]]\nrate = 0.06\n"
        "[[commission.tiers]]\nfrom = 1.0\nrate = 0.04\n",
        "[commission] tiers[2].rate: pay falls from 6% of quota to 4% of quota at 100% attainment",
    ),
    (  # cap below accelerator
        "[commission]\ncap_attainment = 0.9\n[[commission.tiers]]\nrate = 0.05\n"
        "[[commission.tiers]]\nfrom = 1.0\nrate = 0.08\n",
        "[commission] cap_attainment: the attainment cap 90% is at or below",
    ),
    (  # payout cap (on target incentive) below accelerator
        "[commission]\nrate_of = 'target_incentive'\ncap_payout_ti = 0.8\n"
        "[[commission.tiers]]\nrate = 1.0\n[[commission.tiers]]\nfrom = 1.0\nrate = 1.5\n",
        "[commission] cap_payout_ti: the payout cap 0.8 x target incentive",
    ),
    (  # draw above the target incentive per month
        "target_incentive = 120000\n[draw]\namount = 20000\n" + FLAT.split("\n", 1)[1],
        "[draw] amount: the draw 20,000 is larger than the target incentive per month (10,000)",
    ),
    ("[[spiffs]]\nname = 's'\namount = 100\n", "[plan] commission: no commission and no bonus"),
    (
        "[[bonuses]]\nname = 'b'\npoints = [{at = 1.0, amount = 500}, {at = 1.5, amount = 300}]\n",
        "[bonus b] points[2].amount: the bonus falls from 500 to 300",
    ),
    (
        "[[rate_cards]]\ncolumn = 'product'\nvalues = {A = 1.0}\n" + FLAT.split("\n", 1)[1],
        "[rate_card product] column: 'product' is not a column of the canonical deals table",
    ),
    ("[[team_pools]]\nname = 't'\n" + FLAT.split("\n", 1)[1], "[team_pool t] rate: pays nothing"),
    ("[quota]\nsource = 'table'\nannual = 100\n" + FLAT.split("\n", 1)[1], "[quota] annual"),
]


@pytest.mark.parametrize(("body", "expected"), WARNINGS)
def test_check_warnings(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, "w.toml", 'name = "w"\n' + body)
    findings = check_plan_file(path)
    assert not [f for f in findings if ": error: " in f], findings
    assert any(f.startswith(f"{path}: warning: {expected}") for f in findings), findings


def test_check_notes_pay_at_quota_and_cliffs() -> None:
    findings = check_plan_file(LIBRARY / "retroactive-gate-cap.toml")
    notes = [f.split(": note: ")[1] for f in findings]
    jump = "[commission] gate: pay jumps from 0 x target incentive to 0.4 x target incentive"
    assert any(n.startswith(f"{jump} at 50% attainment, a cliff") for n in notes), notes
    assert any("pays 1 x the target incentive" in n for n in notes)


def test_check_errors_and_main_exit_codes(tmp_path: Path) -> None:
    bad = _write(tmp_path, "bad.toml", 'name = "x"\nperod = "month"\ndraw = {amount = -5}\n')
    findings = check_plan_file(bad)
    assert findings == [
        f"{bad}: error: [plan] perod: unknown key 'perod'. Fix: did you mean 'period'?",
        f"{bad}: error: [draw] amount: must be a number >= 0, got -5. Fix: give amount >= 0",
    ]
    assert check_plan_file(tmp_path / "missing.toml")[0].startswith(
        f"{tmp_path}/missing.toml: error: cannot read"
    )
    out = io.StringIO()
    assert plan_check_main(bad, out) == 2
    assert out.getvalue().splitlines()[-1] == f"{bad}: 2 error(s), 0 warning(s)"
    out = io.StringIO()
    assert plan_check_main(LIBRARY, out) == 0
    assert out.getvalue().splitlines()[-1].endswith("ok (0 warnings)")
    _write(tmp_path, "dupe.toml", 'name = "x"\n' + FLAT.split("\n", 1)[1])
    _write(tmp_path, "dupe2.toml", 'name = "x"\n' + FLAT.split("\n", 1)[1])
    bad.unlink()
    out = io.StringIO()
    assert plan_check_main(tmp_path, out) == 2
    assert "is also used by" in out.getvalue()
    out = io.StringIO()
    assert plan_check_main(tmp_path / "empty-dir-does-not-exist", out) == 2


def test_numbers_are_finite_after_parse() -> None:
    for plan in read_plans(LIBRARY):
        if plan.commission is not None:
            assert all(math.isfinite(r) for r in plan.commission.rates)


def test_every_toml_example_in_the_docs_parses() -> None:
    """Each ```toml block of docs/plans.md is a valid plan (given a name when it has none)."""
    text = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 10
    for block in blocks:
        data = tomllib.loads(block)
        plan_from_dict({"name": "doc", **data}, file="docs/plans.md")
