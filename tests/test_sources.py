"""Lead-source quality and comparison: golden cases, scipy cross-checks, recovery on sample data."""

from __future__ import annotations

import functools
import html

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import salesanalytics as sa
from salesanalytics import sample, sources
from salesanalytics.dataset import Provenance
from salesanalytics.sources import (
    benjamini_hochberg,
    compare_sources,
    fit_beta_binomial,
    source_quality,
)
from salesanalytics.survival import kaplan_meier

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


def test_open_deals_censored_at_as_of() -> None:
    """Closed after 10, 20 and 30 days; two deals open for 15 days at as-of. Kaplan–Meier:
    S(10) = 4/5, the two censored at 15 leave 2 at risk, S(20) = 4/5 · 1/2 = 0.4: median 20.
    (Censoring them later than 20 — e.g. a unit slip making as-of 1000 times later — keeps
    them at risk at 20 and 30 and moves the median to 30.)"""
    ends = [10, 20, 30]
    deal = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4", "D5"],
            "created_at": [T0] * 3 + [T0 + 25 * DAY] * 2,
            "closed_at": [T0 + d * DAY for d in ends] + [pd.NaT] * 2,
            "outcome": ["won", "lost", "won", "open", "open"],
            "amount": [1.0] * 5,
            "owner_id": ["r"] * 5,
            "lead_source": ["a"] * 5,
        }
    )
    ds = sa.Dataset(
        {"deals": deal, "stage_events": EVENTS}, provenance=Provenance(as_of=T0 + 40 * DAY)
    )
    assert source_quality(ds).table.loc["a", "median_cycle_days"] == 20.0


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


# ------------------------------------------------------------------ fast paths = references
def _ref_link(deal_ids: pd.Series, lead_deal_ids: pd.Series) -> np.ndarray:
    return pd.Index(deal_ids).get_indexer(lead_deal_ids)


def _ref_totals(
    ds: sa.Dataset, frame: pd.DataFrame, names: tuple[str, ...], columns: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, np.ndarray]:
    data = pd.DataFrame(sources._keys(ds, frame, names))
    for c, v in columns.items():
        data[c] = v.astype(np.int64) if v.dtype == bool else v
    grouped = data.groupby(list(names), observed=True)
    return grouped.sum(), np.asarray(grouped.ngroup(), dtype=np.int64)


def _ref_median_cycles(
    ds: sa.Dataset, deals: pd.DataFrame, ids: np.ndarray, groups: int
) -> np.ndarray:
    """The per-group Kaplan–Meier loop the vectorised version replaced."""
    created = deals["created_at"].dt.as_unit("us").array.asi8
    end = deals["closed_at"].dt.as_unit("us").array.asi8
    event = deals["outcome"].isin(["won", "lost"]).to_numpy(dtype=bool) & (end != sources.NAT)
    cut = pd.Timestamp(ds.as_of).as_unit("us").value
    days = (np.where(event, end, cut) - created) / sources.DAY_US
    ok = (days >= 0) & (created != sources.NAT)
    out = np.full(groups, np.nan)
    for g in range(groups):
        rows = np.flatnonzero((ids == g) & ok)
        if len(rows):
            out[g] = kaplan_meier(days[rows], event[rows]).median()[0]
    return out


def random_dataset(seed: int, n_deals: int = 600, n_leads: int = 1500) -> sa.Dataset:
    """Deals and leads with missing sources, ties in cycle times (whole hours), duplicate-free
    ids of varying length, leads pointing at unknown deals, and open deals."""
    rng = np.random.default_rng(seed)
    ids = [f"D{i}" + "x" * int(rng.integers(0, 12)) for i in range(n_deals)]
    src = np.array(["a", "b", "c", "d", None], dtype=object)
    created = T0 + pd.to_timedelta(rng.integers(0, 400, n_deals), unit="D")
    outcome = rng.choice(["won", "lost", "open"], n_deals, p=[0.3, 0.4, 0.3])
    hours = rng.integers(0, 24 * 90, n_deals)
    closed = pd.Series(created + pd.to_timedelta(hours, unit="h")).where(outcome != "open")
    deals = pd.DataFrame(
        {
            "deal_id": ids,
            "created_at": created,
            "closed_at": closed,
            "outcome": outcome,
            "amount": rng.lognormal(8, 1.5, n_deals).round(2),
            "owner_id": rng.choice(["r1", "r2"], n_deals),
            "lead_source": rng.choice(src, n_deals),
            "region": rng.choice(["N", "S", None], n_deals),
        }
    )
    pool = np.array([*ids, "nope", "D1x"], dtype=object)  # "D1x" may or may not exist
    deal_of = np.where(rng.random(n_leads) < 0.4, rng.choice(pool, n_leads), None)
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n_leads)],
            "created_at": T0 + pd.to_timedelta(rng.integers(0, 400, n_leads), unit="D"),
            "lead_source": rng.choice(src, n_leads),
            "deal_id": deal_of,
            "region": rng.choice(["N", "S", None], n_leads),
        }
    )
    as_of = T0 + 500 * DAY
    tables = {"deals": deals, "stage_events": EVENTS, "leads": leads}
    return sa.Dataset(tables, provenance=Provenance(as_of=as_of))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_link_equals_get_indexer(seed: int) -> None:
    ds = random_dataset(seed)
    deals, leads = ds.deals, ds.leads
    got = sources._link(deals["deal_id"], leads["deal_id"])
    np.testing.assert_array_equal(got, _ref_link(deals["deal_id"], leads["deal_id"]))
    assert (got >= 0).any() and (got == -1).any()
    as_object = deals["deal_id"].astype(object)  # the pandas path
    np.testing.assert_array_equal(sources._link(as_object, leads["deal_id"]), got)
    twice = pd.concat([deals["deal_id"], deals["deal_id"].iloc[:1]], ignore_index=True)
    with pytest.raises(pd.errors.InvalidIndexError):  # duplicate ids fail as in pandas
        sources._link(twice, leads["deal_id"])


@pytest.mark.parametrize(("seed", "by"), [(0, ()), (1, ("region",)), (2, ("created_month",))])
def test_totals_equal_groupby(seed: int, by: tuple[str, ...]) -> None:
    ds = random_dataset(seed)
    deals = ds.deals
    rng = np.random.default_rng(seed)
    columns = {
        "deals": np.ones(len(deals), dtype=bool),
        "won": rng.random(len(deals)) < 0.3,
        "won_revenue": rng.lognormal(8, 3, len(deals)),  # wide range: summation order shows
    }
    names = ("lead_source", *by)
    got, ids = sources._totals(ds, deals, names, columns)
    want, want_ids = _ref_totals(ds, deals, names, columns)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    np.testing.assert_array_equal(ids, want_ids)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_median_cycles_equal_per_group_kaplan_meier(seed: int) -> None:
    ds = random_dataset(seed, n_deals=2000)
    ids = np.random.default_rng(seed).integers(0, 7, len(ds.deals))
    ids[ids == 5] = 6  # an empty group
    got = sources._median_cycles(ds, ds.deals, ids, 8)
    want = _ref_median_cycles(ds, ds.deals, ids, 8)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[5]) and np.isfinite(got[:5]).all()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kw", [{}, {"by": "region"}, {"period": "quarter"}])
def test_source_quality_equals_reference(
    seed: int, kw: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = random_dataset(seed)
    fast = source_quality(ds, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(sources, "_link", _ref_link)
    monkeypatch.setattr(sources, "_totals", _ref_totals)
    monkeypatch.setattr(sources, "_median_cycles", _ref_median_cycles)
    slow = source_quality(ds, **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(fast.table, slow.table, check_exact=True)
    assert fast.notes == slow.notes
    assert "(missing)" in fast.table.index.get_level_values("lead_source")
