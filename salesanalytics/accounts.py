"""Relationship maintenance (step 5 of the workflow): repeat business per account.

Definitions (``docs/metrics.md``) use each deal's final outcome and ``closed_at``:

* An account's **first win** is its earliest won deal; it **won again** (repeat purchase)
  when a won deal closed strictly later. Deals won at the same instant are one purchase.
* **Repeat-purchase rate** = accounts that won again ÷ accounts with a first win, with a
  Wilson interval. Young accounts have had less time to buy again, so the rate is also
  given per first-win cohort, with each cohort's shortest follow-up and a ``mature`` flag.
* **Time to the next won deal**: first win → next win, censored at as-of for accounts with
  none; Kaplan–Meier median and P(won again within the horizon), which honour censoring.
* **Revenue from existing vs new customers** per period: a won deal is from an *existing*
  customer when its account had a won deal that closed earlier, else *new*; deals without
  an account are ``no_account``.
* **Renewal rate** = renewal deals won ÷ renewal deals closed (won + lost), with a Wilson
  interval; **expansion share** = won expansion revenue ÷ all won revenue. Only when the
  data carry ``deal_type``.

Won deals without ``closed_at`` and deals closed after as-of are left out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset
from .stats import rate_interval
from .survival import kaplan_meier
from .timeline import DAY_US, Period, _groups, _ts, _us, deal_labels, periods

__all__ = ["RepeatBusiness", "repeat_business"]

_NAT = np.iinfo(np.int64).min
_KINDS = np.array(["new", "existing", "no_account"], dtype=object)


@dataclass(frozen=True, eq=False)
class RepeatBusiness:
    """Repeat business: per account, per group, per first-win cohort and per period.

    Attributes
    ----------
    table
        Per group (``all`` without ``by``): ``accounts`` (with any deal), ``accounts_won``
        (with a first win), ``repeat``, ``repeat_rate`` with ``repeat_low``/``repeat_high``,
        ``median_days_to_next`` (Kaplan–Meier; NaN if fewer than half ever won again within
        follow-up), ``p_repeat_within`` (KM probability of a next win within
        ``horizon_days``; NaN when no account was followed that long) and
        ``median_days_to_next_repeaters`` (among accounts that did win again: biased low).
    accounts
        One row per account: ``deals``, ``won_deals``, ``won_revenue``, ``first_win``,
        ``next_win``, ``repeat``, ``days_to_next`` (to the next win, or to as-of when
        ``censored``).
    cohorts
        Per first-win cohort (and group): accounts, repeat rate with interval,
        ``min_followup_days`` (the youngest account's), ``mature`` (all followed at least
        the horizon) and the KM ``p_repeat_within``.
    revenue
        Per closing period (and group) and ``customer`` (``new``, ``existing``,
        ``no_account``): won ``deals``, ``revenue`` and ``share`` of the period's revenue.
    renewals
        Per closing period (and group): ``renewal_won``, ``renewal_closed``,
        ``renewal_rate`` with bounds, ``expansion_revenue``, ``won_revenue``,
        ``expansion_share``; ``None`` without deal types.
    view
        ``"accounts"``: the final state of every deal, as of ``as_of``.
    """

    table: pd.DataFrame
    accounts: pd.DataFrame
    cohorts: pd.DataFrame
    revenue: pd.DataFrame
    renewals: pd.DataFrame | None
    by: str | None
    horizon_days: float
    as_of: pd.Timestamp
    view: str = "accounts"

    def summary(self) -> pd.DataFrame:
        """Per group: repeat rate, time to next win, existing-customer share, renewals."""
        keys = [self.by] if self.by else []

        def total(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
            if keys:
                return frame.groupby(keys)[cols].sum().reindex(self.table[keys[0]])
            return frame[cols].sum().to_frame().T

        out = self.table.copy()
        rev = self.revenue.assign(existing=self.revenue["revenue"].where(
            self.revenue["customer"].eq("existing"), 0.0))  # fmt: skip
        r = total(rev, ["existing", "revenue"])
        with np.errstate(invalid="ignore", divide="ignore"):
            out["existing_revenue_share"] = (r["existing"] / r["revenue"]).to_numpy()
            if self.renewals is not None:
                cols = ["renewal_won", "renewal_closed", "expansion_revenue", "won_revenue"]
                n = total(self.renewals, cols)
                out["renewal_rate"] = (n["renewal_won"] / n["renewal_closed"]).to_numpy()
                out["expansion_share"] = (n["expansion_revenue"] / n["won_revenue"]).to_numpy()
        return out.round(4)

    def _repr_html_(self) -> str:
        caption = f"Repeat business by {self.by or 'nothing'} (as of {self.as_of:%Y-%m-%d})"
        body = self.summary().to_html(escape=True, max_rows=60)
        return f"<p><strong>{html.escape(caption)}</strong></p>{body}"


def _km(days: np.ndarray, event: np.ndarray, horizon: float) -> tuple[float, float]:
    """KM median and P(event within horizon) (NaN when nobody was followed that long)."""
    if len(days) == 0:
        return float("nan"), float("nan")
    km = kaplan_meier(days, event)
    within = 1.0 - float(km.at([horizon])[0][0]) if days.max() >= horizon else float("nan")
    return km.median()[0], within


def _rates(key: np.ndarray, repeat: np.ndarray, days: np.ndarray, horizon: float) -> pd.DataFrame:
    """Repeat rate, interval and KM figures per distinct ``key`` (accounts with a win)."""
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    rows = []
    # np.split of an empty array still yields one (empty) piece: no keys, no groups
    pieces = (np.split(repeat[order], starts[1:]), np.split(days[order], starts[1:]))
    for k, r, d in zip(
        keys, *(pieces if len(keys) else ([], [])), strict=True
    ):  # one Kaplan–Meier fit per group (groups, not accounts)
        median, within = _km(d, r, horizon)
        rows.append(
            (k, len(r), int(r.sum()), median, within, np.median(d[r]) if r.any() else np.nan)
        )
    cols = ["key", "accounts_won", "repeat", "median_days_to_next", "p_repeat_within",
            "median_days_to_next_repeaters"]  # fmt: skip
    out = pd.DataFrame(rows, columns=cols).astype({"accounts_won": "int64", "repeat": "int64"})
    low, high = rate_interval(out["repeat"], out["accounts_won"])
    out.insert(3, "repeat_rate", out["repeat"] / out["accounts_won"])
    out.insert(4, "repeat_low", low)
    out.insert(5, "repeat_high", high)
    return out


def _period_index(t: np.ndarray, period: Period, tz: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Period of each (valid) time in ``t`` and the periods spanning them."""
    if len(t) == 0:
        return t.astype(np.int64), pd.DataFrame({"period": pd.Series([], dtype="str")})
    frame = periods(period, _ts(t[[t.argmin()]])[0], _ts(t[[t.argmax()]])[0], tz)
    return np.searchsorted(_us(frame["period_start"]), t, "right") - 1, frame


def repeat_business(
    dataset: Dataset,
    by: str | None = None,
    *,
    period: Period = "quarter",
    cohort: Period = "quarter",
    horizon: str = "365D",
) -> RepeatBusiness:
    """Repeat purchases, time to the next win, new vs existing revenue, renewals.

    Parameters
    ----------
    dataset
        The data; deals need ``account_id``.
    by
        Optional deals column or reps attribute. Accounts take the value of their first won
        deal (their earliest deal if never won); revenue and renewals use each deal's own.
    period
        Period of the revenue and renewal tables (by ``closed_at``).
    cohort
        Period of the first-win cohorts.
    horizon
        Horizon of ``p_repeat_within`` and of cohort maturity.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> ds = sample.generate(600, seed=3)
    >>> rb = repeat_business(ds)
    >>> row = rb.table.iloc[0]
    >>> bool(0 <= row["repeat_rate"] <= 1), int(row["accounts_won"]) == int(
    ...     rb.accounts["first_win"].notna().sum())
    (True, True)
    >>> sorted(rb.revenue["customer"].unique())
    ['existing', 'new']
    """
    as_of = dataset.as_of
    if as_of is None:
        raise ValueError("the dataset has no as-of moment")
    hz = pd.Timedelta(horizon) / pd.Timedelta(days=1)
    tz = dataset.provenance.timezone
    deals = dataset.deals
    label, groups = _groups(deal_labels(dataset, by, deals))
    t, now = _us(deals["closed_at"]), int(_us([as_of])[0])
    keep = t <= now  # NaT (open deals) is the int64 minimum: kept
    deals, label, t = deals[keep], label[keep], t[keep]
    acct, names = pd.factorize(deals["account_id"])
    k, has = len(names), acct >= 0
    won = deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False) & (t != _NAT)
    amount = np.nan_to_num(deals["amount"].to_numpy(dtype="float64", na_value=np.nan))
    # first and next win per account
    wi = np.flatnonzero(won & has)
    first = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(first, acct[wi], t[wi])
    later = wi[t[wi] > first[acct[wi]]]
    nxt = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(nxt, acct[later], t[later])
    # an account's group: its first won deal's, else its earliest deal's
    rows = np.flatnonzero(has)
    when = np.where(won, t, _us(deals["created_at"]))[rows]
    order = rows[np.lexsort((when, ~won[rows], acct[rows]))]
    heads = order[np.r_[True, acct[order][1:] != acct[order][:-1]]] if len(order) else order
    acct_label = np.zeros(k, dtype=np.int64)
    acct_label[acct[heads]] = label[heads]
    has_win, repeat = first < np.iinfo(np.int64).max, nxt < np.iinfo(np.int64).max
    days = np.where(has_win, (np.where(repeat, nxt, now) - first) / DAY_US, np.nan)
    key = by or "group"
    accounts = pd.DataFrame(
        {
            "account_id": names,
            key: groups.to_numpy()[acct_label],
            "deals": np.bincount(acct[has], minlength=k),
            "won_deals": np.bincount(acct[wi], minlength=k),
            "won_revenue": np.bincount(acct[wi], amount[wi], minlength=k),
            "first_win": _ts(np.where(has_win, first, np.iinfo(np.int64).min)),
            "next_win": _ts(np.where(repeat, nxt, np.iinfo(np.int64).min)),
            "repeat": repeat,
            "days_to_next": days,
            "censored": has_win & ~repeat,
        }
    )
    table = _rates(acct_label[has_win], repeat[has_win], days[has_win], hz).set_index("key")
    every = pd.Series(np.bincount(acct_label, minlength=len(groups)))
    table = table.reindex(every.index[every > 0])
    table[["accounts_won", "repeat"]] = table[["accounts_won", "repeat"]].fillna(0).astype("int64")
    table.insert(0, "accounts", every[every > 0])
    table.insert(0, key, groups.to_numpy()[table.index])
    # first-win cohorts, with their maturity
    c_idx, c_frame = _period_index(first[has_win], cohort, tz)
    c_key = c_idx * len(groups) + acct_label[has_win]
    cohorts = _rates(c_key, repeat[has_win], days[has_win], hz)
    youngest = np.full(len(c_frame) * len(groups), np.iinfo(np.int64).min)
    np.maximum.at(youngest, c_key, first[has_win])
    cohorts["min_followup_days"] = (now - youngest[cohorts["key"]]) / DAY_US
    cohorts["mature"] = cohorts["min_followup_days"] >= hz
    cohorts.insert(0, key, groups.to_numpy()[cohorts["key"] % len(groups)])
    cohorts.insert(0, "cohort", c_frame["period"].to_numpy()[cohorts.pop("key") // len(groups)])
    closed = np.flatnonzero(deals["outcome"].isin(["won", "lost"]).to_numpy() & (t != _NAT))
    p, p_frame = _period_index(t[closed], period, tz)
    first_win = first[acct] if k else np.zeros(len(acct), dtype=np.int64)
    kind = np.where(~has, 2, np.where(t > first_win, 1, 0))  # new, existing, no_account
    revenue = _revenue(closed[won[closed]], p[won[closed]], p_frame, groups, label, kind, amount)
    types = deals["deal_type"] if "deal_type" in deals else pd.Series(dtype="str")
    renewals = None
    if types.notna().any():
        renewals = _renewals(closed, p, p_frame, groups, label, won, types, amount)
    frames = [table.reset_index(drop=True), accounts, cohorts, revenue, renewals]
    frames = [f.rename(columns={"group": key}) if f is not None else None for f in frames]
    if by is None:
        frames = [f.drop(columns=key) if f is not None else None for f in frames]
    table, accounts, cohorts, revenue = (f if f is not None else pd.DataFrame() for f in frames[:4])
    return RepeatBusiness(table, accounts, cohorts, revenue, frames[4], by, hz, as_of)


def _tidy(present: np.ndarray, frame: pd.DataFrame, groups: pd.Index) -> pd.DataFrame:
    g = len(groups)
    return pd.DataFrame(
        {
            "period": frame["period"].to_numpy()[present // g],
            "group": groups.to_numpy()[present % g],
        }
    )


def _revenue(
    rows: np.ndarray,
    p: np.ndarray,
    frame: pd.DataFrame,
    groups: pd.Index,
    label: np.ndarray,
    kind: np.ndarray,
    amount: np.ndarray,
) -> pd.DataFrame:
    """Won deals and revenue per closing period, group and customer kind."""
    cell = p * len(groups) + label[rows]
    n_cells = len(frame) * len(groups)
    kinds = 3 if (kind[rows] == 2).any() else 2
    key = cell * 3 + kind[rows]
    deals = np.bincount(key, minlength=n_cells * 3).reshape(n_cells, 3)[:, :kinds]
    revenue = np.bincount(key, amount[rows], minlength=n_cells * 3).reshape(n_cells, 3)
    revenue = revenue[:, :kinds]
    present = np.flatnonzero(deals.sum(axis=1) > 0)
    out = _tidy(np.repeat(present, kinds), frame, groups)
    out["customer"] = np.tile(_KINDS[:kinds], len(present))
    out["deals"] = deals[present].ravel()
    out["revenue"] = revenue[present].ravel()
    total = np.repeat(revenue[present].sum(axis=1), kinds)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(total > 0, out["revenue"] / total, np.nan)
    return out


def _renewals(
    rows: np.ndarray,
    p: np.ndarray,
    frame: pd.DataFrame,
    groups: pd.Index,
    label: np.ndarray,
    won: np.ndarray,
    types: pd.Series,
    amount: np.ndarray,
) -> pd.DataFrame:
    """Renewal rate and expansion share per closing period and group."""
    cell = p * len(groups) + label[rows]
    n = len(frame) * len(groups)
    renewal = types.eq("renewal").to_numpy(dtype=bool, na_value=False)[rows]
    expansion = types.eq("expansion").to_numpy(dtype=bool, na_value=False)[rows]
    w, value = won[rows], amount[rows] * won[rows]
    sums = {
        "renewal_won": np.bincount(cell, renewal & w, minlength=n).astype("int64"),
        "renewal_closed": np.bincount(cell, renewal, minlength=n),
        "expansion_revenue": np.bincount(cell, value * expansion, minlength=n),
        "won_revenue": np.bincount(cell, value, minlength=n),
    }
    present = np.flatnonzero(np.bincount(cell, minlength=n) > 0)
    out = _tidy(present, frame, groups)
    for name, values in sums.items():
        out[name] = values[present]
    out["renewal_closed"] = out["renewal_closed"].astype("int64")
    low, high = rate_interval(out["renewal_won"], out["renewal_closed"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(4, "renewal_rate", out["renewal_won"] / out["renewal_closed"])
        out["expansion_share"] = out["expansion_revenue"] / out["won_revenue"]
    out.insert(5, "renewal_low", low)
    out.insert(6, "renewal_high", high)
    return out
