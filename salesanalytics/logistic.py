"""Binary-outcome models: logistic regression, trend tests and the ROC AUC.

:func:`logistic_fit` fits a logistic regression by maximum likelihood (step-halving
Newton–Raphson) with standard errors from the inverse Fisher information, and flags
separation; :func:`roc_auc` gives the AUC with a DeLong interval. Used by lead-score
validation (:mod:`.scoring`) and the SOP analyses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from .segments import check_interval

__all__ = ["AUC", "LogitFit", "cochran_armitage", "logistic_fit", "logistic_slope", "roc_auc"]

FloatArray = NDArray[np.float64]
INTERCEPT = "(intercept)"
SEPARATED_ETA = 30.0  # |linear predictor| beyond this: fitted probabilities are 0 or 1


class AUC(NamedTuple):
    """Area under the ROC curve with its DeLong standard error and interval; ``p_value``
    tests AUC = 0.5 (Mann–Whitney, tie-corrected)."""

    value: float
    se: float
    low: float
    high: float
    p_value: float
    positives: int
    negatives: int


@dataclass(frozen=True, eq=False)
class LogitFit:
    """A logistic regression fitted by maximum likelihood.

    Attributes
    ----------
    names
        ``"(intercept)"`` then the predictors.
    coef, cov
        Estimates and their covariance (inverse Fisher information; NaN if separated).
    loglik, null_loglik
        Log-likelihood of the fit and of the intercept-only model.
    n, iterations, converged, separated
        Rows, Newton iterations, whether the steps converged, and whether fitted
        probabilities reached 0 or 1 ((quasi-)complete separation: no finite estimates).
    """

    names: tuple[str, ...]
    coef: FloatArray
    cov: FloatArray
    loglik: float
    null_loglik: float
    n: int
    iterations: int
    converged: bool
    separated: bool

    @property
    def se(self) -> FloatArray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.cov))

    @property
    def p_values(self) -> FloatArray:
        """Two-sided Wald p-values of the coefficients."""
        return 2.0 * stats.norm.sf(np.abs(self.coef / self.se))

    @property
    def lr_statistic(self) -> float:
        """Likelihood-ratio statistic against the intercept-only model."""
        return 2.0 * (self.loglik - self.null_loglik)

    @property
    def lr_p_value(self) -> float:
        """Chi-square p-value of :attr:`lr_statistic` on len(names) − 1 degrees of freedom."""
        return float(stats.chi2.sf(self.lr_statistic, len(self.names) - 1))

    @property
    def mcfadden_r2(self) -> float:
        """McFadden pseudo-R²: 1 − loglik / null_loglik."""
        return 1.0 - self.loglik / self.null_loglik

    def linear_predictor(self, x: ArrayLike) -> FloatArray:
        """Log-odds for predictor rows ``x`` (without the intercept column)."""
        x = np.asarray(x, dtype=float).reshape(-1, len(self.names) - 1)
        return np.asarray(self.coef[0] + x @ self.coef[1:], dtype=float)


def _loglik(X: FloatArray, y: FloatArray, beta: FloatArray) -> float:
    eta = X @ beta
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def logistic_fit(
    x: ArrayLike,
    y: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> LogitFit:
    """Logistic regression of a 0/1 outcome on predictors, by Newton–Raphson (IRLS).

    Each Newton step is halved until the log-likelihood does not fall; iteration stops when
    the largest step is below ``tol`` × (1 + largest coefficient). Standard errors come from
    the inverse Fisher information. Separation (a predictor splitting outcomes perfectly)
    leaves no finite estimate: the fit is marked ``separated`` and its covariance is NaN.

    Parameters
    ----------
    x
        Predictors, shape (n,) or (n, k); an intercept is added.
    y
        Outcomes 0/1 (or booleans), shape (n,).
    names
        Predictor names (default ``x1``, ``x2``, ...).
    max_iter, tol
        Newton iteration limit and step tolerance.

    Returns
    -------
    LogitFit

    Examples
    --------
    >>> fit = logistic_fit([1, 2, 3, 4, 5, 6], [0, 0, 1, 0, 1, 1], names=["x"])
    >>> fit.coef.round(3).tolist(), bool(fit.converged)
    ([-4.249, 1.214], True)
    """
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    X = np.column_stack([np.ones(len(y)), x])
    k = X.shape[1]
    names = tuple(names) if names is not None else tuple(f"x{i}" for i in range(1, k))
    if len(names) != k - 1:
        raise ValueError(f"{k - 1} predictors but {len(names)} names")
    if not np.isin(y, (0.0, 1.0)).all() or not np.isfinite(x).all():
        raise ValueError("y must be 0/1 and x finite (drop rows with missing values first)")
    ybar = float(y.mean()) if len(y) else 0.0
    if ybar in (0.0, 1.0):
        raise ValueError("the outcome does not vary (all 0 or all 1): nothing to fit")
    null = len(y) * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar))
    beta = np.zeros(k)
    beta[0] = special.logit(ybar)
    ll, converged, it = _loglik(X, y, beta), False, 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        p = special.expit(X @ beta)
        hess = (X * (p * (1 - p))[:, None]).T @ X
        step = np.linalg.lstsq(hess, X.T @ (y - p), rcond=None)[0]
        t = 1.0
        while (new := _loglik(X, y, beta + t * step)) < ll - 1e-12 * abs(ll) and t > 1e-10:
            t /= 2
        beta, ll = beta + t * step, new
        if np.max(np.abs(t * step)) < tol * (1 + np.max(np.abs(beta))):
            converged = True
            break
    p = special.expit(X @ beta)
    separated = bool(np.max(np.abs(X @ beta)) > SEPARATED_ETA)
    hess = (X * (p * (1 - p))[:, None]).T @ X
    if separated or np.linalg.cond(hess) > 1e12:
        cov = np.full((k, k), np.nan)
    else:
        cov = np.linalg.inv(hess)
    return LogitFit(
        (INTERCEPT, *names), beta, cov, ll, float(null), len(y), it, converged, separated
    )


def roc_auc(score: ArrayLike, y: ArrayLike, *, confidence: float = 0.95) -> AUC:
    """AUC of ``score`` for the 0/1 outcome ``y`` with a DeLong interval.

    AUC = P(score of a positive > score of a negative) + ½ P(tie), from midranks. The
    DeLong variance is var(V₁₀)/n₁ + var(V₀₁)/n₀ over the placement values; the interval
    is AUC ± z·se clipped to [0, 1].

    Examples
    --------
    >>> a = roc_auc([1, 2, 2, 3], [0, 0, 1, 1])
    >>> a.value, a.positives
    (0.875, 2)
    """
    check_interval("wilson", confidence)
    x = np.asarray(score, dtype=float).ravel()
    pos = np.asarray(y, dtype=float).ravel() == 1.0
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("the AUC needs both outcomes (some 1 and some 0)")
    ranks = stats.rankdata(x)
    v10 = (ranks[pos] - stats.rankdata(x[pos])) / n0  # share of negatives below each positive
    v01 = 1.0 - (ranks[~pos] - stats.rankdata(x[~pos])) / n1  # positives above each negative
    value = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0)) if min(n1, n0) > 1 else np.nan
    z = stats.norm.ppf(0.5 + confidence / 2)
    p_value = float(stats.mannwhitneyu(x[pos], x[~pos], method="asymptotic").pvalue)
    low, high = float(max(0.0, value - z * se)), float(min(1.0, value + z * se))
    return AUC(value, se, low, high, p_value, n1, n0)


def cochran_armitage(k: ArrayLike, n: ArrayLike, scores: ArrayLike) -> tuple[float, float]:
    """Cochran–Armitage test for a linear trend in proportions ``k/n`` over ``scores``.

    ``Z = Σ s_i (k_i − n_i p̄) / sqrt(p̄ (1 − p̄) [Σ n_i s_i² − (Σ n_i s_i)² / N])``; returns
    ``(z, two-sided p)`` (NaN when undefined). ``Z² = N r²``, ``r`` the Pearson correlation
    of score and outcome over the ``N`` individuals.

    Examples
    --------
    >>> z, p = cochran_armitage([30, 20, 10], [100, 100, 100], [0, 1, 2])
    >>> round(z, 3), p < 0.01
    (-3.536, True)
    """
    k, n, s = (np.asarray(v, dtype=float) for v in (k, n, scores))
    big_n = n.sum()
    if big_n <= 0:
        return float("nan"), float("nan")
    p = k.sum() / big_n
    t = float((s * (k - n * p)).sum())
    var = p * (1 - p) * ((n * s * s).sum() - (n * s).sum() ** 2 / big_n)
    if not var > 0:
        return float("nan"), float("nan")
    z = t / np.sqrt(var)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def logistic_slope(
    x: ArrayLike, y: ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Slope of a one-variable logistic regression ``logit P(y) = a + b x`` (Newton–Raphson),
    with its Wald interval: ``(b, low, high)``; NaN when it does not exist.

    Examples
    --------
    >>> b, low, high = logistic_slope([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 1, 1, 1])
    >>> round(b, 4), low < 0 < high
    (2.1972, True)
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    nan3 = (float("nan"),) * 3
    if len(xs) < 3 or ys.min(initial=0) == ys.max(initial=0) or np.ptp(xs) == 0:
        return nan3
    shift, scale = xs.mean(), xs.std()
    u = (xs - shift) / scale  # standardised: Newton converges from zero
    beta = np.array([np.log(ys.mean() / (1 - ys.mean())), 0.0])
    cov = np.full((2, 2), np.nan)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(beta[0] + beta[1] * u)))
        w = p * (1 - p)
        info = np.array([[w.sum(), (w * u).sum()], [(w * u).sum(), (w * u * u).sum()]])
        grad = np.array([(ys - p).sum(), ((ys - p) * u).sum()])
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            return nan3
        step = cov @ grad
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    if not np.isfinite(beta).all() or abs(beta[1]) > 50:  # separation: no finite estimate
        return nan3
    b, se = beta[1] / scale, np.sqrt(cov[1, 1]) / scale
    z = stats.norm.ppf(0.5 + confidence / 2)
    return float(b), float(b - z * se), float(b + z * se)
