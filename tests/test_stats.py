"""Rate intervals against hand computation and an independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from salesanalytics.stats import rate_interval


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_golden() -> None:
    # 8 of 10: worked by hand from the score-interval formula
    low, high = rate_interval(8, 10)
    assert low == pytest.approx(0.4901624, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)
    low, high = rate_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611252, abs=1e-6)


def test_jeffreys_matches_beta_quantiles() -> None:
    k, n = np.array([0, 3, 10, 7]), np.array([10, 10, 10, 50])
    low, high = rate_interval(k, n, method="jeffreys", confidence=0.9)
    ref_low = np.where(k > 0, stats.beta.ppf(0.05, k + 0.5, n - k + 0.5), 0.0)
    ref_high = np.where(k < n, stats.beta.ppf(0.95, k + 0.5, n - k + 0.5), 1.0)
    np.testing.assert_allclose(low, ref_low, rtol=1e-9)
    np.testing.assert_allclose(high, ref_high, rtol=1e-9)


def test_empty_and_invalid() -> None:
    low, high = rate_interval([0], [0])
    assert np.isnan(low[0]) and np.isnan(high[0])
    with pytest.raises(ValueError):
        rate_interval(5, 3)
    with pytest.raises(ValueError):
        rate_interval(1, 3, confidence=1.5)
    with pytest.raises(ValueError):
        rate_interval(1, 3, method="wald")  # type: ignore[arg-type]


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_property(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = rate_interval(k, n)
    ref = wilson_by_hand(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert low == pytest.approx(max(ref[0], 0.0), abs=1e-12)
    assert high == pytest.approx(min(ref[1], 1.0), abs=1e-12)
