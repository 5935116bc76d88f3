"""Stage transitions: from × to counts, skip / regression / reopen rates, win probability by stage.

A *transition* is a pair of consecutive stage entries of one deal (``stage_events`` sorted by
time). Each is one kind, judged by funnel positions (open stages 0..K−1, won = K):

* ``forward`` — to the next open stage; ``skip`` — forward by more than one open stage;
  ``regression`` — back to an earlier open stage;
* ``win`` — to won (``skipped`` says how many stages it jumped over: negotiation → won is 0);
  ``loss`` — to lost, from any open stage;
* ``reopen`` — from won or lost back to an open stage; ``outcome_change`` — won ↔ lost.

Rates count transitions (exits), not deals: the *skip rate* of stage s is the share of exits
from s that jump over at least one stage (a jump straight to won included), the *regression
rate* the share going back; the *reopen rate* of lost is reopens per entry into lost.

The probability of eventually winning from each open stage treats the stages as an absorbing
Markov chain with won and lost absorbing: ``B = (I − Q)⁻¹ R`` with ``Q`` the row-normalised
transition probabilities among open stages and ``R`` those into won / lost. This assumes
**memorylessness** — where a deal goes next depends only on the stage it is in, not on how it
got there or how long it has been there. Its interval is a percentile bootstrap over deals.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .history import IntArray, _codes, _deal_segments, _History, _history, _segments
from .stats import rate_interval

__all__ = ["TransitionResult", "transition_matrix"]

MEMORYLESS = (
    "Markov estimate: assumes the next stage depends only on the current stage "
    "(not on the path, the number of visits or the time spent); won and lost are absorbing."
)
LATEST_ONLY = (
    "fidelity 'latest_per_stage': only the latest entry into each stage is known, so repeated "
    "visits, regressions and reopens are undercounted"
)


def _distinct(x: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and their counts (one plain sort; ``np.unique`` is slower)."""
    v = np.sort(x)
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]]) if len(v) else v
    return v[starts], np.diff(np.r_[starts, len(v)])


def _kinds(k: int) -> tuple[NDArray[np.str_], IntArray]:
    """Kind and stages jumped over for every (from, to) cell of a (K+2) × (K+2) grid."""
    pos = np.r_[np.arange(k + 1), -1]  # lost = -1
    fr, to = np.meshgrid(pos, pos, indexing="ij")
    gap = to - fr
    terminal_to = np.where((to >= k) | (to < 0), "outcome_change", "reopen")
    kind = np.select(
        [(fr >= k) | (fr < 0), to < 0, to == k, gap == 1, gap > 1, gap < 0],
        [terminal_to, "loss", "win", "forward", "skip", "regression"],
        "repeat",
    )
    skipped = np.where((fr < k) & (fr >= 0) & (to >= 0), np.maximum(gap - 1, 0), 0)
    return kind, skipped.astype("int64")


def _absorb(counts: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """``(…, K, K+2)`` exit counts from open stages → ``(…, K, 3)`` P(won), P(lost), P(unresolved).

    A stage with no exits, or one that cannot reach won or lost, is *unresolved*: its own
    probabilities are NaN and the chance of ending there is reported as unresolved.
    """
    exits = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(exits > 0, counts / exits, 0.0)
    q, r = p[..., :k], p[..., k:]
    dead = exits[..., 0] == 0
    reach = dead | (r.sum(axis=-1) > 0)
    for _ in range(k):  # states that can reach an absorbing one (K steps suffice)
        reach = reach | ((q > 0) & reach[..., None, :]).any(axis=-1)
    dead = dead | ~reach
    q = np.where(dead[..., None], 0.0, q)
    rhs = np.concatenate([np.where(dead[..., None], 0.0, r), dead[..., None] * 1.0], axis=-1)
    b = np.linalg.solve(np.eye(k) - q, rhs)
    b[..., :2] = np.where(dead[..., None], np.nan, b[..., :2])
    b[..., 2] = np.where(dead, np.nan, b[..., 2])
    return b


@dataclass(frozen=True, eq=False)
class TransitionResult:
    """Stage transitions and the probability of eventually winning from each stage.

    Attributes
    ----------
    table
        One row per observed (segment, from_stage, to_stage): ``kind``, ``skipped``,
        ``transitions``, ``deals`` (distinct deals), ``probability`` (share of exits from
        ``from_stage``).
    rates
        Per (segment, stage): ``entries``, ``exits``, counts per kind, ``skip_rate`` and
        ``regression_rate`` (of exits) and ``reopen_rate`` (of entries, won/lost only),
        each with Wilson ``_low``/``_high`` bounds.
    win_probability
        Per (segment, open stage): Markov ``p_win`` with bootstrap ``p_win_low``/``high``,
        ``p_lost``, ``p_unresolved``; ``crm_probability`` and ``crm_source``; the empirical
        share won among closed deals that entered the stage (``empirical_win``, Wilson
        bounds, ``closed``, ``still_open``).
    stages
        Stage order (open stages, won, lost).
    view, counting, assumption
        What the figures are: transitions between consecutive entries, and the Markov caveat.
    n_deals, n_bootstrap, seed, confidence
        Deals with history, bootstrap replicates, seed used and interval coverage.
    caveats
        Caveats that apply (a ``latest_per_stage`` export hides repeated visits).
    """

    table: pd.DataFrame
    rates: pd.DataFrame
    win_probability: pd.DataFrame
    stages: tuple[str, ...]
    n_deals: int
    n_bootstrap: int
    seed: int | None
    confidence: float
    caveats: tuple[str, ...] = ()
    view: str = "transitions"
    counting: str = "transitions: consecutive stage entries of one deal (every visit counts)"
    assumption: str = MEMORYLESS

    @property
    def matrix(self) -> pd.DataFrame:
        """From × to transition counts (index ``(segment, from_stage)``)."""
        return self._pivot("transitions")

    @property
    def probabilities(self) -> pd.DataFrame:
        """Row-normalised from × to probabilities (rows of stages with exits sum to 1)."""
        return self._pivot("probability")

    def _pivot(self, value: str) -> pd.DataFrame:
        m = self.table.pivot_table(
            index=["segment", "from_stage"], columns="to_stage", values=value, aggfunc="sum"
        )
        segs = self.rates["segment"].unique()
        full = pd.MultiIndex.from_product([segs, self.stages], names=["segment", "from_stage"])
        return m.reindex(index=full, columns=list(self.stages)).fillna(0.0)

    def summary(self) -> pd.DataFrame:
        """Per stage: exits, skip and regression rates, Markov vs CRM vs empirical win chance."""
        rates = self.rates[["segment", "stage", "exits", "skip_rate", "regression_rate"]]
        cols = ["segment", "stage", "p_win", "p_win_low", "p_win_high"]
        cols += ["crm_probability", "empirical_win", "still_open"]
        out = self.win_probability[cols].merge(rates, on=["segment", "stage"], how="left")
        return out.round(4)

    def _repr_html_(self) -> str:
        notes = " ".join((self.assumption, *self.caveats))
        head = html.escape(f"Stage transitions ({self.n_deals:,} deals). {notes}")
        return f"<p><strong>{head}</strong></p>" + self.summary().to_html(escape=True, index=False)


def transition_matrix(
    dataset: Dataset,
    *,
    by: str | Sequence[str] | None = None,
    n_bootstrap: int = 1000,
    seed: int | np.random.Generator | None = None,
    confidence: float = 0.95,
) -> TransitionResult:
    """From × to stage transitions, skip/regression/reopen rates and P(win) from each stage.

    Parameters
    ----------
    dataset
        A dataset with stage history (``fidelity`` other than ``current_state``).
    by
        Deal column(s) to segment by; each segment gets its own chain.
    n_bootstrap
        Deal-level bootstrap replicates for the interval of the Markov win probability
        (0: no interval).
    seed
        Seed or generator of the bootstrap.
    confidence
        Coverage of every interval.

    Returns
    -------
    TransitionResult

    Examples
    --------
    >>> from salesanalytics import sample
    >>> res = transition_matrix(sample.generate(500, seed=3), n_bootstrap=200, seed=0)
    >>> wp = res.win_probability.set_index("stage")
    >>> bool(((wp["p_win"] + wp["p_lost"]).round(9) == 1).all())
    True
    >>> sorted(res.table["kind"].unique())[:3]
    ['forward', 'loss', 'regression']
    """
    dataset.require_history("transition_matrix")
    rng = np.random.default_rng(seed)
    h = _history(dataset)
    deals = dataset.deals
    seg_code, labels = _deal_segments(h, deals, by)
    outcome = np.where(h.row >= 0, _codes(deals["outcome"], ("open", "won", "lost"))[h.row], -1)
    row_seg, _ = _segments(deals, by)
    parts = [
        _one_segment(
            dataset, h, seg_code == i, row_seg == i, outcome, label, n_bootstrap, rng, confidence
        )
        for i, label in enumerate(labels)
    ]
    return TransitionResult(
        table=pd.concat([p[0] for p in parts], ignore_index=True),
        rates=pd.concat([p[1] for p in parts], ignore_index=True),
        win_probability=pd.concat([p[2] for p in parts], ignore_index=True),
        stages=h.stages,
        n_deals=len(h.deal_ids),
        n_bootstrap=n_bootstrap,
        seed=seed if isinstance(seed, int) else None,
        confidence=confidence,
        caveats=(LATEST_ONLY,) if dataset.provenance.fidelity == "latest_per_stage" else (),
    )


def _one_segment(
    dataset: Dataset,
    h: _History,
    in_seg: NDArray[np.bool_],
    rows: NDArray[np.bool_],
    outcome: IntArray,
    label: str,
    n_bootstrap: int,
    rng: np.random.Generator,
    confidence: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    k, s = len(h.stages) - 2, len(h.stages)
    ev = in_seg[h.deal]
    deal, stage = h.deal[ev], h.stage[ev]
    same = deal[1:] == deal[:-1]
    fr, to, who = stage[:-1][same], stage[1:][same], deal[:-1][same]
    cell = fr * s + to
    counts = np.bincount(cell, minlength=s * s).astype("float64")
    deals_per_cell = np.bincount(_distinct(who * s * s + cell)[0] % (s * s), minlength=s * s)
    kind, skipped = _kinds(k)
    grid = counts.reshape(s, s)
    exits = grid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(exits[:, None] > 0, grid / exits[:, None], np.nan)
    nz = np.flatnonzero(counts)
    table = pd.DataFrame(
        {
            "segment": label,
            "from_stage": np.asarray(h.stages)[nz // s],
            "to_stage": np.asarray(h.stages)[nz % s],
            "kind": kind.ravel()[nz],
            "skipped": skipped.ravel()[nz],
            "transitions": counts[nz].astype("int64"),
            "deals": deals_per_cell[nz],
            "probability": prob.ravel()[nz],
        }
    )
    entries = np.bincount(stage, minlength=s)
    rates = _rates(label, h.stages, grid, kind, skipped, entries, confidence)
    # --- Markov chain on exits from open stages, and its deal-level bootstrap
    chain = _absorb(grid[:k][None], k)[0]
    p_low = p_high = np.full(k, np.nan)
    if n_bootstrap > 0 and len(who):
        boot = _bootstrap(who, cell, fr < k, int(in_seg.sum()), k, s, n_bootstrap, rng)
        with warnings.catch_warnings():  # a stage without exits in every replicate: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            a = (1.0 - confidence) / 2.0
            p_low, p_high = np.nanquantile(boot, [a, 1.0 - a], axis=0)
    # --- empirical share won among closed deals that entered each stage
    entered = _distinct(deal * s + stage)[0]
    ent_deal, ent_stage = entered // s, entered % s
    won, lost, still_open = (
        np.bincount(ent_stage[outcome[ent_deal] == i], minlength=s)[:k] for i in (1, 2, 0)
    )
    closed = won + lost
    e_low, e_high = rate_interval(won, closed, confidence=confidence)
    crm, source = _crm_probability(dataset, h, rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        win = pd.DataFrame(
            {
                "segment": label,
                "stage": h.stages[:k],
                "p_win": chain[:, 0],
                "p_win_low": p_low,
                "p_win_high": p_high,
                "p_lost": chain[:, 1],
                "p_unresolved": chain[:, 2],
                "crm_probability": crm,
                "crm_source": source,
                "empirical_win": np.where(closed > 0, won / closed, np.nan),
                "empirical_low": e_low,
                "empirical_high": e_high,
                "closed": closed,
                "still_open": still_open,
            }
        )
    return table, rates, win


def _rates(
    label: str,
    stages: tuple[str, ...],
    grid: NDArray[np.float64],
    kind: NDArray[np.str_],
    skipped: IntArray,
    entries: IntArray,
    confidence: float,
) -> pd.DataFrame:
    k = len(stages) - 2
    per_kind = {
        name: (grid * (kind == name)).sum(axis=1).astype("int64")
        for name in ("forward", "skip", "regression", "win", "loss", "reopen")
    }
    exits = grid.sum(axis=1).astype("int64")
    jumps = (grid * (skipped > 0)).sum(axis=1).astype("int64")
    terminal = np.arange(len(stages)) >= k
    out = pd.DataFrame({"segment": label, "stage": stages, "entries": entries, "exits": exits})
    for name, v in per_kind.items():
        out[name] = v
    for name, num, den in (
        ("skip_rate", jumps, np.where(terminal, 0, exits)),
        ("regression_rate", per_kind["regression"], np.where(terminal, 0, exits)),
        ("reopen_rate", per_kind["reopen"], np.where(terminal, entries, 0)),
    ):
        low, high = rate_interval(num, den, confidence=confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(den > 0, num / den, np.nan)
        out[f"{name[:-5]}_low"], out[f"{name[:-5]}_high"] = low, high
    return out


def _bootstrap(
    who: IntArray,
    cell: IntArray,
    from_open: NDArray[np.bool_],
    n_deals: int,
    k: int,
    s: int,
    n_boot: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """``(n_boot, K)`` P(win) per replicate: resample deals via their distinct transition patterns.

    Deals with the same multiset of transitions are interchangeable, so drawing how many
    copies of each distinct pattern a replicate holds (one multinomial) is an exact deal-level
    bootstrap that costs O(patterns), not O(deals), per replicate.
    """
    c = k * s
    pairs, cnt = _distinct(who[from_open] * c + cell[from_open])  # (deal, cell) -> moves
    row = np.cumsum(np.r_[True, pairs[1:] // c != pairs[:-1] // c]) - 1 if len(pairs) else pairs
    per_deal = np.zeros((int(row[-1]) + 1 if len(row) else 0, c), dtype=np.int32)
    per_deal[row, pairs % c] = cnt
    # one integer per distinct row (mixed radix over the columns, re-ranked before overflow)
    pid = np.zeros(len(per_deal), dtype=np.int64)
    for j in np.flatnonzero(per_deal.any(axis=0)):
        base = int(per_deal[:, j].max()) + 1
        if int(pid.max(initial=0)) >= 2**62 // base:
            pid = np.searchsorted(_distinct(pid)[0], pid)
        pid = pid * base + per_deal[:, j]
    order = np.argsort(pid, kind="stable")
    starts = np.flatnonzero(np.r_[True, pid[order][1:] != pid[order][:-1]]) if len(pid) else pid
    patterns, freq = per_deal[order[starts]], np.diff(np.r_[starts, len(pid)])
    zero = n_deals - len(per_deal)  # deals with no exit from an open stage
    patterns = np.vstack([patterns, np.zeros((1, c), dtype=np.int32)])
    freq = np.r_[freq, zero].astype("float64")
    w = rng.multinomial(n_deals, freq / freq.sum(), size=n_boot).astype("float64")
    boot = (w @ patterns.astype("float64")).reshape(n_boot, k, s)
    return _absorb(boot, k)[..., 0]


def _crm_probability(
    dataset: Dataset, h: _History, rows: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], list[str]]:
    """Mean ``crm_probability`` of open deals now at each stage, else the stage model's value."""
    model, deals = dataset.stages, dataset.deals
    k = len(model.stages)
    now = _codes(deals["stage"], model.stages)
    if (now < 0).any() and len(h.deal):  # no current stage: the last recorded entry
        last = np.r_[h.deal[1:] != h.deal[:-1], True]
        known = h.row[h.deal[last]] >= 0
        latest = np.full(len(deals), -1)
        latest[h.row[h.deal[last]][known]] = h.stage[last][known]
        now = np.where(now >= 0, now, np.where(latest < k, latest, -1))
    prob = deals["crm_probability"].to_numpy(dtype="float64", na_value=np.nan)
    take = rows & deals["outcome"].eq("open").to_numpy() & (now >= 0) & ~np.isnan(prob)
    n = np.bincount(now[take], minlength=k)
    total = np.bincount(now[take], weights=prob[take], minlength=k)
    crm, source = np.full(k, np.nan), ["none"] * k
    for i, name in enumerate(model.stages):
        if n[i]:
            crm[i], source[i] = total[i] / n[i], f"export (mean of {n[i]} open deals)"
        elif name in model.probabilities:
            crm[i], source[i] = model.probabilities[name], "stage model"
    return crm, source
