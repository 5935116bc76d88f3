"""Commission components of a plan: tiers on attainment, the commission itself (method,
measure, gate, caps) and rate cards (see :mod:`.spec` and ``docs/plans.md``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from ._base import ABSURD_RATE, INF, MEASURES, PlanError, _check, _non_negative, _Replaceable

__all__ = ["Band", "Commission", "RateCard", "Tier"]


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

    @cached_property
    def lowers(self) -> tuple[float, ...]:
        """Tier lower bounds."""
        return tuple(t.lower for t in self.tiers)

    @cached_property
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
