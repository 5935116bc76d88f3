"""SOP compliance and response effect: golden cases, brute force, scipy cross-checks, recovery."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.dataset import Provenance
from salesanalytics.logistic import cochran_armitage, logistic_slope
from salesanalytics.response import response_effect
from salesanalytics.sop import lead_measures, sop_compliance
from salesanalytics.stats import poisson_interval

T0 = pd.Timestamp("2024-01-01", tz="UTC")
AS_OF = T0 + pd.Timedelta("60D")
H, D = pd.Timedelta("1h"), pd.Timedelta("1D")
EVENTS = pd.DataFrame(
    {"deal_id": pd.Series([], dtype="str"), "stage": pd.Series([], dtype="str"),
     "entered_at": pd.Series([], dtype="datetime64[us, UTC]")}
)  # fmt: skip
DEALS = pd.DataFrame(
    {"deal_id": ["D1"], "created_at": [T0 + 3 * D], "closed_at": [pd.NaT], "outcome": ["open"],
     "amount": [1.0], "owner_id": ["a"], "lead_source": ["web"], "lead_id": ["L1"]}
)  # fmt: skip


def golden(*, activities: bool = True) -> sa.Dataset:
    """Owner a: L1 answered at 2 h (recorded), converted at day 3, touches at day 1 and 2 (and
    one after conversion); L2 answered by an activity at 30 h, touches at +7 d (in the 14-day
    window) and +20 d (outside); L3 never answered. Owner b: L4 answered at 1 h, touches at
    +3, +10, +13 d; L5 created 10 h before as-of, not answered (young)."""
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5"],
            "created_at": [T0, T0, T0, T0, AS_OF - 10 * H],
            "lead_source": ["web", "web", "list", "list", "web"],
            "owner_id": ["a", "a", "a", "b", "b"],
            "first_response_at": [T0 + 2 * H, pd.NaT, pd.NaT, T0 + H, pd.NaT],
            "converted_at": [T0 + 3 * D, pd.NaT, pd.NaT, pd.NaT, pd.NaT],
            "deal_id": ["D1", None, None, None, None],
        }
    )
    at = [T0 + 2 * H, T0 + D, T0 + 2 * D, T0 + 4 * D]  # L1: first response, 2 touches, late
    at += [T0 + 30 * H, T0 + 30 * H + 7 * D, T0 + 30 * H + 20 * D]  # L2
    at += [T0 + H, T0 + H + 3 * D, T0 + H + 10 * D, T0 + H + 13 * D]  # L4
    acts = pd.DataFrame(
        {
            "at": at,
            "lead_id": ["L1"] * 4 + ["L2"] * 3 + ["L4"] * 4,
            "kind": ["call"] * 11,
            "owner_id": ["a"] * 7 + ["b"] * 4,
        }
    )
    reps = pd.DataFrame({"rep_id": ["a", "b"], "name": ["A", "B"], "team": ["T1", "T2"]})
    tables = {"deals": DEALS, "stage_events": EVENTS, "leads": leads, "reps": reps}
    if activities:
        tables["activities"] = acts
    return sa.Dataset(tables, provenance=Provenance(as_of=AS_OF))


@functools.cache
def big() -> sa.Dataset:
    return sample.generate(20000, seed=0)


def test_lead_measures_golden() -> None:
    m = lead_measures(golden()).set_index("lead_id")
    assert m["response_from"].isna().tolist() == [False, False, True, False, True]
    assert m.loc[["L1", "L2", "L4"], "response_from"].tolist() == [
        "first_response_at",
        "activity",
        "first_response_at",
    ]
    assert m["responded"].tolist() == [True, True, False, True, False]
    assert m["response_hours"].tolist() == [2.0, 30.0, 1440.0, 1.0, 10.0]
    assert m["touches"].tolist() == [2.0, 1.0, 0.0, 3.0, 0.0]
    assert m["open_weeks"].to_numpy() == pytest.approx([70 / 168, 2.0, 0.0, 2.0, 0.0])
    assert m["converted"].tolist() == [True, False, False, False, False]
    assert m.loc["L5", "age_days"] == pytest.approx(10 / 24)
    uncut = lead_measures(golden(), window_days=None).set_index("lead_id")
    assert uncut.loc["L2", "touches"] == 2 and uncut.loc["L4", "open_weeks"] == pytest.approx(
        (60 * 24 - 1) / 168
    )


def test_compliance_golden() -> None:
    s = sop_compliance(golden())
    a, b = s.table.loc["a"], s.table.loc["b"]
    assert (a["leads"], a["responded"], a["no_response"]) == (3, 2, 1)
    assert a["no_response_share"] == pytest.approx(1 / 3)
    assert a["median_response_hours"] == 30.0 and np.isnan(a["p90_response_hours"])
    assert (a["sla_n"], a["within_sla"], a["sla_share"]) == (3, 1, pytest.approx(1 / 3))
    assert a["touches"] == 3 and a["open_weeks"] == pytest.approx(2 + 70 / 168)
    assert a["touches_per_week"] == pytest.approx(3 / (2 + 70 / 168))
    assert a["touches_per_week_median"] == pytest.approx((2 / (70 / 168) + 0.5) / 2)
    assert (a["conversion_n"], a["converted"], a["conversion"]) == (3, 1, pytest.approx(1 / 3))
    # b: L5 is 10 h old, so not yet due for the 24 h SLA and too young for conversion
    assert (b["median_response_hours"], b["sla_n"], b["sla_share"]) == (1.0, 1, 1.0)
    assert (b["touches_per_week"], b["conversion_n"], b["converted"]) == (1.5, 1, 0)
    assert s.table["small_n"].all()
    assert "from the first activity for 1" in s.caption
    teams = sop_compliance(golden(), by="team").table
    assert teams.index.tolist() == ["T1", "T2"] and teams["leads"].tolist() == [3, 2]
    months = sop_compliance(golden(), by="created_month").table
    assert months.index.tolist() == ["2024-01", "2024-02"] and months["leads"].tolist() == [4, 1]
    one = sop_compliance(golden(), by=None, sla_hours=1.5).table
    assert one.index.tolist() == ["all leads"] and one.loc["all leads", "within_sla"] == 1
    assert one.loc["all leads", "sla_n"] == 5  # every lead older than 1.5 h is due


def test_no_activities_and_errors() -> None:
    s = sop_compliance(golden(activities=False))
    assert s.table["touches_per_week"].isna().all() and "no activities" in s.caption
    assert s.table.loc["a", "responded"] == 1  # L2's response came from an activity
    no_leads = sa.Dataset(
        {"deals": DEALS, "stage_events": EVENTS}, provenance=Provenance(as_of=AS_OF)
    )
    with pytest.raises(ValueError, match="leads"):
        sop_compliance(no_leads)
    with pytest.raises(ValueError, match="increasing"):
        response_effect(golden(), bands=(0, 10, 5))
    with pytest.raises(ValueError, match="method"):
        sop_compliance(golden(), method="wald")  # type: ignore[arg-type]


def test_response_effect_golden() -> None:
    r = response_effect(golden(), bands=(0, 4, 48, np.inf), cadence_bands=(0, 1.3, np.inf))
    t = r.table
    resp = t.xs("response_time", level="factor")
    assert resp.index.tolist() == ["0–4 h", "4–48 h", "≥48 h", "no response"]
    assert resp["leads"].tolist() == [2, 1, 0, 1]  # L5 is too young
    assert resp["converted"].tolist() == [1, 0, 0, 0]
    assert resp["median"].iloc[0] == 1.5 and resp["owners"].tolist() == [2, 1, 0, 1]
    cad = t.xs("cadence", level="factor")
    assert cad["leads"].tolist() == [3, 1]  # a: 3/(2 + 70/168) = 1.24 a week; b: 1.5
    assert cad["median"].tolist() == pytest.approx([3 / (2 + 70 / 168), 1.5])
    assert "not causation" in r.caption and "1 leads younger" in "; ".join(r.notes)


def test_intervals_match_scipy() -> None:
    s = sop_compliance(big(), by="team")
    for _, row in s.table.iterrows():
        for k, n, lo, hi in (
            ("within_sla", "sla_n", "sla_low", "sla_high"),
            ("converted", "conversion_n", "conversion_low", "conversion_high"),
        ):
            ci = stats.binomtest(int(row[k]), int(row[n])).proportion_ci(method="wilson")
            assert (row[lo], row[hi]) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_poisson_interval_inverts_the_tails() -> None:
    for k, e in ((0, 2.0), (1, 0.5), (4, 2.0), (37, 12.5)):
        low, high = poisson_interval(k, e)
        upper = optimize.brentq(lambda m, k=k: stats.poisson.cdf(k, m) - 0.025, 1e-9, 200)
        assert float(high) == pytest.approx(upper / e, rel=1e-8)
        if k:
            lower = optimize.brentq(lambda m, k=k: stats.poisson.sf(k - 1, m) - 0.025, 1e-9, 200)
            assert float(low) == pytest.approx(lower / e, rel=1e-8)
        else:
            assert float(low) == 0.0
    assert np.isnan(poisson_interval(3, 0.0)[0])


def test_km_median_matches_scipy_ecdf() -> None:
    ds = big()
    m = lead_measures(ds)
    s = sop_compliance(ds).table
    for owner in s.index[s["leads"] > 200][:5]:
        rows = m[m["owner_id"] == owner]
        data = stats.CensoredData(
            uncensored=rows.loc[rows["responded"], "response_hours"].to_numpy(),
            right=rows.loc[~rows["responded"], "response_hours"].to_numpy(),
        )
        sf = stats.ecdf(data).sf
        median = sf.quantiles[np.argmax(sf.probabilities <= 0.5 + 1e-12)]
        assert s.loc[owner, "median_response_hours"] == pytest.approx(median)


def brute_force(ds: sa.Dataset, window_days: float) -> pd.DataFrame:
    """Per-lead measures with plain loops."""
    as_of = ds.as_of
    acts = ds.activities
    out = []
    for lead in ds.leads.itertuples(index=False):
        times = sorted(
            t for t, lid in zip(acts["at"], acts["lead_id"], strict=True) if lid == lead.lead_id
        )
        first = lead.first_response_at
        if pd.isna(first):
            first = times[0] if times else pd.NaT
        responded = not pd.isna(first)
        hours = ((first if responded else as_of) - lead.created_at) / H
        end = lead.converted_at if not pd.isna(lead.converted_at) else as_of
        touches = weeks = 0.0
        if responded:
            end = min(end, first + pd.Timedelta(days=window_days))
            touches = sum(1 for t in times if first < t <= end)
            weeks = max((end - first) / pd.Timedelta("7D"), 0.0)
        out.append((responded, max(hours, 0.0), touches, weeks))
    return pd.DataFrame(out, columns=["responded", "response_hours", "touches", "open_weeks"])


def test_vectorised_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    n = 60
    created = T0 + pd.to_timedelta(rng.integers(0, 50 * 24, n), unit="h")
    gap = pd.to_timedelta(rng.integers(0, 200, n), unit="h")
    recorded = pd.Series(created + gap).where(rng.random(n) < 0.5)
    converted = pd.Series(created + gap + 5 * D).where(rng.random(n) < 0.3)
    leads = pd.DataFrame(
        {"lead_id": [f"L{i}" for i in range(n)], "created_at": created,
         "owner_id": rng.choice(["a", "b", "c"], n), "first_response_at": recorded,
         "converted_at": converted.where(converted < AS_OF)}
    )  # fmt: skip
    k = 300
    who = rng.integers(0, n, k)
    acts = pd.DataFrame(
        {"at": created[who] + pd.to_timedelta(rng.integers(0, 40 * 24, k), unit="h"),
         "lead_id": [f"L{i}" for i in who], "kind": "call", "owner_id": "a"}
    )  # fmt: skip
    acts = acts[acts["at"] < AS_OF]
    ds = sa.Dataset(
        {"deals": DEALS, "stage_events": EVENTS, "leads": leads, "activities": acts},
        provenance=Provenance(as_of=AS_OF),
    )
    fast = lead_measures(ds, window_days=9.5)
    slow = brute_force(ds, 9.5)
    assert fast["responded"].tolist() == slow["responded"].tolist()
    for col in ("response_hours", "touches", "open_weeks"):
        assert fast[col].to_numpy() == pytest.approx(slow[col].to_numpy())


def test_trend_statistics() -> None:
    rng = np.random.default_rng(1)
    score = rng.integers(0, 4, 500)
    y = rng.random(500) < 0.2 + 0.1 * score
    k = np.bincount(score, weights=y, minlength=4)
    n = np.bincount(score, minlength=4)
    z, p = cochran_armitage(k, n, np.arange(4))
    r = stats.pearsonr(score, y.astype(float)).statistic
    assert z**2 == pytest.approx(500 * r**2) and z > 0 and p == pytest.approx(2 * stats.norm.sf(z))
    assert np.isnan(cochran_armitage([0, 0], [5, 5], [0, 1])[0])
    x = rng.normal(size=800)
    yy = (rng.random(800) < 1 / (1 + np.exp(-(0.3 - 0.8 * x)))).astype(float)

    def nll(beta: np.ndarray) -> float:
        eta = beta[0] + beta[1] * x
        return float(np.sum(np.logaddexp(0, eta) - yy * eta))

    b, low, high = logistic_slope(x, yy)
    assert b == pytest.approx(optimize.minimize(nll, [0.0, 0.0]).x[1], abs=1e-4)
    assert low < -0.8 < high and low < b < high
    assert np.isnan(logistic_slope([0, 1, 2, 3], [0, 0, 1, 1])[0])  # separation


def test_recovers_planted_effects() -> None:
    r = response_effect(big())
    resp = r.table.xs("response_time", level="factor").drop("no response")
    assert (np.diff(resp["conversion"]) < 0).all()  # slower answers convert less, every band
    assert resp["conversion"].iloc[0] == pytest.approx(0.393, abs=0.01)
    trend = r.trends.loc["response_time"]
    assert trend["z"] < -20 and trend["p_value"] < 1e-50
    assert -0.35 < trend["slope"] < -0.2  # true −0.30 per doubling of 1 + hours, attenuated
    assert r.table.loc[("response_time", "no response"), "converted"] == 0
    cad = r.table.xs("cadence", level="factor")
    assert cad["conversion"].iloc[-1] > cad["conversion"].iloc[0] + 0.1
    trend = r.trends.loc["cadence"]
    assert trend["z"] > 5 and trend["slope_low"] > 0  # true +0.50 per log(touches a week)


def test_rep_figures_track_truth() -> None:
    s = sop_compliance(big()).table
    truth = sample.truth(seed=0).rep_frame().set_index("rep_id")
    ok = s[~s["small_n"]]
    rho = stats.spearmanr(ok["median_response_hours"], truth["response_hours"].reindex(ok.index))
    assert rho.statistic > 0.8
    rho = stats.spearmanr(ok["touches_per_week"], truth["cadence"].reindex(ok.index))
    assert rho.statistic > 0.9
    assert s["no_response"].sum() / s["leads"].sum() == pytest.approx(0.106, abs=0.01)


def test_display_escapes_and_inputs_untouched() -> None:
    ds = golden()
    before = ds.leads.copy()
    s = sop_compliance(ds)
    pd.testing.assert_frame_equal(ds.leads, before)
    assert "<table" in s._repr_html_() and s.summary().attrs["caption"] == s.caption
