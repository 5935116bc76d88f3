"""Canonical tables: the column contract between loaders and analytics.

Every loader turns an export into these tables and every analysis reads only these column
names. A table is described by a :class:`TableSpec` (ordered :class:`Column` objects with a
kind, a required flag and, for categorical columns, the allowed values). :func:`conform`
casts a frame to the canonical dtypes and column order, keeping any extra columns after the
canonical ones so that custom attributes remain available for breakdowns.

Canonical dtypes (pandas 3):

========== =========================== ==========================================
kind       dtype                       meaning
========== =========================== ==========================================
``str``    ``str``                     text; missing is ``NaN``
``time``   ``datetime64[us, UTC]``     an instant, always time-zone aware (UTC)
``float``  ``float64``                 a number; money in the deal's currency
``choice`` ``str``                     text restricted to ``Column.choices``
========== =========================== ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DATETIME_DTYPE",
    "OUTCOMES",
    "TABLES",
    "Column",
    "TableSpec",
    "conform",
    "empty_table",
]

DATETIME_DTYPE: Final = "datetime64[us, UTC]"
"""The dtype of every canonical timestamp column."""

OUTCOMES = ("open", "won", "lost")
DEAL_TYPES = ("new", "renewal", "expansion")
ACTIVITY_KINDS = ("call", "email", "meeting", "visit", "message", "other")

Kind = Literal["str", "time", "float", "choice"]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Parameters
    ----------
    name
        Canonical column name (snake_case).
    kind
        ``"str"``, ``"time"``, ``"float"`` or ``"choice"``.
    required
        Whether the column must be present and non-missing for a row to load.
    description
        One line for the docs and the quality report.
    choices
        Allowed values of a ``"choice"`` column.
    """

    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()

    @property
    def dtype(self) -> str:
        """The pandas dtype of this column."""
        return {"str": "str", "time": DATETIME_DTYPE, "float": "float64", "choice": "str"}[
            self.kind
        ]


@dataclass(frozen=True)
class TableSpec:
    """The specification of one canonical table.

    Parameters
    ----------
    name
        Table name, e.g. ``"deals"``.
    columns
        Ordered canonical columns.
    key
        Columns whose combination must be unique (empty: no key).
    description
        What one row is.

    Examples
    --------
    >>> from salesanalytics.schema import TABLES
    >>> TABLES["deals"].required
    ('deal_id', 'created_at', 'outcome', 'amount', 'owner_id')
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """All canonical column names, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """The column called ``name`` (``KeyError`` if it is not canonical)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no canonical column {name!r}")

    def columns_of_kind(self, kind: Kind) -> tuple[str, ...]:
        """Names of the columns of one kind."""
        return tuple(c.name for c in self.columns if c.kind == kind)


def _c(
    name: str,
    kind: Kind = "str",
    required: bool = False,
    description: str = "",
    choices: Iterable[str] = (),
) -> Column:
    return Column(name, kind, required, description, tuple(choices))


DEALS = TableSpec(
    "deals",
    (
        _c("deal_id", required=True, description="unique deal (opportunity) id"),
        _c("created_at", "time", True, "when the deal was created"),
        _c("closed_at", "time", description="when the deal was won or lost; missing while open"),
        _c(
            "cancelled_at",
            "time",
            description="when a won deal was cancelled or refunded (clawbacks); missing if not",
        ),
        _c("outcome", "choice", True, "open, won or lost", OUTCOMES),
        _c("amount", "float", True, "deal value in `currency` (>= 0)"),
        _c("currency", description="ISO 4217 code of the amount"),
        _c("owner_id", required=True, description="rep who owns the deal"),
        _c("stage", description="current stage (canonical name)"),
        _c("expected_close_at", "time", description="expected close date of an open deal"),
        _c("lead_source", description="channel the deal came from"),
        _c("pipeline", description="pipeline (sales process) the deal belongs to"),
        _c("account_id", description="customer account"),
        _c("lead_id", description="lead the deal was converted from"),
        _c("region"),
        _c("industry"),
        _c("company_size"),
        _c("product_line"),
        _c("deal_type", "choice", description="new, renewal or expansion", choices=DEAL_TYPES),
        _c("margin", "float", description="gross margin as a fraction of amount"),
        _c("lost_reason"),
        _c("crm_probability", "float", description="the CRM's win probability, 0-1"),
    ),
    key=("deal_id",),
    description="one row per deal",
)

STAGE_EVENTS = TableSpec(
    "stage_events",
    (
        _c("deal_id", required=True, description="deal that entered the stage"),
        _c("stage", required=True, description="canonical stage entered"),
        _c("entered_at", "time", True, "when the stage was entered"),
    ),
    description="one row per entry of a deal into a stage, terminal won/lost included",
)

LEADS = TableSpec(
    "leads",
    (
        _c("lead_id", required=True),
        _c("created_at", "time", True),
        _c("lead_source"),
        _c("owner_id"),
        _c("first_response_at", "time", description="first contact by a rep"),
        _c("converted_at", "time", description="when the lead became a deal"),
        _c("deal_id", description="deal the lead converted into"),
        _c("score", "float", description="lead score, 0-100"),
        _c("need_fit", "float", description="need fit, 1-5"),
        _c("purchasing_power", "float", description="purchasing power, 1-5"),
        _c("decision_complexity", "float", description="decision-chain complexity, 1-5"),
        _c("region"),
        _c("industry"),
        _c("company_size"),
    ),
    key=("lead_id",),
    description="one row per lead",
)

ACTIVITIES = TableSpec(
    "activities",
    (
        _c("at", "time", True, "when the activity happened"),
        _c("lead_id"),
        _c("deal_id"),
        _c(
            "kind", "choice", description="call, email, meeting, visit, ...", choices=ACTIVITY_KINDS
        ),
        _c("owner_id"),
    ),
    description="one row per sales activity on a lead or a deal",
)

REPS = TableSpec(
    "reps",
    (
        _c("rep_id", required=True),
        _c("name"),
        _c("team"),
        _c("region"),
        _c("role"),
        _c("manager_id"),
        _c("hire_date", "time"),
        _c("end_date", "time", description="last day; missing while employed"),
        _c("base_salary", "float", description="annual base salary"),
        _c("target_incentive", "float", description="annual on-target variable pay"),
        _c("currency"),
    ),
    key=("rep_id",),
    description="one row per sales rep",
)

QUOTAS = TableSpec(
    "quotas",
    (
        _c("rep_id", required=True),
        _c("period_start", "time", True),
        _c("period_end", "time", True, "exclusive end of the period"),
        _c("quota", "float", True),
    ),
    key=("rep_id", "period_start"),
    description="one row per rep and quota period",
)

SPEND = TableSpec(
    "spend",
    (
        _c("lead_source", required=True),
        _c("period_start", "time", True),
        _c("cost", "float", True),
    ),
    key=("lead_source", "period_start"),
    description="marketing cost per lead source and period",
)

TABLES: Mapping[str, TableSpec] = {
    t.name: t for t in (DEALS, STAGE_EVENTS, LEADS, ACTIVITIES, REPS, QUOTAS, SPEND)
}
"""All canonical tables by name, in load order."""


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``spec``.

    Examples
    --------
    >>> from salesanalytics.schema import TABLES, empty_table
    >>> empty_table(TABLES["stage_events"]).dtypes.astype(str).tolist()
    ['str', 'str', 'datetime64[us, UTC]']
    """
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in spec.columns})


def conform(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with canonical dtypes, canonical columns first, extras after.

    Missing optional canonical columns are added (all missing); extra columns are kept,
    as text unless already numeric or datetime. Values are cast, not parsed: use the
    loader to parse raw text. The index is reset. The input is not modified.

    Raises
    ------
    KeyError
        If a required column is absent.

    Examples
    --------
    >>> import pandas as pd
    >>> from salesanalytics.schema import TABLES, conform
    >>> f = conform(TABLES["spend"], pd.DataFrame({
    ...     "lead_source": ["web"], "period_start": [pd.Timestamp("2024-01-01", tz="UTC")],
    ...     "cost": [1200]}))
    >>> f["cost"].dtype
    dtype('float64')
    """
    missing = [name for name in spec.required if name not in frame.columns]
    if missing:
        raise KeyError(f"{spec.name}: required column(s) missing: {', '.join(missing)}")
    n = len(frame)
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in frame.columns:
            out[col.name] = _cast(frame[col.name].reset_index(drop=True), col)
        else:
            out[col.name] = (
                pd.Series(np.full(n, np.nan), dtype=col.dtype)
                if col.kind != "time"
                else pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype=col.dtype)
            )
    for name in frame.columns:
        if name not in out:
            s = frame[name].reset_index(drop=True)
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
                s = s.astype("str")
            out[name] = s
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def _cast(s: pd.Series, col: Column) -> pd.Series:
    if col.kind == "time":
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.dt.tz_convert("UTC").astype(DATETIME_DTYPE)
        if pd.api.types.is_datetime64_any_dtype(s):
            return s.dt.tz_localize("UTC").astype(DATETIME_DTYPE)
        return pd.to_datetime(s, utc=True).astype(DATETIME_DTYPE)
    if col.kind == "float":
        return s.astype("float64")
    return s.astype(pd.StringDtype(na_value=np.nan))
