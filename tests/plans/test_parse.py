"""Plan dicts: TOML-shaped mapping -> Plan, errors naming file, component and field; round trip."""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesanalytics.plans import (
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
from salesanalytics.plans.parse import parse_plan, plan_from_dict, plan_to_dict

INF = math.inf
FILE = "plans/alt.toml"

FULL = """
name = "full"
description = "every component"
currency = "CNY"
period = "quarter"
attainment = "ytd"
year_start_month = 4
base_salary = 200_000
target_incentive = 120_000

[eligibility]
roles = ["AE"]
teams = "North"
rep_ids = ["R01", 7]

[crediting]
rules = ["splits", "manager"]
overlay_share = 0.5

[quota]
annual = 2_400_000
prorate = true

[commission]
measure = "margin"
method = "retroactive"
gate = 0.5
cap_attainment = 2.0
cap_payout = 90_000
cap_payout_ti = 3
base_rate = 0.04

[[commission.tiers]]
multiplier = 0.5
label = "decelerator"

[[commission.tiers]]
from = 0.5
multiplier = 1

[[commission.tiers]]
from = 1.0
to = 1.5
multiplier = 1.5

[[commission.tiers]]
from = 1.5
multiplier = 2.0

[[rate_cards]]
column = "product_line"
values = { Hardware = 0.5, Platform = 1.2 }

[[rate_cards]]
name = "margin bands"
column = "margin"
default = 0.8
bands = [{ to = 0.3, multiplier = 0.5 }, { from = 0.3, multiplier = 1.1 }]

[[bonuses]]
name = "quota club"
kind = "linear"
of_target_incentive = true
points = [{ at = 0.8, amount = 0.1 }, { at = 1.2, amount = 0.3 }]

[[spiffs]]
name = "new logos"
amount = 500
rate = 0.01
where = { deal_type = "new", product_line = ["Platform", "Analytics"] }
min_amount = 10_000
start = 2025-03-01
end = "2025-04-01"

[[team_pools]]
name = "team"
rate = 0.005
amount = 1000
gate = 0.9
share = "credit"

[draw]
amount = 5000
recovery_share = 0.5
forgive_on_exit = false
periods = 3

[clawback]
within_days = 90
pro_rata = true
"""


def test_full_toml_parses_into_every_component() -> None:
    plan = plan_from_dict(tomllib.loads(FULL), file=FILE)
    c = plan.commission
    assert c is not None
    assert c.rates == (0.02, 0.04, 0.06, 0.08)  # multiplier x base_rate, rounded
    assert [t.upper for t in c.tiers] == [0.5, 1.0, 1.5, INF]  # 'to' = next 'from'
    assert (c.method, c.measure, c.gate, c.cap_payout_ti) == ("retroactive", "margin", 0.5, 3.0)
    assert plan.eligibility == Eligibility(("AE",), ("North",), ("R01", "7"))
    assert plan.crediting == Crediting(("splits", "manager"), 0.5)
    assert plan.quota == QuotaRule("annual", 2_400_000.0, True)  # source inferred from annual
    assert plan.rate_cards[0].values == (("Hardware", 0.5), ("Platform", 1.2))
    assert plan.rate_cards[1].bands == (Band(-INF, 0.3, 0.5), Band(0.3, INF, 1.1))
    assert plan.bonuses[0].points == ((0.8, 0.1), (1.2, 0.3))
    s = plan.spiffs[0]
    assert s.where == (("deal_type", ("new",)), ("product_line", ("Platform", "Analytics")))
    assert (s.start, s.end) == ("2025-03-01", "2025-04-01")  # a TOML date becomes ISO text
    assert plan.team_pools[0] == TeamPool("team", 0.005, 1000.0, 0.9, "credit")
    assert plan.draw == Draw(5000.0, True, 0.5, False, 3)
    assert plan.clawback == Clawback(90, True)
    assert (plan.period, plan.attainment, plan.year_start_month) == ("quarter", "ytd", 4)


def test_defaults_and_input_not_mutated() -> None:
    data: dict[str, Any] = {"name": "flat", "commission": {"tiers": [{"rate": 0.05}]}}
    before = copy.deepcopy(data)
    plan = plan_from_dict(data)
    assert data == before
    assert plan == Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))


BASE = {"name": "p", "commission": {"tiers": [{"from": 0, "rate": 0.05}]}}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *heads, last = path.split("/")
    node: Any = data
    for h in heads:
        node = node[int(h)] if isinstance(node, list) else node.setdefault(h, {})
    node[int(last) if isinstance(node, list) else last] = value
    return data


CST = dt.timezone(dt.timedelta(hours=8))  # 07:00 in Beijing is 23:00 UTC the day before
TIERS3 = [{"from": 0, "rate": 0.02}, {"from": 0.5, "rate": 0.04}, {"from": 1.0, "rate": 0.06}]

ERRORS: list[tuple[dict[str, Any], str, str, str]] = [
    # unknown keys, with "did you mean"
    (_with("perod", "month"), "plan", "perod", "did you mean 'period'"),
    (_with("commission/tires", []), "commission", "tires", "did you mean 'tiers'"),
    (_with("tiers", []), "plan", "tiers", "belongs in [commission]"),
    (_with("commission/tiers/0/rat", 0.1), "commission", "tiers[1].rat", "did you mean 'rate'"),
    (_with("draw/amout", 1), "draw", "amout", "did you mean 'amount'"),
    # wrong types
    (_with("commission/tiers/0/rate", "5%"), "commission", "tiers[1].rate", "rate = 0.05"),
    (_with("commission/tiers/0/rate", True), "commission", "tiers[1].rate", "must be a number"),
    (_with("commission/tiers", {"rate": 0.1}), "commission", "tiers", "[[commission.tiers]]"),
    (_with("commission", 5), "commission", "commission", "is not a table"),
    (_with("clawback/within_days", 90.5), "clawback", "within_days", "whole number"),
    (_with("draw", {"amount": 1, "recoverable": "yes"}), "draw", "recoverable", "true or false"),
    (_with("eligibility/roles", [1]), "eligibility", "roles", "list of text"),
    (_with("period", "monthly"), "plan", "period", "did you mean 'month'"),
    (_with("crediting/rules", ["ower"]), "crediting", "rules", "did you mean 'owner'"),
    (_with("bonuses", {"name": "b"}), "plan", "bonuses", "[[bonuses]]"),
    # tiers: unsorted, overlapping, gapped, empty
    (
        _with("commission/tiers", [TIERS3[0], TIERS3[2], TIERS3[1]]),
        "commission",
        "tiers[3].from",
        "not sorted",
    ),
    (
        _with("commission/tiers", [TIERS3[0], {**TIERS3[1], "to": 1.2}, TIERS3[2]]),
        "commission",
        "tiers[2].to",
        "overlaps tier 3",
    ),
    (
        _with("commission/tiers", [{**TIERS3[0], "to": 0.4}, *TIERS3[1:]]),
        "commission",
        "tiers[1].to",
        "gap",
    ),
    (
        _with("commission/tiers", [{"from": 0.2, "rate": 0.1}]),
        "commission",
        "tiers[1].from",
        "not 0",
    ),
    (_with("commission/tiers", []), "commission", "tiers", "no tiers"),
    (
        _with("commission/tiers", [{"from": 0, "to": 0, "rate": 0.1}]),
        "commission",
        "tiers[1].to",
        "not above",
    ),
    # negative, absurd and percent-looking values
    (_with("commission/tiers/0/rate", -0.05), "commission", "tiers[1].rate", ">= 0"),
    (_with("commission/tiers/0/rate", 5), "commission", "tiers[1].rate", "rate = 0.05"),
    (_with("commission/tiers/0/rate", 500), "commission", "tiers[1].rate", "absurd"),
    (_with("commission/gate", 50), "commission", "gate", "gate = 0.5"),
    (_with("commission/cap_attainment", 200), "commission", "cap_attainment", "= 2"),
    (_with("draw", {"amount": 100, "recovery_share": 50}), "draw", "recovery_share", "= 0.5"),
    (_with("team_pools", [{"name": "t", "rate": 2}]), "team_pool t", "rate", "= 0.02"),
    (_with("spiffs", [{"name": "s", "rate": 3}]), "spiff s", "rate", "= 0.03"),
    (
        _with("rate_cards", [{"column": "product_line", "values": {"Hardware": 50}}]),
        "rate_card product_line",
        "values.Hardware",
        "Hardware = 0.5",
    ),
    (
        _with(
            "bonuses",
            [{"name": "b", "of_target_incentive": True, "points": [{"at": 1.0, "amount": 20}]}],
        ),
        "bonus b",
        "points[1].amount",
        "amount = 0.2",
    ),
    (
        _with("bonuses", [{"name": "b", "points": [{"at": 120, "amount": 1}]}]),
        "bonus b",
        "points[1].at",
        "at = 1.2",
    ),
    # missing required fields
    ({"period": "month"}, "plan", "name", "is missing"),
    (_with("commission/tiers/0", {"from": 0}), "commission", "tiers[1].rate", "rate or multiplier"),
    (
        _with("commission/tiers", [TIERS3[0], {"rate": 0.1}]),
        "commission",
        "tiers[2].from",
        "is missing",
    ),
    (
        _with("commission/tiers/0", {"multiplier": 1.5}),
        "commission",
        "tiers[1].multiplier",
        "base_rate",
    ),
    (_with("draw", {"recoverable": False}), "draw", "amount", "is missing"),
    (_with("clawback", {"pro_rata": True}), "clawback", "within_days", "is missing"),
    (_with("bonuses", [{"name": "b"}]), "bonus b", "points", "no points"),
    (_with("bonuses", [{"points": [{"at": 1, "amount": 1}]}]), "bonuses[1]", "name", "missing"),
    (_with("rate_cards", [{"values": {"A": 1}}]), "rate_cards[1]", "column", "is missing"),
    # spec validation, re-raised with the file
    (_with("spiffs", [{"name": "s"}]), "spiff s", "amount", "pays nothing"),
    (
        _with(
            "bonuses", [{"name": "b", "points": [{"at": 1, "amount": 1}, {"at": 0.9, "amount": 2}]}]
        ),
        "bonus b",
        "points",
        "not strictly increasing",
    ),
    (
        _with(
            "rate_cards",
            [
                {
                    "column": "margin",
                    "bands": [{"to": 0.3, "multiplier": 1}, {"from": 0.2, "multiplier": 1}],
                }
            ],
        ),
        "rate_card margin",
        "bands",
        "overlap",
    ),
    (
        _with(
            "rate_cards",
            [{"column": "margin", "bands": [{"from": 0.5, "to": 0.4, "multiplier": 1}]}],
        ),
        "rate_card margin",
        "bands[1].to",
        "empty or reversed",
    ),
    (_with("quota", {"source": "annual"}), "quota", "annual", "positive annual amount"),
    (
        _with("spiffs", [{"name": "x", "amount": 1}])
        | {"bonuses": [{"name": "x", "points": [{"at": 1, "amount": 1}]}]},
        "plan",
        "name",
        "repeat",
    ),
    (
        _with("spiffs", [{"name": "s", "amount": 1, "start": "2025-13-01"}]),
        "spiff s",
        "start",
        "must be a date",
    ),
    (
        _with("spiffs", [{"name": "s", "amount": 1, "start": "2025-03-01", "end": "2025-03-01"}]),
        "spiff s",
        "end",
        "not after start",
    ),
    (
        _with(
            "spiffs",
            [
                {
                    "name": "s",
                    "amount": 1,
                    "start": dt.date(2025, 3, 2),
                    "end": dt.datetime(2025, 3, 2, 7, tzinfo=CST),
                }
            ],
        ),
        "spiff s",
        "end",
        "not after start",
    ),
    (_with("commission/base_rate", 0.05), "commission", "base_rate", "no tier has a multiplier"),
    (_with("commission/tiers/0/to", 2.0), "commission", "tiers[1].to", "cap_attainment"),
]


@pytest.mark.parametrize(("data", "component", "field", "fragment"), ERRORS)
def test_errors_name_file_component_field_and_fix(
    data: dict[str, Any], component: str, field: str, fragment: str
) -> None:
    with pytest.raises(PlanError) as info:
        plan_from_dict(data, file=FILE)
    err = info.value
    assert (err.file, err.component, err.field) == (FILE, component, field), str(err)
    message = str(err)
    assert message.startswith(f"{FILE}: [{component}] {field}: "), message
    assert "Fix: " in message and err.fix
    assert fragment in message, message


def test_parse_plan_reports_every_broken_component() -> None:
    data = {
        "name": "p",
        "colour": "red",
        "commission": {"tiers": [{"rate": 5}]},
        "draw": {"amount": -1},
        "bonuses": [{"name": "a"}, {"name": "b", "points": [{"at": 1, "amount": 1}]}],
    }
    plan, errors = parse_plan(data, file=FILE)
    assert plan is None
    where = [(e.component, e.field) for e in errors]
    assert where == [
        ("plan", "colour"),
        ("commission", "tiers[1].rate"),
        ("draw", "amount"),
        ("bonus a", "points"),
    ]
    assert all(e.file == FILE for e in errors)
    assert parse_plan(["not", "a", "table"], file=FILE)[1][0].file == FILE


# ------------------------------------------------------------------ round trip
HAND_BUILT = [
    Plan("flat", commission=Commission((Tier(0, INF, 0.05),))),
    Plan("bare"),
    plan_from_dict(tomllib.loads(FULL)),
    Plan(
        "ti",
        period="year",
        base_salary=0.0,
        target_incentive=50_000.0,
        commission=Commission(
            (Tier(0, 1, 1.0, "to quota"), Tier(1, INF, 1.5)),
            rate_of="target_incentive",
            cap_payout=1e6,
        ),
        bonuses=(QuotaBonus("step", ((1.0, 500.0), (1.5, 900.0))),),
        quota=QuotaRule("table", 5.0),  # annual ignored with a table source: still round-trips
        crediting=Crediting(("owner",), 2.0),
    ),
    Plan(
        "cards",
        rate_cards=(
            RateCard("deal_type", values=(("renewal", 0.5),), default=0.0),
            RateCard("margin", bands=(Band(0.0, 0.2, 0.0), Band(0.5, 0.9, 2.0)), name="m"),
        ),
        spiffs=(Spiff("s", rate=0.02, where=(("region", ("East",)),), end="2026-01-01"),),
        team_pools=(TeamPool("pool", amount=100.0),),
        draw=Draw(10.0, recoverable=False),
        clawback=Clawback(30),
    ),
]


@pytest.mark.parametrize("plan", HAND_BUILT, ids=lambda p: p.name)
def test_round_trip_hand_built(plan: Plan) -> None:
    data = plan_to_dict(plan)
    assert plan_from_dict(data) == plan
    assert plan_to_dict(plan_from_dict(data)) == data


def test_to_dict_leaves_out_defaults_and_open_ends() -> None:
    data = plan_to_dict(HAND_BUILT[0])
    assert data["commission"]["tiers"] == [{"from": 0, "rate": 0.05}]
    assert "cap_attainment" not in data["commission"] and "eligibility" not in data


names = st.text("abcdefgh xyz", min_size=1, max_size=8)
fractions = st.floats(0, 1, allow_nan=False)
amounts = st.floats(0, 1e7, allow_nan=False)


@st.composite
def commissions(draw: st.DrawFn) -> Commission:
    cuts = sorted(draw(st.sets(st.floats(0.01, 5, allow_nan=False), max_size=4)))
    lowers = [0.0, *cuts]
    uppers = [*cuts, INF]  # the last tier is open-ended (spec)
    rate_of = draw(st.sampled_from(["measure", "target_incentive"]))
    rates = st.floats(0, 1 if rate_of == "measure" else 10, allow_nan=False)
    tiers = tuple(
        Tier(lo, hi, draw(rates), draw(st.sampled_from(["", "x"])))
        for lo, hi in zip(lowers, uppers, strict=True)
    )
    gate = draw(st.sampled_from([0.0, 0.5]))
    return Commission(
        tiers,
        method=draw(st.sampled_from(["marginal", "retroactive"])),
        measure=draw(st.sampled_from(["bookings", "margin", "units"])),
        rate_of=rate_of,
        gate=gate,
        cap_attainment=draw(st.sampled_from([INF, 2.0])),
        cap_payout=draw(st.sampled_from([INF, 1000.0])),
        cap_payout_ti=draw(st.sampled_from([INF, 3.0])),
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    commission = draw(st.none() | commissions())
    cards: tuple[RateCard, ...] = ()
    if commission is None or commission.rate_of == "measure":
        cards = draw(
            st.lists(
                st.builds(
                    RateCard,
                    st.sampled_from(["product_line", "deal_type"]),
                    values=st.lists(
                        st.tuples(names, st.floats(0, 3)),
                        min_size=1,
                        max_size=3,
                        unique_by=lambda p: p[0],
                    ).map(tuple),
                    default=st.floats(0, 2),
                    name=st.sampled_from(["", "card"]),
                ),
                max_size=2,
            ).map(tuple)
        )
    points = st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=3, unique=True)
    bonus = st.builds(
        QuotaBonus,
        st.just("bonus"),
        points.map(lambda at: tuple((a, 0.5 * i) for i, a in enumerate(sorted(at)))),
        kind=st.sampled_from(["step", "linear"]),
        of_target_incentive=st.booleans(),
    )
    return Plan(
        draw(names),
        description=draw(st.sampled_from(["", "d"])),
        currency=draw(st.sampled_from(["", "CNY"])),
        period=draw(st.sampled_from(["month", "quarter", "year"])),
        attainment=draw(st.sampled_from(["period", "ytd"])),
        year_start_month=draw(st.integers(1, 12)),
        eligibility=Eligibility(tuple(draw(st.lists(names, max_size=2)))),
        crediting=Crediting(
            draw(st.sampled_from([("owner",), ("splits", "manager")])), draw(st.floats(0, 2))
        ),
        quota=draw(st.sampled_from([QuotaRule(), QuotaRule("annual", 1e6, True)])),
        base_salary=draw(st.none() | amounts),
        target_incentive=draw(st.none() | amounts),
        commission=commission,
        rate_cards=cards,
        bonuses=tuple(draw(st.lists(bonus, max_size=1))),
        spiffs=tuple(
            draw(
                st.lists(
                    st.builds(
                        Spiff,
                        st.just("spiff"),
                        amount=st.floats(1, 1e4),
                        rate=fractions,
                        start=st.sampled_from([None, "2025-01-01"]),
                    ),
                    max_size=1,
                )
            )
        ),
        team_pools=tuple(
            draw(
                st.lists(
                    st.builds(TeamPool, st.just("pool"), rate=fractions, gate=st.floats(0, 2)),
                    max_size=1,
                )
            )
        ),
        draw=draw(
            st.none()
            | st.builds(
                Draw, amounts, st.booleans(), st.floats(0.01, 1), st.booleans(), st.integers(0, 12)
            )
        ),
        clawback=draw(st.none() | st.builds(Clawback, st.integers(1, 365), st.booleans())),
    )


@settings(max_examples=150, deadline=None)
@given(plans())
def test_round_trip_property(plan: Plan) -> None:
    """Every plan within the file format's sanity limits (no percent-looking values)."""
    assert plan_from_dict(plan_to_dict(plan)) == plan
