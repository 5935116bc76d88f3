"""The sales organisation: calendar, teams, reps with hires and leavers, and owner routing.

Each team has one manager (who stays), SDRs and AEs. Seats are filled at the start by
incumbents hired before the window; reps leave at a constant monthly hazard and their seat
is refilled after a vacancy; a few growth seats open during the window. Every rep has true,
seed-dependent traits: win skill, lead skill, follow-up cadence, response speed and capacity.
Work is routed to reps employed at the time, weighted by capacity and ramp.

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._util import DAY, month_starts
from .params import REGIONS, SIZES, TEAMS, WORKFORCE, Workforce

ROLES: tuple[str, ...] = ("AE", "SDR", "Manager")
AE, SDR, MANAGER = 0, 1, 2
NEVER = np.iinfo(np.int64).max // 4
"""End of employment of reps still employed (far future, in seconds)."""

_SURNAMES = (
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
    "Hu",
    "Guo",
    "He",
    "Lin",
    "Gao",
    "Luo",
    "Zheng",
    "Liang",
    "Xie",
    "Tang",
)
_GIVEN = (
    "Wei",
    "Fang",
    "Na",
    "Min",
    "Jing",
    "Lei",
    "Jun",
    "Yan",
    "Tao",
    "Ming",
    "Chao",
    "Xiu",
    "Hao",
    "Ying",
    "Hui",
    "Qiang",
    "Lan",
    "Bo",
    "Ting",
    "Peng",
    "Yu",
    "Xin",
    "Kai",
    "Rui",
    "Jie",
    "Dan",
    "Long",
    "Mei",
    "Yi",
    "Hong",
    "Feng",
    "Ping",
)


@dataclass(frozen=True)
class Calendar:
    """The generated window: ``[start, as_of)`` with calendar-month boundaries (epoch seconds)."""

    start: int
    as_of: int
    months: np.ndarray
    """``months + 1`` month boundaries, from ``start`` to ``as_of``."""
    lead_start: int
    """Leads (and so deals) start arriving this long before ``start``: the pipeline that is
    open when the window opens is already there."""

    @classmethod
    def build(cls, start: str | pd.Timestamp, months: int, burn_in_days: int = 120) -> Calendar:
        """A calendar of ``months`` months from midnight UTC of ``start``."""
        if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
            raise ValueError(f"months must be a positive integer, got {months!r}")
        ts = pd.Timestamp(start)
        ts = (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).normalize()
        bounds = month_starts(ts, int(months))
        return cls(int(bounds[0]), int(bounds[-1]), bounds, int(bounds[0]) - burn_in_days * DAY)

    @property
    def n_days(self) -> int:
        """Days in the window."""
        return (self.as_of - self.start) // DAY

    @property
    def n_lead_days(self) -> int:
        """Days from ``lead_start`` to ``as_of``."""
        return (self.as_of - self.lead_start) // DAY

    def month_of(self, t: np.ndarray) -> np.ndarray:
        """Index of the month containing each time (clipped to the window)."""
        idx = np.searchsorted(self.months, t, side="right") - 1
        return np.clip(idx, 0, len(self.months) - 2)


@dataclass(frozen=True)
class Staff:
    """All reps who were employed at some time in the window, ordered by hire date.

    Arrays are aligned by rep position; ``end`` is the exclusive end of employment
    (``end_date + 1 day``; :data:`NEVER` while employed).
    """

    team: np.ndarray
    role: np.ndarray
    hire: np.ndarray
    end: np.ndarray
    skill: np.ndarray
    lead_skill: np.ndarray
    cadence: np.ndarray
    response_hours: np.ndarray
    capacity: np.ndarray
    base_salary: np.ndarray
    names: tuple[str, ...]
    ramp_days: float

    def __len__(self) -> int:
        return len(self.team)

    @property
    def ids(self) -> tuple[str, ...]:
        """Rep ids ``R01``, ``R02``, ... in hire order."""
        width = max(2, len(str(len(self.team))))
        return tuple(f"R{i + 1:0{width}d}" for i in range(len(self.team)))

    def manager_of_team(self) -> np.ndarray:
        """Position of each team's manager (first manager seat of the team)."""
        out = np.full(len(TEAMS), -1, dtype=np.int64)
        for k in range(len(TEAMS)):
            mgr = np.flatnonzero((self.team == k) & (self.role == MANAGER))
            out[k] = mgr[0]
        return out

    def employed(self, r: int, t: np.ndarray) -> np.ndarray:
        """Whether rep ``r`` is employed at times ``t``."""
        return (t >= self.hire[r]) & (t < self.end[r])

    def ramp(self, r: int, t: np.ndarray) -> np.ndarray:
        """Ramp factor of rep ``r`` at times ``t``: 0.25 on day one, 1 after ``ramp_days``."""
        tenure = (t - self.hire[r]) / DAY
        return np.clip(0.25 + 0.75 * tenure / self.ramp_days, 0.25, 1.0)

    def ramp_at(self, owners: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Ramp factor of many (owner, time) pairs."""
        tenure = (t - self.hire[owners]) / DAY
        return np.clip(0.25 + 0.75 * tenure / self.ramp_days, 0.25, 1.0)

    def is_employed(self, owners: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether each owner is employed at the paired time (owners < 0 are not)."""
        ok = owners >= 0
        safe = np.where(ok, owners, 0)
        return ok & (t >= self.hire[safe]) & (t < self.end[safe])

    def assign(
        self, rng: np.random.Generator, t: np.ndarray, team: np.ndarray, role: int
    ) -> np.ndarray:
        """Route work at times ``t`` in ``team`` to an employed rep of ``role``.

        The chance of each employed rep is proportional to capacity x ramp. Returns rep
        positions, ``-1`` where no rep of that role was employed at the time.
        """
        out = np.full(len(t), -1, dtype=np.int64)
        for k in range(len(TEAMS)):
            sel = np.flatnonzero(team == k)
            reps = np.flatnonzero((self.team == k) & (self.role == role))
            if len(sel) == 0 or len(reps) == 0:
                continue
            tk = t[sel]
            total = np.zeros(len(sel))
            for r in reps.tolist():
                total += self.capacity[r] * self.ramp(r, tk) * self.employed(r, tk)
            u = rng.random(len(sel)) * total
            chosen = np.full(len(sel), -1, dtype=np.int64)
            acc = np.zeros(len(sel))
            for r in reps.tolist():
                acc += self.capacity[r] * self.ramp(r, tk) * self.employed(r, tk)
                chosen[(chosen < 0) & (acc > u)] = r
            chosen[total <= 0] = -1
            out[sel] = chosen
        return out

    def assign_ae(self, rng: np.random.Generator, t: np.ndarray, team: np.ndarray) -> np.ndarray:
        """Route deals to AEs employed at ``t``; the team manager when the team has none."""
        owner = self.assign(rng, t, team, AE)
        gap = owner < 0
        if gap.any():
            owner[gap] = self.manager_of_team()[team[gap]]
        return owner

    def frame(self) -> pd.DataFrame:
        """The canonical ``reps`` table."""
        ids = np.array(self.ids, dtype=object)
        managers = self.manager_of_team()
        manager_id = np.where(self.role == MANAGER, None, ids[managers[self.team]])
        end_date = np.where(self.end >= NEVER, np.iinfo(np.int64).min, (self.end - DAY) * 10**6)
        incentive = np.array([WORKFORCE.incentive_ratio[ROLES[r]] for r in self.role])
        return pd.DataFrame(
            {
                "rep_id": pd.Series(ids, dtype="str"),
                "name": pd.Series(self.names, dtype="str"),
                "team": pd.Series([TEAMS[k].name for k in self.team], dtype="str"),
                "region": pd.Series([TEAMS[k].region for k in self.team], dtype="str"),
                "role": pd.Series([ROLES[r] for r in self.role], dtype="str"),
                "manager_id": pd.Series(manager_id, dtype="str"),
                "hire_date": pd.Series((self.hire * 10**6).view("datetime64[us]")).dt.tz_localize(
                    "UTC"
                ),
                "end_date": pd.Series(end_date.view("datetime64[us]")).dt.tz_localize("UTC"),
                "base_salary": self.base_salary,
                "target_incentive": np.round(self.base_salary * incentive, -3),
                "currency": "CNY",
            }
        )


def team_shares() -> np.ndarray:
    """Expected share of bookings per team from the region, size and amount parameters."""
    shares = []
    for team in TEAMS:
        region = next(r for r in REGIONS if r.name == team.region)
        size_mass = sum(s.share * np.exp(s.amount_shift) for s in SIZES if s.name in team.sizes)
        shares.append(region.share * region.amount_factor * size_mass)
    out = np.array(shares)
    return out / out.sum()


def _seats(n_reps: int, wf: Workforce) -> list[tuple[int, int]]:
    if n_reps < 3 * len(TEAMS):
        raise ValueError(
            f"n_reps must be at least {3 * len(TEAMS)} (a manager, an SDR and an "
            f"AE per team), got {n_reps}"
        )
    share = team_shares()
    sizes = np.maximum(3, np.floor(share * n_reps).astype(int))
    while sizes.sum() < n_reps:
        sizes[np.argmax(share * n_reps - sizes)] += 1
    while sizes.sum() > n_reps:
        sizes[np.argmax(np.where(sizes > 3, sizes - share * n_reps, -np.inf))] -= 1
    seats: list[tuple[int, int]] = []
    for k, size in enumerate(sizes):
        n_sdr = max(1, round(wf.sdr_share * (size - 1)))
        seats += [(k, MANAGER)] + [(k, SDR)] * n_sdr + [(k, AE)] * int(size - 1 - n_sdr)
    return seats


def build_staff(
    rng: np.random.Generator, calendar: Calendar, n_reps: int, wf: Workforce = WORKFORCE
) -> Staff:
    """Draw the organisation: seats, incumbents, leavers, replacements and growth hires."""
    seats = [(k, role, calendar.start) for k, role in _seats(n_reps, wf)]
    share = team_shares()
    years = (calendar.as_of - calendar.start) / (365.25 * DAY)
    n_growth = int(rng.poisson(wf.annual_seat_growth * n_reps * years))
    for _ in range(n_growth):
        k = int(rng.choice(len(TEAMS), p=share))
        role = SDR if rng.random() < wf.sdr_share else AE
        opens = calendar.start + int(rng.uniform(0.1, 0.95) * (calendar.as_of - calendar.start))
        seats.append((k, role, opens // DAY * DAY))
    rows: list[tuple[int, int, int, int]] = []  # team, role, hire, end
    for k, role, opens in seats:
        if opens == calendar.start:
            hire = calendar.start - int(rng.uniform(60, 6 * 365)) * DAY
            if role == MANAGER:
                hire = calendar.start - int(rng.uniform(2 * 365, 8 * 365)) * DAY
        else:
            hire = opens
        t0 = max(hire, calendar.start)
        hazard = wf.monthly_attrition[ROLES[role]]
        while True:
            if hazard <= 0:
                rows.append((k, role, hire, NEVER))
                break
            leave = t0 + int(rng.exponential(30.44 / hazard) * DAY)
            end = max(leave // DAY * DAY + DAY, hire + 30 * DAY)  # exclusive; a month at least
            if end >= calendar.as_of:
                rows.append((k, role, hire, NEVER))
                break
            rows.append((k, role, hire, end))
            hire = end + int(rng.uniform(*wf.vacancy_days)) * DAY
            if hire >= calendar.as_of - 7 * DAY:
                break
            t0 = hire
    rows.sort(key=lambda row: (row[2], row[0], row[1]))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    n = len(arr)
    role_arr = arr[:, 1]
    lo = np.array([wf.base_salary[ROLES[r]][0] for r in role_arr])
    hi = np.array([wf.base_salary[ROLES[r]][1] for r in role_arr])
    pairs = len(_SURNAMES) * len(_GIVEN)
    picks = rng.choice(pairs, size=n, replace=n > pairs)
    names = tuple(f"{_GIVEN[p % len(_GIVEN)]} {_SURNAMES[p // len(_GIVEN)]}" for p in picks)
    return Staff(
        team=arr[:, 0],
        role=role_arr,
        hire=arr[:, 2],
        end=arr[:, 3],
        skill=np.where(role_arr == AE, rng.normal(0.0, wf.skill_sd, n), 0.0),
        lead_skill=np.where(role_arr != MANAGER, rng.normal(0.0, wf.lead_skill_sd, n), 0.0),
        cadence=np.exp(rng.normal(np.log(1.3), wf.cadence_sd, n)),
        response_hours=np.exp(rng.normal(np.log(3.0), wf.response_sd, n)),
        capacity=np.exp(rng.normal(0.0, wf.capacity_sd, n)),
        base_salary=np.round(rng.uniform(lo, hi), -3),
        names=names,
        ramp_days=wf.ramp_days,
    )


def route_team(region: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Team index of each (region index, size index) pair."""
    table = np.full((len(REGIONS), len(SIZES)), -1, dtype=np.int64)
    for k, team in enumerate(TEAMS):
        r = next(i for i, reg in enumerate(REGIONS) if reg.name == team.region)
        for s, size_ in enumerate(SIZES):
            if size_.name in team.sizes:
                table[r, s] = k
    return table[region, size]
