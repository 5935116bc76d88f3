"""Fairness of plans on a backtest (one realisation) or a simulation (many scenarios).

:func:`fairness` gives one :class:`FairnessResult` either way: each metric of
:data:`~.trial.METRICS` per plan with an interval, the pay gaps of groups of reps at equal
attainment, dispersion within attainment bands and the per-rep points behind them.

* **Backtest** (one :class:`~salesanalytics.plans.Backtest` or several side by side): the
  metrics of the realised year; intervals by a seeded bootstrap over reps (percentiles);
  group gaps with the t interval of the one regression. A backtest cannot tell luck from
  skill, so it has no luck share.
* **Simulation**: the per-trial columns written by :func:`~.trial.fairness_metrics` inside
  ``simulate(..., metrics=[...])``, summarised over scenarios as the mean with the P5–P95
  range (``confidence=0.90``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..plans.backtest import Backtest
from ..simulation.result import SimulationResult
from . import metrics as m
from .gaps import with_tenure
from .points import Source, backtest_arrays, rep_points
from .trial import METRICS, PayKind, compute, gap_column, reference_level

__all__ = ["FairnessResult", "fairness"]

F = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FairnessResult:
    """Fairness metrics of one or more plans.

    Attributes
    ----------
    table
        One row per plan and metric: ``estimate`` (the backtest's value, or the mean over
        scenarios), ``low``/``high`` (bootstrap or scenario percentiles), ``description``.
    gaps
        One row per plan, attribute and level other than the reference: relative pay gap
        against ``reference`` at equal attainment (``0.05`` = paid 5% more), its interval and
        ``n`` reps.
    bands
        Per plan and attainment band: reps, mean and median pay, CV, Gini and Theil of pay.
    points
        Per plan, trial and rep: ``attainment`` and ``pay`` (the measure chosen by ``pay``)
        with ``variable``, ``total`` and the rep attributes.
    source, pay, confidence, notes
        ``"backtest"`` or ``"simulation"``; the pay measure; the interval level; remarks.
    """

    table: pd.DataFrame
    gaps: pd.DataFrame
    bands: pd.DataFrame
    points: pd.DataFrame
    source: str
    pay: str
    confidence: float
    notes: tuple[str, ...] = ()
    view: str = "fairness"

    @property
    def plans(self) -> list[str]:
        """Plan names in order."""
        return list(dict.fromkeys(self.table["plan"]))

    def wide(self) -> pd.DataFrame:
        """Metrics × plans table of the estimates."""
        out = self.table.pivot(index="metric", columns="plan", values="estimate")
        order = [k for k in METRICS if k in out.index]
        return out.loc[order, self.plans]

    @property
    def caption(self) -> str:
        """What the table shows."""
        how = "bootstrap over reps" if self.source == "backtest" else "P5–P95 over scenarios"
        return (
            f"Fairness of {len(self.plans)} plan(s) on a {self.source} "
            f"(pay: {self.pay}; {round(100 * self.confidence)}% intervals, {how})"
        )

    def summary(self) -> pd.DataFrame:
        """Estimate and interval per plan and metric, rounded for display."""
        out = self.table.set_index(["plan", "metric"])[["estimate", "low", "high"]].round(4)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


# ------------------------------------------------------------------ tables
def _band_table(points: pd.DataFrame, bands: Sequence[float]) -> pd.DataFrame:
    labels = m.band_labels(bands)
    p = points[np.isfinite(points["attainment"])]
    band = pd.cut(p["attainment"], list(bands), right=False, labels=labels)
    rows = []
    for (plan, label), g in p.groupby([p["plan"], band], sort=False, observed=True):
        trials = g.groupby("trial")["pay"]
        per = [v.to_numpy(dtype=float) for _, v in trials]
        width = max(len(v) for v in per)
        x = np.full((len(per), width), np.nan)
        for i, v in enumerate(per):
            x[i, : len(v)] = v
        rows.append(
            {
                "plan": plan,
                "band": label,
                "reps": len(g) / g["trial"].nunique(),
                "mean_pay": float(g["pay"].mean()),
                "median_pay": float(g["pay"].median()),
                "cv": float(np.nanmean(m.cv(x))),
                "gini": float(np.nanmean(m.gini(x))),
                "theil": float(np.nanmean(m.theil(x))),
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        out["band"] = pd.Categorical(out["band"], categories=labels, ordered=True)
        out = out.sort_values(["plan", "band"], kind="stable")
    return out.reset_index(drop=True)


def _rows(
    plan: str, point: dict[str, F], low: Mapping[str, Any], high: Mapping[str, Any]
) -> list[dict]:
    return [
        {
            "plan": plan,
            "metric": k,
            "estimate": float(point[k][0]),
            "low": float(low[k]),
            "high": float(high[k]),
            "description": METRICS[k],
        }
        for k in METRICS
        if k in point
    ]


def _backtest(
    bts: Sequence[Backtest],
    groups: Sequence[str],
    bands: Sequence[float],
    pay: PayKind,
    confidence: float,
    n_boot: int,
    seed: int,
) -> tuple[list[dict], list[dict]]:
    rows: list[dict] = []
    gap_rows: list[dict] = []
    lo_q, hi_q = 0.5 - confidence / 2, 0.5 + confidence / 2
    for i, bt in enumerate(bts):
        a = backtest_arrays(bt, pay)
        arrays = {k: a[k][None] for k in ("pay", "attainment", "period_pay", "period_attainment")}
        point = compute(
            arrays["pay"],
            arrays["attainment"],
            period_pay=arrays["period_pay"],
            period_attainment=arrays["period_attainment"],
            bands=bands,
        )
        reps = len(a["pay"])
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        idx = rng.integers(0, reps, size=(n_boot, reps))
        boot = compute(
            a["pay"][idx],
            a["attainment"][idx],
            period_pay=a["period_pay"][idx],
            period_attainment=a["period_attainment"][idx],
            bands=bands,
        )
        low = {
            k: np.nanquantile(v, lo_q) if np.isfinite(v).any() else np.nan for k, v in boot.items()
        }
        high = {
            k: np.nanquantile(v, hi_q) if np.isfinite(v).any() else np.nan for k, v in boot.items()
        }
        rows += _rows(bt.plan.name, point, low, high)
        staff = with_tenure(bt.staff.reps, bt.calendar.bounds[-1])
        keep = np.isfinite(a["attainment"])
        for attribute in groups:
            if attribute not in staff.columns:
                continue
            codes, labels = pd.factorize(staff[attribute])
            codes = codes.astype(np.int64)
            if not len(labels):
                continue
            ref = reference_level(codes, keep)
            fit = m.group_gaps(a["pay"], a["attainment"], codes, groups=len(labels), reference=ref)
            lo, hi = fit.interval(confidence)
            for k, level in enumerate(labels):
                if k == ref:
                    continue
                gap_rows.append(
                    {
                        "plan": bt.plan.name,
                        "attribute": attribute,
                        "level": str(level),
                        "reference": str(labels[ref]),
                        "n": int(fit.n[0, k]),
                        "gap": float(np.expm1(fit.estimate[0, k])),
                        "low": float(np.expm1(lo[0, k])),
                        "high": float(np.expm1(hi[0, k])),
                    }
                )
    return rows, gap_rows


def _simulation(
    result: SimulationResult, groups: Sequence[str], confidence: float
) -> tuple[list[dict], list[dict]]:
    missing = [k for k in ("rank_correlation", "inversion_rate") if k not in result.per_trial]
    if missing:
        raise ValueError(
            "the simulation has no fairness columns: run simulate(..., "
            "metrics=[fairness_metrics(scenario.population)])"
        )
    lo_q, hi_q = 0.5 - confidence / 2, 0.5 + confidence / 2
    rows: list[dict] = []
    gap_rows: list[dict] = []
    reps = with_tenure(result.population.reps, result.population.months[0])
    for name in result.names:
        t = result.per_trial[result.per_trial["plan"] == name]
        point = {k: np.array([t[k].mean()]) for k in METRICS if k in t}
        low = {k: t[k].quantile(lo_q) for k in point}
        high = {k: t[k].quantile(hi_q) for k in point}
        rows += _rows(name, point, low, high)
        on_plan = result.per_rep[result.per_rep["plan"] == name]["rep_id"].astype("str")
        members = reps[reps["rep_id"].astype("str").isin(set(on_plan))]
        for attribute in groups:
            cols = [c for c in t.columns if c.startswith(f"gap:{attribute}=")]
            if not cols:
                continue
            reference = [c for c in cols if t[c].isna().all()]
            ref = reference[0].split("=", 1)[1] if reference else ""
            counts = members[attribute].astype("str").value_counts()
            for c in cols:
                level = c.split("=", 1)[1]
                if c == gap_column(attribute, ref) or t[c].isna().all():
                    continue
                gap_rows.append(
                    {
                        "plan": name,
                        "attribute": attribute,
                        "level": level,
                        "reference": ref,
                        "n": int(counts.get(level, 0)),
                        "gap": float(t[c].mean()),
                        "low": float(t[c].quantile(lo_q)),
                        "high": float(t[c].quantile(hi_q)),
                    }
                )
    return rows, gap_rows


def fairness(
    result: Source,
    *,
    groups: Sequence[str] = ("region", "team", "tenure"),
    bands: Sequence[float] = m.BANDS,
    pay: PayKind = "target",
    confidence: float = 0.90,
    n_boot: int = 1000,
    seed: int = 0,
) -> FairnessResult:
    """Fairness metrics of the plans of a backtest (or several) or a simulation.

    Parameters
    ----------
    result
        A :class:`~salesanalytics.plans.Backtest`, a sequence of them (plans side by side),
        or a :class:`~salesanalytics.simulation.SimulationResult` simulated with
        ``metrics=[fairness_metrics(population, groups=...)]``.
    groups
        Rep attributes whose pay gaps at equal attainment are estimated (missing ones are
        skipped).
    bands
        Attainment band edges (within-band dispersion, temporal consistency).
    pay
        ``"target"``: variable pay ÷ target incentive for the time employed (default);
        ``"variable"`` or ``"total"`` pay in money. For a simulation the metrics were
        computed inside ``simulate`` with the ``pay`` given to :func:`fairness_metrics`;
        here it sets the points and band table only.
    confidence
        Interval level: bootstrap or scenario percentiles (0.90 → P5–P95).
    n_boot, seed
        Bootstrap draws over reps for a backtest, and their seed.

    Returns
    -------
    FairnessResult

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> bt = evaluate(Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), 0.05),))),
    ...               sample.generate(600, seed=0))
    >>> fr = fairness(bt, n_boot=200)
    >>> row = fr.table.set_index("metric").loc["share_at_quota"]
    >>> bool(row["low"] <= row["estimate"] <= row["high"])
    True
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    notes: list[str] = []
    if isinstance(result, SimulationResult):
        rows, gap_rows = _simulation(result, groups, confidence)
        source = "simulation"
    else:
        bts = [result] if isinstance(result, Backtest) else list(result)
        if not bts:
            raise ValueError("give at least one backtest")
        names = [bt.plan.name for bt in bts]
        if len(set(names)) != len(names):
            raise ValueError(f"plan names must differ to be compared: {names}")
        rows, gap_rows = _backtest(bts, groups, bands, pay, confidence, int(n_boot), seed)
        source = "backtest"
        notes.append("luck share: a backtest cannot tell luck from skill; simulate for it")
    points = rep_points(result, pay)
    gap_cols = ["plan", "attribute", "level", "reference", "n", "gap", "low", "high"]
    return FairnessResult(
        pd.DataFrame(rows),
        pd.DataFrame(gap_rows, columns=gap_cols),
        _band_table(points, bands),
        points,
        source,
        pay,
        confidence,
        tuple(notes),
    )
