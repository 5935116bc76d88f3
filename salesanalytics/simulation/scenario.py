"""Scenarios: who is simulated (:class:`Population`) and how their bookings vary
(:class:`Scenario`), as small immutable objects.

A scenario draws :class:`Sample` arrays of shape ``(trials, reps, months)``: credited measure,
quota and employed share per rep and month, plus the *luck* part of each rep's year (the
shocks a rep does not control), which fairness analysis uses. Plans with quarterly or annual
periods sum the months. Every draw takes a :class:`numpy.random.Generator`; the simulation
engine gives each block of trials its own, so results do not depend on how trials are
chunked.

Two families:

* :class:`AttainmentScenario`: attainment distributions written by hand (normal, lognormal,
  beta, empirical) per role or any rep attribute, correlated through a common market factor
  (a Gaussian copula);
* :class:`~salesanalytics.simulation.history.HistoryScenario`: deal counts, sizes,
  seasonality, shocks, skill, ramp and attrition fitted from a dataset.

:class:`Adjusted` wraps either with growth and quota changes ("quotas +10%, market −5%").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from ..dataset import Dataset
from ..segments import micros

__all__ = [
    "Adjusted",
    "AttainmentScenario",
    "Beta",
    "Empirical",
    "LogNormal",
    "Normal",
    "Population",
    "Sample",
    "Scenario",
    "pay_scale",
]

F = NDArray[np.float64]


def pay_scale(base_salary: F, target_incentive: F) -> F:
    """Pay scale of each rep: the target incentive, else the base salary, else 1 (what pay
    histograms and pay ratios are measured in).

    Examples
    --------
    >>> pay_scale(np.array([100.0, 100.0, 0.0]), np.array([20.0, 0.0, 0.0]))
    array([ 20., 100.,   1.])
    """
    scale = np.where(target_incentive > 0, target_incentive, base_salary)
    return np.where(scale > 0, scale, 1.0)


# ------------------------------------------------------------------ who
@dataclass(frozen=True, eq=False)
class Population:
    """The reps simulated over one plan year of months.

    Attributes
    ----------
    reps
        One row per rep (``rep_id`` and any attributes: ``role``, ``team``, ``region``,
        ``hire_date`` ...), in array order.
    months
        First day of each simulated month (UTC).
    quota
        ``(reps, months)`` quota for a full month of employment (scenarios prorate it by
        ``employed``).
    employed
        ``(reps, months)`` employed share (hires and known leavers); attrition is drawn by
        scenarios that model it.
    base_salary, target_incentive
        ``(reps,)`` annual amounts.
    """

    reps: pd.DataFrame
    months: pd.DatetimeIndex
    quota: F
    employed: F
    base_salary: F
    target_incentive: F

    def __post_init__(self) -> None:
        r, m = len(self.reps), len(self.months)
        for name in ("quota", "employed"):
            if np.shape(getattr(self, name)) != (r, m):
                raise ValueError(f"{name} must have shape (reps, months) = {(r, m)}")
        for name in ("base_salary", "target_incentive"):
            if np.shape(getattr(self, name)) != (r,):
                raise ValueError(f"{name} must have shape (reps,) = {(r,)}")

    @property
    def pay_scale(self) -> F:
        """Each rep's pay scale (:func:`pay_scale`)."""
        return pay_scale(self.base_salary, self.target_incentive)

    @property
    def rep_ids(self) -> pd.Index:
        """Rep ids in array order."""
        return pd.Index(self.reps["rep_id"].astype("str"))

    def codes(self, column: str) -> tuple[NDArray[np.int64], pd.Index]:
        """Integer code per rep of an attribute column (``-1`` where missing)."""
        if column not in self.reps.columns:
            raise KeyError(f"the population has no rep attribute {column!r}")
        codes, labels = pd.factorize(self.reps[column])
        return codes.astype(np.int64), pd.Index(labels)

    def subset(self, keep: NDArray[np.bool_]) -> Population:
        """The reps where ``keep`` is True."""
        keep = np.asarray(keep, dtype=bool)
        return Population(
            self.reps[keep].reset_index(drop=True),
            self.months,
            self.quota[keep],
            self.employed[keep],
            self.base_salary[keep],
            self.target_incentive[keep],
        )

    @classmethod
    def from_dataset(
        cls, ds: Dataset, *, start: str | pd.Timestamp | None = None, months: int = 12
    ) -> Population:
        """The reps employed at the as-of moment, over the ``months`` after ``start``
        (default: the first month after as-of).

        Each rep's quota for a month is their quota for the same calendar month a year
        earlier, or failing that their median monthly quota, or failing that the median
        monthly quota of their role. Base salary and target incentive come from ``reps``.
        """
        if not ds.has("reps") or not len(ds.reps):
            raise ValueError("a population needs the reps table (rep_id, role, base_salary, ...)")
        as_of = ds.as_of if ds.as_of is not None else pd.Timestamp.now(tz="UTC")
        first = pd.Timestamp(start, tz="UTC") if isinstance(start, str) else start
        if first is None:
            last = (as_of - pd.Timedelta(microseconds=1)).tz_convert("UTC").normalize()
            first = last.replace(day=1) + pd.DateOffset(months=1)
        index = pd.date_range(first, periods=months + 1, freq="MS").as_unit("us")
        reps = ds.reps
        active = (reps["end_date"].isna() | (reps["end_date"] >= as_of)) & (
            reps["hire_date"].isna() | (reps["hire_date"] <= as_of)
        )
        reps = reps[active.to_numpy(dtype=bool)].reset_index(drop=True)
        ids = pd.Index(reps["rep_id"].astype("str"))
        quota = np.full((len(reps), months), np.nan)
        if ds.has("quotas") and len(ds.quotas):
            q = ds.quotas
            r = ids.get_indexer(pd.Index(q["rep_id"].astype("str")))
            shifted = q["period_start"] + pd.DateOffset(years=1)
            m = index[:-1].get_indexer(pd.DatetimeIndex(shifted.dt.normalize()))
            ok = (r >= 0) & (m >= 0)
            quota[r[ok], m[ok]] = q["quota"].to_numpy(float)[ok]
            median = q.groupby("rep_id")["quota"].median()
            own = median.reindex(ids).to_numpy(dtype=float, na_value=np.nan)
            quota = np.where(np.isnan(quota), own[:, None], quota)
            by_role = pd.Series(own).groupby(reps["role"].to_numpy()).median()
            role_q = reps["role"].map(by_role).to_numpy(dtype=float, na_value=np.nan)
            quota = np.where(np.isnan(quota), role_q[:, None], quota)
        end = reps["end_date"].fillna(pd.Timestamp.max.tz_localize("UTC").floor("D"))
        lo, hi = index[:-1].asi8[None, :], index[1:].asi8[None, :]
        stop = np.minimum(micros(end + pd.Timedelta(days=1)), hi.max())
        employed = np.clip(np.minimum(stop[:, None], hi) - lo, 0, None) / (hi - lo)
        return cls(
            reps,
            index[:-1],
            np.nan_to_num(quota, nan=0.0),
            employed,
            reps["base_salary"].fillna(0.0).to_numpy(dtype=float),
            reps["target_incentive"].fillna(0.0).to_numpy(dtype=float),
        )


# ------------------------------------------------------------------ draws
@dataclass(frozen=True, eq=False)
class Sample:
    """One block of trials.

    ``measure``: ``(T, R, M)`` credited measure; ``quota`` and ``employed``: ``(R, M)`` or
    ``(T, R, M)``; ``luck``: ``(T, R)`` log-multiplier of each rep's year that is luck
    (market, team and territory shocks, noise), ``0`` where the scenario does not know.
    """

    measure: F
    quota: F
    employed: F
    luck: F


@runtime_checkable
class Scenario(Protocol):
    """What the simulation needs from a scenario."""

    @property
    def population(self) -> Population:
        """The reps and months simulated."""
        ...

    def sample(self, rng: np.random.Generator, trials: int) -> Sample:
        """Draw ``trials`` trials."""
        ...


# ------------------------------------------------------------------ distributions
@dataclass(frozen=True)
class Normal:
    """Normal attainment, truncated at 0 (``mean``, ``sd`` as fractions of quota)."""

    mean: float = 1.0
    sd: float = 0.2

    def ppf(self, u: F) -> F:
        """Attainment at probabilities ``u``."""
        if self.sd <= 0:
            return np.full(np.shape(u), max(self.mean, 0.0))
        low = special.ndtr(-self.mean / self.sd)
        return self.mean + self.sd * special.ndtri(low + u * (1 - low))


@dataclass(frozen=True)
class LogNormal:
    """Lognormal attainment with the given ``mean`` and ``sd`` (of attainment itself)."""

    mean: float = 1.0
    sd: float = 0.3

    def ppf(self, u: F) -> F:
        """Attainment at probabilities ``u``."""
        if self.mean <= 0:
            raise ValueError("a lognormal attainment needs a positive mean")
        s2 = math.log1p((self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - s2 / 2
        return np.exp(mu + math.sqrt(s2) * special.ndtri(u))


@dataclass(frozen=True)
class Beta:
    """Attainment ``scale`` × Beta(``a``, ``b``) (bounded: e.g. scale 2 for 0-200%)."""

    a: float = 5.0
    b: float = 5.0
    scale: float = 2.0

    def ppf(self, u: F) -> F:
        """Attainment at probabilities ``u``."""
        return self.scale * np.asarray(special.betaincinv(self.a, self.b, u), dtype=float)


@dataclass(frozen=True)
class Empirical:
    """Attainment resampled from observed values (quantiles, linear between them)."""

    values: tuple[float, ...]

    def ppf(self, u: F) -> F:
        """Attainment at probabilities ``u``."""
        if not self.values:
            raise ValueError("an empirical attainment needs values")
        return np.quantile(np.asarray(self.values, dtype=float), u)

    @classmethod
    def from_backtest_table(cls, table: pd.DataFrame) -> Empirical:
        """Annual attainment per rep (measure ÷ quota over the window) of a backtest table."""
        sums = table.groupby("rep_id")[["measure", "quota"]].sum()
        sums = sums[sums["quota"] > 0]
        return cls(tuple((sums["measure"] / sums["quota"]).tolist()))


Distribution = Normal | LogNormal | Beta | Empirical


@dataclass(frozen=True, eq=False)
class AttainmentScenario:
    """Attainment drawn per rep and year from a distribution per group of reps.

    Each rep's annual attainment is ``F⁻¹(Φ(z))`` with ``z = √ρ·m + √(1−ρ)·e``: ``m`` one
    market factor per trial shared by everyone (correlation ``rho`` between reps), ``e`` the
    rep's own draw. The month's measure is attainment × the month's quota × a lognormal
    month noise with mean 1 and log-sd ``month_sd``. The market factor and the month noise
    are luck; the rep's own draw is not (the scenario cannot tell skill from luck there).

    Parameters
    ----------
    population
        The reps and months.
    attainment
        A distribution for everyone, or a mapping from a value of ``by`` to a distribution
        (``"*"`` for the rest).
    by
        Rep attribute that selects the distribution (``"role"``).
    rho
        Correlation of attainment between reps (0 ≤ rho < 1).
    month_sd
        Log-sd of month-to-month variation around the rep's annual attainment.
    """

    population: Population
    attainment: Distribution | Mapping[str, Distribution] = field(default_factory=Normal)
    by: str = "role"
    rho: float = 0.0
    month_sd: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {self.rho}")
        if self.month_sd < 0:
            raise ValueError("month_sd must be >= 0")
        if isinstance(self.attainment, Mapping):
            values = set(self.population.reps[self.by].astype("str"))
            missing = values - set(self.attainment) if "*" not in self.attainment else set()
            if missing:
                raise ValueError(
                    f"no attainment distribution for {self.by} {sorted(missing)}; "
                    "add them or a '*' entry"
                )

    def _groups(self) -> list[tuple[NDArray[np.bool_], Distribution]]:
        if not isinstance(self.attainment, Mapping):
            return [(np.ones(len(self.population.reps), bool), self.attainment)]
        labels = self.population.reps[self.by].astype("str").to_numpy()
        out = []
        rest = np.ones(len(labels), bool)
        for key, dist in self.attainment.items():
            if key != "*":
                mask = labels == key
                rest &= ~mask
                out.append((mask, dist))
        if "*" in self.attainment:
            out.append((rest, self.attainment["*"]))
        return out

    def sample(self, rng: np.random.Generator, trials: int) -> Sample:
        """Draw ``trials`` trials (see the class docstring)."""
        pop = self.population
        reps, months = pop.quota.shape
        market = rng.standard_normal((trials, 1))
        own = rng.standard_normal((trials, reps))
        z = math.sqrt(self.rho) * market + math.sqrt(1 - self.rho) * own
        u = np.clip(special.ndtr(z), 1e-12, 1 - 1e-12)
        attainment = np.zeros((trials, reps))
        for mask, dist in self._groups():
            attainment[:, mask] = dist.ppf(u[:, mask])
        noise = rng.standard_normal((trials, reps, months)) if self.month_sd > 0 else None
        quota = pop.quota * pop.employed
        measure = attainment[:, :, None] * quota[None, :, :]
        luck = math.sqrt(self.rho) * np.broadcast_to(market, (trials, reps))
        if noise is not None:
            factor = np.exp(self.month_sd * noise - self.month_sd**2 / 2)
            measure = measure * factor
            luck = luck + np.log(factor.mean(axis=-1))
        return Sample(measure, quota, pop.employed, np.array(luck))


@dataclass(frozen=True, eq=False)
class Adjusted:
    """A scenario with quotas and the market changed: quotas × (1 + ``quota_change``),
    measure × (1 + ``market_change``) (e.g. ``quota_change=0.10, market_change=-0.05``)."""

    base: Scenario
    quota_change: float = 0.0
    market_change: float = 0.0

    def __post_init__(self) -> None:
        if self.quota_change <= -1 or self.market_change <= -1:
            raise ValueError("changes must be above -100%")

    @property
    def population(self) -> Population:
        """The base population with the changed quotas."""
        pop = self.base.population
        return Population(
            pop.reps,
            pop.months,
            pop.quota * (1 + self.quota_change),
            pop.employed,
            pop.base_salary,
            pop.target_incentive,
        )

    def sample(self, rng: np.random.Generator, trials: int) -> Sample:
        """The base scenario's draw, adjusted."""
        s = self.base.sample(rng, trials)
        return Sample(
            s.measure * (1 + self.market_change),
            s.quota * (1 + self.quota_change),
            s.employed,
            s.luck + math.log1p(self.market_change),
        )
