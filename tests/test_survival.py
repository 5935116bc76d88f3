"""Kaplan–Meier and Aalen–Johansen: hand-worked cases, lifelines and scipy, properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from salesanalytics.survival import aalen_johansen, kaplan_meier


def _lifelines() -> None:
    """Skip when lifelines (a test-only dependency, pinned to pandas < 3) is not installed."""
    pytest.importorskip("lifelines")


def test_km_golden_with_tie_of_event_and_censoring() -> None:
    # times 1,2,2,3,4; at t=2 one event and one censoring: the event comes first, so the
    # censored deal is still at risk at 2 (n=4), and leaves before 3 (n=2 at t=3)
    km = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    assert km.time.tolist() == [1, 2, 3, 4]
    assert km.at_risk.tolist() == [5, 4, 2, 1]
    assert km.events.tolist() == [1, 1, 1, 0]
    assert km.censored.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(km.estimate, [4 / 5, 4 / 5 * 3 / 4, 0.6 * 1 / 2, 0.3])
    # Greenwood at t=2: S^2 (1/(5*4) + 1/(4*3))
    assert km.variance[1] == pytest.approx(0.36 * (1 / 20 + 1 / 12))
    assert km.median()[0] == 3.0  # first time S <= 0.5
    assert km.quantile(0.25)[0] == 2.0  # first time S <= 0.75
    assert math.isnan(km.quantile(0.9)[0])  # S never falls to 0.1: not reached
    est, low, high = km.at([0, 1, 1.5, 2, 10])
    np.testing.assert_allclose(est, [1, 0.8, 0.8, 0.6, 0.3])
    assert (low <= est).all() and (est <= high).all()


def test_km_tied_events_and_all_fail() -> None:
    km = kaplan_meier([2, 2, 2, 5], [True, True, False, True])
    np.testing.assert_allclose(km.estimate, [0.5, 0.0])
    assert km.low[-1] == 0.0 and km.high[-1] == 0.0 and km.variance[-1] == 0.0
    assert km.median()[0] == 2.0


def test_km_band_by_hand() -> None:
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1])
    z = stats.norm.ppf(0.975)
    # at t=3: S = 5/6 * 3/4, Greenwood sum 1/(6*5) + 1/(4*3)
    s = 5 / 6 * 3 / 4
    se = math.sqrt(1 / 30 + 1 / 12) / abs(math.log(s))
    assert km.low[2] == pytest.approx(s ** math.exp(z * se))
    assert km.high[2] == pytest.approx(s ** math.exp(-z * se))


def test_aj_golden() -> None:
    # causes: 1 won, 2 lost, 0 open (censored)
    cif = aalen_johansen([1, 2, 3, 4], [1, 2, 0, 1])
    # t=1: 1 of 4 wins -> F1 = 1/4, S = 3/4; t=2: 1 of 3 lost -> F2 = 3/4 * 1/3 = 1/4;
    # t=3 censored; t=4: the last one (n=1) wins -> F1 = 1/4 + S(3) * 1 = 1/4 + 1/2
    np.testing.assert_allclose(cif.estimate[:, 0], [0.25, 0.25, 0.25, 0.75])
    np.testing.assert_allclose(cif.estimate[:, 1], [0.0, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(cif.survival, [0.75, 0.5, 0.5, 0.0])
    # variance of F1 at t=1: S0^2 d1 (n-d1)/n^3 = 3/64 (first and third terms vanish at j=i)
    assert cif.variance[0, 0] == pytest.approx(3 / 64)
    assert cif.quantile(0.5, 1)[0] == 4.0
    # among eventual winners (F1 plateau 0.75): 0.25 / 0.75 = 1/3 have won by t=1
    assert cif.quantile(0.3, 1, conditional=True)[0] == 1.0
    assert cif.quantile(0.5, 1, conditional=True)[0] == 4.0
    est, _, _ = cif.at([0.5, 1, 3.9, 4], cause=2)
    np.testing.assert_allclose(est, [0, 0, 0.25, 0.25])


def test_aj_with_one_cause_equals_one_minus_km() -> None:
    rng = np.random.default_rng(3)
    t = rng.integers(0, 20, 200).astype(float)  # many ties
    e = rng.random(200) < 0.7
    cif = aalen_johansen(t, e.astype(int))
    km = kaplan_meier(t, e)
    np.testing.assert_allclose(cif.estimate[:, 0], 1 - km.estimate, atol=1e-12)
    # the delta-method variance reduces to Greenwood's with one cause
    np.testing.assert_allclose(cif.variance[:, 0], km.variance, rtol=1e-7, atol=1e-12)


def test_validation_and_empty() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([-1, 2], [1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([np.nan], [1])
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError, match="codes"):
        aalen_johansen([1, 2], [1, 3], causes=2)
    with pytest.raises(ValueError, match="confidence"):
        kaplan_meier([1], [1], confidence=1.0)
    km = kaplan_meier([], [])
    assert km.n == 0 and math.isnan(km.median()[0])
    assert km.at([5.0])[0].tolist() == [1.0]
    cif = aalen_johansen([], [], causes=2)
    assert cif.estimate.shape == (0, 2) and math.isnan(cif.quantile(0.5, 2)[0])


# ---------------------------------------------------------------- independent estimators


def _data(seed: int, n: int = 400, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.exponential(30.0, n)
    if ties:
        t = np.round(t)
    return t, rng.choice([0, 1, 2], n, p=[0.25, 0.4, 0.35])


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, True)])
def test_km_matches_lifelines(seed: int, ties: bool) -> None:
    _lifelines()
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    t, c = _data(seed, ties=ties)
    km = kaplan_meier(t, c > 0)
    ref = KaplanMeierFitter().fit(t, c > 0)
    sf = ref.survival_function_.iloc[:, 0]
    assert set(sf.index) - {0.0} == set(km.time) - {0.0}
    np.testing.assert_allclose(km.estimate, sf.loc[km.time], atol=1e-10)
    ci = ref.confidence_interval_.loc[km.time].to_numpy()
    ok = ~np.isnan(ci[:, 0])  # lifelines leaves the band at S = 1 undefined
    np.testing.assert_allclose(km.low[ok], ci[ok, 0], atol=1e-8)
    np.testing.assert_allclose(km.high[ok], ci[ok, 1], atol=1e-8)
    med = median_survival_times(ref.confidence_interval_).to_numpy().ravel()
    assert km.median()[0] == pytest.approx(ref.median_survival_time_)
    assert km.median()[1:] == pytest.approx(tuple(med))


def test_km_matches_scipy_ecdf() -> None:
    t, c = _data(4, ties=True)
    res = stats.ecdf(stats.CensoredData(uncensored=t[c > 0], right=t[c == 0]))
    km = kaplan_meier(t, c > 0)
    np.testing.assert_allclose(km.at(t)[0], res.sf.evaluate(t), atol=1e-12)


@pytest.mark.parametrize("cause", [1, 2])
def test_aj_matches_lifelines(cause: int) -> None:
    _lifelines()
    from lifelines import AalenJohansenFitter

    t, c = _data(5)  # continuous times: lifelines jitters ties, so compare without them
    cif = aalen_johansen(t, c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = AalenJohansenFitter(calculate_variance=True).fit(t, c, event_of_interest=cause)
    k = cause - 1
    np.testing.assert_allclose(cif.estimate[:, k], ref.cumulative_density_.iloc[1:, 0], atol=1e-10)
    ref_var = ref.variance_.iloc[1:].to_numpy()
    fin = np.isfinite(ref_var)  # lifelines divides by zero where everyone at risk fails
    assert fin[:-1].all()
    np.testing.assert_allclose(cif.variance[fin, k], ref_var[fin], rtol=1e-6, atol=1e-12)
    # lifelines labels its columns upper/lower the wrong way round; compare by value
    ci = np.sort(ref.confidence_interval_.iloc[1:].to_numpy(), axis=1)
    ok = (cif.estimate[:, k] > 0) & fin
    np.testing.assert_allclose(cif.low[ok, k], ci[ok, 0], atol=1e-8)
    np.testing.assert_allclose(cif.high[ok, k], ci[ok, 1], atol=1e-8)


def aj_by_loop(t: list[float], c: list[int], cause: int) -> tuple[list[float], list[float]]:
    """Plain-Python Aalen–Johansen estimate and delta-method variance (O(n²), no numpy)."""
    times = sorted(set(t))
    rows = []  # (n, d, d_k, S before)
    s_prev = 1.0
    for u in times:
        n = sum(1 for x in t if x >= u)
        d = sum(1 for x, k in zip(t, c, strict=True) if x == u and k > 0)
        dk = sum(1 for x, k in zip(t, c, strict=True) if x == u and k == cause)
        rows.append((n, d, dk, s_prev))
        s_prev *= 1 - d / n
    f, total = [], 0.0
    for n, _, dk, sp in rows:
        total += sp * dk / n
        f.append(total)
    var = []
    for i in range(len(rows)):
        v = 0.0
        for j in range(i + 1):
            n, d, dk, sp = rows[j]
            gap = f[i] - f[j]
            if n > d:
                v += gap * gap * d / (n * (n - d))
            v += sp * sp * dk * (n - dk) / n**3 - 2 * gap * sp * dk / n**2
        var.append(max(v, 0.0))
    return f, var


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 15), st.integers(0, 2)), min_size=1, max_size=40),
    st.sampled_from([1, 2]),
)
def test_aj_matches_plain_loop(data: list[tuple[int, int]], cause: int) -> None:
    t = [float(x) for x, _ in data]
    c = [k for _, k in data]
    cif = aalen_johansen(t, c, causes=2)
    f, var = aj_by_loop(t, c, cause)
    np.testing.assert_allclose(cif.estimate[:, cause - 1], f, atol=1e-12)
    np.testing.assert_allclose(cif.variance[:, cause - 1], var, atol=1e-10)


# ---------------------------------------------------------------- properties

samples = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 2)), min_size=1, max_size=60).map(
    lambda xs: (np.array([x[0] for x in xs], float), np.array([x[1] for x in xs]))
)


@settings(max_examples=60, deadline=None)
@given(samples)
def test_properties(data: tuple[np.ndarray, np.ndarray]) -> None:
    t, c = data
    km = kaplan_meier(t, c > 0)
    assert (np.diff(km.estimate) <= 1e-12).all()
    assert ((km.low <= km.estimate + 1e-12) & (km.estimate <= km.high + 1e-12)).all()
    assert ((km.low >= 0) & (km.high <= 1)).all()
    cif = aalen_johansen(t, c, causes=2)
    f = cif.estimate
    assert (np.diff(f, axis=0) >= -1e-12).all()
    assert (f.sum(axis=1) <= 1 + 1e-12).all()
    np.testing.assert_allclose(f.sum(axis=1) + cif.survival, 1.0, atol=1e-9)
    np.testing.assert_allclose(cif.survival, km.estimate, atol=1e-12)
    assert ((cif.low <= f + 1e-12) & (f <= cif.high + 1e-12)).all()
    q = [km.quantile(p)[0] for p in (0.25, 0.5, 0.75)]
    finite = [x for x in q if not math.isnan(x)]
    assert finite == sorted(finite)
    if not math.isnan(q[1]):
        _, lo, hi = km.median()
        assert lo <= q[1] and (math.isnan(hi) or q[1] <= hi)
