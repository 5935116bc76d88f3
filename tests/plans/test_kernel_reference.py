"""The vectorised kernel against the plain-loop reference (``reference.py``) on random plans
and inputs, and a leading scenario axis against the 2-D runs."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesanalytics.plans.kernel import COMPONENTS, KernelInputs, Payouts, payout
from salesanalytics.plans.spec import (
    INF,
    Clawback,
    Commission,
    Draw,
    Plan,
    QuotaBonus,
    TeamPool,
    Tier,
)


def _load_reference() -> Any:
    """The plain-loop reference beside this file (tests are not a package)."""
    name = "_plans_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("reference.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


reference = _load_reference()

RTOL, ATOL = 1e-9, 1e-6
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


# ------------------------------------------------------------------ strategies
# Strategies are built once (hypothesis validates each new strategy object, which is slow);
# the plan builders below are plain functions of ``draw``.
def _pick(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


BOOL = st.booleans()
N_TIERS, N_POINTS, N_EXTRA = st.integers(1, 4), st.integers(1, 3), st.integers(0, 2)
ONE_IN_5, ONE_IN_3, LAGS = st.integers(0, 4), st.integers(0, 2), st.integers(1, 4)
REPS, PERIODS, SEED = st.integers(1, 4), st.integers(1, 14), st.integers(0, 2**32 - 1)
OFFSETS = {ppy: st.integers(0, ppy - 1) for ppy in (1, 4, 12)}
TIER_WIDTH = _pick(0.25, 0.3, 0.5, 0.7)
RATE = {"measure": st.floats(0, 0.3), "target_incentive": st.floats(0, 3.0)}
RATE_OF, METHOD = _pick("measure", "target_incentive"), _pick("marginal", "retroactive")
GATE, CAP_ATTAINMENT = _pick(0.0, 0.0, 0.3, 0.5, 0.8, 1.0), _pick(INF, INF, 1.0, 1.5, 2.0)
CAP_KIND = _pick("none", "none", "amount", "ti", "both")
CAP_AMOUNT, CAP_MULTIPLE = st.floats(0, 5000), st.floats(0, 3)
THRESHOLDS = st.lists(_pick(0.0, 0.5, 0.8, 1.0, 1.2, 1.5), min_size=1, max_size=3, unique=True)
AMOUNT = {True: st.floats(0, 2.0), False: st.floats(0, 3000)}
BONUS_KIND = _pick("step", "linear")
POOL_RATE, POOL_AMOUNT = _pick(0.0, 0.01, 0.02), _pick(0.0, 0.0, 500.0, 1234.5)
POOL_GATE, POOL_SHARE = _pick(0.0, 0.5, 0.9, 1.0), _pick("equal", "credit", "target_incentive")
DRAW_AMOUNT, RECOVERY_SHARE = _pick(0.0, 1000.0, 3000.0), _pick(1.0, 0.5, 0.25)
DRAW_PERIODS = _pick(0, 0, 2, 5)
PERIOD, ATTAINMENT = _pick("month", "month", "quarter", "year"), _pick("period", "ytd")


def draw_tiers(draw: st.DrawFn, rate_of: str) -> tuple[Tier, ...]:
    """1-4 contiguous tiers from 0, the last open-ended."""
    n = draw(N_TIERS)
    bounds = [0.0]
    for _ in range(n):
        bounds.append(round(bounds[-1] + draw(TIER_WIDTH), 2))
    bounds[-1] = INF  # the last tier is open-ended (the spec requires it)
    rates = [draw(RATE[rate_of]) for _ in range(n)]
    return tuple(Tier(lo, hi, r) for lo, hi, r in zip(bounds[:-1], bounds[1:], rates, strict=True))


def draw_commission(draw: st.DrawFn) -> Commission:
    rate_of = draw(RATE_OF)
    gate = draw(GATE)
    cap_attainment = draw(CAP_ATTAINMENT)
    cap_kind = draw(CAP_KIND)
    return Commission(
        draw_tiers(draw, rate_of),
        method=draw(METHOD),
        rate_of=rate_of,  # type: ignore[arg-type]
        gate=gate,
        cap_attainment=INF if cap_attainment <= gate else cap_attainment,
        cap_payout=draw(CAP_AMOUNT) if cap_kind in ("amount", "both") else INF,
        cap_payout_ti=draw(CAP_MULTIPLE) if cap_kind in ("ti", "both") else INF,
    )


def draw_bonus(draw: st.DrawFn, name: str) -> QuotaBonus:
    at = sorted(draw(THRESHOLDS))
    of_ti = draw(BOOL)
    amounts = [draw(AMOUNT[of_ti]) for _ in at]
    return QuotaBonus(
        name,
        tuple(zip(at, amounts, strict=True)),
        kind=draw(BONUS_KIND),
        of_target_incentive=of_ti,
    )


def draw_pool(draw: st.DrawFn, name: str) -> TeamPool:
    return TeamPool(
        name,
        rate=draw(POOL_RATE),
        amount=draw(POOL_AMOUNT),
        gate=draw(POOL_GATE),
        share=draw(POOL_SHARE),
    )


def draw_plan(draw: st.DrawFn) -> Plan:
    """A random valid plan: tiers, method, gate, caps, bonuses, pools, draw, clawback."""
    commission = draw_commission(draw) if draw(ONE_IN_5) else None
    bonuses = tuple(draw_bonus(draw, f"b{i}") for i in range(draw(N_EXTRA)))
    pools = tuple(draw_pool(draw, f"p{i}") for i in range(draw(N_EXTRA)))
    advance = None
    if draw(BOOL):
        advance = Draw(
            draw(DRAW_AMOUNT),
            recoverable=draw(BOOL),
            recovery_share=draw(RECOVERY_SHARE),
            periods=draw(DRAW_PERIODS),
        )
    return Plan(
        "random",
        period=draw(PERIOD),
        attainment=draw(ATTAINMENT),
        commission=commission,
        bonuses=bonuses,
        team_pools=pools,
        draw=advance,
        clawback=Clawback(90) if draw(ONE_IN_3) else None,
    )


@dataclass
class Case:
    """Kernel inputs as numpy arrays, plus the plan."""

    plan: Plan
    arrays: dict[str, Any]

    def inputs(self) -> KernelInputs:
        return KernelInputs(**self.arrays)

    def lists(self) -> dict[str, Any]:
        return {k: None if v is None else v.tolist() for k, v in self.arrays.items()}


def draw_arrays(draw: st.DrawFn, plan: Plan, scenarios: int = 0) -> dict[str, Any]:
    """Random inputs: a few reps, up to 14 periods over plan years, zero quotas, partial
    employment, teams, cancellations; ``scenarios`` > 0 adds a leading axis."""
    reps, periods = draw(REPS), draw(PERIODS)
    ppy = plan.periods_per_year
    offset = draw(OFFSETS[ppy])
    rng = np.random.default_rng(draw(SEED))
    lead = (scenarios,) if scenarios else ()
    shape = (*lead, reps, periods)

    quota = rng.uniform(5_000, 20_000, (reps, periods))
    quota[rng.random((reps, periods)) < 0.1] = 0.0
    attain = rng.uniform(0, 2.0, shape)
    snap = rng.random(shape) < 0.15  # attainment right on a round threshold
    attain[snap] = rng.choice([0.0, 0.5, 1.0, 1.5], size=int(snap.sum()))
    measure = attain * np.where(quota > 0, quota, 10_000.0)
    measure[rng.random(shape) < 0.1] = 0.0
    employed = rng.choice([1.0, 1.0, 1.0, 0.5, 0.0, 0.3], size=(reps, periods))
    shared_quota = not scenarios or draw(BOOL)  # an (R, P) quota under (S, R, P) measure
    arrays: dict[str, Any] = {
        "measure": measure,
        "quota": quota if shared_quota else np.broadcast_to(quota, shape).copy(),
        "employed": employed,
        "base_salary": rng.choice([0.0, 60_000.0, 72_000.0], size=reps),
        "target_incentive": rng.choice([0.0, 48_000.0, 60_000.0, 90_000.0], size=reps),
        "year": (np.arange(periods) + offset) // ppy,
        "commission_base": None,
        "spiff": None,
        "cancelled": None,
        "team": None,
        "draw_active": None,
        "exits": None,
    }
    c = plan.commission
    if draw(BOOL) and (c is None or c.rate_of == "measure"):  # rate cards: measure only
        arrays["commission_base"] = measure * rng.choice([0.5, 1.0, 1.2], size=shape)
    if draw(BOOL):
        arrays["spiff"] = np.where(rng.random(shape) < 0.3, rng.uniform(0, 800, shape), 0.0)
    if draw(BOOL):
        cancel = rng.uniform(0, 30_000, (*shape, draw(LAGS)))
        cancel[rng.random(cancel.shape) < 0.7] = 0.0
        arrays["cancelled"] = cancel
    if plan.team_pools or draw(BOOL):
        arrays["team"] = rng.integers(-1, 3, size=reps)
    if draw(BOOL):
        arrays["draw_active"] = rng.random((reps, periods)) < 0.7
    if draw(BOOL):
        arrays["exits"] = rng.random((reps, periods)) < 0.15
    return arrays


@st.composite
def cases(draw: st.DrawFn, scenarios: int = 0) -> Case:
    """A random plan and inputs for it."""
    plan = draw_plan(draw)
    return Case(plan, draw_arrays(draw, plan, scenarios))


CASES, SCENARIO_CASES = cases(), cases(scenarios=3)


# ------------------------------------------------------------------ comparison
def assert_matches(got: Payouts, want: Any, where: str = "") -> None:
    def close(a: Any, b: Any, what: str) -> None:
        np.testing.assert_allclose(
            np.asarray(a, float),
            np.asarray(b, float),
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"{where}{what}",
        )

    for name in COMPONENTS:
        close(got.components[name], want.components[name], name)
    assert set(got.bonuses) == set(want.bonuses)
    for name in want.bonuses:
        close(got.bonuses[name], want.bonuses[name], f"bonus {name}")
    assert set(got.team_pools) == set(want.team_pools)
    for name in want.team_pools:
        close(got.team_pools[name], want.team_pools[name], f"pool {name}")
    close(got.total, want.total, "total")
    close(got.attainment, want.attainment, "attainment")
    close(got.rate, want.rate, "rate")
    close(got.cap_cut, want.cap_cut, "cap_cut")
    close(got.paid_rate, want.paid_rate, "paid_rate")
    close(got.balance, want.balance, "balance")
    close(got.balance_at_exit, want.balance_at_exit, "balance_at_exit")


def run_reference(plan: Plan, lists: dict[str, Any]) -> Any:
    return reference.reference_payout(plan, **lists)


# ------------------------------------------------------------------ tests
@SETTINGS
@given(CASES)
def test_kernel_equals_reference(case: Case) -> None:
    got = payout(case.plan, case.inputs())
    want = run_reference(case.plan, case.lists())
    assert_matches(got, want)


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(SCENARIO_CASES)
def test_scenario_axis_equals_2d_runs(case: Case) -> None:
    """A leading scenario axis (S, R, P) gives, slice by slice, the 2-D run and the reference."""
    stacked = payout(case.plan, case.inputs())
    assert stacked.total.shape == case.arrays["measure"].shape
    for s in range(case.arrays["measure"].shape[0]):
        sliced = {
            k: v[s]
            if k in ("measure", "commission_base", "spiff", "cancelled") and v is not None
            else v
            for k, v in case.arrays.items()
        }
        if sliced["quota"].ndim == 3:
            sliced["quota"] = sliced["quota"][s]
        single = payout(case.plan, KernelInputs(**sliced))
        for name in COMPONENTS:
            np.testing.assert_allclose(
                stacked.components[name][s],
                single.components[name],
                rtol=1e-12,
                atol=1e-9,
                err_msg=name,
            )
        for name in single.bonuses:
            np.testing.assert_allclose(
                stacked.bonuses[name][s], single.bonuses[name], rtol=1e-12, atol=1e-9
            )
        for name in single.team_pools:
            np.testing.assert_allclose(
                stacked.team_pools[name][s], single.team_pools[name], rtol=1e-12, atol=1e-9
            )
        for attr in (
            "total",
            "attainment",
            "rate",
            "cap_cut",
            "paid_rate",
            "balance",
            "balance_at_exit",
        ):
            np.testing.assert_allclose(
                getattr(stacked, attr)[s],
                getattr(single, attr),
                rtol=1e-12,
                atol=1e-9,
                err_msg=attr,
            )
        lists = {k: None if v is None else v.tolist() for k, v in sliced.items()}
        assert_matches(single, run_reference(case.plan, lists), where=f"scenario {s}: ")


def test_reference_schedule_examples() -> None:
    """The reference itself on the kernel docstring's example tiers (2% / 4% / 8%)."""
    c = Commission((Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, INF, 0.08)))
    # marginal at 75%: 0.5 × 2% + 0.25 × 4% = 0.02 per unit of quota
    assert reference.schedule(c, 0.75)[0] == pytest.approx(0.02, rel=1e-12)
    # marginal at 150%: 0.01 + 0.02 + 0.5 × 8% = 0.07
    assert reference.schedule(c, 1.5)[0] == pytest.approx(0.07, rel=1e-12)
    # retroactive at 75%: 4% × 0.75 = 0.03
    assert reference.schedule(c.replace(method="retroactive"), 0.75) == pytest.approx(
        (0.03, 0.04), rel=1e-12
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_lean_payout_has_the_same_pay(case: Case) -> None:
    """``detail=False`` (the simulation's mode) pays exactly what the full kernel pays."""
    full = payout(case.plan, case.inputs())
    lean = payout(case.plan, case.inputs(), detail=False)
    for name, values in full.components.items():
        np.testing.assert_allclose(lean.components[name], values, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(lean.total, full.total, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(lean.attainment, full.attainment, rtol=1e-12, atol=1e-12)
