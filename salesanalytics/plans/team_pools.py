"""Team pools: money shared by a team when the team's attainment of a period reaches the
pool's gate (``docs/plans.md``). Used by :func:`~.kernel.payout`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._ratio import ratio
from .components import TeamPool

__all__ = ["team_pool", "team_sum"]

F = NDArray[np.float64]


def team_sum(x: F, team: NDArray[np.int64]) -> F:
    """Each rep's team total of ``x`` along the reps axis (0 for reps without a team)."""
    n = int(team.max()) + 1 if len(team) and team.max() >= 0 else 0
    if n == 0:
        return np.zeros_like(x)
    order = np.argsort(team, kind="stable")
    ordered = team[order]
    keep = ordered >= 0
    order, ordered = order[keep], ordered[keep]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sums = np.add.reduceat(x[..., order, :], starts, axis=-2)
    slot = np.full(n, 0, dtype=np.int64)
    slot[ordered[starts]] = np.arange(len(starts))
    out = sums[..., slot[np.maximum(team, 0)], :]
    return np.where((team >= 0)[:, None], out, 0.0)


def team_pool(
    pool: TeamPool, team: NDArray[np.int64], employed: F, measure: F, quota: F, ti: F
) -> F:
    """Each rep's share of ``pool`` per period, arrays shaped ``(..., R, P)``: the pool
    (``rate`` × the team's measure + ``amount``) is paid where the team's attainment reaches
    the gate, and shared equally, by credit or by target incentive among the team's reps
    employed in the period. ``team`` is each rep's team number (``-1``: none)."""
    team_measure = team_sum(measure, team)
    team_quota = team_sum(np.broadcast_to(quota, measure.shape).copy(), team)
    reached = ratio(team_measure, team_quota) >= pool.gate
    if pool.gate > 0:
        reached &= team_quota > 0
    size = pool.rate * team_measure + pool.amount * (team >= 0)[:, None]
    present = np.broadcast_to((employed > 0).astype(float), measure.shape)
    if pool.share == "equal":
        weight = present
    elif pool.share == "credit":
        weight = measure * present
    else:
        weight = np.broadcast_to(ti, measure.shape) * present
    total = team_sum(np.ascontiguousarray(weight), team)
    return np.where(reached, size * ratio(weight, total), 0.0)
