"""Reading one TOML-shaped table of a plan: allowed keys, types, limits and errors.

Internal helper of :mod:`.parse`: a :class:`_Reader` walks one table, refuses unknown keys
(with a "did you mean"), wrong types and percent-looking fractions, and raises
:class:`~.spec.PlanError` naming the file, component and field.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from ._base import INF, PlanError

_KEYS = {
    "plan": "name description currency period attainment year_start_month base_salary "
    "target_incentive eligibility crediting quota commission rate_cards bonuses spiffs team_pools "
    "draw clawback",
    "eligibility": "roles teams rep_ids",
    "crediting": "rules overlay_share",
    "quota": "source annual prorate",
    "commission": "measure method rate_of gate cap_attainment cap_payout cap_payout_ti base_rate "
    "tiers",
    "commission.tiers": "from to rate multiplier label",
    "rate_cards": "column values bands default name",
    "rate_cards.bands": "from to multiplier",
    "bonuses": "name kind of_target_incentive points",
    "bonuses.points": "at amount",
    "spiffs": "name amount rate where min_amount start end",
    "team_pools": "name rate amount gate share",
    "draw": "amount recoverable recovery_share forgive_on_exit periods",
    "clawback": "within_days pro_rata",
}
KEYS: dict[str, tuple[str, ...]] = {path: tuple(keys.split()) for path, keys in _KEYS.items()}
"""Allowed keys of each table, by its TOML path."""

_ARRAYS = {path for path in KEYS if path.endswith("s")}  # the plural ones: [[tiers]], ...
_LIMITS: dict[str, tuple[float, str]] = {
    "rate": (1.0, "rates are fractions of the measure: 0.05 means 5%"),
    "ti_rate": (10.0, "rates on target incentive are fractions: 1.0 pays it in full at 100%"),
    "attainment": (10.0, "attainment is a fraction of quota: 1.5 means 150%"),
    "multiplier": (10.0, "multipliers are factors: 1.5 means 1.5 times"),
    "share": (1.0, "shares are fractions: 0.5 means 50%"),
    "overlay": (10.0, "shares are fractions: 0.5 means 50%"),
    "ti": (10.0, "amounts of target incentive are fractions: 0.5 means 50%"),
    "amount": (INF, ""),
}
_MISSING: Any = object()


def _display(path: str) -> str:
    return (
        f"[[{path}]]" if path in _ARRAYS else ("the top level" if path == "plan" else f"[{path}]")
    )


def _fmt(x: float) -> str:
    return f"{int(x):_}" if x == int(x) and abs(x) >= 10_000 else f"{x:g}"


def _unknown(key: str, path: str, component: str, prefix: str) -> PlanError:
    allowed = KEYS[path]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        fix = f"did you mean {close[0]!r}?"
    else:
        homes = [_display(p) for p, keys in KEYS.items() if key in keys and p != path]
        fix = f"{key!r} belongs in {homes[0]}" if homes else ""
        fix = (fix + "; " if fix else "") + f"allowed in {_display(path)}: {', '.join(allowed)}"
    return PlanError(component, prefix + key, f"unknown key {key!r}", fix)


class _Reader:
    """Typed access to one table of the plan, with errors naming component and field."""

    def __init__(self, data: Any, path: str, component: str, prefix: str = "", check: bool = True):
        self.path, self.component, self.prefix = path, component, prefix
        if not isinstance(data, Mapping):
            fix = f"write it as {_display(path)} with its keys below"
            raise PlanError(component, prefix.rstrip(".") or path, f"is not a table: {data!r}", fix)
        self.data = data
        for key in data if check else ():
            if key not in KEYS[path]:
                raise _unknown(str(key), path, component, prefix)

    def fail(self, key: str, problem: str, fix: str) -> PlanError:
        return PlanError(self.component, self.prefix + key, problem, fix)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.fail(key, "is missing", f"add {key} = ... to {_display(self.path)}")
        return default

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        kind: str = "amount",
        inf: bool = False,
        negative: bool = False,
    ) -> Any:
        v = self.get(key, default)
        if key not in self.data:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float):
            fix = f"write {key} = <number>, without quotes"
            text = str(v).strip()
            try:
                x = float(text.rstrip("%").replace(",", ""))
                fix = f"write {key} = {_fmt(x / 100 if text.endswith('%') else x)}"
            except ValueError:
                pass
            raise self.fail(key, f"must be a number, got {v!r}", fix)
        v = float(v)
        if math.isnan(v) or (math.isinf(v) and not inf) or (v < 0 and not negative):
            raise self.fail(key, f"must be a number >= 0, got {v:g}", f"give {key} >= 0")
        limit, hint = _LIMITS[kind]
        if limit < v < INF:
            if v / 100 <= limit:
                problem, fix = f"{v:g} looks like a percentage", f"write {key} = {v / 100:g}"
            else:
                problem, fix = f"{v:g} is absurd (above {limit:g})", f"use at most {limit:g}"
            raise self.fail(key, problem, f"{hint}; {fix}")
        return v

    def integer(self, key: str, default: Any = _MISSING) -> Any:
        v = self.get(key, default)
        if key in self.data and (isinstance(v, bool) or not isinstance(v, int)):
            raise self.fail(key, f"must be a whole number, got {v!r}", f"write {key} = <integer>")
        return v

    def flag(self, key: str, default: bool) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            fix = f"write {key} = true or {key} = false, without quotes"
            raise self.fail(key, f"must be true or false, got {v!r}", fix)
        return v

    def text(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        v = self.get(key, default)
        if key in self.data and not isinstance(v, str):
            raise self.fail(key, f"must be text, got {v!r}", f'write {key} = "..." in quotes')
        if key in self.data and choices and v not in choices:
            close = difflib.get_close_matches(v, choices, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(key, f"unknown value {v!r}", f"{hint}use one of {', '.join(choices)}")
        return v

    def texts(self, key: str, ids: bool = False) -> tuple[str, ...]:
        v = self.get(key, [])
        items = [v] if isinstance(v, str) else v
        ok = (str, int) if ids else (str,)
        if not isinstance(items, list) or any(
            isinstance(i, bool) or not isinstance(i, ok) for i in items
        ):
            fix = f'write {key} = "a" or {key} = ["a", "b"], in quotes'
            raise self.fail(key, f"must be text or a list of text, got {v!r}", fix)
        return tuple(str(i) for i in items)

    def tables(self, key: str) -> list[_Reader]:
        """The readers of an array of tables ``[[path.key]]``, numbered from 1."""
        sub = f"{self.path}.{key}" if self.path != "plan" else key
        v = self.get(key, [])
        if isinstance(v, Mapping):
            fix = f"write [[{sub}]] (double brackets) once per item"
            raise self.fail(key, "is a single table, not a list of them", fix)
        if not isinstance(v, list):
            raise self.fail(key, f"must be a list of tables, got {v!r}", f"write [[{sub}]] items")
        if self.path == "plan":
            return [_named(item, sub, i) for i, item in enumerate(v, start=1)]
        prefix = f"{self.prefix}{key}"
        return [_Reader(t, sub, self.component, f"{prefix}[{i}].") for i, t in enumerate(v, 1)]

    def mapping(self, key: str, example: str) -> _Reader:
        """A free-form table (rate-card values, SPIFF where): any keys."""
        v = self.get(key, {})
        if not isinstance(v, Mapping):
            raise self.fail(key, f"must be a table, got {v!r}", f"write {key} = {example}")
        return _Reader(v, self.path, self.component, f"{self.prefix}{key}.", check=False)


_NOUNS = {
    "rate_cards": "rate_card",
    "bonuses": "bonus",
    "spiffs": "spiff",
    "team_pools": "team_pool",
}


def _named(data: Any, path: str, i: int) -> _Reader:
    """The reader of a bonus, SPIFF, team pool or rate card: the component is named by it."""
    name = data.get("name") or data.get("column") if isinstance(data, Mapping) else None
    component = f"{_NOUNS[path]} {name}" if isinstance(name, str) else f"{path}[{i}]"
    return _Reader(data, path, component)


def _build(cls: Callable[..., Any], r: _Reader, **kw: Any) -> Any:
    """Build a spec object; its PlanError gets the reader's component and field prefix."""
    try:
        return cls(**kw)
    except PlanError as err:
        field = err.field
        if "." in field and r.prefix and field.split(".")[0] == r.prefix.split("[")[0]:
            field = r.prefix + field.split(".", 1)[1]  # "tiers.rate" -> "tiers[2].rate"
        raise PlanError(r.component, field, err.problem, err.fix) from None
