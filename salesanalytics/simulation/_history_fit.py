"""Estimators behind :class:`~.history.HistoryScenario`: employment, ramp, partial pooling
of rates and log-means, seasonality, shocks beyond Poisson, leave rates and crediting.

Internal to :mod:`.history`; the model is described in ``docs/scenarios.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..dataset import Dataset
from ..segments import micros

F = NDArray[np.float64]
I = NDArray[np.int64]  # noqa: E741
DAY_US = 86_400 * 10**6
OWN, LEAD, TEAM = 1, 2, 3
"""Rep kinds: credited by deal owner, by lead owner, with the team's owner bookings."""


def _employment(reps: pd.DataFrame, bounds: pd.DatetimeIndex) -> tuple[F, F]:
    """Employed share and tenure (days, at the employed part's middle) per rep and month."""
    lo, hi = bounds[:-1].asi8[None, :], bounds[1:].asi8[None, :]
    far = np.iinfo(np.int64).max // 4
    hire = np.where(reps["hire_date"].isna(), -far, micros(reps["hire_date"]))[:, None]
    end = np.where(reps["end_date"].isna(), far, micros(reps["end_date"]) + DAY_US)[:, None]
    a, b = np.maximum(hire, lo), np.minimum(end, hi)
    employed = np.clip(b - a, 0, None) / (hi - lo)
    tenure = ((a + b) / 2 - hire) / DAY_US
    return employed, np.where(employed > 0, tenure, 0.0)


def _ramp(tenure: F, start: float, days: float) -> F:
    """Share of the full rate at ``tenure`` days: ``start`` on day one, 1 after ``days``."""
    return start + (1 - start) * np.clip(tenure / days, 0.0, 1.0)


def _shrink_rates(n: F, e: F, groups: I) -> F:
    """Empirical-Bayes gamma-Poisson rates: counts ``n`` over exposures ``e`` shrunk toward
    their group's mean, with the between-rep variance estimated by moments."""
    out = np.zeros(len(n))
    for g in np.unique(groups):
        sel = groups == g
        ng, eg = n[sel], e[sel]
        total = eg.sum()
        if total <= 0:
            continue
        mu = ng.sum() / total
        raw = np.divide(ng, eg, out=np.full(len(ng), mu), where=eg > 0)
        spread = (eg * (raw - mu) ** 2).sum() - (np.count_nonzero(eg) - 1) * mu
        tau2 = max(spread / max(total - (eg**2).sum() / total, 1e-12), 0.0)
        weight = eg * tau2 / (eg * tau2 + mu) if mu > 0 else np.zeros(len(eg))
        out[sel] = weight * raw + (1 - weight) * mu
    return out


def _shrink_means(y: F, rep: I, groups: I, reps: int) -> tuple[F, F]:
    """Partially pooled per-rep means of ``y`` (log deal sizes) toward each rep's group mean,
    and the within-rep sd per rep (pooled by group)."""
    n = np.bincount(rep, minlength=reps).astype(float)
    mean = np.bincount(rep, y, minlength=reps) / np.maximum(n, 1)
    out, sd = np.zeros(reps), np.zeros(reps)
    for g in np.unique(groups):
        sel = groups == g
        here = sel[rep]
        if not here.any():
            continue
        mu = float(y[here].mean())
        dev = ((y[here] - mean[rep[here]]) ** 2).sum()
        dof = (n[sel] - 1).clip(0).sum()
        within = dev / dof if dof > 0 else float(y[here].var())
        has = sel & (n > 0)
        tau2 = max(float(mean[has].var()) - float((within / n[has]).mean()), 0.0)
        weight = np.where(n > 0, tau2 / (tau2 + within / np.maximum(n, 1)), 0.0) if tau2 else 0
        out[sel] = (mu + weight * (mean - mu))[sel]
        sd[sel] = math.sqrt(within)
    return out, sd


def _kinds(role: NDArray[np.str_], lead: tuple[str, ...], team: tuple[str, ...]) -> I:
    """Kind of each rep (:data:`OWN`, :data:`LEAD`, :data:`TEAM`) from its role."""
    lead_or_own = np.where(np.isin(role, list(lead)), LEAD, OWN)
    return np.where(np.isin(role, list(team)), TEAM, lead_or_own).astype(np.int64)


def _codes(reps: pd.DataFrame, column: str) -> I:
    """Integer codes of a rep attribute (``-1`` where missing or absent)."""
    if column not in reps.columns:
        return np.full(len(reps), -1, dtype=np.int64)
    return pd.factorize(reps[column])[0].astype(np.int64)


def _seasonality(n_m: F, fitted: F, moy: I) -> F:
    """Month-of-year factors (mean 1) of counts ``n_m`` over ``fitted``, each shrunk toward 1
    by its sampling variance (from repeated months, else Poisson) against the spread."""
    k = np.bincount(moy, minlength=12).astype(float)
    has = (k > 0) & (np.bincount(moy, fitted, minlength=12) > 0)
    raw = np.bincount(moy, n_m, minlength=12) / np.maximum(np.bincount(moy, fitted, 12), 1e-12)
    scale = raw[has].mean() if has.any() and raw[has].mean() > 0 else 1.0
    raw, ratio = raw / scale, n_m / np.maximum(fitted * scale, 1e-12)
    dof = (k - 1).clip(0).sum()
    if dof >= 3:
        within = float(((ratio - raw[moy]) ** 2).sum() / dof)
    else:
        within = float(np.mean(1 / np.maximum(fitted * scale, 1e-12)))
    v = within / np.maximum(k, 1)
    tau2 = max(float(raw[has].var()) - float(v[has].mean()), 0.0) if has.sum() > 1 else 0.0
    shrunk = np.where(has, 1 + tau2 / (tau2 + v) * (raw - 1), 1.0)
    return shrunk / shrunk.mean()


def _shocks(n: F, mu: F, owned: NDArray[np.bool_], team: I) -> tuple[float, float, float]:
    """Market and team shock sds and the negative-binomial ``1/k`` of rep-months."""
    n, mu, team = n[owned], mu[owned], team[owned]
    n_m, f_m = n.sum(0), mu.sum(0)
    market = _excess(n_m, f_m)
    mu = mu * np.where(f_m > 0, n_m / np.maximum(f_m, 1e-12), 1.0)
    teams = [team == k for k in range(team.max() + 1)] if len(team) else []
    n_k = np.array([n[s].sum(0) for s in teams]).reshape(-1, n.shape[1])
    g_k = np.array([mu[s].sum(0) for s in teams]).reshape(-1, n.shape[1])
    team_sd = _excess(n_k.ravel(), g_k.ravel())
    real = np.where(g_k > 0, n_k / np.maximum(g_k, 1e-12), 1.0)
    mu = mu * np.where(team[:, None] >= 0, real[np.maximum(team, 0)], 1.0) if len(real) else mu
    ok = mu > 0
    inv_k = ((n[ok] - mu[ok]) ** 2 - n[ok]).sum() / max(float((mu[ok] ** 2).sum()), 1e-12)
    return market, team_sd, max(float(inv_k), 0.0)


def _leave_rates(reps: pd.DataFrame, bounds: pd.DatetimeIndex, employed: F, role: I) -> F:
    """Monthly leave probability of each rep's role: leavers over employed months."""
    end = reps["end_date"]
    left = ((end >= bounds[0]) & (end < bounds[-1])).to_numpy(dtype=bool, na_value=False)
    leavers = np.bincount(role, left.astype(float))
    months = np.bincount(role, employed.sum(1))
    hazard = -np.expm1(-leavers / np.maximum(months, 1e-12))
    return np.asarray(hazard[role], dtype=float)


def _excess(observed: F, fitted: F) -> float:
    """Lognormal shock sd from the variance of ``observed / fitted`` beyond Poisson."""
    ok = fitted > 0.5
    if ok.sum() < 3:
        return 0.0
    extra = ((observed[ok] / fitted[ok] - 1) ** 2 - 1 / fitted[ok]).mean()
    return math.sqrt(math.log1p(max(float(extra), 0.0)))


def _credits(ds: Dataset, ids: pd.Index, kind: I, measure: str) -> tuple[I, I, F, pd.DatetimeIndex]:
    """Credited won deals (rep position, month, value) over the full months of history:
    deal owners for :data:`OWN` reps, the deal's lead owner for :data:`LEAD` reps."""
    assert ds.as_of is not None
    won = ds.deals[ds.deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False)]
    won = won[(won["closed_at"] < ds.as_of).to_numpy(dtype=bool, na_value=False)]
    if not len(won):
        raise ValueError("no won deals to fit from")
    value = won["amount"].fillna(0.0).to_numpy(dtype=float)
    if measure == "margin":
        value = value * won["margin"].fillna(0.0).to_numpy(dtype=float)
    elif measure == "units":
        value = np.ones(len(won))
    rep = [ids.get_indexer(pd.Index(won["owner_id"].astype("str")))]
    if ds.has("leads") and len(ds.leads) and "lead_id" in won:
        leads = ds.leads
        by_lead = pd.Series(leads["owner_id"].astype("str").to_numpy(), leads["lead_id"])
        rep.append(ids.get_indexer(pd.Index(won["lead_id"].map(by_lead).astype("str"))))
    who = np.concatenate(rep)
    want = np.repeat(np.array([OWN, LEAD])[: len(rep)], len(won))
    end = ds.as_of.tz_convert("UTC").normalize().replace(day=1)
    first = won["closed_at"].min().tz_convert("UTC").normalize().replace(day=1)
    bounds = pd.date_range(first, max(end, first + pd.DateOffset(months=1)), freq="MS")
    bounds = bounds.as_unit("us")
    month = np.searchsorted(bounds.asi8, np.tile(micros(won["closed_at"]), len(rep)), "right") - 1
    ok = (who >= 0) & (kind[np.maximum(who, 0)] == want)
    ok &= (month >= 0) & (month < len(bounds) - 1)
    return who[ok], month[ok], np.tile(value, len(rep))[ok], bounds


def _fit_counts(
    n: F, employed: F, tenure: F, kind: I, role: I, ramp_days: float, trend: str
) -> tuple[F, F, float, float, F]:
    """Alternate a few times: trend and seasonality of the deal owners' monthly totals,
    pooled rep rates, ramp start. Returns rates, seasonality, monthly log-growth, ramp start
    and the level of each history month."""
    mh = n.shape[1]
    moy = np.arange(mh) % 12
    t = np.arange(mh) - (mh - 1) / 2
    owned = kind == OWN
    ramping = (kind != TEAM)[:, None] & (employed > 0) & (tenure < ramp_days)
    f = np.clip(tenure / ramp_days, 0.0, 1.0)
    rate, season, b, r0 = np.ones(len(n)), np.ones(12), 0.0, 0.25
    level = np.ones(mh)
    for _ in range(4):
        x = employed * _ramp(tenure, r0, ramp_days)
        n_m, x_m = n[owned].sum(0), (rate[owned, None] * x[owned]).sum(0)
        y = np.log((n_m + 0.5) / np.maximum(x_m * season[moy], 1e-12))
        if trend != "none" and mh >= 6:
            b = float(np.polyfit(t, y, 1, w=np.sqrt(n_m + 0.5))[0])
        season = _seasonality(n_m, x_m * np.exp(b * t), moy)
        level = season[moy] * np.exp(b * t)
        rate = _shrink_rates(n.sum(1), (x * level).sum(1), role)
        full = rate[:, None] * employed * level
        weight = (full * (1 - f))[ramping].sum()
        if weight >= 5:  # enough expected deals in ramp months to estimate the start
            r0 = (n[ramping].sum() - (full * f)[ramping].sum()) / weight
            r0 = float(np.clip(r0, 0.0, 1.0))
    return rate, season, b, r0, level


def _bootstrap(rep: I, value: F, role: I, pos: I, p_role: I) -> tuple[F, I, I]:
    """Deal values ordered by rep then by role, and each simulated rep's ``(start, count)``
    of own deals and of its role's deals in it (``pos``/``p_role``: history positions)."""
    by_rep, by_role = np.argsort(rep, kind="stable"), np.argsort(role[rep], kind="stable")
    pool = np.concatenate([value[by_rep], value[by_role]])
    own_n = np.bincount(rep, minlength=len(role))
    role_n = np.bincount(role[rep], minlength=int(role.max()) + 1)
    own = np.c_[np.cumsum(own_n) - own_n, own_n][np.maximum(pos, 0)] * (pos >= 0)[:, None]
    starts = len(value) + np.cumsum(role_n) - role_n
    group = np.c_[starts, role_n][np.maximum(p_role, 0)] * (p_role >= 0)[:, None]
    return pool, own.astype(np.int64), group.astype(np.int64)
