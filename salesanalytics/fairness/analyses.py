"""The five consultant analyses of a sales compensation plan (SMA/Buck), per plan and side
by side: earnings distribution, performance (attainment) distribution, pay vs performance,
earnings leverage and compensation expense (cost of sales).

Works on backtests (one realisation: each rep once) and simulations (the first trials kept in
``result.cloud``, pooled: counts are per trial; expense from every trial).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..plans.backtest import Backtest
from ..simulation.result import SimulationResult
from . import metrics as m
from .points import rep_points
from .trial import PayKind

__all__ = ["FiveAnalyses", "five_analyses"]

Item = Backtest | SimulationResult
ATTAINMENT_EDGES = (*np.round(np.arange(0.0, 2.01, 0.1), 10), np.inf)
TARGET_EDGES = (*np.arange(0.0, 3.01, 0.25), np.inf)


@dataclass(frozen=True, eq=False)
class FiveAnalyses:
    """The five analyses as tidy tables (one ``plan`` column, plans side by side).

    Attributes
    ----------
    earnings
        Histogram of pay: ``plan``, ``low``, ``high``, ``reps`` (per trial), ``share``.
    performance
        Histogram of attainment in 10-point bins (last bin 200%+), same columns.
    pay_vs_performance
        Per attainment band: reps, mean attainment, mean/median/P10/P90 pay.
    leverage
        Per attainment decile (1 = lowest): mean attainment, mean pay, and mean pay ÷ the
        plan's median pay.
    expense
        Per plan: total and variable pay, credited revenue, cost of sales (total pay ÷
        revenue) and variable cost of sales, with P5/P95 over scenarios for a simulation.
    expense_by_band
        Per plan and attainment band: pay, revenue and cost of sales.
    points
        The per-rep points behind the tables (see :func:`.report.rep_points`).
    pay
        The pay measure.
    """

    earnings: pd.DataFrame
    performance: pd.DataFrame
    pay_vs_performance: pd.DataFrame
    leverage: pd.DataFrame
    expense: pd.DataFrame
    expense_by_band: pd.DataFrame
    points: pd.DataFrame
    pay: str
    view: str = "five_analyses"

    @property
    def plans(self) -> list[str]:
        """Plan names in order."""
        return list(dict.fromkeys(self.expense["plan"]))

    def side_by_side(self) -> pd.DataFrame:
        """Headline figures × plans: reps, median and P90 pay, leverage, share at quota,
        rank correlation, cost of sales."""
        rows = {}
        for plan, g in self.points.groupby("plan", sort=False):
            trials = g.groupby("trial")
            att = g["attainment"].to_numpy(dtype=float)
            rows[plan] = {
                "reps": len(g) / trials.ngroups,
                "median_pay": float(g["pay"].median()),
                "p90_pay": float(g["pay"].quantile(0.9)),
                "leverage": float(
                    np.nanmean([m.leverage(t["pay"].to_numpy())[0] for _, t in trials])
                ),
                "share_at_quota": float(np.mean(att[np.isfinite(att)] >= 1)),
                "rank_correlation": float(
                    np.nanmean(
                        [
                            m.rank_correlation(t["pay"].to_numpy(), t["attainment"].to_numpy())[0]
                            for _, t in trials
                        ]
                    )
                ),
            }
        out = pd.DataFrame(rows)
        cost = self.expense.set_index("plan")["cost_of_sales"]
        out.loc["cost_of_sales"] = cost.reindex(out.columns).to_numpy()
        return out[self.plans]

    @property
    def caption(self) -> str:
        """What the tables show."""
        return f"Five analyses of {len(self.plans)} plan(s) (pay: {self.pay})"

    def summary(self) -> pd.DataFrame:
        """:meth:`side_by_side`, rounded for display."""
        out = self.side_by_side().round(4)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _histogram(points: pd.DataFrame, column: str, edges: Sequence[float]) -> pd.DataFrame:
    e = np.asarray(edges, dtype=float)
    rows = []
    for plan, g in points.groupby("plan", sort=False):
        x = g[column].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        idx = np.clip(np.searchsorted(e, x, side="right") - 1, 0, len(e) - 2)
        counts = np.bincount(idx, minlength=len(e) - 1)
        trials = g["trial"].nunique()
        for j in range(len(e) - 1):
            rows.append(
                {
                    "plan": plan,
                    "low": e[j],
                    "high": e[j + 1],
                    "reps": counts[j] / trials,
                    "share": counts[j] / max(len(x), 1),
                }
            )
    return pd.DataFrame(rows)


def _pay_edges(points: pd.DataFrame, pay: str) -> tuple[float, ...]:
    if pay == "target":
        return tuple(float(v) for v in TARGET_EDGES)
    x = points["pay"].to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
    return tuple(np.linspace(lo, hi if hi > lo else lo + 1, 13))


def _bands(points: pd.DataFrame, bands: Sequence[float]) -> pd.Series:
    return pd.cut(points["attainment"], list(bands), right=False, labels=m.band_labels(bands))


def _pvp(points: pd.DataFrame, bands: Sequence[float]) -> pd.DataFrame:
    band = _bands(points, bands)
    g = points.groupby([points["plan"], band], sort=False, observed=True)
    out = g.agg(
        reps=("pay", "size"),
        mean_attainment=("attainment", "mean"),
        mean_pay=("pay", "mean"),
        median_pay=("pay", "median"),
        pay_p10=("pay", lambda s: s.quantile(0.1)),
        pay_p90=("pay", lambda s: s.quantile(0.9)),
    ).reset_index()
    trials = points.groupby("plan")["trial"].nunique()
    out["reps"] = out["reps"] / out["plan"].map(trials)
    return out.rename(columns={"attainment": "band"}).sort_values(["plan", "band"], kind="stable")


def _leverage(points: pd.DataFrame) -> pd.DataFrame:
    p = points[np.isfinite(points["attainment"])].copy()
    rank = p.groupby(["plan", "trial"])["attainment"].rank(method="first", pct=True)
    p["decile"] = np.minimum(np.ceil(rank * 10), 10).astype(int)
    median = p.groupby("plan")["pay"].median()
    out = (
        p.groupby(["plan", "decile"], sort=False)
        .agg(mean_attainment=("attainment", "mean"), mean_pay=("pay", "mean"))
        .reset_index()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pay_to_median"] = out["mean_pay"] / out["plan"].map(median).to_numpy(dtype=float)
    return out.sort_values(["plan", "decile"], kind="stable").reset_index(drop=True)


def _expense(items: Sequence[Item], points: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for item in items:
        if isinstance(item, SimulationResult):
            for name in item.names:
                t = item.per_trial[item.per_trial["plan"] == name]
                cos = t["total"] / t["revenue"].where(t["revenue"] > 0)
                rows.append(
                    {
                        "plan": name,
                        "total_pay": float(t["total"].mean()),
                        "variable_pay": float(t["variable"].mean()),
                        "revenue": float(t["revenue"].mean()),
                        "cost_of_sales": float(t["total"].mean() / t["revenue"].mean()),
                        "variable_cost_of_sales": float(t["variable"].mean() / t["revenue"].mean()),
                        "cost_of_sales_p5": float(cos.quantile(0.05)),
                        "cost_of_sales_p95": float(cos.quantile(0.95)),
                    }
                )
        else:
            g = points[points["plan"] == item.plan.name]
            total, variable, revenue = (float(g[c].sum()) for c in ("total", "variable", "revenue"))
            share = total / revenue if revenue > 0 else np.nan
            rows.append(
                {
                    "plan": item.plan.name,
                    "total_pay": total,
                    "variable_pay": variable,
                    "revenue": revenue,
                    "cost_of_sales": share,
                    "variable_cost_of_sales": variable / revenue if revenue > 0 else np.nan,
                    "cost_of_sales_p5": share,
                    "cost_of_sales_p95": share,
                }
            )
    return pd.DataFrame(rows)


def _expense_by_band(points: pd.DataFrame, bands: Sequence[float]) -> pd.DataFrame:
    band = _bands(points, bands)
    g = points.groupby([points["plan"], band], sort=False, observed=True)
    out = g.agg(total_pay=("total", "sum"), revenue=("revenue", "sum")).reset_index()
    out = out.rename(columns={"attainment": "band"})
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cost_of_sales"] = out["total_pay"] / out["revenue"].where(out["revenue"] > 0)
    return out.sort_values(["plan", "band"], kind="stable").reset_index(drop=True)


def five_analyses(
    results: Item | Sequence[Item],
    *,
    pay: PayKind = "target",
    bands: Sequence[float] = m.BANDS,
) -> FiveAnalyses:
    """The SMA/Buck five analyses of one or more plans.

    Parameters
    ----------
    results
        A backtest, a simulation result, or a sequence of them (plans side by side; plan
        names must differ).
    pay
        ``"target"`` (variable pay ÷ target incentive for the time employed), ``"variable"``
        or ``"total"``.
    bands
        Attainment bands of the pay-vs-performance and expense-by-band tables.

    Returns
    -------
    FiveAnalyses

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> ds = sample.generate(600, seed=0)
    >>> plans = [Plan(f"flat {r:.0%}", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), r),))) for r in (0.04, 0.05)]
    >>> five = five_analyses([evaluate(p, ds) for p in plans])
    >>> cost = five.expense.set_index("plan")["variable_cost_of_sales"]
    >>> [round(float(c), 3) for c in cost]
    [0.04, 0.05]
    """
    items: list[Item] = (
        [results] if isinstance(results, Backtest | SimulationResult) else list(results)
    )
    if not items:
        raise ValueError("give at least one backtest or simulation result")
    points = pd.concat([rep_points(item, pay) for item in items], ignore_index=True)
    names = [
        p
        for item in items
        for p in (item.names if isinstance(item, SimulationResult) else [item.plan.name])
    ]
    if len(set(names)) != len(names):
        raise ValueError(f"plan names must differ to be compared: {names}")
    return FiveAnalyses(
        earnings=_histogram(points, "pay", _pay_edges(points, pay)),
        performance=_histogram(points, "attainment", ATTAINMENT_EDGES),
        pay_vs_performance=_pvp(points, bands).reset_index(drop=True),
        leverage=_leverage(points),
        expense=_expense(items, points),
        expense_by_band=_expense_by_band(points, bands),
        points=points,
        pay=pay,
    )
