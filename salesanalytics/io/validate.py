"""Checks across rows, files and tables, after each file has been parsed.

Rejects: duplicate keys (the first row wins), closed before created, periods or employments
that end before they start, stage events of deals that are not loaded (orphans), activities
with neither a lead nor a deal. Merges: consecutive repeats of a deal's stage. Warnings:
everything that loads but deserves a look (see :data:`salesanalytics.quality.PROBLEMS`).

All checks are vectorised; the functions here never touch files.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..dataset import latest_timestamp
from ..quality import QualityLog
from ..schema import TABLES
from ..stages import StageModel
from .canonical import FILE, LINE

__all__ = ["STALE_AFTER", "validate_tables"]

STALE_AFTER = pd.Timedelta(days=90)
"""An open deal with no stage change for this long gets a ``stale_open_deal`` warning."""


def _where(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> tuple[np.ndarray, list[str]]:
    m = np.asarray(mask, dtype=bool)
    return frame[LINE].to_numpy()[m], frame[FILE].to_numpy()[m].tolist()


def _log(
    log: QualityLog,
    table: str,
    frame: pd.DataFrame,
    mask: np.ndarray | pd.Series,
    column: str | None,
    code: str,
    detail: str | list[str] | None = None,
    values: pd.Series | None = None,
) -> None:
    """Log ``code`` for the masked rows of ``frame``, grouped by source file."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return
    sub = frame.loc[m]
    vals: pd.Series | None = (
        values[m]
        if values is not None
        else sub[column]
        if column is not None and column in sub.columns
        else None
    )
    if vals is not None and isinstance(vals.dtype, pd.DatetimeTZDtype):
        vals = vals.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    det = (
        None
        if detail is None
        else (pd.Series(detail, dtype="str")[m] if not isinstance(detail, str) else detail)
    )
    for file, idx in sub.groupby(FILE, sort=False).indices.items():
        log.add(
            table,
            str(file),
            sub[LINE].to_numpy()[idx],
            column,
            None if vals is None else vals.iloc[idx],
            code,
            det if isinstance(det, str) or det is None else det.iloc[idx].tolist(),
        )


def _drop(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> pd.DataFrame:
    return frame.loc[~np.asarray(mask, dtype=bool)].reset_index(drop=True)


def _duplicates(table: str, frame: pd.DataFrame, log: QualityLog) -> pd.DataFrame:
    key = list(TABLES[table].key)
    if not key or frame.empty:
        return frame
    dup = frame.duplicated(key, keep="first").to_numpy()
    if dup.any():
        first = frame.drop_duplicates(key, keep="first").set_index(key)
        where = first[FILE] + ":" + first[LINE].astype("str")
        firsts = frame.loc[dup, key].merge(where.rename("w").reset_index(), on=key, how="left")["w"]
        detail = np.full(len(frame), "", dtype=object)
        detail[dup] = ("first at " + firsts).to_numpy()
        _log(log, table, frame, dup, key[0], "duplicate_id", list(detail))
    return _drop(frame, dup)


def _ordered(
    table: str,
    frame: pd.DataFrame,
    start: str,
    end: str,
    code: str,
    log: QualityLog,
    strict: bool = False,
) -> pd.DataFrame:
    if start not in frame.columns or end not in frame.columns:
        return frame
    wrong = (frame[end] <= frame[start]) if strict else (frame[end] < frame[start])
    bad = wrong.fillna(False).to_numpy(dtype=bool)
    _log(log, table, frame, bad, end, code)
    return _drop(frame, bad)


def _stage_events(events: pd.DataFrame, deals: pd.DataFrame, log: QualityLog) -> pd.DataFrame:
    orphan = ~events["deal_id"].isin(deals["deal_id"]).to_numpy()
    _log(log, "stage_events", events, orphan, "deal_id", "orphan_event")
    events = _drop(events, orphan)
    events = events.sort_values(["deal_id", "entered_at", FILE, LINE], kind="stable")
    events = events.reset_index(drop=True)
    same_deal = events["deal_id"].eq(events["deal_id"].shift())
    repeat = (same_deal & events["stage"].eq(events["stage"].shift())).to_numpy()
    if repeat.any():
        # the row each repeat is folded into: the first row of its run
        run_start = pd.Series(np.where(repeat, np.nan, np.arange(len(events))))
        into = run_start.ffill().astype("int64").to_numpy()
        target = events[FILE].to_numpy()[into].astype(str)
        detail = np.char.add(
            np.char.add("merged into ", target),
            np.char.add(":", events[LINE].to_numpy()[into].astype(str)),
        )
        _log(log, "stage_events", events, repeat, "stage", "repeated_stage", list(detail))
    events = _drop(events, repeat)
    created = events["deal_id"].map(deals.set_index("deal_id")["created_at"])
    early = (events["entered_at"] < created).fillna(False).to_numpy(dtype=bool)
    _log(log, "stage_events", events, early, "entered_at", "event_before_created")
    return events


def _deals_against_events(
    deals: pd.DataFrame, events: pd.DataFrame | None, stages: StageModel, log: QualityLog
) -> pd.DataFrame:
    closed = deals["outcome"].isin(["won", "lost"]).to_numpy()
    if events is not None and not events.empty:
        last = events.groupby("deal_id", sort=False).tail(1).set_index("deal_id")
        last_stage = deals["deal_id"].map(last["stage"])
        last_time = deals["deal_id"].map(last["entered_at"])
        terminal_kind = last_stage.map({stages.won: "won", stages.lost: "lost"}).fillna("open")
        has_events = last_stage.notna().to_numpy()
        mismatch = has_events & (terminal_kind != deals["outcome"]).to_numpy()
        _log(
            log,
            "deals",
            deals,
            mismatch,
            "outcome",
            "outcome_stage_mismatch",
            list("last stage event: " + last_stage.fillna("").astype("str")),
        )
        fill = closed & deals["closed_at"].isna().to_numpy() & ~mismatch & has_events
        if fill.any():
            deals = deals.assign(closed_at=deals["closed_at"].mask(fill, last_time))
            log.note(
                f"deals: closed_at taken from the won/lost stage event for {int(fill.sum())} "
                "deal(s)"
            )
    no_date = closed & deals["closed_at"].isna().to_numpy()
    _log(log, "deals", deals, no_date, "closed_at", "closed_without_date")
    open_dated = (~closed) & deals["closed_at"].notna().to_numpy()
    if open_dated.any():
        _log(
            log,
            "deals",
            deals,
            open_dated,
            "closed_at",
            "open_with_close_date",
            "moved to expected_close_at",
        )
        expected = deals["expected_close_at"].fillna(deals["closed_at"])
        deals = deals.assign(
            expected_close_at=expected.where(open_dated, deals["expected_close_at"]),
            closed_at=deals["closed_at"].mask(open_dated),
        )
    return deals


def _deal_warnings(
    deals: pd.DataFrame,
    events: pd.DataFrame | None,
    reps: pd.DataFrame | None,
    as_of: pd.Timestamp | None,
    log: QualityLog,
) -> None:
    is_open = deals["outcome"].eq("open").to_numpy()
    no_amount = deals["amount"].isna().to_numpy()
    _log(
        log,
        "deals",
        deals,
        no_amount & deals["outcome"].eq("won").to_numpy(),
        "amount",
        "won_without_amount",
    )
    _log(
        log,
        "deals",
        deals,
        no_amount & ~deals["outcome"].eq("won").to_numpy(),
        "amount",
        "missing_amount",
    )
    currencies = deals["currency"].dropna().value_counts()
    if len(currencies) > 1:
        shares = ", ".join(f"{c} {n}" for c, n in currencies.items())
        log.add("deals", None, None, "currency", None, "mixed_currencies", shares)
    if reps is not None:
        unknown = ~deals["owner_id"].isin(reps["rep_id"]).to_numpy()
        _log(log, "deals", deals, unknown, "owner_id", "unknown_owner")
    if as_of is None:
        return
    past = is_open & (deals["expected_close_at"] < as_of).fillna(False).to_numpy(dtype=bool)
    _log(log, "deals", deals, past, "expected_close_at", "past_expected_close")
    if events is not None and not events.empty:
        moved = deals["deal_id"].map(events.groupby("deal_id")["entered_at"].max())
        since = moved.fillna(deals["created_at"])
    else:
        since = deals["created_at"]
    stale = is_open & ((as_of - since) > STALE_AFTER).fillna(False).to_numpy(dtype=bool)
    _log(
        log,
        "deals",
        deals,
        stale,
        None,
        "stale_open_deal",
        f"no stage change for over {STALE_AFTER.days} days before {as_of.date()}",
    )


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    stages: StageModel,
    as_of: pd.Timestamp | None,
    log: QualityLog,
) -> tuple[dict[str, pd.DataFrame], pd.Timestamp | None]:
    """Run the cross-row checks; returns the loaded tables (without ``_file``/``_line``).

    Every row removed here is logged, and ``log`` receives the loaded counts.
    """
    out = {name: _duplicates(name, frame, log) for name, frame in tables.items()}
    orders = {
        "deals": ("created_at", "closed_at", "closed_before_created", False),
        "reps": ("hire_date", "end_date", "end_before_start", False),
        "quotas": ("period_start", "period_end", "end_before_start", True),
    }
    for name, (start, end, code, strict) in orders.items():
        if name in out:
            out[name] = _ordered(name, out[name], start, end, code, log, strict)
    if "leads" in out:
        leads = out["leads"]
        for col in ("first_response_at", "converted_at"):
            if col in leads.columns:
                early = (leads[col] < leads["created_at"]).fillna(False).to_numpy(dtype=bool)
                _log(log, "leads", leads, early, col, "dates_out_of_order")
    if "activities" in out:
        acts = out["activities"]
        cols = [c for c in ("lead_id", "deal_id") if c in acts.columns]
        none = acts[cols].isna().all(axis=1).to_numpy() if cols else np.ones(len(acts), bool)
        _log(log, "activities", acts, none, None, "no_reference")
        out["activities"] = _drop(acts, none)
    deals = out["deals"]
    events = out.get("stage_events")
    if events is not None:
        events = out["stage_events"] = _stage_events(events, deals, log)
    deals = out["deals"] = _deals_against_events(deals, events, stages, log)
    if as_of is None:
        as_of = latest_timestamp(out)
    _deal_warnings(deals, events, out.get("reps"), as_of, log)
    for name, frame in out.items():
        log.count_loaded(name, len(frame))
        out[name] = frame.drop(columns=[LINE, FILE])
    return out, as_of
