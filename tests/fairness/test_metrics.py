"""Fairness metrics on arrays: hand-worked golden cases, brute-force cross-checks (plain
loops) on random data, and properties (vectorised rows = one row at a time, NaN = absent)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from salesanalytics.fairness import metrics as m

# ------------------------------------------------------------------ golden: a fair plan
# Ten reps in pairs of equal attainment, one pair per band; pay strictly increasing in
# attainment (pay = 2a + a²), so equal attainment gets equal pay.
FAIR_A = np.array([[0.3, 0.3, 0.6, 0.6, 0.9, 0.9, 1.1, 1.1, 1.5, 1.5]])
FAIR_PAY = 2 * FAIR_A + FAIR_A**2


def test_fair_plan_scores_as_fair() -> None:
    assert m.rank_correlation(FAIR_PAY, FAIR_A)[0] == pytest.approx(1.0)
    inv, pairs = m.inversion_counts(FAIR_PAY, FAIR_A)
    assert inv[0] == 0
    assert pairs[0] == 45 - 5  # C(10,2) minus the 5 tied pairs
    assert m.inversion_rate(FAIR_PAY, FAIR_A)[0] == 0.0
    d = m.band_dispersion(FAIR_PAY, FAIR_A)
    assert d == {"band_cv": [0.0], "band_gini": [0.0], "band_theil": [0.0]}


def test_unfair_plan_scores_inverted() -> None:
    # pay decreasing in attainment: every comparable pair is inverted
    a = np.array([[0.2, 0.7, 1.0, 1.3]])
    assert m.rank_correlation(-a + 5, a)[0] == pytest.approx(-1.0)
    assert m.inversion_rate(-a + 5, a)[0] == 1.0


def test_territory_plan_has_luck_share_one() -> None:
    rng = np.random.default_rng(0)
    luck = rng.normal(0, 0.2, size=(5, 30))
    assert m.luck_share(1000 * (1 + luck), luck) == pytest.approx(np.ones(5))
    assert m.luck_share(800 * np.exp(luck), luck, log=True) == pytest.approx(np.ones(5))
    # pay independent of luck: near 0
    skill = rng.normal(1, 0.2, size=(5, 3000))
    assert (m.luck_share(skill, rng.normal(size=(5, 3000))) < 0.01).all()
    # a shock shared by every rep is invisible across reps
    assert np.isnan(m.luck_share(skill[:, :10], np.zeros((5, 10)))).all()


# ------------------------------------------------------------------ golden: indices by hand
def test_cv_gini_theil_by_hand() -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    mu = 2.5
    sd = math.sqrt(((1.5**2) * 2 + (0.5**2) * 2) / 4)  # population sd = √1.25
    assert m.cv(x)[0] == pytest.approx(sd / mu)
    # ΣΣ|xi − xj| = 2·(1+2+3+1+2+1) = 20; Gini = 20 / (2·4²·2.5) = 0.25
    assert m.gini(x)[0] == pytest.approx(0.25)
    theil = sum(v / mu * math.log(v / mu) for v in (1, 2, 3, 4)) / 4
    assert m.theil(x)[0] == pytest.approx(theil)
    # all equal → 0 (zeros included); empty → NaN; negative values → Theil NaN
    assert m.cv([[0.0, 0.0]])[0] == 0 and m.gini([[5.0, 5.0]])[0] == 0
    assert np.isnan(m.gini([[np.nan, np.nan]])[0])
    assert np.isnan(m.theil([[-1.0, 2.0]])[0])
    # one person has everything: Gini = (n − 1)/n
    assert m.gini([[0, 0, 0, 0, 10.0]])[0] == pytest.approx(0.8)


def test_band_dispersion_weighted_by_band_size() -> None:
    # band [0, .5): pay 1, 3 (CV .5); band [.8, 1): 2, 2, 2 (CV 0); band [1.2, ∞): one rep (skipped)
    a = np.array([[0.1, 0.4, 0.85, 0.9, 0.95, 1.5]])
    pay = np.array([[1.0, 3.0, 2.0, 2.0, 2.0, 9.0]])
    d = m.band_dispersion(pay, a)
    assert d["band_cv"][0] == pytest.approx((0.5 * 2 + 0 * 3) / 5)
    assert d["band_gini"][0] == pytest.approx((0.25 * 2) / 5)  # Gini(1, 3) = 4 / (2·4·2)


def test_temporal_and_rep_cv_by_hand() -> None:
    # rep 0: periods in band 80-100% pay 1, 1 (CV 0), band 100-120% pay 3, 5 (CV .25)
    # rep 1: all in band 0-50%, pay 2, 2, 2, 2 (CV 0)
    pay = np.array([[[1.0, 1.0, 3.0, 5.0], [2.0, 2.0, 2.0, 2.0]]])
    att = np.array([[[0.9, 0.9, 1.1, 1.1], [0.2, 0.2, 0.2, 0.2]]])
    assert m.temporal_band_cv(pay, att)[0] == pytest.approx((0 * 2 + 0.25 * 2 + 0 * 4) / 8)
    rep0 = np.std([1, 1, 3, 5]) / 2.5
    assert m.rep_pay_cv(pay)[0] == pytest.approx((rep0 + 0) / 2)
    # periods not valid are left out
    valid = np.array([[[True, True, False, False], [True, True, True, True]]])
    assert m.rep_pay_cv(pay, valid)[0] == 0.0


def test_share_at_quota_and_leverage() -> None:
    assert m.share_at_quota([[0.99, 1.0, 1.01, np.nan]])[0] == pytest.approx(2 / 3)
    pay = np.arange(1.0, 12.0)[None]  # P90 = 10, median = 6
    assert m.leverage(pay)[0] == pytest.approx(10 / 6)
    assert m.leverage(np.r_[pay[0], 1000.0][None], np.r_[np.ones(11), np.nan][None])[
        0
    ] == pytest.approx(10 / 6)


def test_band_labels() -> None:
    assert m.band_labels() == ["0-50%", "50-80%", "80-100%", "100-120%", "120%+"]


# ------------------------------------------------------------------ brute force
def brute_inversions(pay: np.ndarray, att: np.ndarray) -> tuple[int, int]:
    inverted = comparable = 0
    n = len(pay)
    for i in range(n):
        for j in range(n):
            if not (np.isfinite(att[i]) and np.isfinite(att[j])):
                continue
            if not (np.isfinite(pay[i]) and np.isfinite(pay[j])):
                continue
            if att[i] > att[j]:
                comparable += 1
                inverted += pay[i] < pay[j]
    return inverted, comparable


values = st.one_of(st.integers(0, 4).map(float), st.just(np.nan))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 40), st.data())
def test_inversions_match_brute_force(trials: int, reps: int, data: st.DataObject) -> None:
    att = np.array(data.draw(st.lists(values, min_size=trials * reps, max_size=trials * reps)))
    pay = np.array(data.draw(st.lists(values, min_size=trials * reps, max_size=trials * reps)))
    att, pay = att.reshape(trials, reps), pay.reshape(trials, reps)
    inv, pairs = m.inversion_counts(pay, att)
    for t in range(trials):
        assert (int(inv[t]), int(pairs[t])) == brute_inversions(pay[t], att[t])
    rate = m.inversion_rate(pay, att)
    assert ((rate >= 0) & (rate <= 1) | np.isnan(rate)).all()


def test_inversions_on_continuous_data_match_brute_force() -> None:
    rng = np.random.default_rng(1)
    att = rng.gamma(4, 0.25, size=(3, 120))
    pay = att + rng.normal(0, 0.3, size=att.shape)
    inv, pairs = m.inversion_counts(pay, att)
    for t in range(3):
        assert (int(inv[t]), int(pairs[t])) == brute_inversions(pay[t], att[t])
    # continuous, no ties: discordant pairs = (1 − τ) / 2 of all pairs
    tau = stats.kendalltau(att[0], pay[0]).statistic
    assert inv[0] / pairs[0] == pytest.approx((1 - tau) / 2)


def test_inversions_scale_to_many_reps() -> None:
    rng = np.random.default_rng(2)
    att = rng.random((2, 20_000))
    inv, pairs = m.inversion_counts(att, att)  # perfectly ordered
    assert inv.tolist() == [0, 0]
    inv, _ = m.inversion_counts(-att, att)  # perfectly reversed
    assert inv.tolist() == pairs.tolist()


def test_rank_correlation_matches_scipy_rowwise_with_nan() -> None:
    rng = np.random.default_rng(3)
    att = rng.integers(0, 8, size=(6, 25)).astype(float)
    pay = att + rng.integers(0, 5, size=att.shape)
    att[rng.random(att.shape) < 0.15] = np.nan
    got = m.rank_correlation(pay, att)
    for t in range(6):
        ok = np.isfinite(att[t])
        assert got[t] == pytest.approx(stats.spearmanr(pay[t, ok], att[t, ok]).statistic)


def test_rows_are_independent_and_nan_means_absent() -> None:
    rng = np.random.default_rng(4)
    att = rng.gamma(4, 0.25, size=(5, 40))
    pay = np.abs(att + rng.normal(0, 0.2, size=att.shape))
    att[:, :5] = np.nan
    for name, fn in [
        ("rank", m.rank_correlation),
        ("inversion", m.inversion_rate),
        ("gini", lambda p, a: m.gini(np.where(np.isfinite(a), p, np.nan))),
    ]:
        batch = fn(pay, att)
        one = np.array([fn(pay[t : t + 1, 5:], att[t : t + 1, 5:])[0] for t in range(5)])
        assert batch == pytest.approx(one), name
    d = m.band_dispersion(pay, att)
    d1 = m.band_dispersion(pay[:1, 5:], att[:1, 5:])
    assert {k: v[0] for k, v in d.items()} == pytest.approx({k: v[0] for k, v in d1.items()})


def test_inputs_not_mutated() -> None:
    pay, att = FAIR_PAY.copy(), FAIR_A.copy()
    m.inversion_counts(pay, att)
    m.band_dispersion(pay, att)
    m.group_gaps(pay, att, np.arange(10) % 2)
    assert (pay == FAIR_PAY).all() and (att == FAIR_A).all()


# ------------------------------------------------------------------ group gaps
def test_group_gap_recovers_a_known_gap() -> None:
    rng = np.random.default_rng(5)
    reps = 400
    codes = rng.integers(0, 3, size=reps)
    att = rng.gamma(4, 0.25, size=(2, reps))
    truth = np.array([0.0, -0.10, 0.05])  # log gaps against group 0
    pay = np.exp(0.5 * att + truth[codes] + rng.normal(0, 0.05, size=att.shape))
    fit = m.group_gaps(pay, att, codes, reference=0)
    assert np.isnan(fit.estimate[:, 0]).all()
    assert fit.estimate[:, 1:] == pytest.approx(np.tile(truth[1:], (2, 1)), abs=0.02)
    low, high = fit.interval(0.99)
    assert ((low[:, 1:] < truth[1:]) & (truth[1:] < high[:, 1:])).all()
    assert fit.n.sum(axis=1).tolist() == [reps, reps]


def test_group_gap_equals_plain_least_squares() -> None:
    rng = np.random.default_rng(6)
    reps = 30
    codes = rng.integers(0, 2, size=reps)
    att = rng.uniform(0.2, 1.6, size=reps)
    pay = np.exp(att + 0.1 * codes + rng.normal(0, 0.1, size=reps))
    fit = m.group_gaps(pay[None], att[None], codes, knots=(1.0,), reference=0)
    x = np.c_[np.ones(reps), att, np.maximum(att - 1.0, 0), codes == 1]
    beta, *_ = np.linalg.lstsq(x, np.log(pay), rcond=None)
    resid = np.log(pay) - x @ beta
    s2 = resid @ resid / (reps - 4)
    se = np.sqrt(s2 * np.linalg.inv(x.T @ x)[3, 3])
    assert fit.estimate[0, 1] == pytest.approx(beta[3])
    assert fit.se[0, 1] == pytest.approx(se)
    assert fit.df[0] == reps - 4


def test_group_gap_absent_group_is_nan_and_nonpositive_pay_left_out() -> None:
    att = np.array([[0.5, 1.0, 1.5, 0.5, 1.0, 1.5]])
    pay = np.array([[1.0, 2.0, 3.0, 0.0, -1.0, 0.0]])  # group 1 has no positive pay
    fit = m.group_gaps(pay, att, [0, 0, 0, 1, 1, 1], knots=())
    assert np.isnan(fit.estimate[0, 1]) and fit.n[0].tolist() == [3, 0]
    level = m.group_gaps(pay, att, [0, 0, 0, 1, 1, 1], knots=(), log=False)
    assert np.isfinite(level.estimate[0, 1])
