"""The scenario fitted from history: it reproduces the sample it was fitted on, pools rep
rates, recovers seasonality, draws attrition at the estimated rate, and runs through the
engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesanalytics import Dataset, sample
from salesanalytics.plans import Commission, Eligibility, Plan, Tier
from salesanalytics.sample.params import SEASONALITY
from salesanalytics.simulation import Population, Scenario, _history_fit, simulate
from salesanalytics.simulation.history import HistoryScenario

Y0, Y1 = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")
FLAT = Plan(
    "flat",
    eligibility=Eligibility(roles=("AE",)),
    commission=Commission((Tier(0, float("inf"), 0.05),)),
)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(3000, seed=0)


@pytest.fixture(scope="module")
def fitted(ds: Dataset) -> HistoryScenario:
    return HistoryScenario.from_history(ds)


def year_2025(ds: Dataset) -> tuple[Population, np.ndarray]:
    """AEs employed all of 2025 with their 2025 quotas, and their observed attainment."""
    reps = ds.reps
    stay = reps["end_date"].isna() | (reps["end_date"] >= Y1 - pd.Timedelta(days=1))
    keep = (reps["role"] == "AE") & (reps["hire_date"] <= Y0) & stay
    aes = reps[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    months = pd.date_range(Y0, periods=12, freq="MS").as_unit("us")
    q = ds.quotas[ds.quotas["rep_id"].isin(aes["rep_id"])]
    table = q.pivot_table(index="rep_id", columns="period_start", values="quota", aggfunc="sum")
    quota = table.reindex(index=aes["rep_id"], columns=months).fillna(0.0).to_numpy(dtype=float)
    d = ds.deals
    won = d[(d["outcome"] == "won") & (d["closed_at"] >= Y0) & (d["closed_at"] < Y1)]
    booked = won.groupby("owner_id")["amount"].sum().reindex(aes["rep_id"]).fillna(0.0)
    pop = Population(
        aes,
        months,
        quota,
        np.ones(quota.shape),
        aes["base_salary"].to_numpy(dtype=float),
        aes["target_incentive"].to_numpy(dtype=float),
    )
    return pop, booked.to_numpy(dtype=float) / quota.sum(axis=1)


# ------------------------------------------------------------------ (1) reproduces the sample
@pytest.mark.parametrize("sizes", ["lognormal", "bootstrap"])
def test_reproduces_the_sample_attainment_distribution(ds: Dataset, sizes: str) -> None:
    pop, observed = year_2025(ds)
    scenario = HistoryScenario.from_history(
        ds,
        population=pop,
        sizes=sizes,  # type: ignore[arg-type]
        attrition=False,
    )
    draw = scenario.sample(np.random.default_rng(0), 400)
    simulated = draw.measure.sum(axis=-1) / pop.quota.sum(axis=1)
    ks = stats.ks_2samp(observed, simulated.ravel())
    ad = stats.anderson_ksamp(
        [observed, simulated.ravel()],
        variant="midrank",
        method=stats.PermutationMethod(n_resamples=200, rng=0),
    )
    assert ks.pvalue > 0.05 and ad.pvalue > 0.05
    # The observed mean over n reps is one draw with standard error sd / sqrt(n) (~0.065 on
    # 22 reps); the simulated mean has negligible error at 400 trials: allow 3 of those.
    tolerance = 3 * observed.std(ddof=1) / np.sqrt(len(observed))
    assert abs(simulated.mean() - observed.mean()) < tolerance
    # In sample, the expected number of won deals matches the count within Poisson error.
    expected = (scenario.rates["rate"].to_numpy()[:, None] * scenario.ramp * scenario.level).sum()
    won = ds.deals[(ds.deals["outcome"] == "won") & (ds.deals["closed_at"] >= Y0)]
    count = won["owner_id"].isin(pop.rep_ids).sum()
    assert abs(expected - count) < 3 * np.sqrt(count)


# ------------------------------------------------------------------ (2) partial pooling
def test_a_short_history_is_pulled_toward_the_role_mean(fitted: HistoryScenario) -> None:
    r = fitted.rates
    short = r[(r["kind"] == "owner") & (r["exposure"] > 0) & (r["exposure"] < 1.5)]
    assert len(short)
    lo = np.minimum(short["raw_rate"], short["role_rate"])
    hi = np.maximum(short["raw_rate"], short["role_rate"])
    assert ((short["rate"] > lo) & (short["rate"] < hi)).all()
    # ... and pulled further than a rep with two years of history
    long = r[(r["kind"] == "owner") & (r["exposure"] > 20)]
    pull = lambda x: ((x["rate"] - x["raw_rate"]) / (x["role_rate"] - x["raw_rate"])).abs()  # noqa: E731
    assert pull(short).min() > pull(long).max()
    # a role with no history of its own gets the role mean
    assert np.allclose(r.loc[r["exposure"] == 0, "rate"], r.loc[r["exposure"] == 0, "role_rate"])


# ------------------------------------------------------------------ (3) seasonality
def test_seasonality_is_recovered(ds: Dataset) -> None:
    """Won deals re-dated to follow the generator's demand curve (30% growth × the true
    month factors): the fit recovers both."""
    truth = np.asarray(SEASONALITY.month_factor)
    d = ds.deals
    won = d["outcome"].eq("won").to_numpy(dtype=bool)
    rng = np.random.default_rng(1)
    starts = pd.date_range("2024-01-01", periods=24, freq="MS", tz="UTC")
    p = (1 + SEASONALITY.annual_growth) ** (np.arange(24) / 12) * truth[starts.month - 1]
    month = rng.choice(24, size=won.sum(), p=p / p.sum())
    day = pd.to_timedelta(rng.integers(0, 28, won.sum()), unit="D")
    closed = d["closed_at"].copy()
    closed[won] = (starts[month] + day).as_unit("us")
    fit = HistoryScenario.from_history(ds.replace(deals=d.assign(closed_at=closed)))
    assert np.corrcoef(fit.seasonality, truth)[0, 1] > 0.6
    assert abs(fit.growth - SEASONALITY.annual_growth) < 0.15
    assert fit.seasonality.mean() == pytest.approx(1.0)


def test_raw_sample_shows_the_quarter_end_pull(fitted: HistoryScenario) -> None:
    """Wins are pulled into quarter ends in the generator (StageWalk.quarter_end_pull)."""
    assert fitted.seasonality[[2, 5, 8, 11]].mean() > fitted.seasonality.mean()


# ------------------------------------------------------------------ (4) reproducibility
def test_same_generator_seed_gives_identical_draws(fitted: HistoryScenario) -> None:
    a = fitted.sample(np.random.default_rng(7), 16)
    b = fitted.sample(np.random.default_rng(7), 16)
    c = fitted.sample(np.random.default_rng(8), 16)
    for name in ("measure", "quota", "employed", "luck"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.measure, c.measure)


# ------------------------------------------------------------------ (5) luck
def test_no_shocks_and_no_noise_means_no_luck(fitted: HistoryScenario) -> None:
    calm = dataclasses.replace(fitted, market_sd=0.0, team_sd=0.0, year_sd=0.0, counts="expected")
    draw = calm.sample(np.random.default_rng(0), 8)
    np.testing.assert_allclose(draw.luck, 0.0, atol=1e-12)
    # a market shock alone is luck shared by every rep of a trial
    shocked = dataclasses.replace(calm, year_sd=0.3)
    luck = shocked.sample(np.random.default_rng(0), 64).luck
    owners = (fitted.rates["kind"] == "owner").to_numpy()
    assert luck[:, owners].std(axis=0).mean() > 0.2
    assert luck[:, owners].std(axis=1).mean() < 0.05
    # with count and size noise, luck is the log ratio to the expected year
    noisy = fitted.sample(np.random.default_rng(0), 64).luck[:, owners]
    assert abs(np.median(noisy)) < 0.15 and noisy.std() > 0.1


# ------------------------------------------------------------------ (6) attrition
def test_attrition_draws_the_estimated_leave_rate(fitted: HistoryScenario) -> None:
    r = fitted.rates
    ae = ((r["role"] == "AE") & (fitted.population.employed.min(axis=1) == 1)).to_numpy()
    h = r.loc[ae, "leave"].iloc[0]
    assert 0.005 < h < 0.05  # the generator's truth is 0.02 a month
    trials = 2000
    employed = fitted.sample(np.random.default_rng(3), trials).employed[:, ae]
    left = (employed[:, :, -1] < 1).mean()
    p = 1 - (1 - h) ** 12
    assert abs(left - p) < 4 * np.sqrt(p * (1 - p) / (trials * ae.sum()))
    assert fitted.population.employed.ndim == 2
    still = dataclasses.replace(fitted, attrition=False)
    assert still.sample(np.random.default_rng(3), 4).employed.ndim == 2


# ------------------------------------------------------------------ (7) shapes
@pytest.mark.parametrize("counts", ["negbin", "poisson", "expected"])
@pytest.mark.parametrize("sizes", ["lognormal", "bootstrap"])
def test_shapes_and_values(ds: Dataset, counts: str, sizes: str) -> None:
    s = HistoryScenario.from_history(ds, counts=counts, sizes=sizes)  # type: ignore[arg-type]
    assert isinstance(s, Scenario)
    r, m = s.population.quota.shape
    draw = s.sample(np.random.default_rng(0), 5)
    assert draw.measure.shape == draw.employed.shape == draw.quota.shape == (5, r, m)
    assert draw.luck.shape == (5, r)
    for a in (draw.measure, draw.quota, draw.employed, draw.luck):
        assert np.isfinite(a).all()
    assert (draw.measure >= 0).all()
    np.testing.assert_allclose(draw.quota, s.population.quota * draw.employed)
    kind = s.rates["kind"].to_numpy()
    team = s.rates["team_code"].to_numpy()
    for k in np.unique(team[kind == "team"]):
        manager = np.flatnonzero((kind == "team") & (team == k))[0]
        owners = (kind == "owner") & (team == k)
        expect = draw.measure[:, owners].sum(axis=1) * draw.employed[:, manager]
        np.testing.assert_allclose(draw.measure[:, manager], expect)


def test_roles_and_measures(ds: Dataset) -> None:
    ae_only = HistoryScenario.from_history(ds, roles=("AE",), measure="units", attrition=False)
    draw = ae_only.sample(np.random.default_rng(0), 4)
    others = (ae_only.rates["role"] != "AE").to_numpy()
    assert (draw.measure[:, others] == 0).all() and (draw.luck[:, others] == 0).all()
    assert np.allclose(draw.measure, np.round(draw.measure))  # units are deal counts
    with pytest.raises(ValueError, match="unknown counts"):
        HistoryScenario.from_history(ds, counts="binomial")  # type: ignore[arg-type]


# ------------------------------------------------------------------ (8, 9) the engine
def test_runs_through_simulate(fitted: HistoryScenario) -> None:
    result = simulate(FLAT, fitted, trials=64, seed=0)
    per_trial = result.per_trial
    assert len(per_trial) == 64
    assert (per_trial["total"] > 0).all() and per_trial["total"].std() > 0
    chunked = simulate(FLAT, fitted, trials=64, seed=0, chunk_size=32)
    np.testing.assert_allclose(chunked.per_trial["total"], per_trial["total"])


def test_simulate_fits_a_dataset(ds: Dataset, fitted: HistoryScenario) -> None:
    direct = simulate(FLAT, ds, trials=32, seed=4)
    explicit = simulate(FLAT, fitted, trials=32, seed=4)
    np.testing.assert_array_equal(direct.per_trial["total"], explicit.per_trial["total"])


# ------------------------------------------------------------------ shocks and dispersion
def test_shock_and_dispersion_estimates(fitted: HistoryScenario) -> None:
    # the generator has no market or team shocks and routes deals evenly: all near zero
    assert fitted.market_sd < 0.1 and fitted.team_sd < 0.1 and fitted.dispersion < 0.1
    # the moment estimator recovers a known shock sd from Poisson counts
    rng = np.random.default_rng(0)
    fitted_mean = np.full(2000, 40.0)
    counts = rng.poisson(fitted_mean * np.exp(0.2 * rng.standard_normal(2000) - 0.02))
    assert _history_fit._excess(counts.astype(float), fitted_mean) == pytest.approx(0.2, abs=0.02)


def test_negative_binomial_counts(fitted: HistoryScenario) -> None:
    calm = dataclasses.replace(
        fitted, market_sd=0.0, team_sd=0.0, dispersion=0.5, attrition=False, sizes="bootstrap"
    )
    units = dataclasses.replace(calm, pool=np.ones_like(calm.pool))  # every deal worth 1
    counts = units.sample(np.random.default_rng(0), 4000).measure
    owners = (units.rates["kind"] == "owner").to_numpy()
    mu = (units.rates["rate"].to_numpy()[:, None] * units.ramp * units.level)[owners]
    mean, var = counts[:, owners].mean(axis=0), counts[:, owners].var(axis=0)
    np.testing.assert_allclose(mean.sum(), mu.sum(), rtol=0.01)
    np.testing.assert_allclose(var.sum(), (mu + 0.5 * mu**2).sum(), rtol=0.05)
