"""Lead-score validation: does the score, and each of its components, predict conversion?

:func:`score_validation` tabulates conversion by score band (Wilson/Jeffreys intervals),
measures discrimination (AUC with a DeLong interval), calibration (a logistic fit of the
outcome on the score against the observed rate per decile, Hosmer–Lemeshow), what each
component (need fit, purchasing power, decision complexity) predicts alone and together
(logistic fits: coefficients, likelihood-ratio tests, McFadden R²), and suggests weights
from the joint fit beside the weights the current score implies. Logistic regression is
fitted here by Newton–Raphson (:func:`logistic_fit`), the AUC by :func:`roc_auc`.

The data are observational: see :data:`CAVEAT` and ``docs/metrics-scoring.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from .dataset import Dataset
from .logistic import AUC, LogitFit, logistic_fit, roc_auc
from .segments import MISSING, Method, Shown, check_interval, rates

__all__ = [
    "AUC",
    "CAVEAT",
    "COMPONENTS",
    "HosmerLemeshow",
    "LogitFit",
    "ScoreValidation",
    "logistic_fit",
    "roc_auc",
    "score_validation",
]

Outcome = Literal["deal", "won"]
FloatArray = NDArray[np.float64]
COMPONENTS = ("need_fit", "purchasing_power", "decision_complexity")
CAVEAT = (
    "Observational data: these are associations between the score recorded on each lead and "
    "its later conversion, not effects. Leads are routed, prioritised and followed up "
    "differently by score (and by source, owner and response time), so a coefficient mixes "
    "what a component says about the buyer with how such leads were treated; nothing here "
    "shows that changing the score or its weights would change conversion. Suggested weights "
    "are fitted and judged on the same leads (their AUC is optimistic): check them on a later "
    "period before adopting them."
)


class HosmerLemeshow(NamedTuple):
    """Hosmer–Lemeshow goodness-of-fit statistic, degrees of freedom (groups − 2), p-value."""

    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True, eq=False)
class ScoreValidation(Shown):
    """Validation of a lead score against conversion (see ``docs/metrics-scoring.md``).

    Attributes
    ----------
    table
        Per score band ``[low, high)`` (the last closed): ``band_low``, ``band_high``,
        ``leads``, ``converted``, ``rate``, ``n``, ``low``, ``high``, ``mean_score``,
        ``predicted`` (mean probability from the logistic fit on the score), ``lift``.
    calibration
        Per group of predicted probability (deciles, ties kept together): ``score_low``,
        ``score_high``, ``leads``, ``converted``, ``observed``, ``low``, ``high``,
        ``predicted``, ``expected``.
    components
        Per component: alone (``coef``, ``se``, ``p_value``, ``auc``, ``auc_low``,
        ``auc_high``, ``mcfadden_r2``) and in the joint fit (``joint_coef``, ``joint_se``,
        ``joint_low``, ``joint_high``, ``joint_p_value``, ``drop_lr``, ``drop_p_value``).
    suggested_weights
        Per component: ``weight`` (joint coefficient over the sum of absolute ones),
        ``weight_low``, ``weight_high``, ``points_per_unit``, ``current_slope``,
        ``current_weight`` (from the score regressed on the components).
    models
        Rows ``score`` (logit on the score) and ``components`` (joint): ``df``, ``loglik``,
        ``lr_statistic``, ``lr_p_value``, ``mcfadden_r2``, ``aic``, ``auc``, ``auc_low``,
        ``auc_high``, ``converged``.
    auc, hosmer_lemeshow
        Discrimination of the score; calibration test of the score's logistic fit.
    score_r2, score_correlation
        R² of the score regressed on the components (1 = an exact linear formula) and the
        correlation of the score with the joint fit's linear predictor.
    leads, caveat, notes
        Leads analysed, the observational caveat, what was excluded or could not be fitted.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    components: pd.DataFrame
    suggested_weights: pd.DataFrame
    models: pd.DataFrame
    auc: AUC
    hosmer_lemeshow: HosmerLemeshow
    score_r2: float
    score_correlation: float
    leads: int
    caveat: str = CAVEAT
    notes: tuple[str, ...] = ()
    outcome: Outcome = "deal"
    method: Method = "wilson"
    confidence: float = 0.95
    view: str = "score validation"

    @property
    def caption(self) -> str:
        """What the table shows."""
        a, hl = self.auc, self.hosmer_lemeshow
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (
            f"{self.view}: {self.outcome} rate by score band, {self.leads:,} leads, "
            f"{self.confidence:.0%} {self.method.capitalize()} intervals; AUC {a.value:.3f} "
            f"[{a.low:.3f}, {a.high:.3f}]; Hosmer–Lemeshow p = {hl.p_value:.3g}; "
            f"associations, not effects{notes}"
        )


def _outcome(ds: Dataset, leads: pd.DataFrame, outcome: str, notes: list[str]) -> FloatArray:
    """1 where the lead converted (``deal``) or its deal was won (``won``)."""
    has_deal = leads["deal_id"].notna().to_numpy() if "deal_id" in leads else np.zeros(len(leads))
    converted = has_deal.astype(bool)
    if "converted_at" in leads.columns:
        converted = converted | leads["converted_at"].notna().to_numpy()
    if outcome == "deal":
        return converted.astype(float)
    if outcome != "won":
        raise ValueError(f"outcome must be 'deal' or 'won', got {outcome!r}")
    deals = ds.deals
    if not len(deals) or "deal_id" not in leads.columns:
        raise ValueError("outcome='won' needs deals and the leads' deal_id; use outcome='deal'")
    link = pd.Index(deals["deal_id"]).get_indexer(leads["deal_id"])
    result = np.r_[deals["outcome"].to_numpy(dtype=object), None][link]
    unmatched = int((has_deal & (link < 0)).sum())
    still_open = int((result == "open").sum())
    if unmatched:
        notes.append(f"{unmatched} leads' deal_id not in deals: counted as not won")
    if still_open:
        notes.append(f"{still_open} leads' deals still open: counted as not won")
    return (result == "won").astype(float)


def _band_codes(score: FloatArray, bands: int | Sequence[float]) -> tuple[FloatArray, NDArray]:
    """Band edges and each score's band (-1 outside the edges)."""
    if isinstance(bands, int | np.integer) and not isinstance(bands, bool):
        if bands < 1:
            raise ValueError(f"bands must be at least 1 quantile band, got {bands}")
        grid = np.linspace(0, 1, int(bands) + 1)
        edges = np.unique(np.quantile(score, grid, method="inverted_cdf"))
    else:
        edges = np.asarray(bands, dtype=float)
        if len(edges) < 2 or not np.isfinite(edges).all() or np.any(np.diff(edges) <= 0):
            raise ValueError(f"bands must be increasing edges (at least two), got {bands!r}")
    code = np.searchsorted(edges, score, side="right") - 1
    code[score == edges[-1]] = len(edges) - 2
    code[(score < edges[0]) | (score > edges[-1])] = -1
    return edges, code


def _calibration(
    score: FloatArray, y: FloatArray, p: FloatArray, groups: int, method: Method, conf: float
) -> tuple[pd.DataFrame, HosmerLemeshow]:
    """Observed against predicted per quantile group of ``p`` (ties kept in one group)."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1), method="inverted_cdf"))
    code = np.unique(np.searchsorted(edges[1:-1], p, side="left"), return_inverse=True)[1]
    g = int(code.max()) + 1
    n = np.bincount(code, minlength=g).astype(float)
    k = np.bincount(code, weights=y, minlength=g)
    expected = np.bincount(code, weights=p, minlength=g)
    observed, low, high = rates(k, n, method, conf)
    frame = pd.DataFrame(
        {
            "score_low": [score[code == i].min() for i in range(g)],
            "score_high": [score[code == i].max() for i in range(g)],
            "leads": n.astype(np.int64),
            "converted": k.astype(np.int64),
            "observed": observed,
            "low": low,
            "high": high,
            "predicted": expected / n,
            "expected": expected,
        },
        index=pd.RangeIndex(1, g + 1, name="group"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((k - expected) ** 2 / (expected * (1 - expected / n))))
    df = g - 2
    p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else np.nan
    return frame, HosmerLemeshow(statistic, df, p_value)


def _model_row(fit: LogitFit, a: AUC) -> dict[str, float]:
    return {
        "df": len(fit.names) - 1,
        "loglik": fit.loglik,
        "lr_statistic": fit.lr_statistic,
        "lr_p_value": fit.lr_p_value,
        "mcfadden_r2": fit.mcfadden_r2,
        "aic": 2 * len(fit.names) - 2 * fit.loglik,
        "auc": a.value,
        "auc_low": a.low,
        "auc_high": a.high,
        "converged": fit.converged and not fit.separated,
    }


def _check(fit: LogitFit, what: str, notes: list[str]) -> None:
    if fit.separated:
        notes.append(f"{what}: separation (fitted probabilities 0 or 1), no finite estimates")
    elif not fit.converged:
        notes.append(f"{what}: Newton iterations did not converge")
    elif np.isnan(fit.cov).all():
        notes.append(f"{what}: collinear predictors, standard errors not available")


def _components(
    x: FloatArray,
    y: FloatArray,
    names: list[str],
    adjust: pd.DataFrame,
    rows: NDArray[np.bool_],
    conf: float,
    notes: list[str],
) -> tuple[pd.DataFrame, LogitFit]:
    """Each component alone (all rows) and together (``rows``, with the ``adjust``
    indicators), with a drop-one likelihood-ratio test."""
    z = stats.norm.ppf(0.5 + conf / 2)
    extra = adjust.to_numpy(dtype=float)
    joint = logistic_fit(np.c_[x[rows], extra], y[rows], names=[*names, *adjust.columns])
    _check(joint, "joint fit of the components", notes)
    out = []
    for i, name in enumerate(names):
        alone = logistic_fit(x[:, i], y, names=[name])
        _check(alone, f"fit of {name} alone", notes)
        a = roc_auc(x[:, i], y, confidence=conf)
        row = {
            "coef": alone.coef[1],
            "se": alone.se[1],
            "p_value": alone.p_values[1],
            "auc": a.value,
            "auc_low": a.low,
            "auc_high": a.high,
            "mcfadden_r2": alone.mcfadden_r2,
            "joint_coef": joint.coef[i + 1],
            "joint_se": joint.se[i + 1],
            "joint_low": joint.coef[i + 1] - z * joint.se[i + 1],
            "joint_high": joint.coef[i + 1] + z * joint.se[i + 1],
            "joint_p_value": joint.p_values[i + 1],
        }
        if len(names) > 1 or extra.shape[1]:
            rest = logistic_fit(np.c_[np.delete(x[rows], i, axis=1), extra], y[rows])
            row["drop_lr"] = 2.0 * (joint.loglik - rest.loglik)
        else:
            row["drop_lr"] = joint.lr_statistic
        row["drop_p_value"] = float(stats.chi2.sf(row["drop_lr"], 1))
        out.append(row)
    return pd.DataFrame(out, index=pd.Index(names, dtype="str", name="component")), joint


def _weights(
    x: FloatArray, score: FloatArray, joint: LogitFit, names: list[str], scale: float, conf: float
) -> tuple[pd.DataFrame, float, float]:
    """Joint coefficients as weights (delta-method interval) beside the score's own."""
    k = len(names)
    b, cov = joint.coef[1 : k + 1], joint.cov[1 : k + 1, 1 : k + 1]
    total = np.abs(b).sum()
    w = b / total
    jac = np.eye(len(b)) / total - np.outer(b, np.sign(b)) / total**2
    se = np.sqrt(np.diag(jac @ cov @ jac.T))
    z = stats.norm.ppf(0.5 + conf / 2)
    design = np.column_stack([np.ones(len(score)), x])
    ols = np.linalg.lstsq(design, score, rcond=None)[0]
    resid = score - design @ ols
    r2 = 1.0 - float(resid @ resid) / float(((score - score.mean()) ** 2).sum())
    slope = ols[1:]
    corr = float(np.corrcoef(score, x @ b)[0, 1])
    frame = pd.DataFrame(
        {
            "joint_coef": b,
            "weight": w,
            "weight_low": w - z * se,
            "weight_high": w + z * se,
            "points_per_unit": 100.0 * w / scale,
            "current_slope": slope,
            "current_weight": slope / np.abs(slope).sum(),
        },
        index=pd.Index(names, dtype="str", name="component"),
    )
    return frame, r2, corr


def score_validation(
    ds: Dataset,
    *,
    outcome: Outcome = "deal",
    bands: int | Sequence[float] = (0, 20, 40, 60, 80, 100),
    groups: int = 10,
    method: Method = "wilson",
    confidence: float = 0.95,
    components: Sequence[str] = COMPONENTS,
    score: str = "score",
    scale: tuple[float, float] = (1.0, 5.0),
    adjust_for: Sequence[str] = (),
) -> ScoreValidation:
    """Validate a lead score and its components against conversion.

    Parameters
    ----------
    ds
        The data: a ``leads`` table with the score (and components); ``deals`` for
        ``outcome="won"``.
    outcome
        ``"deal"``: the lead converted (``deal_id`` or ``converted_at``); ``"won"``: its
        deal is won (open deals count as not won, noted).
    bands
        Score band edges (``[low, high)``, the last closed), or an int for that many
        quantile bands.
    groups
        Calibration groups (quantiles of the predicted probability; ties stay together, so
        there may be fewer).
    method, confidence
        Rate interval method (``"wilson"`` or ``"jeffreys"``) and coverage of every interval.
    components
        Component columns to fit (absent columns are skipped and noted; ``()`` for none).
    score
        The score column.
    scale
        The components' nominal scale; a suggested score gives ``points_per_unit`` per point.
    adjust_for
        Leads columns (``lead_source``, ``region``, ...) added to the joint fit as indicator
        variables, so the joint coefficients compare leads within the same categories.

    Returns
    -------
    ScoreValidation

    Examples
    --------
    >>> from salesanalytics import sample
    >>> v = score_validation(sample.generate(800, seed=0))
    >>> v.table.index.tolist()
    ['[0, 20)', '[20, 40)', '[40, 60)', '[60, 80)', '[80, 100]']
    >>> bool(v.auc.low > 0.5), v.components["joint_coef"].gt(0).tolist()
    (True, [True, True, False])
    """
    check_interval(method, confidence)
    if not ds.has("leads") or not len(ds.leads):
        raise ValueError(
            "score validation needs a leads table with a score column: load the leads "
            "export beside the deals (or pass a Dataset with tables['leads'])"
        )
    leads = ds.leads
    if score not in leads.columns or leads[score].isna().all():
        raise ValueError(
            f"the leads table has no {score!r} values: map the CRM's lead-score field to "
            f"{score!r} (or pass score= with the column that holds it)"
        )
    notes: list[str] = []
    absent = [c for c in adjust_for if c not in leads.columns]
    if absent:
        raise ValueError(f"adjust_for names {absent}, not leads columns ({list(leads.columns)})")
    missing = [c for c in components if c not in leads.columns or leads[c].isna().all()]
    if missing:
        notes.append(f"no values of {', '.join(missing)}: not fitted")
    names = [c for c in components if c not in missing]
    y_all = _outcome(ds, leads, outcome, notes)
    cols = [score, *names]
    keep = leads[cols].notna().all(axis=1).to_numpy()
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} leads without a score or component excluded")
    values = leads.loc[keep, cols].to_numpy(dtype=float)
    s, x, y = values[:, 0], values[:, 1:], y_all[keep]
    if y.min() == y.max():
        raise ValueError(
            f"outcome={outcome!r} is {int(y[0])} for every analysed lead: nothing to rank"
        )
    if len(np.unique(s)) < 2:
        raise ValueError("the score takes a single value: it cannot rank leads")
    auc = roc_auc(s, y, confidence=confidence)
    fit = logistic_fit(s, y, names=[score])
    _check(fit, "fit on the score", notes)
    p = special.expit(fit.linear_predictor(s))
    edges, code = _band_codes(s, bands)
    if (code < 0).any():
        notes.append(f"{int((code < 0).sum())} scores outside the bands: not in the band table")
    inside, nb = code >= 0, len(edges) - 1
    n = np.bincount(code[inside], minlength=nb).astype(float)
    k = np.bincount(code[inside], weights=y[inside], minlength=nb)
    rate, low, high = rates(k, n, method, confidence)
    labels = [f"[{a:g}, {b:g})" for a, b in itertools.pairwise(edges)]
    labels[-1] = labels[-1][:-1] + "]"
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "band_low": edges[:-1],
                "band_high": edges[1:],
                "leads": n.astype(np.int64),
                "converted": k.astype(np.int64),
                "rate": rate,
                "n": n,
                "low": low,
                "high": high,
                "mean_score": np.bincount(code[inside], s[inside], nb) / n,
                "predicted": np.bincount(code[inside], p[inside], nb) / n,
                "lift": rate / y.mean(),
            },
            index=pd.Index(labels, dtype="str", name="band"),
        )
    calibration, hl = _calibration(s, y, p, groups, method, confidence)
    models = pd.DataFrame([_model_row(fit, auc)], index=pd.Index(["score"], name="model"))
    comps, weights = pd.DataFrame(index=pd.Index([], dtype="str", name="component")), None
    r2 = corr = np.nan
    if names:
        rows, adjust = np.ones(len(y), dtype=bool), pd.DataFrame(index=range(len(y)))
        if adjust_for:
            categories = leads.loc[keep, list(adjust_for)].astype("str").fillna(MISSING)
            for c in adjust_for:  # a category where all leads share one outcome separates
                share = pd.Series(y).groupby(categories[c].to_numpy()).transform("mean")
                rows &= share.between(0, 1, inclusive="neither").to_numpy()
            if (~rows).any():
                notes.append(
                    f"{int((~rows).sum())} leads in {'/'.join(adjust_for)} categories with a "
                    "single outcome left out of the joint fit"
                )
            adjust = pd.get_dummies(
                categories[rows], prefix_sep="=", drop_first=True, dtype=float
            ).reset_index(drop=True)
            notes.append(f"joint fit adjusted for {', '.join(adjust_for)}")
        comps, joint = _components(x, y, names, adjust, rows, confidence, notes)
        lp = joint.linear_predictor(np.c_[x[rows], adjust.to_numpy(dtype=float)])
        joint_auc = roc_auc(lp, y[rows], confidence=confidence)
        models.loc["components"] = _model_row(joint, joint_auc)
        weights, r2, corr = _weights(x, s, joint, names, scale[1] - scale[0], confidence)
        if r2 < 0.95:
            notes.append(f"the score is not a linear formula of the components (R² = {r2:.2f})")
    models["df"] = models["df"].astype(np.int64)
    models["converged"] = models["converged"].astype(bool)
    return ScoreValidation(
        table,
        calibration,
        comps,
        weights if weights is not None else comps.iloc[:0, :0],
        models,
        auc,
        hl,
        r2,
        corr,
        int(keep.sum()),
        CAVEAT,
        tuple(notes),
        outcome,
        method,
        confidence,
    )
