"""Statements: every amount of a backtest explained line by line, in cents, reconciled.

Rounding rule (documented in ``docs/plans.md``): each component of each rep's period (base,
commission, bonus, team pool, SPIFF, clawback, draw advance, recovery) is rounded to the cent,
half to even, after removing floating-point noise (the amount × 100 is first rounded to 6
decimals). The lines of a component get their cents by the largest-remainder method, so they
sum exactly to the rounded component; a statement's total is the sum of its components and the
plan total the sum of the statements. Nothing is rounded twice, so everything reconciles
exactly, in integer cents.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from .kernel import COMPONENTS

if TYPE_CHECKING:
    from .backtest import Backtest

__all__ = ["Statement", "Statements", "build_statements", "to_cents"]

LINE_COLUMNS = [
    "rep_id",
    "period",
    "component",
    "item",
    "detail",
    "quantity",
    "rate",
    "share",
    "multiplier",
    "attainment",
    "cents",
]


def to_cents(amount: NDArray[np.float64]) -> NDArray[np.int64]:
    """Amounts rounded to integer cents, half to even, float noise removed first.

    Examples
    --------
    >>> to_cents(np.array([0.125, 0.135, 2.675, -1.005])).tolist()
    [12, 14, 268, -100]
    """
    return np.rint(np.round(np.asarray(amount, dtype=float) * 100, 6)).astype(np.int64)


def allocate(
    raw: NDArray[np.float64], group: NDArray[np.int64], target: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Integer cents per line so each group's lines sum to ``target[group]`` (largest
    remainder: lines with the largest fractional cents get the leftover cents first)."""
    scaled = np.round(raw * 100, 6)
    floor = np.floor(scaled)
    frac = scaled - floor
    n_groups = len(target)
    short = target - np.bincount(group, floor, minlength=n_groups).astype(np.int64)
    count = np.bincount(group, minlength=n_groups)
    each, rest = np.divmod(short, np.maximum(count, 1))
    order = np.lexsort((-frac, group))
    first = np.searchsorted(group[order], np.arange(n_groups))
    rank = np.empty(len(raw), dtype=np.int64)
    rank[order] = np.arange(len(raw)) - first[group[order]]
    return (floor + each[group] + (rank < rest[group])).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Statement:
    """One rep's statement for one period: its lines and totals (in the plan's currency)."""

    rep_id: str
    period: str
    lines: pd.DataFrame
    currency: str = ""

    @property
    def total(self) -> float:
        """The statement total."""
        return int(self.lines["cents"].sum()) / 100

    def _repr_html_(self) -> str:
        shown = self.lines.drop(columns=["rep_id", "period", "cents"])
        body = shown.to_html(escape=True, index=False, na_rep="")
        title = f"Statement {self.rep_id} {self.period}: total {self.total:,.2f} {self.currency}"
        return f"<p><strong>{html.escape(title)}</strong></p>{body}"


@dataclass(frozen=True, eq=False)
class Statements:
    """All statements of a backtest.

    Attributes
    ----------
    lines
        One row per line item: ``rep_id``, ``period``, ``component``, ``item`` (deal id or
        component name), ``detail`` (what kind of line: ``owner credit``, ``split credit``,
        ``gate not met``, ``payout cap``, ...), the numbers behind it where they apply:
        ``quantity`` (commission base, measure, deal amount), ``rate`` (effective rate),
        ``share`` (credit share; employed share for base salary), ``multiplier`` (rate
        cards), ``attainment``; then ``cents`` and ``amount`` (= cents / 100).
    totals
        Per rep and period: cents per component and ``total``.
    """

    lines: pd.DataFrame
    totals: pd.DataFrame
    currency: str = ""

    @property
    def total(self) -> float:
        """The plan total: the sum of all statements."""
        return int(self.totals["total"].sum()) / 100

    def statement(self, rep_id: str, period: str) -> Statement:
        """The statement of one rep and period (``period`` is a label such as ``2024-03``)."""
        sel = self.lines[(self.lines["rep_id"] == rep_id) & (self.lines["period"] == period)]
        if not len(sel):
            raise KeyError(f"no statement for rep {rep_id!r} and period {period!r}")
        return Statement(rep_id, period, sel.reset_index(drop=True), self.currency)


def build_statements(bt: Backtest) -> Statements:
    """Line items for every rep and period of ``bt`` (see the module docstring)."""
    pay, plan = bt.payouts, bt.plan
    ids, labels = np.asarray(bt.staff.ids, dtype=object), np.asarray(bt.calendar.labels, object)
    comps = pay.components
    active = (bt.staff.employed > 0) | np.any([np.abs(v) > 0 for v in comps.values()], axis=0)
    parts: list[dict[str, Any]] = []

    def add(
        r: NDArray[np.int64],
        p: NDArray[np.int64],
        component: str,
        item: object,
        detail: object,
        raw: NDArray[np.float64],
        **numbers: object,
    ) -> None:
        parts.append(
            {
                "r": r,
                "p": p,
                "component": component,
                "item": item,
                "detail": detail,
                "raw": raw,
                **numbers,
            }
        )

    r, p = np.nonzero(active)
    add(
        r,
        p,
        "base",
        "base salary",
        "annual base ÷ periods × employed share",
        comps["base"][r, p],
        share=bt.staff.employed[r, p],
    )
    c = bt.credits
    cr, cp = c["rep"].to_numpy(), c["period"].to_numpy()
    if plan.commission is not None:
        measure_rate = plan.commission.rate_of == "measure"
        quantity = c["base"].to_numpy() if measure_rate else c["measure"].to_numpy()
        uncapped = comps["commission"] + pay.cap_cut
        ti_unit = ratio(uncapped, bt.measure)
        unit = pay.rate if measure_rate else ti_unit
        att = pay.attainment[cr, cp]
        rule = c["rule"].to_numpy(dtype=object) + " credit"
        detail = np.where(att < plan.commission.gate, "gate not met", rule)
        deal_raw = quantity * unit[cr, cp]
        add(
            cr,
            cp,
            "commission",
            c["deal_id"].to_numpy(dtype=object),
            detail,
            deal_raw,
            quantity=quantity,
            rate=unit[cr, cp],
            share=c["share"].to_numpy(),
            multiplier=c["multiplier"].to_numpy(),
            attainment=att,
        )
        summed = np.zeros_like(uncapped)
        np.add.at(summed, (cr, cp), deal_raw)
        adjust = uncapped - summed
        ar, ap = np.nonzero(np.abs(adjust) >= 0.005)
        add(
            ar,
            ap,
            "commission",
            "true-up",
            "year-to-date true-up: earned to date less paid so far this year",
            adjust[ar, ap],
            attainment=pay.attainment[ar, ap],
        )
        kr, kp = np.nonzero(np.abs(pay.cap_cut) >= 0.005)
        cut = pay.cap_cut[kr, kp]
        add(
            kr,
            kp,
            "commission",
            "payout cap",
            np.where(
                cut > 0,
                "commission above the payout cap",
                "commission held back by the year-to-date cap earlier, released",
            ),
            -cut,
            attainment=pay.attainment[kr, kp],
        )
    for name, values in pay.bonuses.items():
        br, bp = np.nonzero(values != 0)
        add(br, bp, "bonus", name, "quota bonus", values[br, bp], attainment=pay.attainment[br, bp])
    for name, values in pay.team_pools.items():
        tr, tp = np.nonzero(values != 0)
        add(tr, tp, "team_pool", name, "share of the team pool", values[tr, tp])
    for sp in plan.spiffs:
        money = c[f"spiff:{sp.name}"].to_numpy()
        hit = money != 0
        add(
            cr[hit],
            cp[hit],
            "spiff",
            c["deal_id"].to_numpy(dtype=object)[hit],
            f"SPIFF {sp.name}",
            money[hit],
            quantity=c["amount"].to_numpy()[hit],
            share=c["share"].to_numpy()[hit],
        )
    if "cancel_period" in c.columns:
        hit = c["cancel_period"].to_numpy() >= 0
        rate = pay.paid_rate[cr[hit], cp[hit]]
        base = c["clawback_base"].to_numpy()[hit]
        add(
            cr[hit],
            c["cancel_period"].to_numpy()[hit],
            "clawback",
            c["deal_id"].to_numpy(dtype=object)[hit],
            "cancelled deal, taken back at the rate paid in " + labels[cp[hit]].astype(object),
            -base * rate,
            quantity=base,
            rate=rate,
        )
    carried = "draw advance" if plan.draw is not None else "negative pay carried to the balance"
    for name, what in (
        ("advance", carried),
        ("recovery", "draw or clawback balance recovered"),
    ):
        vr, vp = np.nonzero(comps[name] != 0)
        add(vr, vp, name, name, what, comps[name][vr, vp])
    frames = [pd.DataFrame(part) for part in parts if len(part["r"])]
    lines = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(COMPONENTS)}
    lines["k"] = lines["component"].map(order).to_numpy(dtype=np.int64)
    lines = lines.sort_values(["r", "p", "k"], kind="stable", ignore_index=True)
    periods, n_comp = bt.quota.shape[1], len(COMPONENTS)
    key = (lines["r"].to_numpy() * periods + lines["p"].to_numpy()) * n_comp + lines["k"].to_numpy()
    groups, group = np.unique(key, return_inverse=True)
    gr, rest = np.divmod(groups, periods * n_comp)
    gp, gk = np.divmod(rest, n_comp)
    comp_values = np.stack([comps[name] for name in COMPONENTS])
    target = to_cents(comp_values[gk, gr, gp])
    lines["cents"] = allocate(lines["raw"].to_numpy(dtype=float), group, target)
    lines["rep_id"], lines["period"] = ids[lines["r"]], labels[lines["p"]]
    lines["amount"] = lines["cents"] / 100
    out = lines.reindex(columns=[*LINE_COLUMNS, "amount"])
    totals = out.pivot_table(
        index=["rep_id", "period"],
        columns="component",
        values="cents",
        aggfunc="sum",
        fill_value=0,
        sort=False,
    )
    totals = totals.reindex(columns=list(COMPONENTS), fill_value=0).astype(np.int64)
    totals["total"] = totals.sum(axis=1)
    return Statements(out, totals, plan.currency)
