"""The simulation engine against closed-form answers, and its reproducibility guarantees."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesanalytics import sample
from salesanalytics.plans import Commission, Eligibility, Plan, QuotaBonus, Tier
from salesanalytics.simulation import (
    BLOCK,
    Adjusted,
    AttainmentScenario,
    Beta,
    Empirical,
    LogNormal,
    Normal,
    Population,
    simulate,
)
from salesanalytics.simulation.chunk import PAY_BINS, add_counts, bin_index
from salesanalytics.simulation.engine import default_chunk, default_workers

INF = float("inf")
Q = 10_000.0  # monthly quota of every rep


def population(reps: int = 50, months: int = 12, ti: float = 0.0, base: float = 0.0) -> Population:
    frame = pd.DataFrame(
        {
            "rep_id": [f"R{i:03d}" for i in range(reps)],
            "role": ["AE"] * (reps - reps // 5) + ["SDR"] * (reps // 5),
            "team": [f"T{i % 3}" for i in range(reps)],
        }
    )
    start = pd.Timestamp("2025-01-01", tz="UTC")
    return Population(
        frame,
        pd.date_range(start, periods=months, freq="MS").as_unit("us"),
        np.full((reps, months), Q),
        np.ones((reps, months)),
        np.full(reps, base),
        np.full(reps, ti),
    )


def flat(rate: float, name: str = "flat", **kw: object) -> Plan:
    return Plan(name, commission=Commission((Tier(0, INF, rate),), **kw))  # type: ignore[arg-type]


def test_flat_rate_on_normal_attainment_matches_closed_form() -> None:
    # each rep's annual commission = r × a × 12 Q, a ~ N(1, 0.1) independent (truncation at 0
    # is 10 sd away): E[total] = R r 12 Q μ, Var[total] = R (r 12 Q σ)²
    reps, r, mu, sd, trials = 50, 0.05, 1.0, 0.1, 4000
    res = simulate(flat(r), AttainmentScenario(population(reps), Normal(mu, sd)), trials, seed=7)
    total = res.totals()["flat"]
    mean, var = reps * r * 12 * Q * mu, reps * (r * 12 * Q * sd) ** 2
    assert abs(total.mean() - mean) < 4 * math.sqrt(var / trials)
    # sample variance: (n-1) s² / σ² ~ χ²(n-1)
    chi = (trials - 1) * total.var(ddof=1) / var
    assert stats.chi2.ppf(0.0005, trials - 1) < chi < stats.chi2.ppf(0.9995, trials - 1)
    cost = res.cost_summary().loc["flat"]
    half_width = (cost["expected_total_high"] - cost["expected_total_low"]) / 2
    assert half_width == pytest.approx(1.96 * total.std() / math.sqrt(trials), rel=1e-3)
    assert abs(cost["jensen_gap"]) < 1e-6 * mean  # a linear plan has no Jensen gap
    assert cost["cost_of_sales"] == pytest.approx(r)


def test_expected_cost_of_an_attainment_cap() -> None:
    # rate r on min(a, c): E[min(a, c)] = μ − E[(a − c)+],
    # E[(a − c)+] = (μ − c) Φ((μ − c)/σ) + σ φ((μ − c)/σ) for a ~ N(μ, σ)
    reps, r, mu, sd, c, trials = 40, 0.05, 1.0, 0.3, 1.2, 3000
    plan = flat(r, "capped", cap_attainment=c)
    res = simulate(plan, AttainmentScenario(population(reps), Normal(mu, sd)), trials, seed=3)
    d = (mu - c) / sd
    excess = (mu - c) * stats.norm.cdf(d) + sd * stats.norm.pdf(d)
    # truncation of the normal at 0 changes the mean by less than 1e-3 of it at μ/σ = 3.3
    expected = reps * r * 12 * Q * (mu - excess)
    total = res.totals()["capped"]
    assert abs(total.mean() - expected) < 4 * total.std() / math.sqrt(trials) + 1e-3 * expected
    # a cap makes pay concave in attainment: the average attainment (1.0, below the cap) is
    # paid in full, the average over scenarios loses the capped tail: a negative Jensen gap
    assert res.cost_summary().loc["capped", "jensen_gap"] < 0


def test_same_seed_same_trials_at_any_chunk_size() -> None:
    scenario = AttainmentScenario(population(30), LogNormal(1.0, 0.3), rho=0.4, month_sd=0.2)
    plans = [flat(0.05), flat(0.06, "richer")]
    a = simulate(plans, scenario, trials=200, seed=11, chunk_size=BLOCK)
    b = simulate(plans, scenario, trials=200, seed=11, chunk_size=5 * BLOCK)
    c = simulate(plans, scenario, trials=200, seed=11)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.per_trial, other.per_trial)
        pd.testing.assert_frame_equal(a.cloud, other.cloud)
        pd.testing.assert_frame_equal(a.per_rep, other.per_rep, rtol=1e-12)
    d = simulate(plans, scenario, trials=200, seed=12)
    assert not np.array_equal(a.per_trial["total"], d.per_trial["total"])


def test_common_random_numbers_make_identical_plans_identical() -> None:
    scenario = AttainmentScenario(population(20), Normal(1.0, 0.3), rho=0.5)
    plan = Plan(
        "tiers",
        commission=Commission((Tier(0, 1, 0.04), Tier(1, INF, 0.08))),
        bonuses=(QuotaBonus("club", ((1.2, 5000.0),)),),
    )
    res = simulate([plan, plan.replace(name="copy")], scenario, trials=128, seed=0)
    diff = res.compare()
    assert (diff[["mean_difference", "low", "high", "p_more"]].to_numpy() == 0).all()
    assert (res.winners_losers("copy")[["mean_diff", "p_gain", "p_loss"]].to_numpy() == 0).all()


def test_winners_and_losers() -> None:
    scenario = AttainmentScenario(population(20), Normal(1.0, 0.2))
    res = simulate([flat(0.05), flat(0.06, "richer")], scenario, trials=96, seed=2)
    wl = res.winners_losers("richer")
    assert (wl["p_gain"] == 1).all() and (wl["outcome"] == "gains").all()
    # every rep gains 1% of their bookings: 0.01 × a × 120,000 on average 1,200
    assert wl["mean_diff"].mean() == pytest.approx(1200, rel=0.05)
    compare = res.compare().loc[("richer", "total")]
    assert compare["p_more"] == 1 and compare["low"] > 0


def test_market_correlation_between_reps() -> None:
    # Gaussian copula with normal marginals: corr(a_i, a_j) = rho for i ≠ j
    rho = 0.6
    s = AttainmentScenario(population(2), Normal(1.0, 0.1), rho=rho)
    draw = s.sample(np.random.default_rng(0), 20_000)
    a = draw.measure.sum(axis=-1) / draw.quota.sum(axis=-1)
    assert np.corrcoef(a[:, 0], a[:, 1])[0, 1] == pytest.approx(rho, abs=0.02)
    assert draw.luck.std() == pytest.approx(math.sqrt(rho), rel=0.03)


def test_distributions_and_groups() -> None:
    u = np.array([0.05, 0.5, 0.95])
    assert Normal(1.0, 0.2).ppf(u) == pytest.approx(1 + 0.2 * stats.norm.ppf(u), rel=1e-6)
    ln = LogNormal(1.0, 0.3)
    s2 = math.log1p(0.09)
    assert ln.ppf(u) == pytest.approx(np.exp(-s2 / 2 + math.sqrt(s2) * stats.norm.ppf(u)))
    assert Beta(2, 2, 2.0).ppf(np.array([0.5]))[0] == pytest.approx(1.0)
    assert Empirical((0.5, 1.0, 1.5)).ppf(np.array([0.0, 0.5, 1.0])).tolist() == [0.5, 1.0, 1.5]
    pop = population(10)
    sc = AttainmentScenario(pop, {"AE": Normal(1.2, 0.0), "*": Normal(0.5, 0.0)})
    draw = sc.sample(np.random.default_rng(0), 3)
    a = draw.measure.sum(axis=-1) / draw.quota.sum(axis=-1)
    assert a[:, :8] == pytest.approx(1.2) and a[:, 8:] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"no attainment distribution for role \['SDR'\]"):
        AttainmentScenario(pop, {"AE": Normal()})


def test_adjusted_quota_and_market() -> None:
    pop = population(10)
    base = AttainmentScenario(pop, Normal(1.0, 0.0))
    adj = Adjusted(base, quota_change=0.10, market_change=-0.05)
    draw = adj.sample(np.random.default_rng(0), 4)
    a = draw.measure.sum(axis=-1) / draw.quota.sum(axis=-1)
    assert a == pytest.approx(0.95 / 1.10)
    assert adj.population.quota == pytest.approx(pop.quota * 1.1)


def test_eligibility_budget_and_pay_at_100() -> None:
    pop = population(10, ti=12_000.0, base=60_000.0)
    plan = Plan(
        "ti plan",
        eligibility=Eligibility(roles=("AE",)),
        commission=Commission((Tier(0, INF, 1.0),), rate_of="target_incentive"),
    )
    res = simulate(plan, AttainmentScenario(pop, Normal(1.0, 0.2)), 64, seed=0, budget=576_000)
    assert set(res.per_rep["rep_id"]) == {f"R{i:03d}" for i in range(8)}
    cost = res.cost_summary().loc["ti plan"]
    assert cost["pay_at_100_vs_target"] == pytest.approx(1.0)
    assert cost["target_incentive"] == pytest.approx(8 * 12_000)
    # total = 8 × 60,000 base + 12,000 × Σ a over 8 reps: median 576,000, so about half the
    # trials exceed a 576,000 budget
    assert cost["p_over_budget"] == (res.totals()["ti plan"] > 576_000).mean()
    assert 0.3 < cost["p_over_budget"] < 0.7
    # the share at quota counts the 8 reps on the plan only: by hand from the cloud's points
    by_hand = res.cloud.groupby("trial")["attainment"].apply(lambda a: (a >= 1).mean())
    at_quota = res.totals("at_quota")["ti plan"]
    np.testing.assert_allclose(at_quota.loc[by_hand.index], by_hand.to_numpy(), rtol=1e-12)
    assert set(np.round(at_quota * 8, 9)) <= set(range(9))


def test_population_from_sample_and_chunking_default() -> None:
    ds = sample.generate(600, seed=0)
    pop = Population.from_dataset(ds)
    assert pop.months[0] == pd.Timestamp("2026-01-01", tz="UTC")
    ae = pop.reps["role"].eq("AE").to_numpy()
    assert (pop.quota[ae] > 0).all() and pop.quota.shape == (len(pop.reps), 12)
    assert default_chunk(pop) % BLOCK == 0
    assert default_chunk(population(10_000)) == BLOCK  # large populations: one block a chunk


def test_bad_arguments() -> None:
    sc = AttainmentScenario(population(5), Normal())
    with pytest.raises(ValueError, match="trials must be a positive integer"):
        simulate(flat(0.05), sc, trials=0)
    with pytest.raises(ValueError, match="plan names must differ"):
        simulate([flat(0.05), flat(0.06)], sc, trials=10)
    with pytest.raises(ValueError, match="rho must be in"):
        AttainmentScenario(population(5), Normal(), rho=1.0)


def test_behavioural_responses_are_off_by_default_and_announced() -> None:
    from salesanalytics.simulation.behaviour import CapSlowdown

    scenario = AttainmentScenario(population(10), Normal(1.4, 0.3))
    plan = flat(0.05, "capped", cap_attainment=1.2)
    plain = simulate(plan, scenario, 64, seed=3)
    assert plain.responses == () and "behavioural" not in plain.caption
    slowed = simulate(plan, scenario, 64, seed=3, responses=[CapSlowdown(share=0.5)])
    assert "behavioural responses ON (assumptions, not estimates): CapSlowdown" in slowed.caption
    assert "behavioural responses ON" in slowed._repr_html_()
    # half of the measure above the cap is not produced: revenue falls, pay does not
    assert slowed.totals("revenue")["capped"].mean() < plain.totals("revenue")["capped"].mean()
    assert slowed.totals()["capped"].to_numpy() == pytest.approx(
        plain.totals()["capped"].to_numpy()
    )


def test_chunks_on_threads_give_the_same_result() -> None:
    scenario = AttainmentScenario(population(30), LogNormal(1.0, 0.3), rho=0.4, month_sd=0.2)
    plans = [flat(0.05), flat(0.06, "richer", cap_attainment=1.3)]
    one = simulate(plans, scenario, trials=320, seed=5, chunk_size=BLOCK, workers=1)
    three = simulate(plans, scenario, trials=320, seed=5, chunk_size=BLOCK, workers=3)
    pd.testing.assert_frame_equal(one.per_trial, three.per_trial)
    pd.testing.assert_frame_equal(one.per_rep, three.per_rep)  # folded in the same order
    pd.testing.assert_frame_equal(one.cloud, three.cloud)
    assert default_workers() >= 1
    with pytest.raises(ValueError, match="workers must be at least 1"):
        simulate(plans, scenario, trials=64, workers=0)


def test_pay_histogram_counts_match_numpy() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(1.0, 2.0, (300, 7))
    values[0, :3] = [np.nan, np.inf, -np.inf]
    values[1, :2] = [PAY_BINS[-1], PAY_BINS[0]]  # the edges themselves
    hist = np.zeros((7, len(PAY_BINS) - 1), dtype=np.int64)
    add_counts(hist, bin_index(values[:150], PAY_BINS))
    add_counts(hist, bin_index(values[150:], PAY_BINS))  # two chunks add up
    # numpy's histogram, with values outside the edges (and NaN) put in the end bins
    inside = np.clip(np.nan_to_num(values, nan=-1.0), PAY_BINS[0], PAY_BINS[-1] - 1e-9)
    for r in range(7):
        expected, _ = np.histogram(inside[:, r], bins=PAY_BINS)
        np.testing.assert_array_equal(hist[r], expected)
    assert hist.sum() == values.size


def test_plans_with_different_reps_each_count_their_own_revenue() -> None:
    scenario = AttainmentScenario(population(20), Normal(1.0, 0.3))
    everyone = flat(0.05, "everyone")
    aes = Plan("AEs", eligibility=Eligibility(roles=("AE",)), commission=everyone.commission)
    both = simulate([everyone, aes], scenario, trials=64, seed=9)
    for plan in (everyone, aes):
        alone = simulate(plan, scenario, trials=64, seed=9)
        np.testing.assert_array_equal(
            both.totals("revenue")[plan.name].to_numpy(),
            alone.totals("revenue")[plan.name].to_numpy(),
        )
    # 16 AEs of 20 reps: their revenue is a strict part of everyone's in every trial
    assert (both.totals("revenue")["AEs"] < both.totals("revenue")["everyone"]).all()
