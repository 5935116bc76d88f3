"""A scenario fitted from history: per-rep won-deal counts and sizes, seasonality, market
and team shocks, skill with partial pooling, ramp and attrition, estimated from a dataset's
won deals. The model and the estimators are described in ``docs/scenarios.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..dataset import Dataset
from ._history_fit import (
    LEAD,
    OWN,
    TEAM,
    _bootstrap,
    _codes,
    _credits,
    _employment,
    _fit_counts,
    _kinds,
    _leave_rates,
    _ramp,
    _shocks,
    _shrink_means,
)
from .scenario import Population, Sample

__all__ = ["HistoryScenario"]

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
BOOTSTRAP_PRIOR = 5.0
"""A rep's own deals are resampled with weight ``n / (n + 5)``, the role's pool otherwise."""


@dataclass(frozen=True, eq=False)
class HistoryScenario:
    """Won deals and their sizes per rep and month, fitted from history.

    Build it with :meth:`from_history`; the attributes are the fitted values (change any with
    :func:`dataclasses.replace`, e.g. ``market_sd=0``). ``docs/scenarios.md`` has the model.

    Attributes
    ----------
    population
        The reps and months simulated.
    rates
        Per rep: ``role``, ``kind`` (``owner``, ``lead``, ``team`` or ``none``: not
        simulated), history ``deals`` and ``exposure`` (employed months × ramp × level),
        ``raw_rate``, ``role_rate``, the pooled ``rate`` (won deals a month at level 1),
        ``log_size`` and ``size_sd`` (lognormal sizes), ``leave`` (monthly probability).
    level
        ``(months,)`` seasonality × trend of each simulated month.
    seasonality, growth
        January..December factors (mean 1); annual growth of the trend.
    ramp
        ``(reps, months)`` share of the full rate during ramp-up after hire.
    market_sd, team_sd, year_sd
        Log-sd of the monthly market shock, of the monthly team shock and of a shock to the
        whole year (0 unless set: a short history cannot estimate it).
    dispersion
        Negative-binomial ``1/k`` of rep-month counts beyond the shocks (0: Poisson); used
        with ``counts="negbin"`` only.
    ramp_start, ramp_days
        Share of the full rate on a hire's first day, rising linearly to 1 at ``ramp_days``.
    counts, sizes
        ``negbin``, ``poisson`` or ``expected`` (the mean: no count or size noise);
        ``lognormal`` or ``bootstrap``.
    pool, own, role_pool
        Bootstrap: deal values, and per rep ``(start, count)`` of its own and its role's.
    attrition
        Whether leavers are drawn.
    """

    population: Population
    rates: pd.DataFrame
    level: F
    seasonality: F
    growth: float
    ramp: F
    market_sd: float
    team_sd: float
    dispersion: float
    ramp_start: float
    ramp_days: float
    counts: str
    sizes: str
    pool: F
    own: I
    role_pool: I
    attrition: bool = True
    year_sd: float = 0.0

    @classmethod
    def from_history(
        cls,
        ds: Dataset,
        *,
        start: str | pd.Timestamp | None = None,
        months: int = 12,
        counts: Literal["negbin", "poisson", "expected"] = "negbin",
        sizes: Literal["lognormal", "bootstrap"] = "lognormal",
        roles: tuple[str, ...] | None = None,
        measure: Literal["bookings", "margin", "units"] = "bookings",
        population: Population | None = None,
        lead_roles: tuple[str, ...] = ("SDR",),
        team_roles: tuple[str, ...] = ("Manager",),
        ramp_days: float = 120.0,
        trend: Literal["hold", "extend", "none"] = "hold",
        attrition: bool = True,
    ) -> HistoryScenario:
        """Fit the scenario from the won deals of ``ds`` closed in the full months before
        ``ds.as_of`` (credited by close month).

        Parameters
        ----------
        ds
            A dataset with ``deals`` and ``reps`` (and ``leads`` for lead-credited roles).
        start, months
            The simulated months (see :meth:`Population.from_dataset`).
        counts, sizes
            Count and deal-size models (see the class).
        roles
            Roles simulated (default: those with credited deals, and ``team_roles``); the
            other reps get a measure of 0.
        measure
            ``bookings`` (amount), ``margin`` (amount × margin) or ``units`` (deals).
        population
            Simulate these reps and months instead (e.g. a planned headcount).
        lead_roles
            Roles credited with the won deals of their leads (``lead_owner`` crediting).
        team_roles
            Roles whose measure is their team's deal-owner measure (managers).
        ramp_days
            Length of a new hire's ramp-up.
        trend
            After the history: ``hold`` the last twelve months' level, ``extend`` the
            growth, or ``none`` (no trend fitted).
        attrition
            Draw leavers at each role's monthly leave rate.

        Examples
        --------
        >>> from salesanalytics import sample
        >>> s = HistoryScenario.from_history(sample.generate(600, seed=0))
        >>> s.sample(np.random.default_rng(0), 4).measure.shape == (4, *s.population.quota.shape)
        True
        >>> s.rates.groupby("kind")["rate"].mean().round(2).index.tolist()
        ['lead', 'owner', 'team']
        """
        if counts not in ("negbin", "poisson", "expected"):
            raise ValueError(f"unknown counts {counts!r}")
        if sizes not in ("lognormal", "bootstrap"):
            raise ValueError(f"unknown sizes {sizes!r}")
        pop = population or Population.from_dataset(ds, start=start, months=months)
        reps = ds.reps.reset_index(drop=True)
        if ds.as_of is None or not len(reps):
            raise ValueError("fitting from history needs reps and an as-of date")
        ids = pd.Index(reps["rep_id"].astype("str"))
        role = reps["role"].astype("str").to_numpy(dtype=str)
        codes, labels = pd.factorize(role)
        role_code = codes.astype(np.int64)
        kind = _kinds(role, lead_roles, team_roles)
        rep_ev, month_ev, val_ev, bounds = _credits(ds, ids, kind, measure)
        h, mh = len(reps), len(bounds) - 1
        n = np.bincount(rep_ev * mh + month_ev, minlength=h * mh).reshape(h, mh).astype(float)
        employed, tenure = _employment(reps, bounds)
        rate, season, b, r0, level = _fit_counts(
            n, employed, tenure, kind, role_code, ramp_days, trend
        )
        season = np.roll(season, bounds[0].month - 1)  # history month 0 -> its calendar month
        x = employed * _ramp(tenure, r0, ramp_days) * level
        shocks = _shocks(n, rate[:, None] * x, kind == OWN, _codes(reps, "team"))
        pos_ev = val_ev > 0
        log_size, size_sd = _shrink_means(np.log(val_ev[pos_ev]), rep_ev[pos_ev], role_code, h)
        leave = _leave_rates(reps, bounds, employed, role_code) if attrition else np.zeros(h)
        # the simulated reps: their own fit, or their role's
        pos = ids.get_indexer(pop.rep_ids)
        p_role = pop.reps["role"].astype("str").to_numpy(dtype=str)
        p_kind = _kinds(p_role, lead_roles, team_roles)
        active = set(role[np.bincount(rep_ev, minlength=h) > 0]) | set(team_roles)
        p_kind[~np.isin(p_role, list(active if roles is None else roles))] = 0
        per_rep = pd.DataFrame(
            {"n": n.sum(1), "e": x.sum(1), "s": log_size, "sd": size_sd, "leave": leave}
        )
        by_role = per_rep.groupby(role)
        role_rate = by_role["n"].sum() / by_role["e"].sum().clip(lower=1e-12)
        fallback = pd.DataFrame({"rate": role_rate, **by_role[["s", "sd", "leave"]].mean()})
        own = per_rep.assign(rate=rate).iloc[np.maximum(pos, 0)].reset_index(drop=True)
        other = fallback.reindex(p_role).reset_index(drop=True).fillna(0.0)
        use = np.where((pos >= 0)[:, None], own[["rate", "s", "sd", "leave"]], other)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(pos >= 0, own["n"] / own["e"], np.nan)
        frame = pd.DataFrame(
            {
                "rep_id": pop.rep_ids,
                "role": p_role,
                "kind": np.array(["none", "owner", "lead", "team"])[p_kind],
                "deals": np.where(pos >= 0, own["n"], 0.0),
                "exposure": np.where(pos >= 0, own["e"], 0.0),
                "raw_rate": raw,
                "role_rate": other["rate"].to_numpy(dtype=float),
                "rate": np.where(np.isin(p_kind, (OWN, LEAD)), use[:, 0], 0.0),
                "log_size": use[:, 1],
                "size_sd": use[:, 2],
                "leave": use[:, 3],
                "team_code": _codes(pop.reps, "team"),
                "kind_code": p_kind,
            }
        )
        p_code = pd.Index(labels).get_indexer(pd.Index(p_role)).astype(np.int64)
        # the simulated months: seasonality × trend (held or extended after the history)
        sim = pop.months
        t_hist = np.arange(mh) - (mh - 1) / 2
        t_sim = ((sim.year - bounds[0].year) * 12 + sim.month - bounds[0].month).to_numpy()
        t_sim = t_sim - (mh - 1) / 2
        growth = np.exp(b * t_sim)
        if trend == "hold":
            recent = float(np.exp(b * t_hist[-12:]).mean())
            growth = np.where(t_sim > t_hist[-1], recent, growth)
        level_sim = season[sim.month.to_numpy() - 1] * growth
        ramp = np.ones(pop.quota.shape)
        if "hire_date" in pop.reps:
            edges = sim.append(pd.DatetimeIndex([sim[-1] + pd.DateOffset(months=1)]))
            ramp = _ramp(_employment(pop.reps, pd.DatetimeIndex(edges))[1], r0, ramp_days)
        boot = _bootstrap(rep_ev, val_ev, role_code, pos, p_code)
        return cls(pop, frame, level_sim, season, math.expm1(12 * b), ramp, *shocks, r0,
                   ramp_days, counts, sizes, *boot, attrition)  # fmt: skip

    # ------------------------------------------------------------------ draws
    def mean_size(self) -> F:
        """Expected size of one won deal per rep."""
        r = self.rates
        if self.sizes == "lognormal":
            return np.asarray(np.exp(r["log_size"] + r["size_sd"] ** 2 / 2), dtype=float)
        pool, own, role = self.pool, self.own, self.role_pool
        csum = np.r_[0.0, np.cumsum(pool)]
        own_mean = (csum[own[:, 0] + own[:, 1]] - csum[own[:, 0]]) / np.maximum(own[:, 1], 1)
        role_mean = (csum[role[:, 0] + role[:, 1]] - csum[role[:, 0]]) / np.maximum(role[:, 1], 1)
        w = own[:, 1] / (own[:, 1] + BOOTSTRAP_PRIOR)
        return np.asarray(w * own_mean + (1 - w) * role_mean, dtype=float)

    def _employed(self, rng: np.random.Generator, trials: int) -> F:
        """Employed share, with leavers drawn when attrition is on: a rep leaves after a
        geometric number of employed months, working a uniform share of the last one."""
        emp = self.population.employed
        leave = self.rates["leave"].to_numpy(dtype=float)
        if not self.attrition or not (leave > 0).any():
            return emp
        u, v = rng.random((trials, len(leave))), rng.random((trials, len(leave)))
        with np.errstate(divide="ignore"):
            stay = np.where(leave > 0, np.floor(np.log(u) / np.log1p(-leave)), np.inf)
        rel = np.arange(emp.shape[1])[None, :] - np.argmax(emp > 0, axis=1)[:, None]
        alive = np.where(
            rel < stay[..., None], 1.0, np.where(rel == stay[..., None], v[..., None], 0)
        )
        return emp * alive

    def _sizes(self, rng: np.random.Generator, n: NDArray[np.int64]) -> F:
        """Sum of ``n`` deal sizes per cell of ``(trials, reps, months)``."""
        flat = n.ravel()
        cell = np.repeat(np.arange(flat.size), flat)
        rep = (cell // n.shape[2]) % n.shape[1]
        if self.sizes == "lognormal":
            r = self.rates
            mu, sd = r["log_size"].to_numpy()[rep], r["size_sd"].to_numpy()[rep]
            values = np.exp(mu + sd * rng.standard_normal(len(cell)))
        else:
            own, role = self.own[rep], self.role_pool[rep]
            use_own = rng.random(len(cell)) * (own[:, 1] + BOOTSTRAP_PRIOR) < own[:, 1]
            u = rng.random(len(cell))
            start = np.where(use_own, own[:, 0], role[:, 0])
            count = np.where(use_own, own[:, 1], role[:, 1])
            idx = np.minimum(start + (u * count).astype(np.int64), len(self.pool) - 1)
            values = np.where(count > 0, self.pool[np.maximum(idx, 0)], 0.0)
        return np.bincount(cell, values, minlength=flat.size).reshape(n.shape).astype(float)

    def sample(self, rng: np.random.Generator, trials: int) -> Sample:
        """Draw ``trials`` trials of ``(trials, reps, months)`` measure (see the module).

        ``luck`` is ``log((measure + s) / (expected + s))`` over the year, ``expected`` the
        mean without shocks or noise given employment and ``s`` one average deal: shocks,
        count and size noise, not the rep's rate.

        Examples
        --------
        >>> from salesanalytics import sample
        >>> s = HistoryScenario.from_history(sample.generate(600, seed=0))
        >>> draw = s.sample(np.random.default_rng(1), 8)
        >>> draw.luck.shape == (8, len(s.population.reps)), bool(np.isfinite(draw.measure).all())
        (True, True)
        """
        pop, r = self.population, self.rates
        reps, months = pop.quota.shape
        kind = r["kind_code"].to_numpy()
        team = r["team_code"].to_numpy()
        k = int(team.max()) + 1 if len(team) else 0
        z_year = rng.standard_normal((trials, 1, 1))
        z_market = rng.standard_normal((trials, 1, months))
        z_team = rng.standard_normal((trials, k + 1, months))
        z_team[:, k] = 0.0
        sds = (self.year_sd, self.market_sd, self.team_sd)
        log_shock = (
            sds[0] * z_year + sds[1] * z_market + sds[2] * z_team[:, np.where(team < 0, k, team)]
        )
        log_shock -= sum(s**2 for s in sds) / 2
        employed = self._employed(rng, trials)
        credited = np.isin(kind, (OWN, LEAD))
        base = np.where(credited, r["rate"].to_numpy(), 0.0)[:, None] * self.ramp * self.level
        base = np.broadcast_to(base * employed, (trials, reps, months))
        mu = base * np.exp(log_shock)
        size = np.where(credited, self.mean_size(), 0.0)[:, None]
        if self.counts == "expected":
            measure = mu * size
        else:
            if self.counts == "negbin" and self.dispersion > 0:
                mu = mu * rng.gamma(1 / self.dispersion, self.dispersion, mu.shape)
            measure = self._sizes(rng, rng.poisson(mu))
        expected = base * size
        if (kind == TEAM).any():
            onehot = (team[:, None] == np.arange(max(k, 1))[None, :]) & (kind == OWN)[:, None]
            lead = kind == TEAM
            share = employed[..., lead, :] if employed.ndim == 3 else employed[lead]
            for arr in (measure, expected):
                totals = np.einsum("trm,rk->tkm", arr, onehot.astype(float))
                arr[:, lead] = (
                    totals[:, np.maximum(team[lead], 0)] * share * (team[lead] >= 0)[:, None]
                )
        scale = float(size[kind == OWN].mean()) if (kind == OWN).any() else 1.0
        luck = np.log((measure.sum(-1) + scale) / (expected.sum(-1) + scale))
        luck = np.where(kind > 0, luck, 0.0)
        return Sample(measure, pop.quota * employed, employed, luck)
