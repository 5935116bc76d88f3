"""Plan files (TOML, one plan per file): read them, and check them for errors and pitfalls.

The format is described in ``docs/plans.md``; the dict-to-plan conversion is
:func:`salesanalytics.plans.parse.plan_from_dict`. Files are only read, never written. A file
may start with a UTF-8 byte-order mark (Windows Notepad writes one).
"""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..plans.kernel import tier_commission
from ..plans.parse import parse_plan
from ..plans.spec import Commission, Plan, PlanError
from ..schema import TABLES

__all__ = ["check_plan_file", "plan_check_main", "read_plan", "read_plans"]

PathLike = str | Path


def _load(path: PathLike) -> dict[str, Any]:
    """The parsed TOML of ``path``; syntax and encoding problems become PlanErrors."""
    file = str(path)
    raw = Path(path).read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanError(
            "file",
            f"line {line}",
            "the file is not UTF-8 text",
            "save it as UTF-8 (in Excel or Notepad: Save As, encoding UTF-8)",
            file,
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(found.group(1)) if found else 0
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        lines = text.splitlines()
        if 0 < line <= len(lines):
            problem += f" in {lines[line - 1].strip()!r}"
        fix = (
            "each key once per table"
            if "overwrite" in problem or "redefine" in problem.lower()
            else 'write key = value, text in "quotes", [table] or [[list.of.tables]] headers'
        )
        raise PlanError(
            "toml", f"line {line or '?'}", f"TOML syntax error: {problem}", fix, file
        ) from None


def read_plan(path: PathLike) -> Plan:
    """The plan in a TOML plan file.

    Parameters
    ----------
    path
        The ``.toml`` file.

    Raises
    ------
    PlanError
        A syntax error (with its line) or a plan error, naming the file, the component and
        the field.
    OSError
        The file cannot be read.

    Examples
    --------
    >>> plan = read_plan("data/sample/plans/current.toml")
    >>> plan.period, plan.commission.rate_of
    ('month', 'target_incentive')
    """
    plan, errors = parse_plan(_load(path), file=str(path))
    if errors:
        raise errors[0]
    assert plan is not None
    return plan


def _plan_paths(paths_or_dir: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(paths_or_dir, str | Path):
        folder = Path(paths_or_dir)
        if not folder.is_dir():
            return [folder]
        paths = sorted(folder.glob("*.toml"))
        if not paths:
            raise PlanError(
                "plans",
                "files",
                "the folder holds no *.toml plan files",
                "put plan files ending in .toml into it",
                str(folder),
            )
        return paths
    return [Path(p) for p in paths_or_dir]


def read_plans(paths_or_dir: PathLike | Iterable[PathLike]) -> tuple[Plan, ...]:
    """The plans in a folder (every ``*.toml`` in it, sorted by file name) or in given files.

    Raises
    ------
    PlanError
        The first file with an error, or two files with the same plan name.

    Examples
    --------
    >>> plans = read_plans("data/sample/plans")
    >>> "current" in [p.name for p in plans]
    True
    """
    seen: dict[str, Path] = {}
    plans = []
    for path in _plan_paths(paths_or_dir):
        plan = read_plan(path)
        if plan.name in seen:
            raise PlanError(
                "plan",
                "name",
                f"plan name {plan.name!r} is also used by {seen[plan.name]}",
                "give each plan its own name",
                str(path),
            )
        seen[plan.name] = path
        plans.append(plan)
    return tuple(plans)


# ------------------------------------------------------------------ checks
Finding = tuple[str, str, str, str]  # severity, component, field, message


def _jumps(c: Commission) -> list[tuple[float, float, float]]:
    """(attainment, pay just below, pay at) wherever commission jumps (gate, retroactive tiers).

    Within a tier pay rises continuously (rates are never negative), so it can only jump at a
    tier boundary, the gate or the attainment cap.
    """
    marks = sorted(
        m
        for m in {c.gate, c.cap_attainment, *c.lowers, *(t.upper for t in c.tiers)}
        if 0 < m < np.inf
    )
    at = np.array(marks, dtype=float)
    before, after = tier_commission(c, at * (1 - 1e-12))[0], tier_commission(c, at)[0]
    return [
        (m, float(b), float(a))
        for m, b, a in zip(marks, before, after, strict=True)
        if abs(a - b) > 1e-9 * max(1.0, abs(b))
    ]


def _commission_findings(plan: Plan, c: Commission) -> list[Finding]:
    out: list[Finding] = []

    def shown(x: float) -> str:
        ti = c.rate_of == "target_incentive"
        return f"{x:.4g} x target incentive" if ti else f"{x * 100:.4g}% of quota"

    for a, before, after in _jumps(c):
        k = int(np.argmin([abs(lo - a) for lo in c.lowers])) + 1
        field = "gate" if a == c.gate else f"tiers[{k}].rate"
        change = f"from {shown(before)} to {shown(after)} at {a:.0%} attainment"
        if after < before:
            why = "a retroactive decelerator is a cliff; use method = 'marginal' or raise the rate"
            out.append(("warning", "commission", field, f"pay falls {change} ({why})"))
        else:
            cliff = f"pay jumps {change}, a cliff that invites timing deals"
            out.append(("note", "commission", field, cliff))
    rates = c.rates
    acc = next((k for k in range(1, len(rates)) if rates[k] > rates[k - 1]), None)
    if acc is not None:
        start = c.tiers[acc].lower
        where = f"tiers[{acc + 1}]"
        if c.cap_attainment <= start:
            out.append(
                (
                    "warning",
                    "commission",
                    "cap_attainment",
                    f"the attainment cap {c.cap_attainment:.0%} is at or below where the "
                    f"accelerator starts ({where}.from = {start:.0%}): it never pays",
                )
            )
        pay = float(tier_commission(c, np.array([start]))[0][0])
        ti = plan.target_incentive / plan.periods_per_year if plan.target_incentive else None
        if c.rate_of == "target_incentive":
            money = pay * ti if ti else None
            if c.cap_payout_ti <= pay:
                out.append(
                    (
                        "warning",
                        "commission",
                        "cap_payout_ti",
                        f"the payout cap {c.cap_payout_ti:g} x target incentive is reached "
                        f"before the accelerator starts at {start:.0%} (pay there: "
                        f"{pay:.3g} x target incentive): it never pays",
                    )
                )
        else:
            q = plan.quota
            money = pay * q.annual / plan.periods_per_year if q.source == "annual" else None
        caps = [c.cap_payout] + ([c.cap_payout_ti * ti] if ti else [])
        if money is not None and min(caps) <= money:
            out.append(
                (
                    "warning",
                    "commission",
                    "cap_payout",
                    f"the payout cap ({min(caps):,.0f} a period) is reached before the "
                    f"accelerator starts at {start:.0%} (pay there: {money:,.0f})",
                )
            )
    if c.gate >= 1:
        out.append(
            (
                "warning",
                "commission",
                "gate",
                f"the gate {c.gate:.0%} is at or above quota: nothing is paid below it",
            )
        )
    at100 = float(tier_commission(c, np.array([1.0]))[0][0])
    if c.rate_of == "target_incentive":
        note = f"at 100% attainment the commission pays {at100:.4g} x the target incentive"
    else:
        cards = " before rate-card multipliers" if plan.rate_cards else ""
        note = f"at 100% attainment the commission is {at100 * 100:.4g}% of {c.measure}{cards}"
    out.append(("note", "commission", "tiers", note))
    return out


def _findings(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    if plan.commission is not None:
        out += _commission_findings(plan, plan.commission)
    if plan.commission is None and not plan.bonuses:
        extras = "only SPIFFs and team pools" if plan.spiffs or plan.team_pools else "nothing"
        out.append(
            (
                "warning",
                "plan",
                "commission",
                f"no commission and no bonus: the plan pays {extras} on top of base",
            )
        )
    for b in plan.bonuses:
        at = [p[0] for p in b.points]
        amounts = [p[1] for p in b.points]
        if b.kind == "step":
            reached = [m for a, m in b.points if a <= 1.0]
            value = reached[-1] if reached else 0.0
        else:
            value = float(np.interp(1.0, at, amounts)) if at[0] <= 1.0 else 0.0
        unit = " x the target incentive" if b.of_target_incentive else ""
        out.append(
            (
                "note",
                f"bonus {b.name}",
                "points",
                f"at 100% attainment the bonus pays {value:,.4g}{unit}",
            )
        )
        for i in range(1, len(b.points)):
            if b.points[i][1] < b.points[i - 1][1]:
                out.append(
                    (
                        "warning",
                        f"bonus {b.name}",
                        f"points[{i + 1}].amount",
                        f"the bonus falls from {b.points[i - 1][1]:g} to {b.points[i][1]:g} "
                        f"at {b.points[i][0]:.0%} attainment: pay falls as attainment rises",
                    )
                )
    if plan.draw is not None and plan.target_incentive is not None:
        per = plan.target_incentive / plan.periods_per_year
        if plan.draw.amount > per:
            out.append(
                (
                    "warning",
                    "draw",
                    "amount",
                    f"the draw {plan.draw.amount:,.0f} is larger than the target incentive "
                    f"per {plan.period} ({per:,.0f}): it pays more than on-target pay",
                )
            )
    deal_columns = set(TABLES["deals"].names)
    columns = [(f"rate_card {r.name or r.column}", "column", r.column) for r in plan.rate_cards]
    columns += [(f"spiff {s.name}", f"where.{col}", col) for s in plan.spiffs for col, _ in s.where]
    for component, field, col in columns:
        if col not in deal_columns:
            out.append(
                (
                    "warning",
                    component,
                    field,
                    f"{col!r} is not a column of the canonical deals table: the data "
                    "must bring it, or the backtest stops",
                )
            )
    for pool in plan.team_pools:
        if not (pool.rate or pool.amount):
            out.append(("warning", f"team_pool {pool.name}", "rate", "pays nothing"))
    if plan.quota.source == "table" and plan.quota.annual:
        out.append(
            (
                "warning",
                "quota",
                "annual",
                "is ignored: quotas come from the quotas table (source = 'table')",
            )
        )
    if plan.crediting.overlay_share > 1:
        out.append(
            (
                "warning",
                "crediting",
                "overlay_share",
                f"{plan.crediting.overlay_share:g} credits more than the deal is worth",
            )
        )
    e = plan.eligibility
    if not (e.roles or e.teams or e.rep_ids):
        out.append(("note", "eligibility", "roles", "no [eligibility]: the plan covers every rep"))
    return out


def check_plan_file(path: PathLike) -> list[str]:
    """Human-readable findings about a plan file: errors, warnings and notes.

    Errors (the plan cannot be read) start with ``error:``; ``warning:`` marks a plan that
    is valid but probably not what was meant (pay that falls as attainment rises, a cap
    below the accelerator, a draw above the target incentive, no commission and no bonus,
    ...); ``note:`` states facts worth checking (what 100% attainment pays).

    Examples
    --------
    >>> check_plan_file("data/sample/plans/current.toml")  # doctest: +NORMALIZE_WHITESPACE
    ['data/sample/plans/current.toml: note: [commission] tiers: at 100% attainment the
      commission pays 1 x the target incentive']
    """
    file = str(path)
    try:
        plan, errors = parse_plan(_load(path), file=file)
    except PlanError as err:
        plan, errors = None, (err,)
    except OSError as err:
        return [f"{file}: error: cannot read the file: {err.strerror or err}"]
    out = [f"{file}: error: [{e.component}] {e.field}: {e.problem}. Fix: {e.fix}" for e in errors]
    if plan is not None:
        out += [f"{file}: {sev}: [{c}] {f}: {msg}" for sev, c, f, msg in _findings(plan)]
    return out


def plan_check_main(path: PathLike, stdout: TextIO) -> int:
    """``salesanalytics plan check PATH``: print the findings; 0 if usable, 2 on errors.

    ``path`` may be a plan file or a folder of them (then duplicate plan names are errors too).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> plan_check_main("data/sample/plans/current.toml", out)
    0
    >>> out.getvalue().splitlines()[-1]
    'data/sample/plans/current.toml: ok (0 warnings)'
    """
    try:
        paths = _plan_paths(path)
    except PlanError as err:
        print(f"{err.file}: error: {err.problem}. Fix: {err.fix}", file=stdout)
        return 2
    lines: list[str] = []
    for p in paths:
        lines += check_plan_file(p)
    if len(paths) > 1:
        try:
            read_plans(paths)
        except PlanError as err:
            if err.field == "name" and "also used by" in err.problem:
                lines.append(f"{err.file}: error: [plan] name: {err.problem}. Fix: {err.fix}")
    for line in lines:
        print(line, file=stdout)
    errors = sum(": error: " in line for line in lines)
    warnings = sum(": warning: " in line for line in lines)
    status = f"{errors} error(s), {warnings} warning(s)" if errors else f"ok ({warnings} warnings)"
    print(f"{path}: {status}", file=stdout)
    return 2 if errors else 0
