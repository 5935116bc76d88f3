"""The other plan components: quota bonuses, SPIFFs, team pools, draws, clawbacks, and who
is on the plan, how deals are credited and where quotas come from (see :mod:`.spec`)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Literal

from ._base import ABSURD_RATE, CREDIT_RULES, PlanError, _check, _non_negative, _Replaceable

__all__ = [
    "Clawback",
    "Crediting",
    "Draw",
    "Eligibility",
    "QuotaBonus",
    "QuotaRule",
    "Spiff",
    "TeamPool",
]


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
