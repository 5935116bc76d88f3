"""The one guarded division: against the written-out ``np.where`` form it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from salesanalytics._ratio import all_positive, ratio


def written_out(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), fill)


@pytest.mark.parametrize("fill", [0.0, np.nan, 1.0])
def test_matches_the_written_out_form(fill: float) -> None:
    rng = np.random.default_rng(0)
    num = rng.normal(size=(4, 5, 6))
    den = rng.choice([0.0, -1.0, np.nan, 2.0, 0.5], size=(5, 6))
    shared = np.broadcast_to(den, num.shape)  # a divisor repeated over scenarios
    for d in (den, shared, np.abs(den) + 1.0):
        np.testing.assert_array_equal(ratio(num, d, fill), written_out(num, d, fill))
    assert ratio(3.0, 2.0) == 1.5 and ratio(3.0, 0.0) == 0.0
    assert np.isnan(ratio(3.0, 0.0, np.nan))


def test_all_positive_looks_through_repeated_axes() -> None:
    assert all_positive(np.broadcast_to([1.0, 2.0], (1000, 2)))
    assert not all_positive(np.broadcast_to([1.0, 0.0], (1000, 2)))
    assert not all_positive([1.0, np.nan])
