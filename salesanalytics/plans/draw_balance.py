"""The draw and the balance a rep owes: a guarantee per period, advances when variable pay
falls short, recoveries from later earnings, and the balance left at exit
(``docs/plans.md``). Used by :func:`~.kernel.payout`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .components import Draw

__all__ = ["draw_balance"]

F = NDArray[np.float64]


def draw_balance(
    draw: Draw | None,
    variable: F,
    employed: F,
    draw_active: NDArray[np.bool_] | None,
    exits: NDArray[np.bool_] | None,
    zero: F,
) -> tuple[F, F, F, F]:
    """Draw advances, recoveries (≤ 0), the balance owed after each period and the balance
    at exit, shaped like ``variable`` (``(..., R, P)``): a scan over periods, skipped when
    there is no draw and no negative variable pay (nothing to advance, owe or recover; the
    shared read-only ``zero`` is returned). ``draw_active`` and ``exits`` are as in
    :class:`~.kernel.KernelInputs`."""
    shape = zero.shape
    reps, periods = shape[-2:]
    if draw is None and not (variable.size and variable.min() < 0):
        return zero, zero, zero, zero
    if draw_active is not None:
        active = np.asarray(draw_active, bool)
    else:
        active = employed > 0
        if draw is not None and draw.periods:
            first = np.argmax(active, axis=-1)[..., None]
            active = active & (np.arange(periods) - first < draw.periods)
    guarantee = np.broadcast_to((draw.amount if draw else 0.0) * employed * active, shape)
    recoverable = draw.recoverable if draw else True
    share = draw.recovery_share if draw else 1.0
    exits = np.zeros((reps, periods), bool) if exits is None else np.asarray(exits, bool)
    advance, recovery = np.zeros(shape), np.zeros(shape)
    balance, at_exit = np.zeros(shape), np.zeros(shape)
    owed = np.zeros(shape[:-1])
    for p in range(periods):
        v, g = variable[..., p], guarantee[..., p]
        short = v < g
        repay = np.where(short, 0.0, np.minimum(owed, share * np.maximum(v - g, 0.0)))
        debt = np.where(short, (g - v) if recoverable else np.maximum(-v, 0.0), 0.0)
        advance[..., p] = np.where(short, g - v, 0.0)
        recovery[..., p] = -repay
        owed = owed - repay + debt
        balance[..., p] = owed
        at_exit[..., p] = np.where(exits[:, p], owed, 0.0)
        owed = np.where(exits[:, p], 0.0, owed)
    return advance, recovery, balance, at_exit
