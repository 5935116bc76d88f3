"""Plan files as dicts: a TOML-shaped mapping to a :class:`~.spec.Plan` and back.

Pure: no file access (``salesanalytics.io.plan_files`` reads the files). The format is
described in ``docs/plans.md``. Every error is a :class:`~.spec.PlanError` naming the file,
the component (``commission``, ``bonus <name>``) and the field path (``tiers[2].from``, 1-based
like the spec), and saying how to fix it. Rates and attainment are fractions; a value that
only makes sense as a percentage (``rate = 5``) is refused with the fraction to write instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ._reader import _LIMITS, _MISSING, KEYS, _build, _Reader, _unknown
from .spec import (
    CREDIT_RULES,
    INF,
    Band,
    Clawback,
    Commission,
    Crediting,
    Draw,
    Eligibility,
    Plan,
    PlanError,
    QuotaBonus,
    QuotaRule,
    RateCard,
    Spiff,
    TeamPool,
    Tier,
)

__all__ = ["KEYS", "parse_plan", "plan_from_dict", "plan_to_dict"]


# ------------------------------------------------------------------ components
def _commission(data: Any) -> Commission:
    r = _Reader(data, "commission", "commission")
    rate_of = r.text("rate_of", "measure", ("measure", "target_incentive"))
    kind = "rate" if rate_of == "measure" else "ti_rate"
    base_rate = r.number("base_rate", None, kind)
    ts = r.tables("tiers")
    if not ts:
        raise r.fail("tiers", "no tiers", "add a [[commission.tiers]] with from = 0 and a rate")
    lowers = [t.number("from", _MISSING if i else 0.0, "attainment") for i, t in enumerate(ts)]
    for i, t in enumerate(ts[1:], start=1):
        if lowers[i] <= lowers[i - 1]:
            problem = f"tiers are not sorted: tier {i + 1} starts at {lowers[i]:g}, tier {i} at "
            raise t.fail("from", f"{problem}{lowers[i - 1]:g}", "list tiers from 0 upwards")
    tiers = []
    for i, t in enumerate(ts):
        nxt = lowers[i + 1] if i + 1 < len(lowers) else INF
        upper = t.number("to", nxt, "attainment", inf=True)
        if upper <= lowers[i]:
            raise t.fail("to", f"{upper:g} is not above from = {lowers[i]:g}", "omit 'to'")
        if upper != nxt and i + 1 < len(ts):
            gap = "leaves a gap before" if upper < nxt else "overlaps"
            fix = f"end it at {nxt:g} where tier {i + 2} starts, or omit 'to'"
            raise t.fail("to", f"tier {i + 1} ends at {upper:g} and {gap} tier {i + 2}", fix)
        if t.has("rate") == t.has("multiplier"):
            raise t.fail("rate", "give rate or multiplier (one of them)", "write rate = 0.05")
        if t.has("rate"):
            rate = t.number("rate", kind=kind)
        elif base_rate is None:
            raise t.fail("multiplier", "needs base_rate", "add base_rate = ... to [commission]")
        else:
            rate = round(t.number("multiplier", kind="multiplier") * base_rate, 12)
            if rate > _LIMITS[kind][0]:
                raise t.fail("multiplier", f"x base_rate = {rate:g} is absurd", _LIMITS[kind][1])
        tiers.append(
            _build(Tier, t, lower=lowers[i], upper=upper, rate=rate, label=t.text("label", ""))
        )
    if base_rate is not None and not any(t.has("multiplier") for t in ts):
        raise r.fail("base_rate", "no tier has a multiplier", "remove base_rate")
    return _build(
        Commission,
        r,
        tiers=tuple(tiers),
        method=r.text("method", "marginal", ("marginal", "retroactive")),
        measure=r.text("measure", "bookings", ("bookings", "margin", "units")),
        rate_of=rate_of,
        gate=r.number("gate", 0.0, "attainment"),
        cap_attainment=r.number("cap_attainment", INF, "attainment", inf=True),
        cap_payout=r.number("cap_payout", INF, inf=True),
        cap_payout_ti=r.number("cap_payout_ti", INF, "ti", inf=True),
    )


def _rate_card(r: _Reader) -> RateCard:
    values = r.mapping("values", "{ Hardware = 0.5, Services = 1.2 }")
    bands = []
    ts = r.tables("bands")
    for j, b in enumerate(ts):
        lower = b.number("from", -INF if j == 0 else _MISSING, negative=True, inf=True)
        upper = b.number("to", INF if j == len(ts) - 1 else _MISSING, negative=True, inf=True)
        m = b.number("multiplier", kind="multiplier")
        bands.append(_build(Band, b, lower=lower, upper=upper, multiplier=m))
    return _build(
        RateCard,
        r,
        column=r.text("column"),
        values=tuple((str(k), values.number(str(k), kind="multiplier")) for k in values.data),
        bands=tuple(bands),
        default=r.number("default", 1.0, "multiplier"),
        name=r.text("name", ""),
    )


def _bonus(r: _Reader) -> QuotaBonus:
    of_ti = r.flag("of_target_incentive", False)
    ps = r.tables("points")
    if not ps:
        raise r.fail("points", "no points", "add [[bonuses.points]] with at = 1.0, amount = ...")
    unit = "ti" if of_ti else "amount"
    points = [(p.number("at", kind="attainment"), p.number("amount", kind=unit)) for p in ps]
    kind = r.text("kind", "step", ("step", "linear"))
    return _build(
        QuotaBonus,
        r,
        name=r.text("name"),
        points=tuple(points),
        kind=kind,
        of_target_incentive=of_ti,
    )


def _date(r: _Reader, key: str) -> str | None:
    v = r.get(key, None)
    if v is None or isinstance(v, dt.date):  # TOML dates and datetimes
        return None if v is None else v.isoformat()
    try:
        dt.datetime.fromisoformat(v)
    except (TypeError, ValueError):
        raise r.fail(key, f"must be a date, got {v!r}", f"write {key} = 2025-03-01") from None
    return str(v)


def _utc(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)  # naive dates and times are UTC, as in the backtest
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _spiff(r: _Reader) -> Spiff:
    where = r.mapping("where", '{ product_line = "Platform" }')
    start, end = _date(r, "start"), _date(r, "end")
    if start and end and _utc(start) >= _utc(end):
        raise r.fail(
            "end", f"{end} is not after start {start}", "end is exclusive: give a later end"
        )
    return _build(
        Spiff,
        r,
        name=r.text("name"),
        amount=r.number("amount", 0.0),
        rate=r.number("rate", 0.0, "rate"),
        where=tuple((str(k), where.texts(str(k))) for k in where.data),
        min_amount=r.number("min_amount", 0.0),
        start=start,
        end=end,
    )


def _team_pool(r: _Reader) -> TeamPool:
    share = r.text("share", "equal", ("equal", "credit", "target_incentive"))
    return _build(
        TeamPool,
        r,
        name=r.text("name"),
        rate=r.number("rate", 0.0, "rate"),
        amount=r.number("amount", 0.0),
        gate=r.number("gate", 0.0, "attainment"),
        share=share,
    )


def _table(data: Mapping[str, Any], key: str) -> Any:
    """Eligibility, crediting, quota, draw or clawback, when the plan has that table."""
    r = _Reader(data[key], key, key)
    if key == "eligibility":
        return Eligibility(r.texts("roles"), r.texts("teams"), r.texts("rep_ids", ids=True))
    if key == "crediting":
        rules = r.texts("rules") if r.has("rules") else ("owner",)
        for rule in rules:
            close = difflib.get_close_matches(rule, CREDIT_RULES, n=1)
            if rule not in CREDIT_RULES:
                hint = f"did you mean {close[0]!r}? " if close else ""
                fix = f"{hint}use any of {', '.join(CREDIT_RULES)}"
                raise r.fail("rules", f"unknown rule {rule!r}", fix)
        share = r.number("overlay_share", 1.0, "overlay")
        return _build(Crediting, r, rules=rules, overlay_share=share)
    if key == "quota":
        source = r.text("source", "annual" if r.has("annual") else "table", ("table", "annual"))
        return _build(
            QuotaRule,
            r,
            source=source,
            annual=r.number("annual", 0.0),
            prorate=r.flag("prorate", False),
        )
    if key == "draw":
        return _build(
            Draw,
            r,
            amount=r.number("amount"),
            recoverable=r.flag("recoverable", True),
            recovery_share=r.number("recovery_share", 1.0, "share"),
            forgive_on_exit=r.flag("forgive_on_exit", True),
            periods=r.integer("periods", 0),
        )
    return _build(
        Clawback, r, within_days=r.integer("within_days"), pro_rata=r.flag("pro_rata", False)
    )


# ------------------------------------------------------------------ the plan
def parse_plan(data: Any, *, file: str = "") -> tuple[Plan | None, tuple[PlanError, ...]]:
    """The plan of a TOML-shaped mapping, or every error found (one per component at most).

    Parameters
    ----------
    data
        The parsed TOML (``tomllib.loads(text)``), or an equal dict.
    file
        The file it came from, named in every error.

    Returns
    -------
    (plan, errors)
        ``plan`` is None when there are errors.

    Examples
    --------
    >>> plan, errors = parse_plan({"name": "x", "perod": "month", "draw": {"amount": -1}},
    ...                           file="x.toml")
    >>> plan is None, [str(e) for e in errors]  # doctest: +NORMALIZE_WHITESPACE
    (True, ["x.toml: [plan] perod: unknown key 'perod'. Fix: did you mean 'period'?",
            'x.toml: [draw] amount: must be a number >= 0, got -1. Fix: give amount >= 0'])
    """
    if not isinstance(data, Mapping):
        err = PlanError("plan", "", f"is not a table: {data!r}", 'start with name = "..."')
        return None, (err.in_file(file),)
    errors = [_unknown(str(k), "plan", "plan", "") for k in data if k not in KEYS["plan"]]
    top = _Reader({k: v for k, v in data.items() if k in KEYS["plan"]}, "plan", "plan")
    kwargs: dict[str, Any] = {}

    def attempt(key: str, step: Callable[[], Any]) -> None:
        try:
            kwargs[key] = step()
        except PlanError as err:
            errors.append(err)

    attempt("name", lambda: top.text("name"))
    attempt("description", lambda: top.text("description", ""))
    attempt("currency", lambda: top.text("currency", ""))
    attempt("period", lambda: top.text("period", "month", ("month", "quarter", "year")))
    attempt("attainment", lambda: top.text("attainment", "period", ("period", "ytd")))
    attempt("year_start_month", lambda: top.integer("year_start_month", 1))
    attempt("base_salary", lambda: top.number("base_salary", None))
    attempt("target_incentive", lambda: top.number("target_incentive", None))
    if top.has("commission"):
        attempt("commission", lambda: _commission(data["commission"]))
    for key in ("eligibility", "crediting", "quota", "draw", "clawback"):
        if top.has(key):
            attempt(key, partial(_table, data, key))
    makers: dict[str, Callable[[_Reader], Any]] = {
        "rate_cards": _rate_card,
        "bonuses": _bonus,
        "spiffs": _spiff,
        "team_pools": _team_pool,
    }
    for key, make in makers.items():
        try:
            readers = top.tables(key)
        except PlanError as err:
            errors.append(err)
            continue
        items = []
        for r in readers:
            try:
                items.append(make(r))
            except PlanError as err:
                errors.append(err)
        kwargs[key] = tuple(items)
    if not errors:
        try:
            return Plan(**kwargs), ()
        except PlanError as err:
            errors.append(err)
    return None, tuple(e.in_file(file) for e in errors)


def plan_from_dict(data: Mapping[str, Any], *, file: str = "") -> Plan:
    """The :class:`Plan` a TOML-shaped mapping describes (see ``docs/plans.md``).

    Parameters
    ----------
    data
        The parsed TOML (``tomllib.loads(text)``), or an equal dict.
    file
        The file it came from, named in errors.

    Raises
    ------
    PlanError
        The first problem: file, component, field path and how to fix it.

    Examples
    --------
    >>> plan = plan_from_dict({
    ...     "name": "AE 2025",
    ...     "commission": {"base_rate": 0.04, "tiers": [
    ...         {"from": 0, "multiplier": 1.0}, {"from": 1.0, "multiplier": 1.5}]},
    ... })
    >>> plan.commission.rates, plan.commission.tiers[0].upper
    ((0.04, 0.06), 1.0)
    >>> plan_from_dict({"name": "x", "commission": {"tiers": [{"rate": 5}]}}, file="x.toml")
    Traceback (most recent call last):
    ...
    salesanalytics.plans.PlanError: x.toml: [commission] tiers[1].rate: 5 looks like a
    percentage. Fix: rates are fractions of the measure: 0.05 means 5%; write rate = 0.05
    """
    plan, errors = parse_plan(data, file=file)
    if errors:
        raise errors[0]
    assert plan is not None
    return plan


_ALWAYS = {"period", "attainment", "method", "measure", "rate_of", "source", "kind", "share"}


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The TOML-shaped mapping of ``plan``: ``plan_from_dict(plan_to_dict(p)) == p``.

    Defaults and open ends (infinite caps, the last tier's ``to``) are left out; tiers are
    written with their rates (a ``multiplier`` is stored multiplied out).

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> plan = Plan("flat", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> plan_to_dict(plan)  # doctest: +NORMALIZE_WHITESPACE
    {'name': 'flat', 'period': 'month', 'attainment': 'period',
     'commission': {'tiers': [{'from': 0, 'rate': 0.05}], 'method': 'marginal',
                    'measure': 'bookings', 'rate_of': 'measure'}}
    >>> plan_from_dict(plan_to_dict(plan)) == plan
    True
    """
    return _as_dict(plan)


def _as_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        key = {"lower": "from", "upper": "to"}.get(f.name, f.name)
        factory = f.default_factory
        default = factory() if factory is not dataclasses.MISSING else f.default
        if v is None or (isinstance(v, float) and math.isinf(v)):
            continue
        if v == default and (key not in _ALWAYS or dataclasses.is_dataclass(v)):
            continue
        if dataclasses.is_dataclass(v):
            v = _as_dict(v)
        elif key == "values":
            v = dict(v)
        elif key == "where":
            v = {col: list(values) for col, values in v}
        elif key == "points":
            v = [{"at": at, "amount": amount} for at, amount in v]
        elif isinstance(v, tuple):
            v = [_as_dict(x) if dataclasses.is_dataclass(x) else x for x in v]
        out[key] = v
    return out
