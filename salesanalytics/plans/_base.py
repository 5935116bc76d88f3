"""The plan vocabulary's building blocks: constants, :class:`PlanError` and validation
helpers, and ``replace`` with dotted keys shared by every component (see :mod:`.spec`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, TypeVar

__all__ = ["INF", "PlanError"]

PeriodName = Literal["month", "quarter", "year"]
PERIODS_PER_YEAR: dict[str, int] = {"month": 12, "quarter": 4, "year": 1}
MEASURES = ("bookings", "margin", "units")
CREDIT_RULES = ("owner", "splits", "lead_owner", "manager")
INF = math.inf
ABSURD_RATE = 1.0
"""A commission rate above 100% of the measure is refused as a typo (``5`` meaning 5%)."""

T = TypeVar("T")


class PlanError(ValueError):
    """A plan that cannot be right: which file, component and field, and how to fix it.

    Attributes
    ----------
    component, field
        Where the problem is, e.g. ``"commission"`` and ``"tiers[2].from"``.
    fix
        What to change.
    file
        The plan file, when the plan came from one.
    """

    __module__ = "salesanalytics.plans"  # where users import it from (tracebacks say so)

    def __init__(self, component: str, field: str, problem: str, fix: str, file: str = ""):
        self.component, self.field, self.problem, self.fix, self.file = (
            component,
            field,
            problem,
            fix,
            file,
        )
        where = f"{file}: " if file else ""
        super().__init__(f"{where}[{component}] {field}: {problem}. Fix: {fix}")

    def in_file(self, file: str) -> PlanError:
        """The same error, naming ``file``."""
        return PlanError(self.component, self.field, self.problem, self.fix, file)


def _check(ok: bool, component: str, name: str, problem: str, fix: str) -> None:
    if not ok:
        raise PlanError(component, name, problem, fix)


def _non_negative(component: str, name: str, value: float) -> None:
    _check(
        isinstance(value, int | float) and not math.isnan(value) and value >= 0,
        component,
        name,
        f"must be a number >= 0, got {value!r}",
        f"give {name} as a non-negative number",
    )


class _Replaceable:
    """``replace`` for frozen dataclasses, with dotted keys into nested components."""

    def replace(self: T, **changes: Any) -> T:
        """A copy with ``changes`` applied (dotted keys reach into components; a number in
        the path indexes a tuple: ``"commission.tiers.2.rate"``); validated again."""
        direct: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            head, _, rest = key.partition(".")
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                direct[head] = value
        for head, sub in nested.items():
            current = direct.get(head, getattr(self, head))
            direct[head] = _replace_in(current, sub, head)
        return dataclasses.replace(self, **direct)  # type: ignore[type-var]


def _replace_in(value: Any, changes: dict[str, Any], where: str) -> Any:
    if isinstance(value, tuple):
        items = list(value)
        by_index: dict[int, dict[str, Any]] = {}
        for key, v in changes.items():
            index, _, rest = key.partition(".")
            if not index.isdigit() or int(index) >= len(items):
                raise KeyError(f"{where}.{key}: no such item (there are {len(items)})")
            if not rest:
                items[int(index)] = v
            else:
                by_index.setdefault(int(index), {})[rest] = v
        for i, sub in by_index.items():
            items[i] = _replace_in(items[i], sub, f"{where}.{i}")
        return tuple(items)
    if value is None or not isinstance(value, _Replaceable):
        raise KeyError(f"{where} has no fields to replace")
    return value.replace(**changes)
