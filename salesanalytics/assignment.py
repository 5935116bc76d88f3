"""Assignment view: conversion by owner within lead source, to tell a weak rep from a weak channel.

A rep who is handed purchased lists converts less than one handed referrals, whatever their
skill. :func:`owner_within_source` holds the source constant in two ways:

* **indirect standardisation** — the owner's *expected* conversions given their source mix,
  ``E_o = Σ_s n_os · p_s`` (``p_s`` the source's rate over all owners), beside the observed
  ``O_o``; ``O/E`` with an exact Poisson interval (``E`` taken as fixed) and an exact Poisson
  p-value. O/E < 1 across sources marks a weak rep; a low source rate with owners near
  O/E = 1 marks a weak channel;
* **Mantel–Haenszel** odds ratio of the owner against all other owners, stratified by source,
  with the Robins–Breslow–Greenland interval.

Rates are ``lead_to_deal`` (leads at least ``min_age_days`` old, by the lead's owner and
source) or ``deal_to_won`` (closed deals, won ÷ won + lost, by the deal's owner and source).
See ``docs/metrics-sop.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .dataset import Dataset
from .segments import MISSING, Shown, rates
from .sop import lead_outcomes
from .stats import poisson_interval

__all__ = ["AssignmentView", "mantel_haenszel", "owner_within_source"]

AssignmentRate = Literal["lead_to_deal", "deal_to_won"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AssignmentView(Shown):
    """Conversion by owner with the lead source held constant.

    Attributes
    ----------
    table
        Per owner (index ``owner_id``): ``n``, ``observed``, ``rate``, ``expected`` (given the
        owner's source mix), ``expected_rate``, ``oe`` (observed ÷ expected) with ``oe_low``,
        ``oe_high`` (exact Poisson) and ``p_value`` (exact Poisson, two-sided),
        ``mh_odds_ratio`` with ``mh_low``, ``mh_high`` (owner vs the others, stratified by
        source), ``sources`` (sources the owner has), ``small_n`` (n < ``min_n``) and
        ``verdict`` (``below expected`` / ``above expected`` when the O/E interval excludes
        1, ``within noise``, or ``too few`` when ``small_n``). Sorted by ``oe``.
    cells
        Per owner × source: ``n``, ``observed``, ``rate``, ``source_rate``, ``expected``,
        ``oe``.
    sources
        Per source: ``n``, ``observed``, ``rate`` with Wilson ``rate_low``, ``rate_high``,
        ``owners`` and ``owners_below`` (owners with at least ``min_n`` units in the source
        whose O/E interval in that source lies below 1).
    """

    table: pd.DataFrame
    cells: pd.DataFrame
    sources: pd.DataFrame
    rate: str
    notes: tuple[str, ...] = ()
    min_n: int = 30
    confidence: float = 0.95
    view: str = "within source"

    @property
    def caption(self) -> str:
        """What the table shows."""
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (
            f"{self.rate} by owner within lead source: observed ÷ expected given the "
            f"owner's source mix, {self.confidence:.0%} exact Poisson intervals; "
            f"Mantel–Haenszel odds ratio vs other owners{notes}"
        )


def mantel_haenszel(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, group: NDArray[np.int64],
    groups: int, confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Mantel–Haenszel odds ratio per group over its strata, with the Robins–Breslow–Greenland
    interval.

    Each row is one 2×2 stratum ``[[a, b], [c, d]]`` (exposed successes, exposed failures,
    unexposed successes, unexposed failures) belonging to ``group``. Returns ``(OR, low,
    high)`` per group; NaN where undefined.

    Examples
    --------
    >>> one = np.array([0])
    >>> odds, low, high = mantel_haenszel(
    ...     np.array([10.0]), np.array([10.0]), np.array([5.0]), np.array([15.0]), one, 1
    ... )
    >>> float(odds[0])
    3.0
    """
    n = a + b + c + d
    with np.errstate(invalid="ignore", divide="ignore"):
        r, s = np.where(n > 0, a * d / n, 0.0), np.where(n > 0, b * c / n, 0.0)
        p, q = np.where(n > 0, (a + d) / n, 0.0), np.where(n > 0, (b + c) / n, 0.0)

        def total(x: FloatArray) -> FloatArray:
            return np.asarray(np.bincount(group, weights=x, minlength=groups), dtype=float)

        sr, ss = total(r), total(s)
        odds = sr / ss
        var = (
            total(p * r) / (2 * sr**2)
            + total(p * s + q * r) / (2 * sr * ss)
            + total(q * s) / (2 * ss**2)
        )
        z = stats.norm.ppf(0.5 + confidence / 2)
        half = z * np.sqrt(var)
        low, high = np.exp(np.log(odds) - half), np.exp(np.log(odds) + half)
    ok = (sr > 0) & (ss > 0)
    return np.where(ok, odds, np.nan), np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def _units(
    ds: Dataset, rate: AssignmentRate, min_age_days: float
) -> tuple[pd.Series, pd.Series, NDArray[np.bool_], list[str]]:
    """Owner, source and success of each unit (mature lead or closed deal)."""
    if rate == "lead_to_deal":
        if not ds.has("leads"):
            raise ValueError("lead_to_deal needs a leads table")
        leads = ds.leads
        converted, age = lead_outcomes(ds)
        mature = age >= min_age_days
        note = f"{int((~mature).sum()):,} leads younger than {min_age_days:g} days left out"
        return (
            leads["owner_id"][mature],
            leads["lead_source"][mature],
            converted[mature],
            [note] if (~mature).any() else [],
        )
    if rate == "deal_to_won":
        deals = ds.deals
        closed = deals["outcome"].isin(["won", "lost"]).to_numpy(dtype=bool, na_value=False)
        note = f"{int((~closed).sum()):,} open deals left out"
        won = deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False)
        return (
            deals["owner_id"][closed],
            deals["lead_source"][closed],
            won[closed],
            [note] if (~closed).any() else [],
        )
    raise ValueError(f"rate must be 'lead_to_deal' or 'deal_to_won', got {rate!r}")


def _codes(values: pd.Series) -> tuple[NDArray[np.int64], pd.Index]:
    codes, uniques = pd.factorize(values, sort=True)
    labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes, labels = np.where(codes < 0, len(labels), codes), [*labels, MISSING]
    return np.asarray(codes, dtype=np.int64), pd.Index(labels, dtype="str")


def owner_within_source(
    ds: Dataset,
    *,
    rate: AssignmentRate = "lead_to_deal",
    min_n: int = 30,
    min_age_days: float = 30.0,
    confidence: float = 0.95,
) -> AssignmentView:
    """Conversion by owner within lead source: observed vs expected given the source mix.

    Parameters
    ----------
    ds
        Data with ``leads`` (``lead_to_deal``) or ``deals`` (``deal_to_won``); both need
        ``owner_id`` and ``lead_source``.
    rate
        ``"lead_to_deal"`` (leads by their owner) or ``"deal_to_won"`` (closed deals by the
        deal's owner; open deals left out).
    min_n
        Owners with fewer units are flagged ``small_n`` and get the verdict ``too few``.
    min_age_days
        For ``lead_to_deal``, only leads created at least this long before as-of.
    confidence
        Coverage of the intervals.

    Returns
    -------
    AssignmentView

    Examples
    --------
    >>> from salesanalytics import sample
    >>> view = owner_within_source(sample.generate(2000, seed=0))
    >>> t = view.table
    >>> bool(abs(t["observed"].sum() - t["expected"].sum()) < 1e-6)
    True
    >>> sorted(set(t["verdict"]) - {"within noise", "too few"}) != []
    True
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    owner, source, success, notes = _units(ds, rate, min_age_days)
    o, owners = _codes(owner)
    s, sources = _codes(source)
    n_o, n_s = len(owners), len(sources)
    cell = o * n_s + s
    n_cell = np.bincount(cell, minlength=n_o * n_s).reshape(n_o, n_s).astype(float)
    k_cell = np.asarray(np.bincount(cell, weights=success, minlength=n_o * n_s), dtype=float)
    k_cell = k_cell.reshape(n_o, n_s)
    n_src, k_src = n_cell.sum(axis=0), k_cell.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_src = np.where(n_src > 0, k_src / n_src, 0.0)
    e_cell = n_cell * p_src
    n, k, e = n_cell.sum(axis=1), k_cell.sum(axis=1), e_cell.sum(axis=1)
    t = pd.DataFrame(index=owners.rename("owner_id"))
    t["n"], t["observed"] = n.astype(np.int64), k.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["rate"] = np.where(n > 0, k / n, np.nan)
        t["expected"], t["expected_rate"] = e, np.where(n > 0, e / n, np.nan)
        t["oe"] = np.where(e > 0, k / e, np.nan)
    t["oe_low"], t["oe_high"] = poisson_interval(k, e, confidence)
    lower, upper = stats.poisson.cdf(k, e), stats.poisson.sf(k - 1, e)
    t["p_value"] = np.where(e > 0, np.minimum(1.0, 2 * np.minimum(lower, upper)), np.nan)
    a, b = k_cell, n_cell - k_cell
    c, d = k_src - k_cell, (n_src - n_cell) - (k_src - k_cell)
    group = np.repeat(np.arange(n_o), n_s)
    mh = mantel_haenszel(a.ravel(), b.ravel(), c.ravel(), d.ravel(), group, n_o, confidence)
    t["mh_odds_ratio"], t["mh_low"], t["mh_high"] = mh
    t["sources"] = (n_cell > 0).sum(axis=1)
    t["small_n"] = n < min_n
    verdict = np.where(
        t["oe_high"] < 1,
        "below expected",
        np.where(t["oe_low"] > 1, "above expected", "within noise"),
    )
    t["verdict"] = pd.array(np.where(t["small_n"], "too few", verdict), dtype="str")
    t = t.sort_values(["small_n", "oe"], na_position="last")
    keep = n_cell.ravel() > 0
    index = pd.MultiIndex.from_product([owners, sources], names=["owner_id", "lead_source"])
    with np.errstate(invalid="ignore", divide="ignore"):
        cells = pd.DataFrame(
            {
                "n": n_cell.ravel().astype(np.int64),
                "observed": k_cell.ravel().astype(np.int64),
                "rate": (k_cell / n_cell).ravel(),
                "source_rate": np.tile(p_src, n_o),
                "expected": e_cell.ravel(),
                "oe": np.where(e_cell > 0, k_cell / e_cell, np.nan).ravel(),
            },
            index=index,
        )[keep]
    rate_, low, high = rates(k_src, n_src, "wilson", confidence)
    _, cell_high = poisson_interval(k_cell, e_cell, confidence)
    below = (cell_high < 1) & (n_cell >= min_n)
    src = pd.DataFrame(
        {
            "n": n_src.astype(np.int64),
            "observed": k_src.astype(np.int64),
            "rate": rate_,
            "rate_low": low,
            "rate_high": high,
            "owners": (n_cell > 0).sum(axis=0),
            "owners_below": below.sum(axis=0),
        },
        index=sources.rename("lead_source"),
    ).sort_values("rate")
    return AssignmentView(t, cells, src, rate, tuple(notes), min_n, confidence)
