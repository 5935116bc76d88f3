"""Comparing binomial rates across groups: an overall test, pairwise tests and a shrinkage ranking.

:func:`compare_rates` takes successes ``k`` of trials ``n`` per group (lead sources, in
:func:`salesanalytics.sources.compare_sources`) and gives the overall Pearson chi-square
(Monte-Carlo exact when an expected count is below 5), Fisher exact tests of every pair with
Benjamini–Hochberg q-values, and an empirical-Bayes ranking: a Beta(α, β) prior fitted across
groups by beta-binomial maximum likelihood, each group's posterior mean with an equal-tailed
credible interval; groups below ``min_n`` are flagged and never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from .segments import Shown

__all__ = ["ComparisonResult", "benjamini_hochberg", "compare_rates", "fit_beta_binomial"]


def benjamini_hochberg(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (FDR q-values).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = q
    return out


def fit_beta_binomial(k: ArrayLike, n: ArrayLike) -> tuple[float, float]:
    """Maximum-likelihood Beta(α, β) prior of a beta-binomial fitted to counts ``k`` of ``n``.

    Optimised on log-parameters from a method-of-moments start; with no overdispersion the
    prior strength α + β grows to the bound (1e7): full pooling.

    Examples
    --------
    >>> a, b = fit_beta_binomial([10, 20, 30, 15], [100, 100, 100, 100])
    >>> round(a / (a + b), 2)
    0.19
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if not len(n):
        raise ValueError("need at least one source with n > 0")
    p = np.clip(k.sum() / n.sum(), 1e-3, 1 - 1e-3)
    var = np.var(k / n) if len(n) > 1 else 0.0
    strength = np.clip(p * (1 - p) / var - 1, 1.0, 1e6) if var > 0 else 1e3
    x0 = np.log([p * strength, (1 - p) * strength])

    def nll(x: NDArray[np.float64]) -> float:
        return -float(stats.betabinom.logpmf(k, n, np.exp(x[0]), np.exp(x[1])).sum())

    bounds = [(-10.0, np.log(1e7))] * 2
    fit = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    return float(np.exp(fit.x[0])), float(np.exp(fit.x[1]))


def _chi2(table: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pearson chi-square of k×2 tables stacked on the first axis (rows = sources)."""
    rows, cols = table.sum(axis=-1, keepdims=True), table.sum(axis=-2, keepdims=True)
    expected = rows * cols / table.sum(axis=(-2, -1), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nansum((table - expected) ** 2 / expected, axis=(-2, -1))


@dataclass(frozen=True, eq=False)
class ComparisonResult(Shown):
    """Comparison of sources on one rate.

    Attributes
    ----------
    table
        Per source: ``k``, ``n``, ``rate``, ``posterior_mean``, ``credible_low``,
        ``credible_high``, ``eligible`` (n ≥ ``min_n``) and ``rank`` (1 = best, NaN if not
        eligible), sorted by rank.
    pairs
        Per pair: ``source_a``, ``source_b``, ``rate_a``, ``rate_b``, ``difference``,
        ``p_value`` (Fisher exact), ``q_value`` (Benjamini–Hochberg).
    statistic, p_value, test
        Overall chi-square statistic and p-value; ``test`` says whether the p-value is
        asymptotic or Monte-Carlo exact.
    prior
        Fitted Beta(α, β).
    """

    table: pd.DataFrame
    pairs: pd.DataFrame
    rate: str
    statistic: float
    p_value: float
    test: str
    prior: tuple[float, float]
    min_n: int = 30
    confidence: float = 0.95
    view: str = "shrinkage"

    @property
    def caption(self) -> str:
        """What the table shows."""
        a, b = self.prior
        return (
            f"Sources compared on {self.rate}: {self.test} p = {self.p_value:.3g}; "
            f"Beta({a:.3g}, {b:.3g}) prior, {self.confidence:.0%} credible intervals"
        )


def compare_rates(
    counts: pd.DataFrame,
    rate: str,
    *,
    min_n: int = 30,
    seed: int | np.random.Generator | None = None,
    draws: int = 9999,
    confidence: float = 0.95,
) -> ComparisonResult:
    """Test, pairwise-compare and rank groups on one rate from their counts.

    Parameters
    ----------
    counts
        Indexed by group, with successes ``k`` and trials ``n`` (integers, n > 0).
    rate
        The rate's name, for the caption.
    min_n, seed, draws, confidence
        As in :func:`salesanalytics.sources.compare_sources`.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    >>> counts = pd.DataFrame({"k": [30, 10, 12], "n": [100, 100, 20]}, index=["a", "b", "c"])
    >>> c = compare_rates(counts, "lead_to_deal", min_n=30)
    >>> c.table.index.tolist(), c.table["rank"].tolist()[:2]
    (['a', 'b', 'c'], [1.0, 2.0])
    """
    k, n = counts["k"].to_numpy(), counts["n"].to_numpy()
    observed = np.c_[k, n - k].astype(float)
    statistic = float(_chi2(observed))
    expected = n[:, None] * np.array([k.sum(), (n - k).sum()]) / n.sum()
    if len(n) < 2 or k.sum() in (0, n.sum()):
        p_value, test = 1.0, "degenerate"
    elif (expected < 5).any():
        rng = np.random.default_rng(seed)
        sims = rng.multivariate_hypergeometric(n, int(k.sum()), size=draws).astype(float)
        stat = _chi2(np.stack([sims, n - sims], axis=-1))
        p_value = float((1 + (stat >= statistic - 1e-9).sum()) / (draws + 1))
        test = "Monte-Carlo exact chi-square"
    else:
        p_value = float(stats.chi2.sf(statistic, len(n) - 1))
        test = "chi-square"
    alpha, beta = fit_beta_binomial(k, n)
    tail = (1 - confidence) / 2
    table = pd.DataFrame({"k": k, "n": n, "rate": k / n}, index=counts.index)
    table["posterior_mean"] = (k + alpha) / (n + alpha + beta)
    table["credible_low"] = stats.beta.ppf(tail, k + alpha, n - k + beta)
    table["credible_high"] = stats.beta.ppf(1 - tail, k + alpha, n - k + beta)
    table["eligible"] = n >= min_n
    score = table["posterior_mean"].where(table["eligible"])
    table["rank"] = score.rank(ascending=False, method="min")
    table = table.sort_values(
        ["rank", "posterior_mean"], ascending=[True, False], na_position="last"
    )
    pairs: list[dict[str, Any]] = []
    for i, j in combinations(range(len(n)), 2):
        p = stats.fisher_exact([[k[i], n[i] - k[i]], [k[j], n[j] - k[j]]]).pvalue
        a, b = counts.index[i], counts.index[j]
        pairs.append(
            {
                "source_a": a,
                "source_b": b,
                "rate_a": k[i] / n[i],
                "rate_b": k[j] / n[j],
                "p_value": p,
            }
        )
    frame = pd.DataFrame(pairs, columns=["source_a", "source_b", "rate_a", "rate_b", "p_value"])
    frame.insert(4, "difference", frame["rate_a"] - frame["rate_b"])
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy()) if len(frame) else []
    return ComparisonResult(
        table, frame, rate, statistic, p_value, test, (alpha, beta), min_n, confidence
    )
