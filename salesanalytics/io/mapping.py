"""Column mappings: how an export's headers, files and values map onto the canonical tables.

A mapping is a dict or a TOML file. Every part is optional::

    [options]
    timezone = "Asia/Shanghai"   # zone of naive timestamps (stored as UTC)
    dayfirst = false             # day/month order when a date column is ambiguous
    encoding = "gb18030"         # force an encoding (default: detected)
    currency = "CNY"             # currency of amounts when the export has none
    as_of = "2025-12-31"         # the moment the export describes

    [files]                      # file name (or glob) -> table
    "商机导出.csv" = "deals"

    [columns]                    # header -> canonical column, in every table
    "商机编号" = "deal_id"

    [tables.deals.columns]       # header -> canonical column, in one table
    "金额（万元）" = "amount"

    [tables.deals.units]         # multiply a numeric column (10000 for 万元)
    amount = 10000

    [tables.deals.values.outcome]  # raw value -> canonical value
    "进行中" = "open"

    [stages]                     # the stage model (see StageModel.from_dict)
    order = ["线索", "初步接洽", "方案", "谈判"]
    won = "赢单"
    lost = "输单"
    [stages.aliases]
    "Demo Done" = "方案"

Headers not mentioned still map when they *are* a canonical name in another spelling:
``"Deal ID"``, ``"deal-id"`` and ``"DealId"`` all become ``deal_id``.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..quality import DataError
from ..schema import TABLES
from ..stages import StageModel, label_key

__all__ = ["ColumnMapping", "header_key", "thaw"]

_SECTIONS = {"options", "files", "columns", "tables", "stages"}
_OPTIONS = {"timezone", "dayfirst", "encoding", "currency", "as_of"}
_TABLE_KEYS = {"columns", "units", "values"}


def header_key(header: str) -> str:
    """Normalise a header for matching (same rule as stage labels).

    Examples
    --------
    >>> header_key("Deal ID"), header_key("deal_id"), header_key(" 商机编号 ")
    ('dealid', 'dealid', '商机编号')
    """
    return label_key(header)


def thaw(d: Mapping[str, Any]) -> dict[str, Any]:
    """A plain, mutable deep copy of a (frozen) mapping.

    Examples
    --------
    >>> thaw(ColumnMapping.from_dict({"columns": {"Id": "deal_id"}}).columns)
    {'Id': 'deal_id'}
    """
    return {k: thaw(v) if isinstance(v, Mapping) else v for k, v in d.items()}


def _freeze(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({k: _freeze(v) if isinstance(v, Mapping) else v for k, v in d.items()})


@dataclass(frozen=True)
class ColumnMapping:
    """A parsed, validated mapping (see the module docstring for the file format).

    Examples
    --------
    >>> m = ColumnMapping.from_dict({"columns": {"Opportunity ID": "deal_id"}})
    >>> m.resolve_headers("deals", ["Opportunity ID", "Created At", "Colour"])
    {'Opportunity ID': 'deal_id', 'Created At': 'created_at', 'Colour': 'colour'}
    """

    options: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    stages: Mapping[str, Any] = field(default_factory=dict)
    origin: str = "<dict>"

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], origin: str = "<dict>") -> ColumnMapping:
        """Validate a mapping dict; errors name ``origin``, the section and the key."""

        def fail(where: str, what: str, fix: str) -> DataError:
            return DataError(f"{origin}: {where}: {what}. {fix}")

        unknown = set(spec) - _SECTIONS
        if unknown:
            raise fail(
                "top level",
                f"unknown section(s) {sorted(unknown)}",
                f"Allowed sections: {sorted(_SECTIONS)}.",
            )
        options = dict(spec.get("options", {}))
        bad = set(options) - _OPTIONS
        if bad:
            raise fail(
                "[options]",
                f"unknown option(s) {sorted(bad)}",
                f"Allowed options: {sorted(_OPTIONS)}.",
            )
        if "dayfirst" in options and not isinstance(options["dayfirst"], bool):
            raise fail("[options] dayfirst", "must be true or false", "Write dayfirst = true.")
        files = {str(k): str(v) for k, v in spec.get("files", {}).items()}
        for name, table in files.items():
            if table not in TABLES:
                raise fail(
                    f"[files] {name!r}", f"unknown table {table!r}", f"Use one of {list(TABLES)}."
                )
        columns = {str(k): str(v) for k, v in spec.get("columns", {}).items()}
        all_names = {c for t in TABLES.values() for c in t.names}
        for header, name in columns.items():
            if name not in all_names:
                raise fail(
                    f"[columns] {header!r}",
                    f"unknown canonical column {name!r}",
                    "See docs/data-model.md for the canonical column names.",
                )
        tables: dict[str, dict[str, Any]] = {}
        for table, sub in spec.get("tables", {}).items():
            if table not in TABLES:
                raise fail(f"[tables.{table}]", "unknown table", f"Use one of {list(TABLES)}.")
            extra = set(sub) - _TABLE_KEYS
            if extra:
                raise fail(
                    f"[tables.{table}]",
                    f"unknown key(s) {sorted(extra)}",
                    f"Allowed: {sorted(_TABLE_KEYS)}.",
                )
            names = TABLES[table].names
            for header, name in sub.get("columns", {}).items():
                if name not in names:
                    raise fail(
                        f"[tables.{table}.columns] {header!r}",
                        f"{name!r} is not a column of {table}",
                        f"Columns of {table}: {', '.join(names)}.",
                    )
            for col, factor in sub.get("units", {}).items():
                if col not in names or TABLES[table].column(col).kind != "float":
                    raise fail(
                        f"[tables.{table}.units] {col!r}",
                        "not a numeric column",
                        "Units apply to amount, cost, quota and other numbers.",
                    )
                if not isinstance(factor, int | float) or factor <= 0:
                    raise fail(
                        f"[tables.{table}.units] {col!r}",
                        f"factor {factor!r} invalid",
                        "Write a positive number such as 10000 for 万元.",
                    )
            for col in sub.get("values", {}):
                if col not in names:
                    raise fail(
                        f"[tables.{table}.values] {col!r}",
                        f"{col!r} is not a column of {table}",
                        f"Columns of {table}: {', '.join(names)}.",
                    )
            tables[table] = {k: dict(v) for k, v in sub.items()}
        stages = dict(spec.get("stages", {}))
        if stages:
            try:
                StageModel.from_dict(stages)
            except (ValueError, TypeError) as exc:
                raise fail("[stages]", str(exc), "Fix the stage model section.") from exc
        return cls(
            _freeze(options),
            _freeze(files),
            _freeze(columns),
            _freeze(tables),
            _freeze(stages),
            origin,
        )

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ColumnMapping:
        """Read and validate a TOML mapping file."""
        path = Path(path)
        try:
            with path.open("rb") as fh:
                spec = tomllib.load(fh)
        except FileNotFoundError:
            raise DataError(f"{path}: mapping file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(spec, origin=str(path))

    @classmethod
    def coerce(
        cls, mapping: ColumnMapping | Mapping[str, Any] | str | os.PathLike[str] | None
    ) -> ColumnMapping:
        """Accept a mapping object, a dict, a TOML path or ``None``."""
        if mapping is None:
            return cls()
        if isinstance(mapping, ColumnMapping):
            return mapping
        if isinstance(mapping, Mapping):
            return cls.from_dict(mapping)
        return cls.from_toml(mapping)

    # ------------------------------------------------------------------ queries
    def table_for_file(self, name: str) -> str | None:
        """The table a file is assigned to in ``[files]`` (by name or glob)."""
        for pattern, table in self.files.items():
            if name == pattern or fnmatch.fnmatch(name, pattern):
                return table
        return None

    def resolve_headers(self, table: str, headers: list[str]) -> dict[str, str]:
        """Header -> column name for one table: mapped, canonical, or a snake_case extra.

        Raises :class:`DataError` when two headers land on the same name.
        """
        specific = {
            header_key(k): v for k, v in self.tables.get(table, {}).get("columns", {}).items()
        }
        shared = {header_key(k): v for k, v in self.columns.items()}
        canonical = {header_key(c): c for c in TABLES[table].names}
        out: dict[str, str] = {}
        for h in headers:
            k = header_key(h)
            name = specific.get(k) or shared.get(k) or canonical.get(k)
            if name is None or (name not in TABLES[table].names and k not in specific):
                name = "_".join(str(h).strip().split()).lower() or "column"
            out[h] = name
        seen: dict[str, str] = {}
        for h, name in out.items():
            if name in seen:
                raise DataError(
                    f"{table}: headers {seen[name]!r} and {h!r} both map to column {name!r}. "
                    "Map one of them to another name in the mapping file."
                )
            seen[name] = h
        return out

    def units(self, table: str) -> Mapping[str, float]:
        """Multipliers of numeric columns of ``table``."""
        return self.tables.get(table, {}).get("units", {})

    def values(self, table: str, column: str) -> Mapping[str, str]:
        """Raw value -> canonical value for one column."""
        return self.tables.get(table, {}).get("values", {}).get(column, {})

    def stage_model(self, base: StageModel | None) -> StageModel:
        """The stage model: ``base`` (or the default) with this mapping's stage section."""
        if not self.stages:
            return base or StageModel.default()
        model = StageModel.from_dict(self.stages)
        if base is not None and "order" not in self.stages:
            model = base.with_aliases(model.aliases)
        return model

    # ------------------------------------------------------------------ layering
    def to_dict(self) -> dict[str, Any]:
        """The mapping as a plain dict (the TOML structure), without empty sections."""
        parts = {
            "options": self.options,
            "files": self.files,
            "columns": self.columns,
            "tables": self.tables,
            "stages": self.stages,
        }
        return {k: thaw(v) for k, v in parts.items() if v}

    def over(self, base: Mapping[str, Any], origin: str = "<adapter>") -> ColumnMapping:
        """This mapping layered over ``base`` (a mapping dict): where they differ, this wins.

        A header this mapping maps anywhere, or a column it fills in a table, is taken out
        of ``base`` first, so the two never map two headers onto one column. Stage aliases
        add up unless this mapping gives its own stage ``order``.

        Examples
        --------
        >>> user = ColumnMapping.from_dict({"columns": {"Owner": "owner_id"}})
        >>> base = {"tables": {"deals": {"columns": {"Owner": "region", "Rep": "owner_id"}}}}
        >>> thaw(user.over(base).tables)
        {'deals': {'columns': {}}}
        >>> user.over(base).columns["Owner"]
        'owner_id'
        """
        mine = self.to_dict()
        out: dict[str, Any] = {k: thaw(v) for k, v in base.items()}
        claimed_headers = {header_key(h) for h in self.columns}
        for sub in self.tables.values():
            claimed_headers |= {header_key(h) for h in sub.get("columns", {})}
        shared_targets = set(self.columns.values())

        def keep(table: str | None, header: str, target: str) -> bool:
            if header_key(header) in claimed_headers or target in shared_targets:
                return False
            if table is None:
                return True
            return target not in set(self.tables.get(table, {}).get("columns", {}).values())

        out["columns"] = {
            h: t for h, t in out.get("columns", {}).items() if keep(None, h, t)
        } | dict(mine.get("columns", {}))
        tables: dict[str, Any] = out.get("tables", {})
        for table, sub in tables.items():
            sub["columns"] = {h: t for h, t in sub.get("columns", {}).items() if keep(table, h, t)}
        for table, sub in mine.get("tables", {}).items():
            into = tables.setdefault(table, {})
            for key, part in sub.items():
                if key == "values":
                    values = into.setdefault("values", {})
                    for col, m in part.items():
                        values[col] = {**values.get(col, {}), **m}
                else:
                    into[key] = {**into.get(key, {}), **part}
        out["tables"] = tables
        out["options"] = {**out.get("options", {}), **mine.get("options", {})}
        files = dict(mine.get("files", {}))
        out["files"] = files | {k: v for k, v in out.get("files", {}).items() if k not in files}
        stages = mine.get("stages", {})
        if "order" in stages or not out.get("stages"):
            out["stages"] = stages
        else:
            base_stages = out["stages"]
            aliases = {**base_stages.get("aliases", {}), **stages.get("aliases", {})}
            out["stages"] = {**base_stages, **stages, "aliases": aliases}
        return ColumnMapping.from_dict(
            {k: v for k, v in out.items() if v}, origin=self.origin if mine else origin
        )
