"""All fairness metrics in one call on trial arrays, and the per-trial metric for ``simulate``.

:func:`compute` evaluates every metric of :mod:`.metrics` on ``(T, R)`` annual and
``(T, R, P)`` per-period arrays; the backtest report calls it on bootstrap draws of reps, the
simulation calls it (through :func:`fairness_metrics`) on each chunk of trials, so both give
the same columns with the same definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from ..plans.spec import Plan
from ..simulation.chunk import TrialView, plan_arrays
from ..simulation.scenario import Population, pay_scale
from . import metrics as m
from .gaps import with_tenure

__all__ = ["METRICS", "FairnessMetric", "PayKind", "compute", "fairness_metrics", "gap_column"]

F = NDArray[np.float64]
PayKind = Literal["target", "variable", "total"]
METRICS: dict[str, str] = {
    "rank_correlation": "pay–performance rank correlation (Spearman)",
    "inversion_rate": "share of comparable pairs where the better performer is paid less",
    "band_cv": "CV of pay within attainment bands",
    "band_gini": "Gini of pay within attainment bands",
    "band_theil": "Theil of pay within attainment bands",
    "temporal_band_cv": "CV of a rep's pay over periods in the same attainment band",
    "rep_pay_cv": "per-rep CV of pay across periods",
    "luck_share": "R² of pay on luck across reps",
    "share_at_quota": "share of reps at or above quota",
    "leverage": "top-decile (P90) pay ÷ median pay",
    "gini": "Gini of pay across all reps",
}
"""Metric name → what it measures (the ``metric`` column of the fairness table)."""
HIGHER_IS_FAIRER = {"rank_correlation": True, "share_at_quota": True}
"""Direction of each metric where higher is fairer; all others: lower is fairer (leverage and
share at quota are descriptive, not fairness, and are shown as they are)."""


def gap_column(attribute: str, level: object) -> str:
    """Per-trial column name of a group's pay gap.

    Examples
    --------
    >>> gap_column("region", "North")
    'gap:region=North'
    """
    return f"gap:{attribute}={level}"


def compute(
    pay: F,
    attainment: F,
    *,
    period_pay: F | None = None,
    period_attainment: F | None = None,
    luck: F | None = None,
    bands: Sequence[float] = m.BANDS,
) -> dict[str, F]:
    """Every metric of :data:`METRICS` that the arrays allow, each ``(T,)``.

    Parameters
    ----------
    pay, attainment
        ``(T, R)`` annual pay and attainment (NaN = not on the plan).
    period_pay, period_attainment
        ``(T, R, P)`` per period (NaN = not employed); temporal metrics need them.
    luck
        ``(T, R)`` luck of each rep's year; the luck share needs it.
    bands
        Attainment band edges.

    Examples
    --------
    >>> a = np.array([[0.3, 0.6, 0.9, 1.1, 1.4]])
    >>> out = compute(2 * a, a)
    >>> float(out["rank_correlation"][0]), float(out["inversion_rate"][0])
    (1.0, 0.0)
    """
    pay = np.where(np.isfinite(attainment), pay, np.nan)
    out = {
        "rank_correlation": m.rank_correlation(pay, attainment),
        "inversion_rate": m.inversion_rate(pay, attainment),
        **m.band_dispersion(pay, attainment, bands),
    }
    if period_pay is not None and period_attainment is not None:
        out["temporal_band_cv"] = m.temporal_band_cv(period_pay, period_attainment, bands)
        out["rep_pay_cv"] = m.rep_pay_cv(period_pay, np.isfinite(period_attainment))
    if luck is not None:
        out["luck_share"] = m.luck_share(pay, np.where(np.isfinite(attainment), luck, np.nan))
    out["share_at_quota"] = m.share_at_quota(attainment)
    out["leverage"] = m.leverage(pay, attainment)
    out["gini"] = m.gini(pay)
    return out


def reference_level(codes: NDArray[np.int64], keep: NDArray[np.bool_]) -> int:
    """The most common group among ``keep`` reps (lowest code on ties); 0 when none.

    Examples
    --------
    >>> reference_level(np.array([0, 1, 1, 2]), np.array([True, True, True, False]))
    1
    """
    counts = np.bincount(codes[keep & (codes >= 0)], minlength=max(int(codes.max()) + 1, 1))
    return int(np.argmax(counts)) if counts.size else 0


@dataclass(frozen=True, eq=False)
class FairnessMetric:
    """The per-trial fairness metric for :func:`~salesanalytics.simulation.simulate`
    (build it with :func:`fairness_metrics`)."""

    population: Population
    groups: tuple[str, ...] = ("region", "team", "tenure")
    bands: tuple[float, ...] = m.BANDS
    pay: PayKind = "target"
    knots: tuple[float, ...] = (0.5, 0.8, 1.0, 1.2)
    codes: dict[str, tuple[NDArray[np.int64], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )

    def _per_period(self, plan: Plan) -> tuple[F, F, F]:
        """``(R, P)`` employed share, base salary and pay scale per plan period."""
        pop = self.population
        layout = plan_arrays(plan, pop)
        employed = layout.average(pop.employed)
        ppy = plan.periods_per_year
        base_salary = (
            np.full(len(pop.reps), float(plan.base_salary))
            if plan.base_salary is not None
            else pop.base_salary
        )
        ti = (
            np.full(len(pop.reps), float(plan.target_incentive))
            if plan.target_incentive is not None
            else pop.target_incentive
        )
        base = base_salary[:, None] / ppy * employed
        scale = pay_scale(base_salary, ti)[:, None] / ppy * employed
        return employed, base, scale

    def __call__(self, view: TrialView) -> dict[str, F]:
        """Every fairness metric per trial of ``view`` (see :func:`compute`)."""
        employed, base, scale = self._per_period(view.plan)
        # Exact when the view carries the drawn employment and base pay (see the docs);
        # otherwise the population's employment, and variable pay floored at 0 where a rep
        # drawn to leave earns less than the population's base.
        drawn = getattr(view, "employed", None)
        if drawn is not None:
            share = ratio(drawn, employed)
            employed, scale = np.broadcast_to(drawn, view.pay.shape), scale * share
        paid_base = getattr(view, "base", None)
        base = np.minimum(base, view.pay) if paid_base is None else paid_base
        keep = view.eligible
        on = keep[..., :, None] & (employed > 0)
        period_pay = view.pay
        annual_pay = view.annual_pay
        if self.pay != "total":
            period_pay = period_pay - base
            annual_pay = annual_pay - base.sum(-1)
        if self.pay == "target":
            year = scale.sum(-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                period_pay = period_pay / np.where(scale > 0, scale, np.nan)
                annual_pay = annual_pay / np.where(year > 0, year, np.nan)
        attainment = np.where(keep, view.annual_attainment, np.nan)
        period_attainment = np.where(on, view.attainment, np.nan)
        out = compute(
            np.where(keep, annual_pay, np.nan),
            attainment,
            period_pay=np.where(on, period_pay, np.nan),
            period_attainment=period_attainment,
            luck=view.luck,
            bands=self.bands,
        )
        for attribute, (codes, labels) in self.codes.items():
            fit = m.group_gaps(
                annual_pay,
                attainment,
                codes,
                groups=len(labels),
                reference=reference_level(codes, keep),
                knots=self.knots,
                log=True,
            )
            for k, level in enumerate(labels):
                out[gap_column(attribute, level)] = np.expm1(fit.estimate[:, k])
        return out


def fairness_metrics(
    population: Population,
    *,
    groups: Sequence[str] = ("region", "team", "tenure"),
    bands: Sequence[float] = m.BANDS,
    pay: PayKind = "target",
    knots: Sequence[float] = (0.5, 0.8, 1.0, 1.2),
) -> FairnessMetric:
    """The fairness metric to pass to ``simulate(..., metrics=[...])``.

    Parameters
    ----------
    population
        The scenario's population (``scenario.population``).
    groups
        Rep attributes whose pay gaps are estimated (missing attributes are skipped).
    bands
        Attainment band edges of the within-band dispersion.
    pay
        ``"target"`` (default): variable pay ÷ the rep's target incentive for the time
        employed (1.0 = on-target pay; base salary from the population, see the docs);
        ``"variable"``: variable pay; ``"total"``: total pay.
    knots
        Knots of the attainment spline controlled for in the group gaps.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> pop = Population.from_dataset(sample.generate(600, seed=0))
    >>> flat = Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> scenario = AttainmentScenario(pop, Normal(1.0, 0.2), month_sd=0.2)
    >>> result = simulate(flat, scenario, trials=32, seed=1, metrics=[fairness_metrics(pop)])
    >>> bool((result.per_trial["inversion_rate"] < 0.5).all())
    True
    """
    reps = with_tenure(population.reps, population.months[0])
    codes: dict[str, tuple[NDArray[np.int64], tuple[str, ...]]] = {}
    for attribute in groups:
        if attribute in reps.columns:
            c, labels = pd.factorize(reps[attribute])
            codes[attribute] = (c.astype(np.int64), tuple(str(v) for v in labels))
    return FairnessMetric(
        population,
        tuple(a for a in groups if a in codes),
        tuple(float(b) for b in bands),
        pay,
        tuple(float(k) for k in knots),
        codes,
    )
