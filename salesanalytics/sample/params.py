"""The true parameters of the synthetic world: sources, segments, products, stages, seasonality.

Everything here is an immutable module-level constant, so analyses can compare what they
estimate with what is true. Per-rep truths (skill, cadence, response speed) depend on the
seed and live in :class:`~salesanalytics.sample.SampleTruth` (see
:func:`~salesanalytics.sample.truth`).

Conventions: money is in ``CURRENCY`` (CNY); "shift" parameters are additive effects on a
log-odds scale; "factor" parameters multiply; times are in days unless named otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "CURRENCY",
    "INDUSTRIES",
    "LEAD_MODEL",
    "LOST_REASONS",
    "PRODUCTS",
    "REGIONS",
    "SEASONALITY",
    "SIZES",
    "SOURCES",
    "STAGE_WALK",
    "TEAMS",
    "WORKFORCE",
    "Industry",
    "LeadModel",
    "Product",
    "Region",
    "Seasonality",
    "Size",
    "Source",
    "StageWalk",
    "Team",
    "Workforce",
]

CURRENCY = "CNY"
"""Every amount, salary, quota and cost is in this currency (the sample is single-currency)."""


@dataclass(frozen=True)
class Source:
    """A lead source and how its leads truly behave.

    Attributes
    ----------
    name
        Canonical source name (also the ``lead_source`` value).
    lead_share
        Share of all leads.
    conversion_shift
        Log-odds shift of lead -> deal conversion (beyond the lead's own components).
    win_shift
        Log-odds shift of surviving each open stage of the deal walk.
    amount_factor
        Multiplier of deal amounts.
    cost_per_lead
        Average marketing cost per lead (CNY); monthly spend = leads x this x noise.
    need_fit_shift, power_shift
        Shifts of the latent need-fit and purchasing-power components (1-5 points).
    """

    name: str
    lead_share: float
    conversion_shift: float
    win_shift: float
    amount_factor: float
    cost_per_lead: float
    need_fit_shift: float
    power_shift: float


SOURCES: tuple[Source, ...] = (
    Source("referral", 0.07, 0.90, 0.55, 1.15, 150.0, 0.6, 0.2),
    Source("partner", 0.08, 0.60, 0.35, 1.30, 900.0, 0.4, 0.3),
    Source("trade_show", 0.10, 0.25, 0.10, 1.40, 2800.0, 0.2, 0.3),
    Source("website", 0.20, 0.20, 0.00, 1.00, 350.0, 0.3, 0.0),
    Source("webinar", 0.10, -0.10, -0.05, 0.90, 500.0, 0.1, 0.0),
    Source("paid_search", 0.17, -0.30, -0.15, 0.85, 650.0, 0.0, -0.1),
    Source("social", 0.10, -0.60, -0.25, 0.70, 400.0, -0.2, -0.2),
    Source("cold_call", 0.10, -0.80, -0.20, 1.10, 250.0, -0.4, 0.0),
    Source("purchased_list", 0.08, -1.30, -0.45, 0.80, 40.0, -0.7, -0.3),
)
"""The nine marketing lead sources (shares sum to 1)."""

REPEAT_SOURCE = "existing_customer"
"""``lead_source`` of renewal and expansion deals (no lead, no spend)."""


@dataclass(frozen=True)
class Region:
    """A sales region: share of demand, win shift, amount factor."""

    name: str
    share: float
    win_shift: float
    amount_factor: float


REGIONS: tuple[Region, ...] = (
    Region("East", 0.38, 0.05, 1.10),
    Region("North", 0.25, 0.00, 1.00),
    Region("South", 0.22, 0.05, 1.00),
    Region("West", 0.15, -0.15, 0.85),
)


@dataclass(frozen=True)
class Size:
    """A company-size segment and its effects.

    ``amount_shift`` is on log(amount); ``cycle_factor`` multiplies time in stage;
    ``power_shift`` and ``complexity_shift`` move the purchasing-power and decision-chain
    components (points).
    """

    name: str
    share: float
    win_shift: float
    amount_shift: float
    cycle_factor: float
    power_shift: float
    complexity_shift: float


SIZES: tuple[Size, ...] = (
    Size("small", 0.36, 0.15, -0.60, 0.60, -0.7, -0.8),
    Size("medium", 0.34, 0.00, 0.00, 1.00, 0.0, -0.1),
    Size("large", 0.20, -0.10, 0.50, 1.50, 0.5, 0.5),
    Size("enterprise", 0.10, -0.25, 1.00, 2.20, 0.9, 1.0),
)


@dataclass(frozen=True)
class Industry:
    """An industry: share, win shift, amount factor."""

    name: str
    share: float
    win_shift: float
    amount_factor: float


INDUSTRIES: tuple[Industry, ...] = (
    Industry("manufacturing", 0.22, 0.05, 1.10),
    Industry("retail", 0.14, -0.05, 0.80),
    Industry("finance", 0.10, -0.10, 1.40),
    Industry("healthcare", 0.09, 0.00, 1.10),
    Industry("education", 0.08, 0.10, 0.70),
    Industry("technology", 0.17, 0.05, 1.00),
    Industry("logistics", 0.11, 0.00, 0.90),
    Industry("energy", 0.09, -0.05, 1.30),
)


@dataclass(frozen=True)
class Product:
    """A product line: share of new deals, median amount (CNY), gross margin, renewable."""

    name: str
    share: float
    median_amount: float
    margin: float
    renewable: bool


PRODUCTS: tuple[Product, ...] = (
    Product("Platform", 0.45, 90_000.0, 0.80, True),
    Product("Analytics", 0.20, 45_000.0, 0.76, True),
    Product("Services", 0.20, 60_000.0, 0.35, False),
    Product("Hardware", 0.15, 150_000.0, 0.22, False),
)


@dataclass(frozen=True)
class Team:
    """A sales team: region, the company sizes it covers, and its name."""

    name: str
    region: str
    sizes: tuple[str, ...]


TEAMS: tuple[Team, ...] = (
    Team("East Enterprise", "East", ("large", "enterprise")),
    Team("East Commercial", "East", ("small", "medium")),
    Team("North", "North", ("small", "medium", "large", "enterprise")),
    Team("South", "South", ("small", "medium", "large", "enterprise")),
    Team("West", "West", ("small", "medium", "large", "enterprise")),
)
"""Leads and deals are routed to a team by region and (in the East) company size."""


@dataclass(frozen=True)
class LeadModel:
    """The true lead -> deal conversion model (logistic) and the lead-side timings.

    ``logit p = a + source.conversion_shift + need_fit_coef (need_fit - 3)
    + power_coef (purchasing_power - 3) + complexity_coef (decision_complexity - 3)
    + response_coef log2(1 + response_hours) + owner lead skill
    + cadence_coef log(owner cadence / cadence_median)``; the intercept ``a`` is calibrated
    so that the expected number of conversions equals the number of new deals asked for.
    Leads that are never answered never convert. The published ``score`` is
    ``round(100 (0.40 (nf - 1) + 0.35 (pp - 1) + 0.25 (5 - dc)) / 4)``: close to, but not
    exactly, the true weights.
    """

    leads_per_new_deal: float = 4.0
    need_fit_coef: float = 0.45
    power_coef: float = 0.35
    complexity_coef: float = -0.30
    response_coef: float = -0.30
    cadence_coef: float = 0.50
    cadence_median: float = 1.3
    """Median follow-up touches per week across reps."""
    never_respond: float = 0.10
    """Base share of leads that are never answered (more for slow reps)."""
    response_median_hours: float = 3.0
    response_sigma: float = 2.0
    """Log-scale spread of one lead's response delay around its owner's median."""
    off_hours_factor: float = 2.5
    """Response delays of leads created at night or on weekends are this much longer."""
    qualify_median_days: float = 6.0
    qualify_sigma: float = 0.8
    work_median_days: float = 12.0
    """How long an unconverted lead is worked after first response (median)."""
    sdr_share: float = 0.70
    """Share of leads routed to SDRs (the rest to AEs directly)."""
    score_effect: float = 0.010
    """Stage-survival log-odds per score point above 50 for deals from leads."""


LEAD_MODEL = LeadModel()


@dataclass(frozen=True)
class StageWalk:
    """The true pipeline walk over the open stages ``lead, contacted, proposal, negotiation``.

    At each open stage ``k`` a deal is lost with probability
    ``sigmoid(logit(base_loss[k]) - e)``, where ``e`` is the deal's survival shift (source,
    rep skill and ramp, size, region, industry, score, deal type, deal noise). Otherwise it
    moves back one stage with ``backward[k]`` (once per deal), skips one stage with
    ``skip[k]`` (to won from proposal), or moves forward. A lost deal reopens once with
    ``reopen[reason]`` after ``reopen_median_days``. Time in stage is lognormal with median
    ``median_days[k] x size/type cycle factor`` (x ``loss_slowdown`` before a loss).
    """

    base_loss: tuple[float, ...] = (0.33, 0.30, 0.32, 0.27)
    skip: tuple[float, ...] = (0.16, 0.13, 0.11, 0.0)
    backward: tuple[float, ...] = (0.0, 0.0, 0.022, 0.022)
    median_days: tuple[float, ...] = (4.0, 10.0, 18.0, 14.0)
    sigma: float = 0.8
    loss_slowdown: float = 1.5
    min_minutes: float = 15.0
    deal_noise: float = 0.30
    ramp_penalty: float = 0.5
    """Survival log-odds lost by a brand-new rep (fades linearly over the ramp)."""
    renewal_shift: float = 1.8
    expansion_shift: float = 0.7
    renewal_cycle: float = 0.7
    expansion_cycle: float = 0.8
    reopen_median_days: float = 45.0
    reopen_sigma: float = 0.6
    reopen: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "timing": 0.08,
                "no_decision": 0.05,
                "went_dark": 0.02,
                "no_budget": 0.02,
                "price": 0.01,
                "competitor": 0.005,
                "owner_left": 0.0,
            }
        )
    )
    quarter_end_pull: float = 0.40
    """Chance that a win falling in the first ``pull_window_days`` of a quarter is pulled
    back into the last days of the previous quarter (0.55 at year end)."""
    year_end_pull: float = 0.60
    pull_window_days: float = 15.0
    leaver_loss: float = 0.30
    """Share of a leaver's open deals that are closed lost (``owner_left``); the rest go to
    the most senior colleague in the team."""


STAGE_WALK = StageWalk()

LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_budget",
    "no_decision",
    "timing",
    "went_dark",
    "owner_left",
)
"""Lost reasons; the last one is only used when a leaver's deal is closed."""

LOSS_REASON_MIX: tuple[tuple[float, ...], ...] = (
    # price competitor no_budget no_decision timing went_dark   (per open stage)
    (0.05, 0.05, 0.25, 0.05, 0.20, 0.40),
    (0.05, 0.10, 0.25, 0.10, 0.20, 0.30),
    (0.30, 0.25, 0.10, 0.15, 0.10, 0.10),
    (0.35, 0.30, 0.05, 0.15, 0.10, 0.05),
)
"""Lost-reason mix at each open stage: early losses go dark or lack budget, late ones price."""


@dataclass(frozen=True)
class Seasonality:
    """Demand over calendar time: growth, month factors, weekday and hour profiles."""

    annual_growth: float = 0.30
    month_factor: tuple[float, ...] = (
        0.95,
        0.65,
        1.10,
        1.00,
        1.00,
        1.05,
        0.95,
        0.90,
        1.10,
        0.85,
        1.10,
        1.05,
    )
    """January..December lead volume (February: Spring Festival; October: Golden Week)."""
    weekend_factor: float = 0.25
    trade_show_months: tuple[int, ...] = (3, 6, 9, 11)
    trade_show_boost: float = 2.5
    trade_show_off: float = 0.4
    hour_weights_utc: tuple[float, ...] = (
        4,
        6,
        8,
        8,
        6,
        7,
        8,
        7,
        6,
        5,
        3,
        2,
        1,
        1,
        0.5,
        0.3,
        0.3,
        0.3,
        0.3,
        0.5,
        0.5,
        0.8,
        1,
        2,
    )
    """Lead arrival by UTC hour (China business hours are 00-10 UTC)."""


SEASONALITY = Seasonality()


@dataclass(frozen=True)
class Workforce:
    """Headcount, roles, attrition, ramp, pay and quota setting."""

    sdr_share: float = 0.18
    """Share of a team's non-manager seats that are SDRs (at least one)."""
    monthly_attrition: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"AE": 0.020, "SDR": 0.030, "Manager": 0.0})
    )
    vacancy_days: tuple[float, float] = (20.0, 75.0)
    annual_seat_growth: float = 0.08
    ramp_days: float = 120.0
    """New hires reach full capacity (deal flow, skill, quota) after this many days."""
    skill_sd: float = 0.30
    lead_skill_sd: float = 0.25
    cadence_sd: float = 0.35
    response_sd: float = 0.60
    capacity_sd: float = 0.15
    base_salary: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: MappingProxyType(
            {
                "AE": (180_000.0, 280_000.0),
                "SDR": (110_000.0, 160_000.0),
                "Manager": (350_000.0, 450_000.0),
            }
        )
    )
    incentive_ratio: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"AE": 0.65, "SDR": 0.40, "Manager": 0.45})
    )
    """Target incentive as a fraction of base salary (AE pay mix about 60/40)."""
    quota_stretch: float = 1.15
    """Quotas are set this much above expected bookings (median attainment near 90%)."""
    quota_skill_weight: float = 0.4
    """Quotas follow a rep's true productivity to this power (managers know a little)."""
    renewal_probability: float = 0.70
    expansion_probability: float = 0.25
    repeat_share: float = 0.20
    """Share of deals that are renewals or expansions of existing accounts."""


WORKFORCE = Workforce()


@dataclass(frozen=True)
class Cancellations:
    """Won deals cancelled or refunded after closing: the facts clawbacks act on."""

    share: float = 0.03
    """Share of won deals that are cancelled at some point."""
    mean_days: float = 40.0
    """Mean delay from close to cancellation (exponential); later ones fall after as-of."""


CANCELLATIONS = Cancellations()
