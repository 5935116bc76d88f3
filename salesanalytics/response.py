"""Association of the follow-up SOP with conversion: conversion by response-time band and by
the owner's follow-up cadence, with trend tests — an *association*, not a causal effect.

See :mod:`.sop` for the per-lead measures and ``docs/metrics-sop.md`` for the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .logistic import cochran_armitage, logistic_slope
from .segments import Method, Shown, check_interval, rates
from .sop import CAVEAT, _response_notes, lead_measures

__all__ = ["ResponseEffect", "response_effect"]


@dataclass(frozen=True, eq=False)
class ResponseEffect(Shown):
    """Conversion by response-time band and by the owner's follow-up-cadence band.

    Attributes
    ----------
    table
        Indexed by ``factor`` (``"response_time"``, ``"cadence"``) and ``band``: ``lower``,
        ``upper`` (band ``[lower, upper)`` in hours or touches per week), ``leads``,
        ``converted``, ``conversion``, ``conversion_low``, ``conversion_high``, ``median``
        (median value of the factor in the band), ``owners`` (distinct owners). The
        response-time factor ends with a ``no response`` band (bounds NaN).
    trends
        Per factor: ``z`` and ``p_value`` of the Cochran–Armitage test over the bands (scores
        0, 1, ...; the ``no response`` band excluded), ``slope``, ``slope_low``,
        ``slope_high`` of a logistic regression of conversion on ``x`` (``log2(1 + hours)``,
        ``log(touches per week)``), named in ``x``.
    caveat
        Why this is an association and not an effect.
    """

    table: pd.DataFrame
    trends: pd.DataFrame
    notes: tuple[str, ...] = ()
    caveat: str = CAVEAT
    method: Method = "wilson"
    confidence: float = 0.95
    min_age_days: float = 30.0
    view: str = "association"

    @property
    def caption(self) -> str:
        """What the table shows, and that it is an association."""
        return (
            f"Conversion by response time and follow-up cadence (leads at least "
            f"{self.min_age_days:g} days old; {self.confidence:.0%} "
            f"{self.method.capitalize()} intervals) — {self.caveat}"
        )


def _banded(
    values: NDArray[np.float64], converted: NDArray[np.bool_], owners: NDArray[np.int64],
    edges: Sequence[float], unit: str, rest: NDArray[np.bool_] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Counts per band ``[lo, hi)`` of ``values``; ``rest`` marks the ``no response`` band."""
    e = np.asarray(edges, dtype=float)
    if len(e) < 2 or (np.diff(e) <= 0).any():
        raise ValueError(f"band edges must be increasing, got {list(edges)}")
    k = len(e) - 1
    band = np.searchsorted(e, values, side="right") - 1
    band = np.where(np.isnan(values) | (values >= e[-1]) | (band < 0), -1, band)
    labels = [
        f"≥{lo:g} {unit}" if np.isinf(hi) else f"{lo:g}–{hi:g} {unit}" for lo, hi in pairwise(e)
    ]
    lower, upper = e[:-1], e[1:]
    if rest is not None:
        band, labels, k = np.where(rest, k, band), [*labels, "no response"], k + 1
        lower, upper = np.r_[lower, np.nan], np.r_[upper, np.nan]
    keep = band >= 0
    frame = pd.DataFrame({"band": band[keep], "owner": owners[keep], "v": values[keep]})
    grouped = frame.groupby("band")
    return pd.DataFrame(
        {
            "lower": lower,
            "upper": upper,
            "leads": np.bincount(band[keep], minlength=k),
            "converted": np.bincount(band[keep], weights=converted[keep], minlength=k),
            "median": grouped["v"].median().reindex(range(k)).to_numpy(),
            "owners": grouped["owner"].nunique().reindex(range(k), fill_value=0).to_numpy(),
        },
        index=pd.Index(labels, dtype="str", name="band"),
    ).astype({"converted": np.int64, "owners": np.int64})


def response_effect(
    ds: Dataset,
    *,
    bands: Sequence[float] = (0.0, 1.0, 4.0, 24.0, 72.0, np.inf),
    cadence_bands: Sequence[float] = (0.0, 0.75, 1.0, 1.25, 1.5, np.inf),
    window_days: float | None = 14.0,
    min_age_days: float = 30.0,
    method: Method = "wilson",
    confidence: float = 0.95,
) -> ResponseEffect:
    """Conversion by first-response-time band and by the owner's follow-up cadence.

    Parameters
    ----------
    ds
        Data with ``leads`` and ``activities``.
    bands
        Edges of the response-time bands in elapsed hours (``[lo, hi)``).
    cadence_bands
        Edges of the cadence bands in touches per open week; each lead is placed by its
        owner's pooled touches per week (a lead's own rate is tied to its outcome: a
        conversion ends the window early).
    window_days
        Open window after the first response (see :func:`lead_measures`).
    min_age_days
        Only leads created at least this long before as-of (conversion takes time).
    method, confidence
        Interval method and coverage.

    Returns
    -------
    ResponseEffect

    Examples
    --------
    >>> from salesanalytics import sample
    >>> r = response_effect(sample.generate(3000, seed=0))
    >>> r.trends.loc["response_time", "slope"] < 0 < r.trends.loc["cadence", "slope"]
    np.True_
    >>> "not causation" in r.caption
    True
    """
    check_interval(method, confidence)
    m = lead_measures(ds, window_days=window_days)
    mature = m["age_days"].to_numpy() >= min_age_days
    owner_codes, _ = pd.factorize(m["owner_id"])
    owners = np.asarray(owner_codes, dtype=np.int64)
    conv = m["converted"].to_numpy()
    responded = m["responded"].to_numpy()
    hours = np.where(responded, m["response_hours"].to_numpy(), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = pd.DataFrame({"o": owners, "t": m["touches"], "w": m["open_weeks"]})
        sums = pooled[owners >= 0].groupby("o").sum()
        cadence_of = (sums["t"] / sums["w"].where(sums["w"] > 0)).reindex(
            range(owners.max(initial=-1) + 1)
        )
    cadence = np.where(owners >= 0, np.r_[cadence_of.to_numpy(float), np.nan][owners], np.nan)
    sel = mature
    parts = {
        "response_time": _banded(
            hours[sel], conv[sel], owners[sel], bands, "h", rest=~responded[sel]
        ),
        "cadence": _banded(cadence[sel], conv[sel], owners[sel], cadence_bands, "/wk"),
    }
    trends = {}
    with np.errstate(divide="ignore", invalid="ignore"):  # no touches: log 0, left out below
        xs = {"response_time": np.log2(1 + hours), "cadence": np.log(cadence)}
    x_names = {"response_time": "log2(1 + hours)", "cadence": "log(touches per week)"}
    for name, part in parts.items():
        graded = part.dropna(subset=["lower"])  # the no-response band is not on the scale
        z, p = cochran_armitage(graded["converted"], graded["leads"], np.arange(len(graded)))
        x = xs[name][sel]
        ok = np.isfinite(x)
        slope = logistic_slope(x[ok], conv[sel][ok], confidence)
        trends[name] = {"z": z, "p_value": p, "x": x_names[name], "slope": slope[0],
                        "slope_low": slope[1], "slope_high": slope[2]}  # fmt: skip
    table = pd.concat(parts, names=["factor", "band"])
    value, low, high = rates(
        table["converted"].to_numpy(float), table["leads"].to_numpy(float), method, confidence
    )
    table.insert(4, "conversion", value)
    table.insert(5, "conversion_low", low)
    table.insert(6, "conversion_high", high)
    notes = _response_notes(m, window_days)
    notes.append(f"{int((~mature).sum()):,} leads younger than {min_age_days:g} days left out")
    trend_frame = pd.DataFrame.from_dict(trends, orient="index").rename_axis("factor")
    return ResponseEffect(
        table, trend_frame, tuple(notes), CAVEAT, method, confidence, min_age_days
    )
