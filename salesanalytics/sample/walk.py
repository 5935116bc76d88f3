"""The pipeline walk: stage events of every deal, vectorised over deals, looping over steps.

Each step moves every still-active deal once: lost (stage-dependent, shifted by the deal's
survival log-odds), back one stage (once), skip one stage, or forward; a lost deal may reopen
once. Time in stage is lognormal. Wins that land early in a quarter are sometimes pulled back
into the previous quarter's last days (quarter-end push). Events after the as-of moment are
censored, so deals created late stay open. Then leavers are handled: a leaver's open deals go
to the most senior colleague of the team, or are closed lost (``owner_left``).

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._util import DAY, HOUR, categorical_rows, group_last, lognormal_days, sigmoid, to_seconds
from .deals import NEW, RENEWAL, START_STAGE, Deals
from .params import (
    INDUSTRIES,
    LEAD_MODEL,
    LOSS_REASON_MIX,
    LOST_REASONS,
    REGIONS,
    SIZES,
    SOURCES,
    STAGE_WALK,
    StageWalk,
)
from .world import AE, NEVER, Calendar, Staff

N_OPEN = 4
WON, LOST = 4, 5
OWNER_LEFT = LOST_REASONS.index("owner_left")
MAX_STEPS = 24


@dataclass(frozen=True)
class Events:
    """Stage entries sorted by deal then time; ``reason`` indexes ``LOST_REASONS`` (-1: none)."""

    deal: np.ndarray
    stage: np.ndarray
    at: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return len(self.deal)

    @staticmethod
    def build(parts: Sequence[tuple[np.ndarray, ...]]) -> Events:
        """Sort appended (deal, stage, at, reason) parts by deal, keeping time order.

        Within one deal the parts must already be in time order (each part is later than
        the ones before it), so a stable sort on the deal is enough.
        """
        deal, stage, at, reason = (np.concatenate([p[i] for p in parts]) for i in range(4))
        order = np.argsort(deal, kind="stable")
        return Events(
            deal[order], stage[order].astype(np.int8), at[order], reason[order].astype(np.int8)
        )

    def last(self, n_deals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per deal: stage, time and reason of its last event."""
        pos = group_last(self.deal)
        stage = np.full(n_deals, -1, dtype=np.int8)
        at = np.full(n_deals, -1, dtype=np.int64)
        reason = np.full(n_deals, -1, dtype=np.int8)
        d = self.deal[pos]
        stage[d], at[d], reason[d] = self.stage[pos], self.at[pos], self.reason[pos]
        return stage, at, reason


def survival_shift(
    rng: np.random.Generator, deals: Deals, staff: Staff, walk: StageWalk = STAGE_WALK
) -> np.ndarray:
    """Each deal's true log-odds shift of surviving an open stage."""
    src = np.array([s.win_shift for s in SOURCES])
    score = np.where(np.isnan(deals.score), 50.0, deals.score)
    ramp = staff.ramp_at(deals.owner, deals.created)
    type_shift = np.array([0.0, walk.renewal_shift, walk.expansion_shift])[deals.deal_type]
    return (
        np.where(deals.source >= 0, src[np.maximum(deals.source, 0)], 0.0)
        + staff.skill[deals.owner]
        - walk.ramp_penalty * (1.0 - ramp)
        + np.array([s.win_shift for s in SIZES])[deals.size]
        + np.array([r.win_shift for r in REGIONS])[deals.region]
        + np.array([i.win_shift for i in INDUSTRIES])[deals.industry]
        + LEAD_MODEL.score_effect * (score - 50.0)
        + type_shift
        + walk.deal_noise * rng.standard_normal(len(deals))
    )


def _quarter_pull(
    rng: np.random.Generator, t: np.ndarray, prev: np.ndarray, walk: StageWalk
) -> np.ndarray:
    month = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    q_month = month - month % 3
    q_start = q_month.astype("datetime64[M]").astype("datetime64[s]").astype(np.int64)
    early = (t - q_start) < walk.pull_window_days * DAY
    chance = np.where(q_month % 12 == 0, walk.year_end_pull, walk.quarter_end_pull)
    target = q_start - rng.integers(HOUR, 4 * DAY, len(t))
    pull = early & (rng.random(len(t)) < chance) & (target > prev + HOUR)
    return np.where(pull, target, t)


def walk_deals(
    rng: np.random.Generator,
    deals: Deals,
    staff: Staff,
    calendar: Calendar,
    walk: StageWalk = STAGE_WALK,
) -> Events:
    """Stage events of ``deals`` up to ``calendar.as_of`` (first event at ``created``)."""
    n = len(deals)
    e = survival_shift(rng, deals, staff, walk)
    cycle = np.array([s.cycle_factor for s in SIZES])[deals.size] * np.select(
        [deals.deal_type == NEW, deals.deal_type == RENEWAL],
        [1.0, walk.renewal_cycle],
        walk.expansion_cycle,
    )
    base = np.log(np.array(walk.base_loss) / (1 - np.array(walk.base_loss)))
    skip = np.array(walk.skip)
    back = np.array(walk.backward)
    med = np.array(walk.median_days)
    reopen_p = np.array([walk.reopen.get(r, 0.0) for r in LOST_REASONS])
    mix = np.array(LOSS_REASON_MIX)
    mix = np.hstack([mix, np.zeros((len(mix), len(LOST_REASONS) - mix.shape[1]))])

    stage = START_STAGE[deals.deal_type].astype(np.int64)
    t = deals.created.copy()
    idx_all = np.arange(n, dtype=np.int64)
    parts = [(idx_all, stage.copy(), t.copy(), np.full(n, -1))]
    active = t < calendar.as_of
    backed = np.zeros(n, dtype=bool)
    reopened = np.zeros(n, dtype=bool)
    lost_from = np.zeros(n, dtype=np.int64)

    for _ in range(MAX_STEPS):
        idx = np.flatnonzero(active)
        if len(idx) == 0:
            break
        lost_now = stage[idx] == LOST
        # -- reopen the deals lost with a scheduled reopening
        r = idx[lost_now]
        if len(r):
            target = np.maximum(lost_from[r] - (rng.random(len(r)) < 0.3), 0)
            new_t = t[r] + to_seconds(
                lognormal_days(rng, walk.reopen_median_days, walk.reopen_sigma, len(r))
            )
            ok = new_t < calendar.as_of
            active[r[~ok]] = False
            r, target, new_t = r[ok], target[ok], new_t[ok]
            parts.append((r, target, new_t, np.full(len(r), -1)))
            stage[r], t[r], reopened[r] = target, new_t, True
        # -- one move of every deal in an open stage
        o = idx[~lost_now]
        k = stage[o]
        lose = rng.random(len(o)) < sigmoid(base[k] - e[o])
        v = rng.random(len(o))
        go_back = ~lose & (v < back[k]) & ~backed[o]
        go_skip = ~lose & ~go_back & (v >= back[k]) & (v < back[k] + skip[k])
        nxt = np.where(lose, LOST, np.where(go_back, k - 1, np.where(go_skip, k + 2, k + 1)))
        days = lognormal_days(
            rng, med[k] * cycle[o] * np.where(lose, walk.loss_slowdown, 1.0), walk.sigma, len(o)
        )
        new_t = t[o] + np.maximum(to_seconds(days), int(walk.min_minutes * 60))
        won = nxt == WON
        new_t[won] = _quarter_pull(rng, new_t[won], t[o[won]], walk)
        ok = new_t < calendar.as_of
        active[o[~ok]] = False
        o, k, nxt, new_t, go_back = o[ok], k[ok], nxt[ok], new_t[ok], go_back[ok]
        reason = np.full(len(o), -1, dtype=np.int64)
        lost = nxt == LOST
        reason[lost] = categorical_rows(rng, mix, k[lost])
        parts.append((o, nxt, new_t, reason))
        stage[o], t[o] = nxt, new_t
        backed[o[go_back]] = True
        lost_from[o[lost]] = k[lost]
        again = rng.random(len(o)) < reopen_p[np.maximum(reason, 0)]
        done = (nxt == WON) | (lost & (~again | reopened[o]))
        active[o[done]] = False
    return Events.build(parts)


def _successors(staff: Staff) -> np.ndarray:
    """For each rep who leaves: the most senior AE of the team employed on the leaving day."""
    out = np.full(len(staff), -1, dtype=np.int64)
    for r in np.flatnonzero(staff.end < NEVER):
        at = staff.end[r]
        mates = np.flatnonzero(
            (staff.team == staff.team[r])
            & (staff.role == AE)
            & (staff.hire <= at)
            & (staff.end > at)
            & (np.arange(len(staff)) != r)
        )
        if len(mates):
            out[r] = mates[np.argmin(staff.hire[mates])]
    return out


def handle_leavers(
    rng: np.random.Generator,
    deals: Deals,
    events: Events,
    staff: Staff,
    calendar: Calendar,
    walk: StageWalk = STAGE_WALK,
) -> tuple[np.ndarray, Events]:
    """Reassign or close the deals a leaver still had; returns final owners and events."""
    owner = deals.owner.copy()
    succ = _successors(staff)
    n = len(deals)
    closed = np.zeros(n, dtype=bool)
    for _ in range(6):
        last_stage, last_at, _reason = events.last(n)
        end = staff.end[owner]
        hit = np.flatnonzero(
            (end < calendar.as_of)
            & (deals.created < end)
            & ~closed
            & ((last_at >= end) | (last_stage < WON))
        )
        if len(hit) == 0:
            break
        s = succ[owner[hit]]
        can = (s >= 0) & (staff.hire[np.maximum(s, 0)] <= deals.created[hit])
        move = can & (rng.random(len(hit)) >= walk.leaver_loss)
        owner[hit[move]] = s[move]
        cut = hit[~move]
        if len(cut) == 0:
            continue
        closed[cut] = True
        cut_end = np.full(n, NEVER, dtype=np.int64)
        cut_end[cut] = staff.end[owner[cut]]
        keep = events.at < cut_end[events.deal]
        kept = Events(events.deal[keep], events.stage[keep], events.at[keep], events.reason[keep])
        k_stage, k_at, _ = kept.last(n)
        still_open = cut[k_stage[cut] < WON]
        close_at = np.minimum(
            cut_end[still_open] + rng.integers(HOUR * 12, 10 * DAY, len(still_open)),
            calendar.as_of - 1,
        )
        close_at = np.maximum(close_at, k_at[still_open] + 1)
        events = Events.build(
            [
                (kept.deal, kept.stage, kept.at, kept.reason),
                (
                    still_open,
                    np.full(len(still_open), LOST),
                    close_at,
                    np.full(len(still_open), OWNER_LEFT),
                ),
            ]
        )
    return owner, events


__all__ = ["LOST", "N_OPEN", "WON", "Events", "handle_leavers", "survival_shift", "walk_deals"]
