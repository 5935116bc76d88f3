"""What a commission plan says: immutable, validated components.

A :class:`Plan` is a frozen tree of small frozen dataclasses, one per component of the plan
vocabulary (see ``docs/plans.md``). Every component checks itself when it is built and raises
:class:`PlanError` naming the component, the field and the fix, so a plan that exists is a plan
that makes sense. ``plan.replace(...)`` returns a changed copy (validated again); dotted keys
reach into components: ``plan.replace(**{"commission.gate": 0.5})``.

Amounts are in the plan's currency; rates are fractions (``0.05`` = 5%); attainment is a
fraction of quota (``1.0`` = 100%). Annual amounts (base salary, target incentive, quota) are
spread evenly over the periods of a plan year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._base import (
    ABSURD_RATE,
    CREDIT_RULES,
    INF,
    MEASURES,
    PERIODS_PER_YEAR,
    PeriodName,
    PlanError,
    _check,
    _non_negative,
    _Replaceable,
)
from .commission import Band, Commission, RateCard, Tier
from .components import (
    Clawback,
    Crediting,
    Draw,
    Eligibility,
    QuotaBonus,
    QuotaRule,
    Spiff,
    TeamPool,
)

__all__ = [
    "ABSURD_RATE",
    "CREDIT_RULES",
    "INF",
    "MEASURES",
    "PERIODS_PER_YEAR",
    "Band",
    "Clawback",
    "Commission",
    "Crediting",
    "Draw",
    "Eligibility",
    "Plan",
    "PlanError",
    "QuotaBonus",
    "QuotaRule",
    "RateCard",
    "Spiff",
    "TeamPool",
    "Tier",
]


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class Plan(_Replaceable):
    """A commission plan (immutable). See ``docs/plans.md`` for each component.

    ``base_salary`` and ``target_incentive`` (annual) override every rep's values; ``None``
    takes each rep's own from the ``reps`` table.

    Examples
    --------
    >>> plan = Plan("flat 5%", commission=Commission((Tier(0, INF, 0.05),)))
    >>> cheaper = plan.replace(**{"commission.tiers.0.rate": 0.04})
    >>> plan.commission.rates, cheaper.commission.rates
    ((0.05,), (0.04,))
    >>> try:
    ...     plan.replace(period="week")
    ... except PlanError as err:
    ...     print(err)
    [plan] period: unknown period 'week'. Fix: use month, quarter or year
    """

    name: str
    description: str = ""
    currency: str = ""
    period: PeriodName = "month"
    attainment: Literal["period", "ytd"] = "period"
    year_start_month: int = 1
    eligibility: Eligibility = field(default_factory=Eligibility)
    crediting: Crediting = field(default_factory=Crediting)
    quota: QuotaRule = field(default_factory=QuotaRule)
    base_salary: float | None = None
    target_incentive: float | None = None
    commission: Commission | None = None
    rate_cards: tuple[RateCard, ...] = ()
    bonuses: tuple[QuotaBonus, ...] = ()
    spiffs: tuple[Spiff, ...] = ()
    team_pools: tuple[TeamPool, ...] = ()
    draw: Draw | None = None
    clawback: Clawback | None = None

    def __post_init__(self) -> None:
        _check(bool(self.name), "plan", "name", "is empty", "give the plan a name")
        _check(
            self.period in PERIODS_PER_YEAR,
            "plan",
            "period",
            f"unknown period {self.period!r}",
            "use month, quarter or year",
        )
        _check(
            self.attainment in ("period", "ytd"),
            "plan",
            "attainment",
            f"unknown attainment {self.attainment!r}",
            "use 'period' or 'ytd' (cumulative year to date with true-up)",
        )
        _check(
            1 <= self.year_start_month <= 12,
            "plan",
            "year_start_month",
            f"must be 1-12, got {self.year_start_month}",
            "give the month the plan year starts in",
        )
        for name in ("base_salary", "target_incentive"):
            value = getattr(self, name)
            if value is not None:
                _non_negative("plan", name, value)
        if self.commission is not None and self.commission.rate_of == "target_incentive":
            _check(
                not self.rate_cards,
                "rate_card",
                "column",
                "rate cards weight the measure, but this commission is paid on target incentive",
                "remove the rate cards or use rate_of = 'measure'",
            )
        names = [p.name for p in self.team_pools] + [b.name for b in self.bonuses]
        names += [s.name for s in self.spiffs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        _check(
            not dupes,
            "plan",
            "name",
            f"component names repeat: {dupes}",
            "give each bonus, SPIFF and team pool its own name",
        )

    @property
    def periods_per_year(self) -> int:
        """Plan periods in a plan year."""
        return PERIODS_PER_YEAR[self.period]

    @property
    def measure(self) -> str:
        """The credited measure (bookings unless the commission says otherwise)."""
        return self.commission.measure if self.commission is not None else "bookings"
