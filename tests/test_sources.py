"""Lead-source quality and comparison: golden cases, scipy cross-checks, recovery on sample data."""

from __future__ import annotations

import functools
import html

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.dataset import Provenance
from salesanalytics.sources import (
    benjamini_hochberg,
    compare_sources,
    fit_beta_binomial,
    source_quality,
)

T0 = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta("1D")
EVENTS = pd.DataFrame(
    {"deal_id": pd.Series([], dtype="str"), "stage": pd.Series([], dtype="str"),
     "entered_at": pd.Series([], dtype="datetime64[us, UTC]")}
)  # fmt: skip


def golden(*, leads: bool = True, deals: bool = True, spend: bool = True) -> sa.Dataset:
    """Source a: 4 leads, 2 deals (won 100 at day 10, lost at day 20); source b: 2 leads,
    2 deals (won 300 at day 5, open); one existing-customer deal won 50; spend a 200, b 60."""
    deal = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4", "D5"],
            "created_at": [T0] * 5,
            "closed_at": [T0 + 10 * DAY, T0 + 20 * DAY, T0 + 5 * DAY, pd.NaT, T0 + 3 * DAY],
            "outcome": ["won", "lost", "won", "open", "won"],
            "amount": [100.0, 70.0, 300.0, 80.0, 50.0],
            "owner_id": ["r"] * 5,
            "lead_source": ["a", "a", "b", "b", "existing_customer"],
            "lead_id": ["L1", "L2", "L5", "L6", None],
        }
    )
    lead = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(1, 7)],
            "created_at": [T0 - DAY] * 6,
            "lead_source": ["a", "a", "a", "a", "b", "b"],
            "deal_id": ["D1", "D2", None, None, "D3", "D4"],
        }
    )
    cost = pd.DataFrame(
        {
            "lead_source": ["a", "a", "b"],
            "period_start": [T0, T0 + 31 * DAY, T0],
            "cost": [100.0, 100.0, 60.0],
        }
    )
    tables = {"deals": deal if deals else deal.iloc[:0], "stage_events": EVENTS}
    if leads:
        tables["leads"] = lead
    if spend:
        tables["spend"] = cost
    return sa.Dataset(tables, provenance=Provenance(as_of=T0 + 30 * DAY))


@functools.cache
def big() -> sa.Dataset:
    return sample.generate(20000, seed=3)


def test_golden_table() -> None:
    t = source_quality(golden(), min_n=3).table
    a, b, e = t.loc["a"], t.loc["b"], t.loc["existing_customer"]
    assert (a["leads"], a["converted"], a["lead_won"], a["deals"], a["won"]) == (4, 2, 1, 2, 1)
    assert (a["lead_to_deal"], a["deal_to_won"], a["lead_to_won"]) == (0.5, 0.5, 0.25)
    assert (a["revenue_per_lead"], a["avg_won_amount"], a["median_cycle_days"]) == (25, 100, 10)
    assert (a["cost"], a["cost_per_lead"], a["cost_per_deal"], a["cost_per_won"]) == (
        200,
        50,
        100,
        200,
    )
    assert a["roi"] == pytest.approx(-0.5)
    assert (b["lead_to_deal"], b["share_open"], b["median_cycle_days"]) == (1.0, 0.5, 5.0)
    assert (b["revenue_per_lead"], b["cost_per_won"], b["roi"]) == (150, 60, pytest.approx(4.0))
    assert (e["leads"], e["deals"], e["won_revenue"]) == (0, 1, 50)
    assert np.isnan(e["lead_to_deal"]) and np.isnan(e["cost"])
    assert t["small_n"].tolist() == [False, True, True]  # a: 4 leads, b: 2, existing: 1 deal


def test_deals_only_and_leads_only() -> None:
    q = source_quality(golden(leads=False))
    assert q.notes and "no leads" in q.notes[0]
    assert q.table["lead_to_deal"].isna().all() and q.table["revenue_per_lead"].isna().all()
    assert q.table.loc["a", "deal_to_won"] == 0.5 and q.table.loc["b", "roi"] == pytest.approx(4.0)
    q = source_quality(golden(deals=False, spend=False))
    assert q.table["lead_to_deal"].tolist() == [0.5, 1.0]
    assert q.table["deal_to_won"].isna().all() and "lead→deal only" in q.notes[0]
    with pytest.raises(ValueError, match="deal_to_won"):
        compare_sources(golden(deals=False), rate="deal_to_won")


def test_period_and_breakdown() -> None:
    t = source_quality(golden(), period="month").table
    assert t.loc[("a", "2023-12"), "leads"] == 4 and t.loc[("a", "2024-01"), "deals"] == 2
    assert t.loc[("a", "2024-02"), "cost"] == 100
    q = source_quality(golden(), by="owner_id")
    assert q.table.loc[("a", "r"), "deals"] == 2 and "no cost by owner_id" in q.notes[0]
    with pytest.raises(ValueError):
        source_quality(golden(), by="owner_id", period="month")


def test_wilson_matches_scipy() -> None:
    t = source_quality(big()).table.dropna(subset=["lead_to_deal"])
    for _, row in t.iterrows():
        ci = stats.binomtest(int(row["converted"]), int(row["leads"])).proportion_ci(
            method="wilson"
        )
        assert row["lead_to_deal_low"] == pytest.approx(ci.low, abs=1e-12)
        assert row["lead_to_deal_high"] == pytest.approx(ci.high, abs=1e-12)


def test_beta_binomial_fit_recovers_prior() -> None:
    rng = np.random.default_rng(42)
    n = rng.integers(50, 400, size=3000)
    k = stats.betabinom.rvs(n, 2.0, 6.0, random_state=rng)
    a, b = fit_beta_binomial(k, n)
    assert a == pytest.approx(2.0, rel=0.1) and b == pytest.approx(6.0, rel=0.1)


def test_bh_matches_scipy() -> None:
    p = np.random.default_rng(1).uniform(size=50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))


def leads_only(counts: dict[str, tuple[int, int]]) -> sa.Dataset:
    src, deal = [], []
    for name, (k, n) in counts.items():
        src += [name] * n
        deal += [f"D{name}{i}" if i < k else None for i in range(n)]
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(len(src))],
            "created_at": T0,
            "lead_source": src,
            "deal_id": deal,
        }
    )
    deals = golden().deals.iloc[:0]
    return sa.Dataset({"deals": deals, "stage_events": EVENTS, "leads": leads})


def test_small_source_does_not_top_ranking() -> None:
    counts = {f"s{i}": (40 + 10 * i, 200) for i in range(6)} | {"tiny": (2, 3)}
    c = compare_sources(leads_only(counts), seed=0)
    tiny = c.table.loc["tiny"]
    assert not tiny["eligible"] and np.isnan(tiny["rank"]) and c.table.index[0] == "s5"
    assert tiny["posterior_mean"] < c.table.loc["s5", "posterior_mean"]  # shrunk, not 0.67
    assert c.table.index[-1] == "tiny" and c.test == "Monte-Carlo exact chi-square"
    assert c.table.loc["s5", "credible_low"] < 0.45 < c.table.loc["s5", "credible_high"]
    np.testing.assert_allclose(
        c.pairs["q_value"], stats.false_discovery_control(c.pairs["p_value"])
    )
    assert len(c.pairs) == 21 and c.p_value < 1e-3
    again = compare_sources(leads_only(counts), seed=0)
    assert again.p_value == c.p_value
    assert "<script>" not in c._repr_html_() and html.escape(c.caption) in c._repr_html_()


def test_monte_carlo_agrees_with_asymptotic_roughly() -> None:
    counts = {"x": (3, 12), "y": (1, 12), "z": (6, 12)}
    c = compare_sources(leads_only(counts), seed=1, draws=20000)
    exact = stats.chi2_contingency([[k, n - k] for k, n in counts.values()])
    assert c.statistic == pytest.approx(exact.statistic)
    assert c.p_value == pytest.approx(exact.pvalue, abs=0.03)


def test_recovers_planted_source_effects() -> None:
    truth = sample.truth(3).source_frame()
    c = compare_sources(big(), seed=0)
    shrunk = c.table["posterior_mean"].reindex(truth.index)
    rho = stats.spearmanr(shrunk, truth["conversion_shift"]).statistic
    assert rho > 0.8
    cpl = source_quality(big()).table["cost_per_lead"].reindex(truth.index)
    assert cpl.idxmin() == truth["cost_per_lead"].idxmin()
    assert cpl.idxmax() == truth["cost_per_lead"].idxmax()
