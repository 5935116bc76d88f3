"""Lead-score validation: golden cases worked by hand, the logistic fit against a brute-force
maximum-likelihood fit, the AUC against Mann–Whitney and plain loops, recovery on sample data."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.dataset import Provenance
from salesanalytics.scoring import CAVEAT, logistic_fit, roc_auc, score_validation
from salesanalytics.stats import rate_interval

T0 = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta("1D")
EVENTS = pd.DataFrame(
    {"deal_id": pd.Series([], dtype="str"), "stage": pd.Series([], dtype="str"),
     "entered_at": pd.Series([], dtype="datetime64[us, UTC]")}
)  # fmt: skip
# 13 leads: score, converted (deal_id or converted_at), deal and its outcome. L13 has no score.
SCORES = [10, 15, 20, 30, 35, 50, 50, 55, 70, 75, 90, 100, np.nan]
DEAL_OF = {"L6": "D6", "L9": "D9", "L11": "D11", "L12": "D12"}  # L5 converted_at only
DEAL_OUTCOME = {"D6": "won", "D9": "lost", "D11": "won", "D12": "open"}
TRUTH = {"need_fit": 0.45, "purchasing_power": 0.35, "decision_complexity": -0.30}


def golden(*, with_deals: bool = True) -> sa.Dataset:
    ids = [f"L{i}" for i in range(1, 14)]
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": [T0] * 13,
            "converted_at": [T0 + DAY if i == "L5" else pd.NaT for i in ids],
            "deal_id": [DEAL_OF.get(i) for i in ids],
            "score": SCORES,
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": list(DEAL_OUTCOME),
            "created_at": [T0 + DAY] * 4,
            "outcome": list(DEAL_OUTCOME.values()),
            "amount": [100.0] * 4,
            "owner_id": ["r"] * 4,
        }
    )
    tables = {"deals": deals if with_deals else deals.iloc[:0], "stage_events": EVENTS}
    return sa.Dataset({**tables, "leads": leads}, provenance=Provenance(as_of=T0 + 9 * DAY))


@functools.cache
def sample_ds() -> sa.Dataset:
    return sample.generate(3000, seed=0)


# ------------------------------------------------------------------ golden cases
def test_golden_bands_and_wilson() -> None:
    v = score_validation(golden(), components=())
    t = v.table
    assert t.index.tolist() == ["[0, 20)", "[20, 40)", "[40, 60)", "[60, 80)", "[80, 100]"]
    # 20 opens [20, 40); 100 closes the last band; L13 (no score) is excluded
    assert t["leads"].tolist() == [2, 3, 3, 2, 2]
    assert t["converted"].tolist() == [0, 1, 1, 1, 2]
    assert t["rate"].tolist() == pytest.approx([0, 1 / 3, 1 / 3, 1 / 2, 1])
    assert t["mean_score"].tolist() == pytest.approx([12.5, 85 / 3, 155 / 3, 72.5, 95])
    for band, k, n in zip(t.index, t["converted"], t["leads"], strict=True):
        ci = stats.binomtest(int(k), int(n)).proportion_ci(method="wilson")
        assert (t.loc[band, "low"], t.loc[band, "high"]) == pytest.approx((ci.low, ci.high))
    assert v.leads == 12
    assert v.notes == ("1 leads without a score or component excluded",)
    assert v.caveat == CAVEAT and "not effects" in v.caption


def test_golden_auc_by_hand() -> None:
    # positives 35, 50, 70, 90, 100 against negatives 10, 15, 20, 30, 50, 55, 75:
    # 4 + 4.5 (one tie at 50) + 6 + 7 + 7 = 28.5 of 5 x 7 pairs
    a = score_validation(golden(), components=()).auc
    assert a.value == pytest.approx(28.5 / 35)
    assert (a.positives, a.negatives) == (5, 7)
    assert a.low < a.value < a.high <= 1.0


def test_golden_won_outcome_and_jeffreys() -> None:
    v = score_validation(golden(), outcome="won", components=(), method="jeffreys")
    t = v.table
    assert t["converted"].tolist() == [0, 0, 1, 0, 1]  # D6 (score 50) and D11 (90) won
    low, high = rate_interval(t["converted"], t["leads"], method="jeffreys")
    assert t["low"].tolist() == pytest.approx(low.tolist())
    assert t["high"].tolist() == pytest.approx(high.tolist())
    assert "1 leads' deals still open: counted as not won" in v.notes
    assert v.auc.value == pytest.approx((5.5 + 9) / 20)  # 50 beats 5 + half a tie; 90 beats 9


def test_golden_calibration_and_predicted() -> None:
    v = score_validation(golden(), components=(), groups=4)
    s = np.array(SCORES[:12])
    y = np.array([0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1], dtype=float)
    fit = logistic_fit(s, y)
    p = special.expit(fit.coef[0] + fit.coef[1] * s)
    c = v.calibration
    assert c["leads"].sum() == 12 and c["converted"].sum() == 5
    # with an intercept, the maximum-likelihood fit reproduces the total: sum p = sum y
    assert c["expected"].sum() == pytest.approx(5.0, rel=1e-6)
    assert (c["predicted"].diff().dropna() > 0).all()
    e, k, n = c["expected"], c["converted"], c["leads"]
    hl = float(((k - e) ** 2 / (e * (1 - e / n))).sum())
    assert v.hosmer_lemeshow.statistic == pytest.approx(hl)
    assert v.hosmer_lemeshow.df == len(c) - 2
    assert v.hosmer_lemeshow.p_value == pytest.approx(stats.chi2.sf(hl, len(c) - 2))
    band = np.searchsorted([0, 20, 40, 60, 80, 100], s, side="right") - 1
    band[s == 100] = 4
    by_band = pd.Series(p).groupby(band).mean().to_numpy()
    assert v.table["predicted"].to_numpy() == pytest.approx(by_band)


def test_quantile_bands_cover_all_leads() -> None:
    v = score_validation(sample_ds(), bands=4, components=())
    t = v.table
    scores = sample_ds().leads["score"]
    assert t["leads"].sum() == len(scores) and 2 <= len(t) <= 4
    assert t["band_low"].iloc[0] == scores.min() and t["band_high"].iloc[-1] == scores.max()
    assert (t["leads"] > 0.1 * len(scores)).all()


# ------------------------------------------------------------------ errors
def test_errors_say_what_is_missing() -> None:
    ds = golden()
    with pytest.raises(ValueError, match="leads table"):
        score_validation(ds.replace(leads=None))
    with pytest.raises(ValueError, match="no 'rating' values"):
        score_validation(ds, score="rating")
    with pytest.raises(ValueError, match="outcome must be"):
        score_validation(ds, outcome="revenue")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="increasing edges"):
        score_validation(ds, bands=(0, 50, 40))
    with pytest.raises(ValueError, match="needs deals"):
        score_validation(golden(with_deals=False), outcome="won")
    with pytest.raises(ValueError, match="adjust_for"):
        score_validation(ds, adjust_for=["nope"])
    v = score_validation(ds)  # no component columns: noted, not fitted
    assert v.components.empty and list(v.models.index) == ["score"]
    assert v.notes[0].startswith("no values of need_fit, purchasing_power")


# ------------------------------------------------------------------ logistic fit
def test_logistic_fit_matches_brute_force_likelihood() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 3)) * [1.0, 2.0, 0.5] + [0.0, 3.0, 0.0]
    y = (rng.random(400) < special.expit(-0.5 + x @ [0.8, -0.4, 1.5])).astype(float)
    X = np.c_[np.ones(400), x]

    def nll(b: np.ndarray) -> float:
        eta = X @ b
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    brute = optimize.minimize(nll, np.zeros(4), method="Nelder-Mead",
                              options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 40000,
                                       "maxfev": 40000})  # fmt: skip
    fit = logistic_fit(x, y, names=["a", "b", "c"])
    assert fit.converged and not fit.separated
    assert fit.coef == pytest.approx(brute.x, abs=1e-4)
    assert fit.loglik == pytest.approx(-brute.fun, abs=1e-8)
    # standard errors: inverse of a finite-difference Hessian of the negative log-likelihood
    h, hess = 1e-4, np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            e_i, e_j = np.eye(4)[i] * h, np.eye(4)[j] * h
            b = fit.coef
            hess[i, j] = (
                nll(b + e_i + e_j) - nll(b + e_i - e_j) - nll(b - e_i + e_j) + nll(b - e_i - e_j)
            ) / (4 * h * h)
    assert fit.se == pytest.approx(np.sqrt(np.diag(np.linalg.inv(hess))), rel=1e-3)
    null = 400 * (y.mean() * np.log(y.mean()) + (1 - y.mean()) * np.log(1 - y.mean()))
    assert fit.null_loglik == pytest.approx(null)
    assert fit.lr_p_value == pytest.approx(stats.chi2.sf(2 * (fit.loglik - null), 3))
    assert fit.mcfadden_r2 == pytest.approx(1 - fit.loglik / null)
    assert fit.names == ("(intercept)", "a", "b", "c")


def test_logistic_fit_separation_and_errors() -> None:
    fit = logistic_fit([1, 2, 3, 3, 5, 6], [0, 0, 0, 1, 1, 1])  # quasi-complete separation
    assert fit.separated and np.isnan(fit.se).all()
    with pytest.raises(ValueError, match="does not vary"):
        logistic_fit([1, 2, 3], [1, 1, 1])
    with pytest.raises(ValueError, match="0/1"):
        logistic_fit([1, 2, 3], [0, 2, 1])
    ds = golden()
    leads = ds.leads.assign(score=[10, 15, 20, 30, 60, 65, 40, 45, 80, 50, 90, 100, 5])
    v = score_validation(ds.replace(leads=leads), components=())  # score >= 60 converts
    assert v.auc.value == 1.0
    assert any("separation" in n for n in v.notes) and not v.models.loc["score", "converged"]


# ------------------------------------------------------------------ AUC
def delong_by_loops(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    pos, neg = x[y == 1], x[y == 0]
    psi = [[1.0 if a > b else 0.5 if a == b else 0.0 for b in neg] for a in pos]
    v10 = np.array([np.mean(row) for row in psi])
    v01 = np.array([np.mean([psi[i][j] for i in range(len(pos))]) for j in range(len(neg))])
    return float(v10.mean()), float(
        np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    )


def test_auc_matches_mann_whitney_and_loops() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.integers(0, 8, size=150).astype(float)  # many ties
        y = (rng.random(150) < special.expit(0.3 * (x - 4))).astype(float)
        a = roc_auc(x, y)
        mw = stats.mannwhitneyu(x[y == 1], x[y == 0], method="asymptotic")
        n1, n0 = int(y.sum()), int((1 - y).sum())
        assert a.value == pytest.approx(mw.statistic / (n1 * n0))
        assert a.p_value == pytest.approx(mw.pvalue)
        value, se = delong_by_loops(x, y)
        assert (a.value, a.se) == pytest.approx((value, se))
        assert (a.low, a.high) == pytest.approx((value - 1.959964 * se, value + 1.959964 * se))
    assert roc_auc([3, 2, 1], [1, 0, 0]).value == 1.0
    assert roc_auc([1, 1, 1, 1], [1, 0, 1, 0]).value == 0.5
    with pytest.raises(ValueError, match="both outcomes"):
        roc_auc([1, 2], [1, 1])


# ------------------------------------------------------------------ recovery on the sample
def test_recovers_planted_effects() -> None:
    v = score_validation(sample_ds())
    c = v.components
    assert c.index.tolist() == list(TRUTH)
    assert (c["joint_coef"] > 0).tolist() == [True, True, False]
    assert (c["joint_p_value"] < 1e-10).all() and (c["drop_p_value"] < 1e-10).all()
    assert (c["coef"] > 0).tolist() == [True, True, False] and (c["p_value"] < 1e-10).all()
    # the generator gives need fit the largest effect (0.45 vs 0.35); stable over seeds 0-4
    assert c.loc["need_fit", "joint_coef"] > c.loc["purchasing_power", "joint_coef"] + 0.1
    for name in ("purchasing_power", "decision_complexity"):
        assert abs(c.loc[name, "joint_coef"] - TRUTH[name]) < 3 * c.loc[name, "joint_se"]
    assert c.loc["decision_complexity", "auc"] < 0.5 < c.loc["need_fit", "auc"]
    assert v.auc.low > 0.65 and v.auc.p_value < 1e-50
    assert v.table["rate"].is_monotonic_increasing
    assert v.hosmer_lemeshow.p_value > 0.05  # the score's logistic fit is calibrated
    w = v.suggested_weights
    assert np.abs(w["weight"]).sum() == pytest.approx(1.0)
    assert w["points_per_unit"].to_numpy() == pytest.approx(25 * w["weight"].to_numpy())
    # the published score is 25 (0.40 (nf-1) + 0.35 (pp-1) + 0.25 (5-dc)), rounded
    assert w["current_weight"].tolist() == pytest.approx([0.40, 0.35, -0.25], abs=0.005)
    assert v.score_r2 > 0.999 and v.score_correlation > 0.95
    m = v.models
    assert m.loc["components", "lr_p_value"] < 1e-100 and m["converged"].all()
    assert m.loc["components", "mcfadden_r2"] > m.loc["score", "mcfadden_r2"] > 0.05


def test_adjusting_for_source_moves_need_fit_towards_truth() -> None:
    # need fit is shifted by source, and sources convert differently: confounding
    plain = score_validation(sample_ds()).components["joint_coef"]
    adjusted = score_validation(sample_ds(), adjust_for=["lead_source"])
    c = adjusted.components
    assert abs(c.loc["need_fit", "joint_coef"] - 0.45) < abs(plain["need_fit"] - 0.45)
    for name, truth in TRUTH.items():
        assert abs(c.loc[name, "joint_coef"] - truth) < 3 * c.loc[name, "joint_se"]
    assert adjusted.models.loc["components", "df"] == 3 + 8  # nine sources, one baseline
    assert "joint fit adjusted for lead_source" in adjusted.notes


def test_adjusting_leaves_out_categories_with_one_outcome() -> None:
    ds = sample_ds()
    leads = ds.leads
    lost = leads.index[leads["deal_id"].isna()][:5]
    leads.loc[lost, "lead_source"] = "tiny"  # five leads, none converted: would separate
    v = score_validation(ds.replace(leads=leads), adjust_for=["lead_source"])
    assert "5 leads in lead_source categories with a single outcome left out of the joint fit" in (
        v.notes
    )
    assert v.models["converged"].all() and v.components["joint_se"].notna().all()
    assert v.models.loc["components", "df"] == 3 + 8
    with pytest.raises(ValueError, match="nothing to rank"):
        none = leads.assign(deal_id=None, converted_at=pd.NaT)
        score_validation(ds.replace(leads=none))


def test_won_outcome_on_sample() -> None:
    v = score_validation(sample_ds(), outcome="won", components=())
    deal = score_validation(sample_ds(), components=())
    assert (v.table["converted"] <= deal.table["converted"]).all()
    assert v.auc.low > 0.5 and any("still open" in n for n in v.notes)


def test_summary_and_html_escape() -> None:
    v = score_validation(golden(), components=())
    html = v._repr_html_()
    assert "AUC 0.814" in html and v.summary().attrs["view"] == "score validation"
