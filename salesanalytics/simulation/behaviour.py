"""Behavioural what-ifs: how reps might change the measure a plan pays on (assumptions).

Each response is a small frozen dataclass with the ``assumption`` it makes and the literature
``source`` it leans on (``../shared/reference/incentive-plans.md``, section 4), and one method,
``apply(plan, measure, quota, *, target_incentive=None, year=None) -> measure``, on arrays
shaped ``(..., reps, periods)`` in the plan's periods. Responses are deterministic given the
draws, so the simulation engine can apply them per plan on common random numbers; they are
**off by default** (no response: the measure is returned unchanged), and :func:`describe` and
:func:`note` say which were on, for every output that used them.

* :class:`EffortResponse`: measure × (marginal rate under the plan ÷ under a reference)^ε;
* :class:`TimingGames`: a share of next period's measure pulled in when it lifts a rep across
  a threshold, a share of the measure above a cap pushed out;
* :class:`CapSlowdown`: a share of the measure above a cap not produced (or deferred).

Thresholds and caps are the cliffs and kinks of the plan's payout curve
(:func:`~salesanalytics.plans.curve.payout_curve`) for a rep with the median quota and target
incentive; marginal rates are the payout kernel's (a forward difference): no plan logic is
repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from ..plans.curve import payout_curve
from ..plans.kernel import KernelInputs, payout
from ..plans.spec import Plan

__all__ = [
    "CapSlowdown",
    "EffortResponse",
    "Response",
    "TimingGames",
    "apply_responses",
    "describe",
    "marginal_rate",
    "note",
]

F = NDArray[np.float64]
STEP = 1e-6
"""Attainment step of the marginal rate (forward difference through the kernel)."""
MISRA_NAIR = (
    "Misra & Nair (2011), QME 9:211-257: removing the earnings cap (and quotas) was estimated "
    "to raise sales ~8%; revenue rose 9% the next year"
)
CHUNG = (
    "Chung, Steenburgh & Sudhir (2014), Marketing Science 33(2):165-187: overachievement "
    "commissions sustain stars after quota; Kishore et al. (2013), JMR 50(3):317-333: "
    "linear commission raised productivity, most for lower-ability reps"
)
LARKIN = (
    "Larkin (2014), JLE 32(2):199-227: timing deals to exploit accelerators costs 6-8% of "
    "revenue; Oyer (1998), QJE 113(1):149-185: sales bunch at fiscal-year end; Nair & Misra "
    "(WP): significant incentives for strategic timing"
)


@runtime_checkable
class Response(Protocol):
    """A behavioural response: a changed measure, deterministic given the draws."""

    @property
    def assumption(self) -> str: ...

    @property
    def source(self) -> str: ...

    def apply(
        self,
        plan: Plan,
        measure: F,
        quota: F,
        *,
        target_incentive: F | None = None,
        year: NDArray[np.int64] | None = None,
    ) -> F: ...


# ------------------------------------------------------------------ kernel helpers
def _single(plan: Plan) -> Plan:
    """The plan for one rep and one period: no pools, SPIFFs, clawbacks, draws or YTD."""
    return plan.replace(attainment="period", team_pools=(), spiffs=(), clawback=None, draw=None)


def _pay(plan: Plan, attainment: F, quota: F, ti: F) -> F:
    """Variable pay of ``plan`` (prepared by :func:`_single`) per cell at ``attainment``."""
    shape = attainment.shape
    x = KernelInputs(
        measure=attainment,
        quota=np.ones(shape[-2:]),
        commission_base=attainment * quota,
        employed=np.ones(shape[-2:]),
        base_salary=np.zeros(shape[-2]),
        target_incentive=ti,
        year=np.zeros(shape[-1], dtype=np.int64),
    )
    return np.asarray(payout(plan, x).variable, dtype=float)


def _ti(plan: Plan, target_incentive: F | None, reps: int) -> F:
    if plan.target_incentive is not None:
        return np.full(reps, float(plan.target_incentive))
    if target_incentive is None:
        return np.zeros(reps)
    return np.asarray(target_incentive, dtype=float)


def _basis(plan: Plan, measure: F, quota: F, year: NDArray[np.int64] | None) -> tuple[F, F]:
    """Numerator and denominator of the attainment the plan pays on (year to date, per plan
    year, under ``ytd``)."""
    q = np.broadcast_to(quota, measure.shape)
    if plan.attainment != "ytd":
        return measure, q
    yr = np.zeros(measure.shape[-1], np.int64) if year is None else np.asarray(year)
    num, den = np.empty_like(measure), np.empty(measure.shape)
    for y in np.unique(yr):
        cols = np.flatnonzero(yr == y)
        num[..., cols] = np.cumsum(measure[..., cols], axis=-1)
        den[..., cols] = np.cumsum(q[..., cols], axis=-1)
    return num, den


def marginal_rate(plan: Plan, attainment: F, quota: F, target_incentive: F | None = None) -> F:
    """Pay per extra unit of measure at ``attainment`` under ``plan`` (one period's curve).

    Examples
    --------
    >>> from salesanalytics.plans.spec import INF, Commission, Tier
    >>> plan = Plan("t", commission=Commission((Tier(0, 1.0, 0.04), Tier(1.0, INF, 0.08))))
    >>> marginal_rate(plan, np.array([[0.5, 1.5]]), np.array([[1e5, 1e5]])).round(6).tolist()
    [[0.04, 0.08]]
    """
    a = np.asarray(attainment, dtype=float)
    q = np.broadcast_to(np.asarray(quota, dtype=float), a.shape)
    single = _single(plan)
    ti = _ti(plan, target_incentive, a.shape[-2])
    both = _pay(single, np.stack([a, a + STEP]), np.stack([q, q]), ti)
    return ratio(both[1] - both[0], STEP * q)


@lru_cache(maxsize=64)
def _points(plan: Plan, quota: float, target_incentive: float) -> tuple[F, float]:
    """Thresholds worth pulling a deal across (cliffs that pay more, accelerating kinks) and
    the lowest cap (where the marginal rate falls to zero; ``inf``: none)."""
    marks = [0.0, *(b.points[-1][0] for b in plan.bonuses)]
    if plan.commission is not None:
        c = plan.commission
        marks += [c.tiers[-1].lower, c.gate]
        marks += [c.cap_attainment] if np.isfinite(c.cap_attainment) else []
    top = max(4.0, 2 * max(marks) + 1)
    curve = payout_curve(
        _single(plan),
        quota=quota,
        target_incentive=target_incentive,
        attainment=np.linspace(0.0, top, int(top * 50) + 1),
    )
    p = curve.points
    pull = ((p["kind"] == "cliff") & (p["jump"] > 0)) | (
        (p["kind"] == "kink") & (p["rate_after"] > p["rate_before"])
    )
    cap = (p["rate_after"] <= 1e-12) & (p["rate_before"] > 1e-12)
    caps = p.loc[cap, "attainment"]
    lowest = float(caps.min()) if len(caps) else np.inf
    return p.loc[pull, "attainment"].to_numpy(dtype=float), lowest


def _typical(plan: Plan, quota: F, target_incentive: F | None) -> tuple[F, float]:
    q = np.asarray(quota, dtype=float)
    annual = float(np.median(q[q > 0])) * plan.periods_per_year if (q > 0).any() else 1.0
    ti = _ti(plan, target_incentive, q.shape[-2])
    return _points(plan, annual, float(np.median(ti)) if len(ti) else 0.0)


def _year_ends(plan: Plan, periods: int, year: NDArray[np.int64] | None) -> NDArray[np.bool_]:
    """Period ends where timing pays: every one, or under ``ytd`` only plan-year ends."""
    if plan.attainment != "ytd":
        return np.ones(periods, dtype=bool)
    yr = np.zeros(periods, np.int64) if year is None else np.asarray(year)
    return np.r_[yr[1:] != yr[:-1], True]


def _fractions(response: object, *names: str) -> None:
    for name in names:
        if not 0 <= getattr(response, name) <= 1:
            raise ValueError(f"{name} must be in [0, 1]")


# ------------------------------------------------------------------ responses
class _Base:
    """``apply`` for the responses below (each defines ``_respond``)."""

    def apply(
        self,
        plan: Plan,
        measure: F,
        quota: F,
        *,
        target_incentive: F | None = None,
        year: NDArray[np.int64] | None = None,
    ) -> F:
        """The measure after the response (see the class docstring): ``(..., R, P)``
        ``measure``, ``(R, P)`` or ``(..., R, P)`` ``quota`` in the plan's periods, ``(R,)``
        annual ``target_incentive`` and ``(P,)`` plan ``year`` of each period."""
        return self._respond(plan, measure, quota, target_incentive, year)

    def _respond(
        self, plan: Plan, measure: F, quota: F, ti: F | None, year: NDArray[np.int64] | None
    ) -> F:
        raise NotImplementedError


@dataclass(frozen=True)
class EffortResponse(_Base):
    """Effort follows the marginal rate: ``measure × clip(m / m_ref, 1/limit, limit)^ε``.

    ``m`` is the plan's marginal pay per unit of measure at the rep's drawn attainment (year to
    date under ``ytd``), ``m_ref`` the same under ``reference`` or, without one, the average
    rate of a linear plan paying the same at quota (pay at 100% ÷ quota). One step, not a
    fixed point: the rate is read at the drawn attainment. A zero marginal rate (above a cap)
    is clipped to ``1/limit``; use :class:`CapSlowdown` for caps.

    Examples
    --------
    >>> from salesanalytics.plans.spec import INF, Commission, Plan, Tier
    >>> accel = Plan("a", commission=Commission((Tier(0, 1.0, 0.04), Tier(1.0, INF, 0.08))))
    >>> flat = Plan("f", commission=Commission((Tier(0, INF, 0.04),)))
    >>> m, q = np.array([[50.0, 150.0]]), np.array([[100.0, 100.0]])
    >>> EffortResponse(0.1, reference=flat).apply(accel, m, q).round(3).tolist()
    [[50.0, 160.766]]
    """

    elasticity: float = 0.0
    reference: Plan | None = None
    limit: float = 4.0
    assumption: str = (
        "measure scales with (marginal pay rate under this plan / under the reference)"
        "^elasticity at the rep's drawn attainment; the elasticity is an assumption, not an "
        "estimate from the sources"
    )
    source: str = f"{MISRA_NAIR}; {CHUNG}"

    def __post_init__(self) -> None:
        if not np.isfinite(self.elasticity):
            raise ValueError("elasticity must be a finite number")
        if not self.limit >= 1:
            raise ValueError("limit must be >= 1")

    def _respond(
        self, plan: Plan, measure: F, quota: F, ti: F | None, year: NDArray[np.int64] | None
    ) -> F:
        m = np.asarray(measure, dtype=float)
        if self.elasticity == 0:
            return m
        num, den = _basis(plan, m, np.asarray(quota, dtype=float), year)
        a = ratio(num, den)
        q = np.broadcast_to(quota, m.shape)
        rate = marginal_rate(plan, a, q, ti)
        if self.reference is not None:
            ref = marginal_rate(self.reference, a, q, ti)
        else:
            own = _ti(plan, ti, m.shape[-2])
            ref = ratio(_pay(_single(plan), np.ones(m.shape), np.asarray(q, float), own), q)
        relative = ratio(rate, ref, fill=1.0)
        factor = np.clip(relative, 1 / self.limit, self.limit) ** self.elasticity
        return np.asarray(m * factor, dtype=float)


@dataclass(frozen=True)
class TimingGames(_Base):
    """Deal timing around period ends (``share`` of the movable measure is moved).

    At each period end (under ``ytd`` each plan-year end), period by period: a rep below a
    threshold whom ``share`` of next period's measure would lift across it pulls that much in
    (booked at ``1 − discount``, the price concession); a rep above a cap pushes ``share`` of
    the measure above it into the next period (out of the simulated span after the last).

    Examples
    --------
    A 5,000 step bonus at 100%: a rep at 90% with 100 booked next period pulls 20 in.

    >>> from salesanalytics.plans.spec import INF, Commission, Plan, QuotaBonus, Tier
    >>> plan = Plan("step", commission=Commission((Tier(0, INF, 0.05),)),
    ...             bonuses=(QuotaBonus("q", ((1.0, 5000.0),)),))
    >>> TimingGames(0.2).apply(plan, np.array([[90.0, 100.0]]), np.array([[100.0, 100.0]]))
    array([[110.,  80.]])
    """

    share: float = 0.0
    discount: float = 0.0
    assumption: str = (
        "a share of next period's measure is pulled into this period when it lifts the rep "
        "across a threshold (cliff or rising marginal rate), booked at a discount; a share of "
        "the measure above a cap is pushed into the next period"
    )
    source: str = LARKIN

    def __post_init__(self) -> None:
        _fractions(self, *("share", "discount"))

    def _respond(
        self, plan: Plan, measure: F, quota: F, ti: F | None, year: NDArray[np.int64] | None
    ) -> F:
        m = np.array(measure, dtype=float)
        if self.share == 0:
            return m
        q = np.broadcast_to(np.asarray(quota, dtype=float), m.shape)
        thresholds, cap = _typical(plan, q, ti)
        periods = m.shape[-1]
        ends = _year_ends(plan, periods, year)
        for p in np.flatnonzero(ends):
            num, den = _basis(plan, m, q, year)
            n, d = num[..., p], den[..., p]
            a = ratio(n, d)
            if p + 1 < periods and len(thresholds):
                pulled = self.share * np.maximum(m[..., p + 1], 0.0)
                reach = ratio(n + pulled * (1 - self.discount), d)
                lifts = ((a[..., None] < thresholds) & (reach[..., None] >= thresholds)).any(-1)
                moved = np.where(lifts, pulled, 0.0)
                m[..., p] += moved * (1 - self.discount)
                m[..., p + 1] -= moved
            if np.isfinite(cap):
                above = np.minimum(np.maximum(n - cap * d, 0.0), np.maximum(m[..., p], 0.0))
                pushed = np.where(a > cap, self.share * above, 0.0)
                m[..., p] -= pushed
                if p + 1 < periods:
                    m[..., p + 1] += pushed
        return m


@dataclass(frozen=True)
class CapSlowdown(_Base):
    """Slowing down above a cap: ``share`` of the measure above the lowest cap (where the
    marginal rate falls to zero) is not produced; ``deferred`` of that reappears next
    period. A plan without a cap is unaffected, which is how removing a cap shows up.

    Examples
    --------
    >>> from salesanalytics.plans.spec import INF, Commission, Plan, Tier
    >>> capped = Plan("c", commission=Commission((Tier(0, INF, 0.05),), cap_attainment=1.5))
    >>> CapSlowdown(0.5).apply(capped, np.array([[200.0, 100.0]]), np.array([[100.0, 100.0]]))
    array([[175., 100.]])
    """

    share: float = 0.0
    deferred: float = 0.0
    assumption: str = (
        "a share of the measure above the cap is not produced (a part of it may be deferred "
        "into the next period)"
    )
    source: str = MISRA_NAIR

    def __post_init__(self) -> None:
        _fractions(self, *("share", "deferred"))

    def _respond(
        self, plan: Plan, measure: F, quota: F, ti: F | None, year: NDArray[np.int64] | None
    ) -> F:
        m = np.array(measure, dtype=float)
        if self.share == 0:
            return m
        q = np.broadcast_to(np.asarray(quota, dtype=float), m.shape)
        _, cap = _typical(plan, q, ti)
        if not np.isfinite(cap):
            return m
        for p in range(m.shape[-1]):
            num, den = _basis(plan, m, q, year)
            above = np.minimum(np.maximum(num[..., p] - cap * den[..., p], 0.0), m[..., p])
            withheld = self.share * np.maximum(above, 0.0)
            m[..., p] -= withheld
            if p + 1 < m.shape[-1]:
                m[..., p + 1] += self.deferred * withheld
        return m


# ------------------------------------------------------------------ the hook
def apply_responses(
    plan: Plan,
    measure: F,
    quota: F,
    responses: Sequence[Response] = (),
    *,
    target_incentive: F | None = None,
    year: NDArray[np.int64] | None = None,
) -> F:
    """``measure`` after each response in turn (none by default: returned unchanged).

    Parameters
    ----------
    plan
        The plan the reps respond to.
    measure, quota
        ``(..., R, P)`` credited measure and ``(R, P)`` or ``(..., R, P)`` quota, in the
        plan's periods.
    responses
        Behavioural responses, applied in order.
    target_incentive
        ``(R,)`` annual target incentives (for plans paid on target incentive).
    year
        ``(P,)`` plan year of each period (year-to-date plans).

    Examples
    --------
    >>> from salesanalytics.plans.spec import INF, Commission, Plan, Tier
    >>> plan = Plan("c", commission=Commission((Tier(0, INF, 0.05),), cap_attainment=1.5))
    >>> m, q = np.array([[200.0, 100.0]]), np.array([[100.0, 100.0]])
    >>> apply_responses(plan, m, q) is m
    True
    >>> apply_responses(plan, m, q, [CapSlowdown(0.5, deferred=1.0)]).tolist()
    [[175.0, 125.0]]
    """
    out = measure
    for response in responses:
        out = response.apply(plan, out, quota, target_incentive=target_incentive, year=year)
    return out


def describe(responses: Sequence[Response]) -> pd.DataFrame:
    """One row per response: ``response``, ``parameters``, ``assumption``, ``source``.

    Examples
    --------
    >>> describe([TimingGames(0.2)])[["response", "parameters"]].to_numpy().tolist()
    [['TimingGames', 'share=0.2, discount=0.0']]
    """
    rows = []
    for r in responses:
        params = ", ".join(
            f"{f.name}={getattr(r, f.name)!r}"
            if not isinstance(getattr(r, f.name), Plan)
            else f"{f.name}={getattr(r, f.name).name!r}"
            for f in fields(r)  # type: ignore[arg-type]
            if f.name not in ("assumption", "source") and getattr(r, f.name) is not None
        )
        rows.append((type(r).__name__, params, r.assumption, r.source))
    return pd.DataFrame(rows, columns=["response", "parameters", "assumption", "source"])


def note(responses: Sequence[Response]) -> str:
    """A one-line statement for captions: which behavioural assumptions are on.

    Examples
    --------
    >>> note(())
    'behavioural responses: off'
    >>> note([CapSlowdown(0.5)])
    'behavioural responses ON (assumptions, not estimates): CapSlowdown(share=0.5, deferred=0.0)'
    """
    if not responses:
        return "behavioural responses: off"
    d = describe(responses)
    parts = [f"{r}({p})" for r, p in zip(d["response"], d["parameters"], strict=True)]
    return "behavioural responses ON (assumptions, not estimates): " + "; ".join(parts)
