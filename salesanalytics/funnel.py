"""Stage reach and conversion: how many distinct deals got to each stage, and on to the next.

Reach policies (how skipped stages count; see ``docs/metrics.md``):

* ``implied`` (default): a deal reached stage *s* if it entered *s* or any later stage —
  a skipped stage counts as passed. Won implies every open stage.
* ``observed``: only recorded entries count.
* ``strict``: only deals that started at the first stage and moved forward one stage at a
  time (backward moves and losses allowed) are counted, by their recorded entries.

Conversion *s → s+1* = reach(s+1) / reach(s), counting distinct deals, never transitions
(under ``observed``, where reach is not nested, it is the share of deals that entered *s*
and also entered *s+1*);
every rate comes with its n and a Wilson interval. This is the *cohort* view over all deals
in the dataset: open deals still count as not (yet) converted, so the share still open is
reported beside each stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd

from .dataset import Dataset
from .stats import rate_interval

__all__ = ["FunnelResult", "Policy", "stage_reach"]

Policy = Literal["implied", "observed", "strict"]
POLICIES: tuple[Policy, ...] = ("implied", "observed", "strict")


@dataclass(frozen=True, eq=False)
class FunnelResult:
    """Reach and conversion per stage.

    Attributes
    ----------
    table
        One row per funnel stage (open stages, then won): ``reached``, ``still_open``
        (reached deals still open), ``step_conversion`` with ``step_low``/``step_high``
        (from the previous stage), ``cumulative_conversion`` with bounds (from the first
        stage).
    policy
        The reach policy used.
    view
        ``"cohort"``: all deals in the data, whatever their age.
    deals
        Deals counted (under ``strict``, those that qualify).
    """

    table: pd.DataFrame
    policy: Policy
    view: str
    deals: int

    def summary(self) -> pd.DataFrame:
        """The table, rounded for display."""
        return self.table.round(4)

    def _repr_html_(self) -> str:
        caption = f"Funnel ({self.view} view, {self.policy} reach, {self.deals:,} deals)"
        return f"<p><strong>{caption}</strong></p>" + self.summary().to_html(escape=True)


def _max_positions(dataset: Dataset) -> tuple[pd.Series, pd.DataFrame]:
    """Per deal: highest funnel position reached, and the set of positions entered."""
    model = dataset.stages
    events = dataset.stage_events
    pos = pd.Series(model.positions(events["stage"]), index=events.index)
    entered = pd.DataFrame({"deal_id": events["deal_id"], "pos": pos}).dropna()
    return entered.groupby("deal_id")["pos"].max(), entered


def _strict_deals(dataset: Dataset) -> pd.Index:
    """Deals that started at the first stage and never skipped a stage going forward."""
    events = dataset.stage_events.sort_values(["deal_id", "entered_at"], kind="stable")
    deal = events["deal_id"].to_numpy()
    pos = pd.Series(dataset.stages.positions(events["stage"]))
    first = np.r_[True, deal[1:] != deal[:-1]] if len(deal) else np.zeros(0, bool)
    # a loss (NaN position) neither moves forward nor breaks the chain
    prev = pos.groupby(deal).ffill().groupby(deal).shift()
    jump = ((pos - prev) > 1).to_numpy()
    bad_start = first & (pos.to_numpy() != 0)
    bad = pd.unique(deal[jump | bad_start])
    return pd.Index(pd.unique(deal)).difference(pd.Index(bad))


def stage_reach(dataset: Dataset, policy: Policy = "implied") -> FunnelResult:
    """Reach and step/cumulative conversion per stage, with Wilson intervals.

    Deals without stage history (current-state exports) count by their current stage,
    under ``implied`` only.

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-01", tz="UTC")
    >>> ev = pd.DataFrame({"deal_id": ["a", "a", "b", "b", "c"],
    ...                    "stage": ["lead", "proposal", "lead", "lost", "lead"],
    ...                    "entered_at": [t, t + pd.Timedelta("1D"), t, t + pd.Timedelta("2D"), t]})
    >>> deals = pd.DataFrame({"deal_id": ["a", "b", "c"], "created_at": [t] * 3,
    ...                       "outcome": ["open", "lost", "open"], "amount": [1.0] * 3,
    ...                       "owner_id": ["r"] * 3})
    >>> ds = sa.Dataset({"deals": deals, "stage_events": ev})
    >>> stage_reach(ds).table["reached"].tolist()
    [3, 1, 1, 0, 0]
    >>> stage_reach(ds, "observed").table["reached"].tolist()
    [3, 0, 1, 0, 0]
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    model = dataset.stages
    deals = dataset.deals
    funnel = (*model.stages, model.won)
    max_pos, entered = _max_positions(dataset)
    if policy == "strict":
        keep = _strict_deals(dataset)
        deals = deals[deals["deal_id"].isin(keep)]
        entered = entered[entered["deal_id"].isin(keep)]
    best = deals["deal_id"].map(max_pos)
    if policy == "implied" and "stage" in deals.columns:
        current = pd.Series(model.positions(deals["stage"]), index=deals.index)
        best = best.fillna(current)
    best_arr = best.to_numpy(dtype="float64", na_value=np.nan)
    is_open = deals["outcome"].eq("open").to_numpy()
    hits = []
    for i in range(len(funnel)):
        if policy == "implied":
            hits.append(best_arr >= i)
        else:
            ids = entered.loc[entered["pos"] == i, "deal_id"]
            hits.append(deals["deal_id"].isin(ids).to_numpy())
    reached = np.array([h.sum() for h in hits], dtype="int64")
    # deals that reached a stage and the next (observed reach is not nested, so intersect)
    step_k = np.array([0] + [(a & b).sum() for a, b in pairwise(hits)])
    step_n = np.r_[0, reached[:-1]]
    cum_k = np.array([(hits[0] & h).sum() for h in hits])
    cum_n = np.full(len(hits), reached[0])
    step_low, step_high = rate_interval(step_k, step_n)
    cum_low, cum_high = rate_interval(cum_k, cum_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "stage": funnel,
                "reached": reached,
                "still_open": [int((h & is_open).sum()) for h in hits],
                "step_conversion": np.where(step_n > 0, step_k / step_n, np.nan),
                "step_low": step_low,
                "step_high": step_high,
                "cumulative_conversion": np.where(cum_n > 0, cum_k / cum_n, np.nan),
                "cumulative_low": cum_low,
                "cumulative_high": cum_high,
            }
        ).set_index("stage")
    return FunnelResult(table=table, policy=policy, view="cohort", deals=len(deals))
