"""The true parameters behind a generated sample, for checking what analyses recover."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._util import make_rng
from .params import (
    INDUSTRIES,
    LEAD_MODEL,
    LOSS_REASON_MIX,
    PRODUCTS,
    REGIONS,
    SEASONALITY,
    SIZES,
    SOURCES,
    STAGE_WALK,
    TEAMS,
    WORKFORCE,
    Industry,
    LeadModel,
    Product,
    Region,
    Seasonality,
    Size,
    Source,
    StageWalk,
    Team,
    Workforce,
)
from .world import ROLES, Calendar, Staff, build_staff

N_STREAMS = 7
"""Independent random streams spawned from the seed: world, leads, deals, walk, activities,
finance, cancellations (so a change in one part does not reshuffle the others; a stream
added later leaves the earlier ones as they were)."""


@dataclass(frozen=True)
class RepTraits:
    """One rep's true, unobserved traits.

    Attributes
    ----------
    skill
        Stage-survival log-odds shift of the rep's deals (AEs; 0 otherwise).
    lead_skill
        Lead-conversion log-odds shift of the rep's leads.
    cadence
        Follow-up touches per week on worked leads.
    response_hours
        Median first-response delay in business hours (x2.5 off-hours).
    capacity
        Relative share of routed work among employed teammates (before ramp).
    """

    rep_id: str
    role: str
    team: str
    skill: float
    lead_skill: float
    cadence: float
    response_hours: float
    capacity: float


@dataclass(frozen=True)
class SampleTruth:
    """Everything that is true in a sample generated with the same seed and shape.

    The lead-conversion intercept is not listed: it is calibrated per ``n_deals`` so that the
    number of new deals matches.
    """

    as_of: pd.Timestamp
    reps: tuple[RepTraits, ...]
    sources: tuple[Source, ...] = SOURCES
    regions: tuple[Region, ...] = REGIONS
    sizes: tuple[Size, ...] = SIZES
    industries: tuple[Industry, ...] = INDUSTRIES
    products: tuple[Product, ...] = PRODUCTS
    teams: tuple[Team, ...] = TEAMS
    lead_model: LeadModel = LEAD_MODEL
    stage_walk: StageWalk = STAGE_WALK
    loss_reason_mix: tuple[tuple[float, ...], ...] = LOSS_REASON_MIX
    seasonality: Seasonality = SEASONALITY
    workforce: Workforce = field(default=WORKFORCE)

    def rep_frame(self) -> pd.DataFrame:
        """The reps' true traits as a new DataFrame (one row per rep, ``reps`` order).

        Examples
        --------
        >>> from salesanalytics import sample
        >>> traits = sample.truth(seed=0).rep_frame()
        >>> traits.groupby("role")["skill"].apply(lambda s: bool((s != 0).any())).to_dict()
        {'AE': True, 'Manager': False, 'SDR': False}
        """
        return pd.DataFrame([r.__dict__ for r in self.reps]).astype(
            {"rep_id": "str", "role": "str", "team": "str"}
        )

    def source_frame(self) -> pd.DataFrame:
        """The lead sources' true parameters as a new DataFrame indexed by source.

        Examples
        --------
        >>> from salesanalytics import sample
        >>> frame = sample.truth().source_frame()
        >>> frame["conversion_shift"].idxmax(), frame["cost_per_lead"].idxmax()
        ('referral', 'trade_show')
        """
        return pd.DataFrame([s.__dict__ for s in self.sources]).set_index("name")


def streams(seed: int | np.random.Generator | None) -> list[np.random.Generator]:
    """The independent generators used by :func:`~salesanalytics.sample.generate`."""
    return make_rng(seed).spawn(N_STREAMS)


def traits(staff: Staff) -> tuple[RepTraits, ...]:
    """The true traits of every rep of ``staff``."""
    return tuple(
        RepTraits(
            rep_id=rep_id,
            role=ROLES[int(staff.role[i])],
            team=TEAMS[int(staff.team[i])].name,
            skill=float(staff.skill[i]),
            lead_skill=float(staff.lead_skill[i]),
            cadence=float(staff.cadence[i]),
            response_hours=float(staff.response_hours[i]),
            capacity=float(staff.capacity[i]),
        )
        for i, rep_id in enumerate(staff.ids)
    )


def truth(
    seed: int | np.random.Generator | None = 0,
    *,
    months: int = 24,
    start: str = "2024-01-01",
    n_reps: int = 40,
) -> SampleTruth:
    """The true parameters of ``generate(..., seed, months=, start=, n_reps=)``.

    Rep traits depend on the seed and the shape (not on ``n_deals``); pass the same values
    as to :func:`~salesanalytics.sample.generate`. For a Generator seed pass an equivalent,
    unused generator (both functions spawn child streams from it, which advances it).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> t = sample.truth(seed=0)
    >>> t.source_frame().loc["referral", "cost_per_lead"]
    np.float64(150.0)
    >>> t.rep_frame().columns.tolist()[:3]
    ['rep_id', 'role', 'team']
    """
    calendar = Calendar.build(start, months)
    staff = build_staff(streams(seed)[0], calendar, n_reps)
    return SampleTruth(as_of=pd.Timestamp(calendar.as_of, unit="s", tz="UTC"), reps=traits(staff))


__all__ = ["RepTraits", "SampleTruth", "streams", "traits", "truth"]
