"""The quality report: balance, codes, JSON shape, strict errors, HTML escaping."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from salesanalytics.quality import PROBLEMS, DataError, QualityLog


def build() -> QualityLog:
    log = QualityLog()
    log.count_in("deals", 5)
    log.add("deals", "d.csv", np.array([3, 5]), "amount", ["-1", "<script>"], "negative_amount")
    log.add("deals", "d.csv", np.array([5]), "created_at", ["x"], "bad_datetime")
    log.add("deals", "d.csv", np.array([2]), "amount", [None], "missing_amount")
    log.add("deals", None, None, "currency", None, "mixed_currencies", "USD 3, EUR 1")
    log.count_loaded("deals", 3)
    log.count_in("stage_events", 4)
    log.add(
        "stage_events", "e.csv", [4], "stage", ["lead"], "repeated_stage", ["merged into e.csv:3"]
    )
    log.count_loaded("stage_events", 3)
    return log


def test_counts_distinct_rows_and_balance() -> None:
    q = build().freeze()
    assert q.counts.loc["deals"].tolist() == [
        5,
        3,
        0,
        2,
        2,
    ]  # rows_in, loaded, merged, rejected, warnings
    assert q.counts.loc["stage_events"].tolist() == [4, 3, 1, 0, 0]
    assert q.balanced and q.n_rejected == 2
    assert len(q.rejects) == 3 and len(q.warnings) == 2
    assert q.problems["line"].isna().sum() == 1


def test_unbalanced_is_detected() -> None:
    log = build()
    log.count_in("deals", 1)
    assert not log.freeze().balanced


def test_by_code_and_json_shape() -> None:
    q = build().freeze()
    codes = q.by_code()
    assert codes.iloc[0]["code"] == "negative_amount" and codes.iloc[0]["count"] == 2
    payload = json.loads(json.dumps(q.to_dict(max_problems=2)))
    assert set(payload) == {
        "tables",
        "balanced",
        "problem_counts",
        "problems",
        "problems_truncated",
        "notes",
    }
    assert payload["problems_truncated"] == 4
    assert payload["tables"]["deals"] == {
        "rows_in": 5,
        "loaded": 3,
        "merged": 0,
        "rejected": 2,
        "warnings": 2,
    }
    first = payload["problems"][0]  # problems are sorted by table, file, line
    assert first["line"] == 2 and first["code"] == "missing_amount"
    assert q.problems["line"].iloc[:4].tolist() == [2, 3, 5, 5]
    assert pd.isna(q.problems["line"].iloc[4]) and q.problems["table"].iloc[5] == "stage_events"
    assert set(first) == {
        "table",
        "file",
        "line",
        "column",
        "value",
        "code",
        "severity",
        "message",
        "hint",
    }


def test_strict_error_and_html_escaping() -> None:
    q = build().freeze()
    with pytest.raises(DataError) as err:
        q.raise_if_rejected()
    assert str(err.value).startswith("2 row(s) rejected; first: d.csv:3 column amount value '-1'")
    html = q._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_problem_kinds_are_complete() -> None:
    for code, kind in PROBLEMS.items():
        assert kind.code == code and kind.severity in ("reject", "merge", "warning")
        assert kind.message and kind.hint
    with pytest.raises(ValueError):
        QualityLog().add("deals", "f", None, None, None, "bad_amount")
