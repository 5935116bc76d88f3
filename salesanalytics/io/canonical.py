"""Turn one raw file (all text) into rows of one canonical table, logging every problem.

This is the per-file half of validation: header mapping, value parsing and the checks that
need only one row at a time. Checks across rows, files and tables (duplicates, orphans,
history collapse, warnings that need the as-of date) live in :mod:`.validate`.

A value that cannot be read rejects its row when the column is required, is a timestamp or
holds money; in other optional columns it becomes missing with an ``unreadable_value``
warning, so a bad lead score does not take a deal out of the funnel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..quality import DataError, QualityLog
from ..schema import TABLES, Column, TableSpec
from ..stages import StageModel, label_key
from . import parse
from .mapping import ColumnMapping
from .readers import RawTable
from .write import unneutralise

__all__ = ["MONEY_COLUMNS", "ParseOptions", "parse_table"]

MONEY_COLUMNS = frozenset({"amount", "cost", "quota", "base_salary", "target_incentive"})
MAY_BE_EMPTY = frozenset({"amount"})
"""Required columns whose empty cells warn instead of reject (CRMs keep open deals unpriced)."""
FRACTION_COLUMNS = frozenset({"margin", "crm_probability"})
LINE, FILE = "_line", "_file"

OUTCOME_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(
        ["open", "inprogress", "active", "pending", "进行中", "跟进中", "未结束"], "open"
    ),
    **dict.fromkeys(["won", "closedwon", "win", "success", "赢单", "成交", "已成交", "赢"], "won"),
    **dict.fromkeys(
        ["lost", "closedlost", "lose", "loss", "输单", "丢单", "失败", "无效", "输"],
        "lost",
    ),
}
DEAL_TYPE_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(["new", "newbusiness", "newcustomer", "新签", "新客户", "新购"], "new"),
    **dict.fromkeys(["renewal", "renew", "续约", "续费", "续签"], "renewal"),
    **dict.fromkeys(
        [
            "expansion",
            "upsell",
            "upgrade",
            "crosssell",
            "addon",
            "existingbusiness",
            "existingcustomerupgrade",
            "增购",
            "扩展",
            "加购",
        ],
        "expansion",
    ),
}
ACTIVITY_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(["call", "phone", "phonecall", "电话", "致电"], "call"),
    **dict.fromkeys(["email", "mail", "邮件"], "email"),
    **dict.fromkeys(["meeting", "demo", "会议", "会面"], "meeting"),
    **dict.fromkeys(["visit", "onsite", "fieldvisit", "拜访", "上门"], "visit"),
    **dict.fromkeys(["message", "sms", "chat", "wechat", "微信", "短信"], "message"),
}


@dataclass(frozen=True)
class ParseOptions:
    """How to read values: time zone of naive timestamps, day/month order, default currency."""

    timezone: str = "UTC"
    dayfirst: bool | None = None
    currency: str | None = None


def _rejects_on_bad(col: Column) -> bool:
    return col.required or col.kind == "time" or col.name in MONEY_COLUMNS


def _map_values(values: pd.Series, aliases: Mapping[str, str]) -> tuple[pd.Series, np.ndarray]:
    """Map raw labels through ``aliases`` (keys in label_key form); unknown -> NaN + mask."""
    lookup = {u: aliases.get(label_key(u)) for u in pd.unique(values.dropna())}
    out = values.map(lookup).astype("str")
    return out, (values.notna() & out.isna()).to_numpy()


class _TableParser:
    """Parses the columns of one raw table; rows to reject accumulate in ``self.bad``."""

    def __init__(
        self,
        raw: RawTable,
        spec: TableSpec,
        mapping: ColumnMapping,
        options: ParseOptions,
        log: QualityLog,
    ) -> None:
        self.raw, self.spec, self.mapping, self.options, self.log = raw, spec, mapping, options, log
        self.lines = np.asarray(raw.lines, dtype="int64")
        self.bad = np.zeros(len(raw.frame), dtype=bool)
        self.currency_from_amount: pd.Series | None = None

    def problem(
        self,
        mask: np.ndarray,
        column: str | None,
        values: pd.Series | None,
        code: str,
        detail: str | None = None,
    ) -> None:
        if mask.any():
            vals = None if values is None else values[mask]
            self.log.add(
                self.spec.name, self.raw.source, self.lines[mask], column, vals, code, detail
            )
            if code != "unreadable_value" and code != "ambiguous_dates":
                self.bad |= mask

    def unreadable(
        self, col: Column, raw: pd.Series, mask: np.ndarray, code: str, detail: str | None = None
    ) -> None:
        if _rejects_on_bad(col):
            self.problem(mask, col.name, raw, code, detail)
        else:
            self.problem(mask, col.name, raw, "unreadable_value", detail)

    def column(self, col: Column, raw: pd.Series, header: str) -> pd.Series:
        name = self.spec.name
        mapped = self.mapping.values(name, col.name)
        if mapped:
            keyed = {label_key(k): v for k, v in mapped.items()}
            lookup = {u: keyed.get(label_key(u), u) for u in pd.unique(raw.dropna())}
            raw = raw.map(lookup).astype("str")
        if col.kind == "time":
            res = parse.parse_datetimes(
                raw, tz=self.options.timezone, dayfirst=self.options.dayfirst
            )
            if res.note:
                self.log.add(
                    name, self.raw.source, None, col.name, None, "ambiguous_dates", res.note
                )
            if res.format != "ISO 8601":
                self.log.note(f"{self.raw.source}: {col.name} read as {res.format}")
            self.unreadable(col, raw, res.bad, "bad_datetime")
            return res.values
        if col.kind == "float":
            return self._number(col, raw, header)
        if col.kind == "choice":
            aliases = {
                "outcome": OUTCOME_ALIASES,
                "deal_type": DEAL_TYPE_ALIASES,
                "kind": ACTIVITY_ALIASES,
            }[col.name]
            values, unknown = _map_values(raw, aliases)
            if col.name == "kind":  # activities of other kinds are kept as "other"
                return values.mask(unknown, "other")
            self.unreadable(
                col,
                raw,
                unknown,
                "unknown_outcome" if col.name == "outcome" else "unreadable_value",
                f"allowed: {', '.join(col.choices)}",
            )
            return values
        return raw

    def _number(self, col: Column, raw: pd.Series, header: str) -> pd.Series:
        factor = self.mapping.units(self.spec.name).get(col.name)
        if col.name in MONEY_COLUMNS:
            res = parse.parse_amounts(raw)
            factor = factor or parse.amount_unit_from_header(header)
            if factor != 1:
                self.log.note(f"{self.raw.source}: {col.name} multiplied by {factor:g} ({header})")
            self.unreadable(col, raw, res.bad, "bad_amount")
            values = res.values * factor
            if res.currency is not None and col.name == "amount":
                self.currency_from_amount = res.currency
            negative = (values < 0).to_numpy()
            self.problem(negative & ~res.bad, col.name, raw, "negative_amount")
            return values
        res_n = parse.parse_numbers(raw)
        values = res_n.values
        self.problem(res_n.bad, col.name, raw, "unreadable_value", "not a number")
        if col.name in FRACTION_COLUMNS:
            percent = res_n.percent | (values.max(skipna=True) > 1.0)
            values = values.where(~np.asarray(percent), values / 100.0)
            out = ((values < 0) | (values > 1)).to_numpy()
            self.problem(out, col.name, raw, "unreadable_value", "outside 0-1 (or 0-100%)")
            values = values.mask(out)
        return values

    def run(self, stages: StageModel) -> pd.DataFrame:
        frame = self.raw.frame
        headers = self.mapping.resolve_headers(self.spec.name, list(frame.columns))
        out: dict[str, pd.Series] = {}
        for header, name in headers.items():
            raw = unneutralise(frame[header].reset_index(drop=True))
            if name in self.spec.names:
                out[name] = self.column(self.spec.column(name), raw, header)
            else:
                out[name] = raw
        table = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
        table = self._stages(table, stages)
        table = self._derived(table, stages)
        absent = [c for c in self.spec.required if c not in table.columns]
        if absent:
            raise DataError(
                f"{self.raw.source}: read as {self.spec.name}, but no column maps to "
                f"{', '.join(absent)} (headers: {', '.join(map(str, frame.columns))}). "
                "Map the right headers in a mapping file: [tables."
                f'{self.spec.name}.columns] "Your Header" = "{absent[0]}".'
            )
        for col in self.spec.required:
            if col in MAY_BE_EMPTY:
                continue
            missing = table[col].isna().to_numpy() & ~self.bad
            self.problem(missing, col, None, "missing_required")
        table[LINE] = self.lines
        table[FILE] = self.raw.source
        return table.loc[~self.bad].reset_index(drop=True)

    def _stages(self, table: pd.DataFrame, stages: StageModel) -> pd.DataFrame:
        if "stage" not in table.columns:
            return table
        pipelines = table["pipeline"] if "pipeline" in table.columns else None
        names, unknown = stages.normalize(table["stage"], pipelines)
        self.problem(unknown, "stage", table["stage"], "unknown_stage")
        return table.assign(stage=names)

    def _derived(self, table: pd.DataFrame, stages: StageModel) -> pd.DataFrame:
        if self.spec.name != "deals":
            return table
        if "stage" in table.columns:
            st = table["stage"]
            kinds = np.where(st == stages.won, "won", np.where(st == stages.lost, "lost", "open"))
            from_stage = pd.Series(kinds, index=table.index, dtype="str").where(st.notna())
            if "outcome" in table.columns:
                table = table.assign(outcome=table["outcome"].fillna(from_stage))
            else:
                table = table.assign(outcome=from_stage.astype("str"))
        currency = self.currency_from_amount
        if currency is not None:
            have = (
                table["currency"]
                if "currency" in table.columns
                else pd.Series(np.nan, index=table.index, dtype="str")
            )
            table = table.assign(currency=have.fillna(currency))
        if self.options.currency:
            if "currency" in table.columns:
                table = table.assign(currency=table["currency"].fillna(self.options.currency))
            else:
                table = table.assign(currency=self.options.currency)
        return table


def parse_table(
    raw: RawTable,
    table: str,
    mapping: ColumnMapping,
    stages: StageModel,
    options: ParseOptions,
    log: QualityLog,
) -> pd.DataFrame:
    """Parse one raw file as ``table``: canonical columns parsed, extras kept as text.

    Returns the rows that passed the per-row checks, with ``_file`` and ``_line`` columns
    telling where each came from. Malformed rows the reader set aside are logged as
    rejects here. Every input row is counted in ``log``.
    """
    spec = TABLES[table]
    log.count_in(table, len(raw.frame) + len(raw.bad_rows))
    if raw.bad_rows:
        log.add(
            table,
            raw.source,
            [b.line for b in raw.bad_rows],
            None,
            [b.raw[:200] for b in raw.bad_rows],
            "malformed_row",
            [b.reason for b in raw.bad_rows],
        )
    return _TableParser(raw, spec, mapping, options, log).run(stages)
