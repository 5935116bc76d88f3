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

import dataclasses
import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

__all__ = [
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

PeriodName = Literal["month", "quarter", "year"]
PERIODS_PER_YEAR: dict[str, int] = {"month": 12, "quarter": 4, "year": 1}
MEASURES = ("bookings", "margin", "units")
CREDIT_RULES = ("owner", "splits", "lead_owner", "manager")
INF = math.inf
ABSURD_RATE = 1.0
"""A commission rate above 100% of the measure is refused as a typo (``5`` meaning 5%)."""

T = TypeVar("T")


class PlanError(ValueError):
    """A plan that cannot be right: which file, component and field, and how to fix it.

    Attributes
    ----------
    component, field
        Where the problem is, e.g. ``"commission"`` and ``"tiers[2].from"``.
    fix
        What to change.
    file
        The plan file, when the plan came from one.
    """

    def __init__(self, component: str, field: str, problem: str, fix: str, file: str = ""):
        self.component, self.field, self.problem, self.fix, self.file = (
            component,
            field,
            problem,
            fix,
            file,
        )
        where = f"{file}: " if file else ""
        super().__init__(f"{where}[{component}] {field}: {problem}. Fix: {fix}")

    def in_file(self, file: str) -> PlanError:
        """The same error, naming ``file``."""
        return PlanError(self.component, self.field, self.problem, self.fix, file)


def _check(ok: bool, component: str, name: str, problem: str, fix: str) -> None:
    if not ok:
        raise PlanError(component, name, problem, fix)


def _non_negative(component: str, name: str, value: float) -> None:
    _check(
        isinstance(value, int | float) and not math.isnan(value) and value >= 0,
        component,
        name,
        f"must be a number >= 0, got {value!r}",
        f"give {name} as a non-negative number",
    )


class _Replaceable:
    """``replace`` for frozen dataclasses, with dotted keys into nested components."""

    def replace(self: T, **changes: Any) -> T:
        """A copy with ``changes`` applied (dotted keys reach into components; a number in
        the path indexes a tuple: ``"commission.tiers.2.rate"``); validated again."""
        direct: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            head, _, rest = key.partition(".")
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                direct[head] = value
        for head, sub in nested.items():
            current = direct.get(head, getattr(self, head))
            direct[head] = _replace_in(current, sub, head)
        return dataclasses.replace(self, **direct)  # type: ignore[type-var]


def _replace_in(value: Any, changes: dict[str, Any], where: str) -> Any:
    if isinstance(value, tuple):
        items = list(value)
        by_index: dict[int, dict[str, Any]] = {}
        for key, v in changes.items():
            index, _, rest = key.partition(".")
            if not index.isdigit() or int(index) >= len(items):
                raise KeyError(f"{where}.{key}: no such item (there are {len(items)})")
            if not rest:
                items[int(index)] = v
            else:
                by_index.setdefault(int(index), {})[rest] = v
        for i, sub in by_index.items():
            items[i] = _replace_in(items[i], sub, f"{where}.{i}")
        return tuple(items)
    if value is None or not isinstance(value, _Replaceable):
        raise KeyError(f"{where} has no fields to replace")
    return value.replace(**changes)


# ------------------------------------------------------------------ commission
@dataclass(frozen=True)
class Tier(_Replaceable):
    """Commission rate for attainment in ``[lower, upper)``.

    ``rate`` is a fraction of the measure (or of the target incentive per unit of
    attainment, when the commission's ``rate_of`` is ``"target_incentive"``).
    """

    lower: float
    upper: float
    rate: float
    label: str = ""

    def __post_init__(self) -> None:
        _non_negative("commission", "tiers.from", self.lower)
        _non_negative("commission", "tiers.rate", self.rate)
        _check(
            self.upper > self.lower,
            "commission",
            "tiers.to",
            f"tier [{self.lower}, {self.upper}) is empty or reversed",
            "give each tier a 'to' above its 'from'",
        )


@dataclass(frozen=True)
class Commission(_Replaceable):
    """Commission on a measure with tiers on attainment.

    Attributes
    ----------
    tiers
        Contiguous tiers from attainment 0; the last usually open-ended (``upper`` = inf).
        Rates above an earlier tier's are accelerators, below are decelerators.
    method
        ``"marginal"``: each band of attainment is paid at its own rate. ``"retroactive"``:
        the rate of the tier reached applies to the whole measure.
    measure
        ``"bookings"`` (amount), ``"margin"`` (amount × margin) or ``"units"`` (deals).
    rate_of
        ``"measure"``: commission = rate × measure. ``"target_incentive"``: commission =
        rate × attainment × period target incentive (rate 1.0 pays the target incentive at
        100% attainment).
    gate
        Attainment below which no commission is paid (a cliff).
    cap_attainment
        Attainment above which measure earns nothing more.
    cap_payout, cap_payout_ti
        Most commission per period, as an amount or as a multiple of the period's target
        incentive. With year-to-date attainment the cap holds on the year-to-date total
        against the sum of the period caps so far, so money held back in one period can be
        released in a later one.
    """

    tiers: tuple[Tier, ...]
    method: Literal["marginal", "retroactive"] = "marginal"
    measure: str = "bookings"
    rate_of: Literal["measure", "target_incentive"] = "measure"
    gate: float = 0.0
    cap_attainment: float = INF
    cap_payout: float = INF
    cap_payout_ti: float = INF

    def __post_init__(self) -> None:
        c = "commission"
        _check(len(self.tiers) > 0, c, "tiers", "no tiers", "give at least one tier")
        _check(
            self.tiers[0].lower == 0,
            c,
            "tiers[1].from",
            f"the first tier starts at {self.tiers[0].lower}, not 0",
            "start the first tier at from = 0 (use gate for a threshold)",
        )
        for i, (a, b) in enumerate(zip(self.tiers, self.tiers[1:], strict=False), start=2):
            if b.lower < a.upper:
                problem = "tiers overlap or are not sorted"
            elif b.lower > a.upper:
                problem = "there is a gap between tiers"
            else:
                continue
            raise PlanError(
                c,
                f"tiers[{i}].from",
                f"{problem}: tier {i - 1} ends at {a.upper}, tier {i} starts at {b.lower}",
                f"sort the tiers and make each start where the previous one ends ({a.upper})",
            )
        _check(
            math.isinf(self.tiers[-1].upper),
            c,
            f"tiers[{len(self.tiers)}].to",
            f"the last tier ends at {self.tiers[-1].upper}: what is paid above it is unclear",
            "omit 'to' on the last tier (open-ended) and use cap_attainment to stop paying "
            "above an attainment",
        )
        limit = ABSURD_RATE if self.rate_of == "measure" else 10.0
        for i, t in enumerate(self.tiers, start=1):
            _check(
                t.rate <= limit,
                c,
                f"tiers[{i}].rate",
                f"rate {t.rate} is absurd (above {limit:g})",
                "give rates as fractions: 0.05 for 5%",
            )
        _check(
            self.method in ("marginal", "retroactive"),
            c,
            "method",
            f"unknown method {self.method!r}",
            "use 'marginal' or 'retroactive'",
        )
        _check(
            self.measure in MEASURES,
            c,
            "measure",
            f"unknown measure {self.measure!r}",
            f"use one of {', '.join(MEASURES)}",
        )
        _check(
            self.rate_of in ("measure", "target_incentive"),
            c,
            "rate_of",
            f"unknown rate_of {self.rate_of!r}",
            "use 'measure' or 'target_incentive'",
        )
        for name in ("gate", "cap_attainment", "cap_payout", "cap_payout_ti"):
            _non_negative(c, name, getattr(self, name))
        _check(
            self.cap_attainment > self.gate,
            c,
            "cap_attainment",
            f"cap {self.cap_attainment} is not above the gate {self.gate}",
            "raise the cap or lower the gate",
        )

    @property
    def lowers(self) -> tuple[float, ...]:
        """Tier lower bounds."""
        return tuple(t.lower for t in self.tiers)

    @property
    def rates(self) -> tuple[float, ...]:
        """Tier rates."""
        return tuple(t.rate for t in self.tiers)


@dataclass(frozen=True)
class Band(_Replaceable):
    """Multiplier for numeric values in ``[lower, upper)`` (a rate-card band)."""

    lower: float
    upper: float
    multiplier: float

    def __post_init__(self) -> None:
        _non_negative("rate_card", "bands.multiplier", self.multiplier)
        _check(
            self.upper > self.lower,
            "rate_card",
            "bands.to",
            f"band [{self.lower}, {self.upper}) is empty or reversed",
            "give each band a 'to' above its 'from'",
        )


@dataclass(frozen=True)
class RateCard(_Replaceable):
    """Commission multiplier per deal by a column (product line, deal type) or numeric bands
    (margin). A deal's commission base is its credit × the product of its rate-card
    multipliers; attainment always uses the unweighted credit.
    """

    column: str
    values: tuple[tuple[str, float], ...] = ()
    bands: tuple[Band, ...] = ()
    default: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        c = f"rate_card {self.name or self.column}"
        _check(
            bool(self.values) != bool(self.bands),
            c,
            "values",
            "give either values (by category) or bands (by number), and only one",
            "for a category column use values = {label = multiplier}; for margin use bands",
        )
        labels = [label for label, _ in self.values]
        dupes = sorted({v for v in labels if labels.count(v) > 1})
        _check(not dupes, c, "values", f"labels repeat: {dupes}", "give each label once")
        for label, m in self.values:
            _non_negative(c, f"values.{label}", m)
        _non_negative(c, "default", self.default)
        for a, b in zip(self.bands, self.bands[1:], strict=False):
            _check(
                b.lower >= a.upper,
                c,
                "bands",
                f"bands overlap or are not sorted ({a.lower}-{a.upper}, {b.lower}-{b.upper})",
                "sort the bands and make them disjoint",
            )


# ------------------------------------------------------------------ bonuses and extras
@dataclass(frozen=True)
class QuotaBonus(_Replaceable):
    """Bonus on attainment: ``"step"`` pays the amount of the highest threshold reached;
    ``"linear"`` interpolates between points (nothing below the first, flat after the last).

    ``points`` are (attainment, amount); with ``of_target_incentive`` the amounts are
    fractions of the period's target incentive.
    """

    name: str
    points: tuple[tuple[float, float], ...]
    kind: Literal["step", "linear"] = "step"
    of_target_incentive: bool = False

    def __post_init__(self) -> None:
        c = f"bonus {self.name}"
        _check(
            self.kind in ("step", "linear"),
            c,
            "kind",
            f"unknown kind {self.kind!r}",
            "use 'step' or 'linear'",
        )
        _check(len(self.points) > 0, c, "points", "no points", "give at least one threshold")
        at = [p[0] for p in self.points]
        _check(
            all(b > a for a, b in itertools.pairwise(at)),
            c,
            "points",
            f"thresholds {at} are not strictly increasing",
            "sort the thresholds and remove duplicates",
        )
        for i, (a, amount) in enumerate(self.points, start=1):
            _non_negative(c, f"points[{i}].at", a)
            _non_negative(c, f"points[{i}].amount", amount)


@dataclass(frozen=True)
class Spiff(_Replaceable):
    """A fixed amount and/or a rate per matching won deal, shared by credit.

    ``where`` holds (column, allowed values) pairs, all of which must match; ``min_amount``
    and the ``start``/``end`` dates (ISO, on the close date, end exclusive) narrow it further.
    """

    name: str
    amount: float = 0.0
    rate: float = 0.0
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    min_amount: float = 0.0
    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        c = f"spiff {self.name}"
        _non_negative(c, "amount", self.amount)
        _non_negative(c, "rate", self.rate)
        _non_negative(c, "min_amount", self.min_amount)
        _check(
            self.rate <= ABSURD_RATE,
            c,
            "rate",
            f"rate {self.rate} is absurd",
            "give rates as fractions: 0.01 for 1%",
        )
        _check(
            self.amount > 0 or self.rate > 0,
            c,
            "amount",
            "pays nothing",
            "give an amount per deal or a rate",
        )
        dates = []
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    dates.append(dt.date.fromisoformat(str(value)[:10]))
                except ValueError:
                    raise PlanError(
                        c, name, f"{value!r} is not a date", "write an ISO date such as 2025-01-31"
                    ) from None
        _check(
            len(dates) < 2 or dates[0] < dates[1],
            c,
            "end",
            "is not after start",
            "make end (exclusive) later than start",
        )


@dataclass(frozen=True)
class TeamPool(_Replaceable):
    """A pool per team and period: ``rate`` × the team's credited measure (+ a fixed
    ``amount``), paid when team attainment reaches ``gate``, shared among the team's eligible
    reps ``"equal"``-ly, by ``"credit"`` or by ``"target_incentive"``."""

    name: str
    rate: float = 0.0
    amount: float = 0.0
    gate: float = 0.0
    share: Literal["equal", "credit", "target_incentive"] = "equal"

    def __post_init__(self) -> None:
        c = f"team_pool {self.name}"
        for name in ("rate", "amount", "gate"):
            _non_negative(c, name, getattr(self, name))
        _check(
            self.rate <= ABSURD_RATE,
            c,
            "rate",
            f"rate {self.rate} is absurd",
            "give rates as fractions: 0.01 for 1%",
        )
        _check(
            self.share in ("equal", "credit", "target_incentive"),
            c,
            "share",
            f"unknown share {self.share!r}",
            "use 'equal', 'credit' or 'target_incentive'",
        )


@dataclass(frozen=True)
class Draw(_Replaceable):
    """An advance guaranteeing ``amount`` of variable pay per period.

    Recoverable: a shortfall is added to a balance recovered from later variable pay above
    the draw, at most ``recovery_share`` of the excess per period; the balance left at exit is
    forgiven or reported as owed. Non-recoverable: a guarantee whose shortfall is never
    recovered (clawbacks beyond a period's pay are still carried and recovered).
    ``periods`` limits the draw to a rep's first N plan periods after hire (0 = always).
    """

    amount: float
    recoverable: bool = True
    recovery_share: float = 1.0
    forgive_on_exit: bool = True
    periods: int = 0

    def __post_init__(self) -> None:
        _non_negative("draw", "amount", self.amount)
        _check(
            0 < self.recovery_share <= 1,
            "draw",
            "recovery_share",
            f"must be in (0, 1], got {self.recovery_share}",
            "give the share of earnings above the draw that repays the balance",
        )
        _check(self.periods >= 0, "draw", "periods", "is negative", "give 0 or a count")


@dataclass(frozen=True)
class Clawback(_Replaceable):
    """Commission of a won deal cancelled within ``within_days`` of closing is taken back
    in the period of cancellation, at the rate it was paid; ``pro_rata`` reduces the
    clawback linearly to zero at the end of the window."""

    within_days: int
    pro_rata: bool = False

    def __post_init__(self) -> None:
        _check(
            self.within_days > 0,
            "clawback",
            "within_days",
            f"must be positive, got {self.within_days}",
            "give the window in days, e.g. 90",
        )


# ------------------------------------------------------------------ who, what quota
@dataclass(frozen=True)
class Eligibility(_Replaceable):
    """Which reps the plan covers (all that match every non-empty criterion)."""

    roles: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    rep_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Crediting(_Replaceable):
    """Who is credited with a won deal.

    ``rules``: ``"owner"`` (the deal owner, share 1), ``"splits"`` (the ``splits`` table's
    split shares where a deal has them, else the owner), ``"lead_owner"`` (the owner of the
    lead the deal came from), ``"manager"`` (the deal owner's manager, as overlay credit).
    Overlay credit (``"manager"``, overlay rows of ``splits``) is added on top of split
    credit, at ``overlay_share``.
    """

    rules: tuple[str, ...] = ("owner",)
    overlay_share: float = 1.0

    def __post_init__(self) -> None:
        for r in self.rules:
            _check(
                r in CREDIT_RULES,
                "crediting",
                "rules",
                f"unknown rule {r!r}",
                f"use any of {', '.join(CREDIT_RULES)}",
            )
        _check(bool(self.rules), "crediting", "rules", "no rules", "give at least 'owner'")
        _check(
            not ({"owner", "splits"} <= set(self.rules)),
            "crediting",
            "rules",
            "'owner' and 'splits' both credit the owner",
            "use 'splits' (it falls back to the owner) or 'owner', not both",
        )
        _non_negative("crediting", "overlay_share", self.overlay_share)
        _check(
            self.overlay_share <= 10,
            "crediting",
            "overlay_share",
            f"{self.overlay_share} is absurd",
            "give a fraction: 1.0 for full credit",
        )


@dataclass(frozen=True)
class QuotaRule(_Replaceable):
    """Where quotas come from: the ``quotas`` table (summed into plan periods), or an
    ``annual`` amount spread evenly over the periods; ``prorate`` scales the quota by the
    employed share of each period (for tables that hold full-period quotas)."""

    source: Literal["table", "annual"] = "table"
    annual: float = 0.0
    prorate: bool = False

    def __post_init__(self) -> None:
        _check(
            self.source in ("table", "annual"),
            "quota",
            "source",
            f"unknown source {self.source!r}",
            "use 'table' (the quotas table) or 'annual' with an amount",
        )
        _non_negative("quota", "annual", self.annual)
        _check(
            self.source == "table" or self.annual > 0,
            "quota",
            "annual",
            "an annual quota source needs a positive annual amount",
            "give annual = <amount per year>",
        )


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
