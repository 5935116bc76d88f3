"""Tier schedules: commission per unit of quota at an attainment, evaluated in cache-sized
blocks.

A marginal schedule is a sum of ramps, ``Σ_k (r_k − r_{k−1}) · max(a − lower_k, 0)``; a
retroactive one is the rate of the tier reached times ``a``; attainment at or below 0 earns
nothing. Both are a handful of
element-wise operations, so they are evaluated block by block (:data:`BLOCK_CELLS` cells at a
time), each block staying in the processor's cache while every operation runs over it: the
arrays are read and written once from main memory instead of once per operation. The payout kernel
uses :func:`schedule` for backtests and, in a simulation (no statement detail),
:func:`lean_commission`, which also divides measure by quota, multiplies back and applies the
payout cap inside the same blocks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from .._ratio import all_positive
from .commission import Commission

__all__ = ["BLOCK_CELLS", "lean_commission", "schedule", "tier_commission"]

F = NDArray[np.float64]
BLOCK_CELLS = 1 << 16
"""Cells per block: the few float64 arrays of a block (512 KiB each) stay in the processor's
cache, and blocks are large enough that the Python call per operation costs little (which
also lets threads running chunks side by side rarely wait for each other)."""
Index = tuple[int | slice, ...]


def _as_3d(a: F, shape: tuple[int, ...]) -> F:
    """``a`` broadcast to ``shape`` (``(..., R, P)``) and viewed as ``(N, R, P)``."""
    return np.broadcast_to(a, shape).reshape((-1, *shape[-2:]))


def _blocks(shape: tuple[int, int, int]) -> Iterator[Index]:
    """Indexes of ``(N, R, P)`` covering it in blocks of about :data:`BLOCK_CELLS` cells:
    whole scenarios when one is small, else runs of reps within a scenario."""
    n, reps, periods = shape
    cells = reps * periods
    if cells >= BLOCK_CELLS:
        step = max(1, BLOCK_CELLS // max(periods, 1))
        for i in range(n):
            for r in range(0, reps, step):
                yield (i, slice(r, r + step))
    else:
        step = max(1, BLOCK_CELLS // max(cells, 1))
        for i in range(0, n, step):
            yield (slice(i, i + step),)


def _evaluate(c: Commission, a: F, out: F, scratch: tuple[F, F]) -> None:
    """Commission per unit of quota at attainment ``a`` into ``out`` (nothing at or below
    0; attainment cap and gate applied); ``scratch`` is two arrays of the same shape. ``a``
    is not modified."""
    paid_on = np.maximum(a, 0.0, out=scratch[0])
    if np.isfinite(c.cap_attainment):
        np.minimum(paid_on, c.cap_attainment, out=paid_on)
    work = scratch[1]
    rates, lowers = c.rates, c.lowers
    if c.method == "marginal":  # Σ_k (r_k − r_{k−1}) · max(a − lower_k, 0)
        np.multiply(paid_on, rates[0], out=out)
        for lower, rate, before in zip(lowers[1:], rates[1:], rates, strict=False):
            np.subtract(paid_on, lower, out=work)
            np.maximum(work, 0.0, out=work)
            work *= rate - before
            out += work
    else:  # the rate of the tier reached, times a
        work.fill(rates[0])
        for lower, rate in zip(lowers[1:], rates[1:], strict=False):
            np.copyto(work, rate, where=paid_on >= lower)
        np.multiply(work, paid_on, out=out)
    if c.gate > 0:
        out[a < c.gate] = 0.0


def schedule(c: Commission, attainment: F) -> F:
    """Commission per unit of quota at ``attainment`` (attainment cap and gate applied).

    Examples
    --------
    >>> from salesanalytics.plans.spec import Commission, Tier
    >>> c = Commission((Tier(0, 1.0, 0.02), Tier(1.0, float("inf"), 0.05)), gate=0.5)
    >>> schedule(c, np.array([0.25, 0.75, 1.5])).round(6).tolist()  # gate, 0.75·2%, 2% + 0.5·5%
    [0.0, 0.015, 0.045]
    """
    a = np.asarray(attainment, dtype=float)
    out = np.empty(a.shape)
    flat_a, flat_out = a.reshape(-1), out.reshape(-1)
    scratch = np.empty((2, min(BLOCK_CELLS, flat_a.size)))
    for start in range(0, flat_a.size, BLOCK_CELLS):
        block = slice(start, start + BLOCK_CELLS)
        n = len(flat_a[block])
        _evaluate(c, flat_a[block], flat_out[block], (scratch[0, :n], scratch[1, :n]))
    return out


def tier_commission(commission: Commission, attainment: F) -> tuple[F, F]:
    """Commission per unit of quota, and the effective rate per unit of measure.

    The attainment cap and the gate are applied; with ``a = 0`` the effective rate is the
    first tier's rate (what the first unit of measure would earn); below 0 (net reversals)
    nothing is earned and the rate is 0.

    Examples
    --------
    >>> from salesanalytics.plans.spec import Commission, Tier
    >>> c = Commission((Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, float("inf"), 0.08)))
    >>> per_quota, rate = tier_commission(c, np.array([0.25, 0.75, 1.5]))
    >>> per_quota.round(9).tolist(), rate.round(4).tolist()  # marginal: 0.5·2% + 0.25·4%
    ([0.005, 0.02, 0.07], [0.02, 0.0267, 0.0467])
    >>> tier_commission(c.replace(method="retroactive"), np.array([0.75]))[1].tolist()
    [0.04]
    """
    a = np.asarray(attainment, dtype=float)
    per_quota = schedule(commission, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = per_quota / a
    rate[~(a > 0)] = commission.tiers[0].rate
    rate[a < 0] = 0.0
    if commission.gate > 0:
        rate[a < commission.gate] = 0.0
    return per_quota, rate


def lean_commission(c: Commission, measure: F, quota: F, cap: F | None) -> tuple[F, F]:
    """Attainment and capped commission of a plan paying ``rate × measure``, in one blocked
    pass: ``(attainment, commission)``, both shaped like ``measure`` (``(..., R, P)``).

    ``quota`` and ``cap`` (the payout cap per rep and period, ``None``: none) broadcast to
    the measure. Cells without quota (≤ 0) have attainment 0 and earn the first tier's rate
    on the measure (nothing when there is a gate), as in :func:`~.kernel.payout`.
    """
    shape = measure.shape
    attainment, commission = np.empty(shape), np.empty(shape)
    m3, q3 = _as_3d(measure, shape), _as_3d(quota, shape)
    a3, c3 = attainment.reshape(m3.shape), commission.reshape(m3.shape)
    cap3 = None if cap is None else _as_3d(cap, shape)
    every_quota = all_positive(q3)
    with np.errstate(divide="ignore", invalid="ignore"):
        _lean_blocks(c, m3, q3, cap3, a3, c3, every_quota)
    return attainment, commission


def _lean_blocks(
    c: Commission, m3: F, q3: F, cap3: F | None, a3: F, c3: F, every_quota: bool
) -> None:
    first = c.rates[0]
    scratch = np.empty((2, 0))
    for index in _blocks(m3.shape):
        m, q, a, out = m3[index], q3[index], a3[index], c3[index]
        if scratch.shape[1:] != a.shape:
            scratch = np.empty((2, *a.shape))
        np.divide(m, q, out=a)
        missing = None if every_quota else ~(q > 0)
        if missing is not None:
            a[missing] = 0.0
        _evaluate(c, a, out, (scratch[0], scratch[1]))
        out *= q
        if missing is not None:
            out[missing] = 0.0 if c.gate > 0 else (first * np.broadcast_to(m, a.shape))[missing]
        if cap3 is not None:
            np.minimum(out, cap3[index], out=out)
