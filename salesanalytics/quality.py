"""The data-quality report: every input row is loaded, merged or rejected; problems are named.

Loading accounts for each input row in exactly one of three ways:

* **loaded** — it is in the canonical table;
* **merged** — it repeated the previous row's information (a Salesforce history row written
  for an amount-only edit repeats the stage) and was folded into that row;
* **rejected** — it could not be used; the report says file, line, column, value and why.

So ``rows_in == loaded + merged + rejected`` for every table, which :attr:`QualityReport.balanced`
checks. *Warnings* flag rows that load but deserve a look (an open deal whose expected close
date is past, mixed currencies, ...). Problems are stored as one tidy frame so that millions
of them stay cheap.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .problems import PROBLEMS, ProblemKind
from .schema import TABLES

__all__ = ["PROBLEMS", "DataError", "ProblemKind", "QualityLog", "QualityReport", "describe"]

PROBLEM_COLUMNS = (
    "table",
    "file",
    "line",
    "column",
    "value",
    "code",
    "severity",
    "message",
    "hint",
)


class DataError(ValueError):
    """Input data cannot be used as asked (raised by strict loading and on unusable input).

    ``problems`` holds the offending rows (the same columns as
    :attr:`QualityReport.problems`) when the error comes from validation.
    """

    def __init__(self, message: str, problems: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.problems = problems


def describe(problem: Mapping[Hashable, Any]) -> str:
    """One problem as ``file:line column C value 'V': message``.

    Examples
    --------
    >>> describe({"file": "d.csv", "line": 4, "column": "amount", "value": "-5",
    ...           "message": "amount/quota/cost is negative"})
    "d.csv:4 column amount value '-5': amount/quota/cost is negative"
    """
    where = "" if pd.isna(problem["file"]) else str(problem["file"])
    if not pd.isna(problem["line"]):
        where += f":{int(problem['line'])}"
    col = "" if pd.isna(problem["column"]) else f" column {problem['column']}"
    val = "" if pd.isna(problem["value"]) else f" value {str(problem['value'])[:60]!r}"
    return f"{where}{col}{val}: {problem['message']}"


@dataclass(frozen=True, eq=False)
class QualityReport:
    """What loading did with every input row.

    Attributes
    ----------
    counts
        One row per table: ``rows_in``, ``loaded``, ``merged``, ``rejected`` (distinct rows),
        ``warnings`` (problems).
    problems
        One row per problem: table, file, line (1-based physical line; header is line 1),
        column, value, code (see :data:`PROBLEMS`), severity, message, hint.
    notes
        What the loader detected or assumed (encodings, date orders, files ignored).
    """

    counts: pd.DataFrame
    problems: pd.DataFrame
    notes: tuple[str, ...] = ()

    @classmethod
    def empty(cls) -> QualityReport:
        """A report with nothing in it (for datasets built in code)."""
        return QualityLog().freeze()

    @property
    def rejects(self) -> pd.DataFrame:
        """Problems that rejected a row."""
        return self.problems[self.problems["severity"] == "reject"].reset_index(drop=True)

    @property
    def warnings(self) -> pd.DataFrame:
        """Problems that did not stop a row from loading."""
        return self.problems[self.problems["severity"] == "warning"].reset_index(drop=True)

    @property
    def balanced(self) -> bool:
        """Whether ``rows_in == loaded + merged + rejected`` for every table."""
        c = self.counts
        return bool((c["rows_in"] == c["loaded"] + c["merged"] + c["rejected"]).all())

    @property
    def n_rejected(self) -> int:
        """Distinct rejected rows over all tables."""
        return int(self.counts["rejected"].sum())

    def by_code(self) -> pd.DataFrame:
        """Problem counts per table, severity and code, largest first."""
        p = self.problems
        if p.empty:
            return pd.DataFrame(columns=["table", "severity", "code", "count", "message"])
        out = (
            p.groupby(["table", "severity", "code"], sort=False)
            .size()
            .rename("count")
            .reset_index()
        )
        rank = out["severity"].map({"reject": 0, "merge": 1, "warning": 2})
        out = (
            out.assign(_rank=rank)
            .sort_values(["_rank", "count"], ascending=[True, False], kind="stable")
            .drop(columns="_rank")
        )
        out["message"] = out["code"].map(lambda c: PROBLEMS[c].message)
        return out.reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """The per-table counts (same as :attr:`counts`)."""
        return self.counts

    def to_dict(self, max_problems: int = 1000) -> dict[str, Any]:
        """A JSON-ready dict (shape documented in ``docs/cli.md``)."""
        shown = self.problems.head(max_problems)
        records = []
        for row in shown.itertuples(index=False):
            rec = dict(zip(PROBLEM_COLUMNS, row, strict=True))
            rec["line"] = None if pd.isna(rec["line"]) else int(rec["line"])
            for k in ("column", "value", "file"):
                rec[k] = None if pd.isna(rec[k]) else str(rec[k])
            records.append(rec)
        return {
            "tables": {
                str(t): {k: int(v) for k, v in row.items()}
                for t, row in self.counts.to_dict(orient="index").items()
            },
            "balanced": self.balanced,
            "problem_counts": [
                {k: (int(v) if k == "count" else str(v)) for k, v in r.items()}
                for r in self.by_code().to_dict(orient="records")
            ],
            "problems": records,
            "problems_truncated": max(0, len(self.problems) - len(shown)),
            "notes": list(self.notes),
        }

    def raise_if_rejected(self, max_listed: int = 5) -> None:
        """Raise :class:`DataError` naming the first rejects and how to fix them."""
        rej = self.rejects
        if rej.empty:
            return
        listed = [
            f"{describe(rec)} ({rec['code']}); fix: {rec['hint']}"
            for rec in rej.head(max_listed).to_dict(orient="records")
        ]
        lines = [f"{self.n_rejected} row(s) rejected; first: {listed[0]}"]
        lines += [f"  {item}" for item in listed[1:]]
        if len(rej) > max_listed:
            lines.append(
                f"  ... and {len(rej) - max_listed} more (load without strict=True to "
                "see them all in dataset.quality)"
            )
        raise DataError("\n".join(lines), rej)

    def __repr__(self) -> str:
        c = self.counts
        parts = [f"{t}: {r.loaded}/{r.rows_in} loaded" for t, r in c.iterrows()]
        return (
            f"QualityReport({'; '.join(parts) or 'no tables'}; "
            f"{self.n_rejected} rejected, {len(self.warnings)} warnings)"
        )

    def _repr_html_(self) -> str:
        parts = ["<div><strong>Data quality</strong>", self.counts.to_html(escape=True)]
        codes = self.by_code()
        if not codes.empty:
            parts.append(codes.to_html(index=False, escape=True))
            parts.append(self.problems.head(20).to_html(index=False, escape=True, na_rep=""))
        if self.notes:
            parts.append(
                "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>"
            )
        return "\n".join(parts) + "</div>"


@dataclass
class QualityLog:
    """Mutable collector used while loading; :meth:`freeze` makes the report.

    Examples
    --------
    >>> import numpy as np
    >>> log = QualityLog()
    >>> log.count_in("deals", 3)
    >>> log.add("deals", "d.csv", np.array([4]), "amount", ["-5"], "negative_amount")
    >>> log.count_loaded("deals", 2)
    >>> log.freeze().balanced
    True
    """

    _counts: dict[str, dict[str, int]] = field(default_factory=dict)
    _frames: list[pd.DataFrame] = field(default_factory=list)
    _notes: list[str] = field(default_factory=list)
    _rejected_rows: dict[str, set[tuple[str, int]]] = field(default_factory=dict)

    def _table(self, table: str) -> dict[str, int]:
        return self._counts.setdefault(table, {"rows_in": 0, "loaded": 0, "merged": 0})

    def count_in(self, table: str, n: int) -> None:
        """Record ``n`` more input rows for ``table``."""
        self._table(table)["rows_in"] += int(n)

    def count_loaded(self, table: str, n: int) -> None:
        """Record ``n`` rows loaded into ``table``."""
        self._table(table)["loaded"] += int(n)

    def note(self, text: str) -> None:
        """Record something detected or assumed."""
        if text not in self._notes:
            self._notes.append(text)

    def add(
        self,
        table: str,
        file: str | None,
        lines: np.ndarray | Sequence[int] | None,
        column: str | None,
        values: Iterable[Any] | None,
        code: str,
        detail: str | Sequence[str] | None = None,
    ) -> None:
        """Record one problem for each of ``lines`` (vectorised; values align with lines).

        ``lines=None`` records one problem about the file as a whole (warnings only).
        ``detail`` (one string or one per line) is appended to the standard message.
        """
        kind = PROBLEMS[code]
        whole_file = lines is None
        if whole_file and kind.severity != "warning":
            raise ValueError("only warnings may omit line numbers")
        lines = np.zeros(1, dtype="int64") if whole_file else np.asarray(lines, dtype="int64")
        n = len(lines)
        if n == 0:
            return
        vals = (
            pd.Series([np.nan] * n, dtype="str")
            if values is None
            else pd.Series(
                list(values) if not isinstance(values, pd.Series) else values.to_numpy(),
                dtype="str",
            )
        )
        message: Any = kind.message
        if detail is not None:
            message = (
                pd.Series([f"{kind.message}: {detail}"] * n, dtype="str")
                if isinstance(detail, str)
                else kind.message + ": " + pd.Series(list(detail), dtype="str")
            )
        line_col = pd.array([pd.NA] if whole_file else lines, dtype="Int64")
        self._frames.append(
            pd.DataFrame(
                {
                    "table": table,
                    "file": file,
                    "line": line_col,
                    "column": column,
                    "value": vals.to_numpy(),
                    "code": code,
                    "severity": kind.severity,
                    "message": message,
                    "hint": kind.hint,
                }
            )
        )
        self._table(table)
        if kind.severity == "reject":
            self._rejected_rows.setdefault(table, set()).update((file or "", int(x)) for x in lines)
        elif kind.severity == "merge":
            self._table(table)["merged"] += n

    def rejected_lines(self, table: str, file: str | None) -> set[int]:
        """Lines of ``file`` already rejected for ``table``."""
        return {ln for f, ln in self._rejected_rows.get(table, set()) if f == (file or "")}

    def freeze(self) -> QualityReport:
        """The immutable report."""
        rows = []
        for table, c in self._counts.items():
            rejected = len(self._rejected_rows.get(table, ()))
            rows.append({"table": table, **c, "rejected": rejected})
        counts = pd.DataFrame(rows, columns=["table", "rows_in", "loaded", "merged", "rejected"])
        counts = counts.set_index("table").astype("int64")
        if self._frames:
            problems = pd.concat(self._frames, ignore_index=True)
            problems["line"] = problems["line"].astype("Int64")
            order = {name: i for i, name in enumerate(TABLES)}
            problems = (
                problems.assign(_t=problems["table"].map(order))
                .sort_values(["_t", "file", "line"], kind="stable", na_position="last")
                .drop(columns="_t")
                .reset_index(drop=True)
            )
        else:
            problems = pd.DataFrame({c: pd.Series([], dtype="str") for c in PROBLEM_COLUMNS})
            problems["line"] = problems["line"].astype("Int64")
        warn = problems[problems["severity"] == "warning"].groupby("table").size()
        counts["warnings"] = warn.reindex(counts.index, fill_value=0).astype("int64")
        return QualityReport(counts=counts, problems=problems, notes=tuple(self._notes))
