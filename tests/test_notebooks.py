"""Every notebook runs top to bottom against data/sample, and is committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

# What each notebook must display (in its HTML or text outputs) once run: captions of the
# results it is about, so a notebook that runs but shows the wrong thing fails.
MARKERS: dict[str, tuple[str, ...]] = {
    "00-quickstart.ipynb": ("Data quality", "Funnel (cohort view"),
    "01-funnel-explorer.ipynb": (
        "Funnel (cohort view, implied reach) by region",
        "Cohort conversion (cohort view",
        "Sales cycle (days;",
        "Stage transitions (",
        "Waterfall (",
    ),
    "02-lead-sources-and-sop.ipynb": (
        "Lead-source quality (cohort view)",
        "Sources compared on lead_to_won",
        "score validation: deal rate by score band",
        "SOP compliance by owner_id: SLA 4 h",
        "Conversion by response time and follow-up cadence",
        "by owner within lead source",
    ),
    "03-commission-plan-lab.ipynb": (
        "Payout curves of 4 plan(s)",
        "Backtest of plan &#x27;current&#x27;",
        "Statement R04 2024-03: total",
        "Simulation of",
        "Fairness of 4 plan(s)",
        "Calibrated cost_of_sales to 0.14",
        "current (what-if)",
    ),
    "04-plan-fairness-review.ipynb": (
        "Five analyses of 5 plan(s)",
        "Fairness of 5 plan(s) on a backtest",
        "no cliff or kink found",
        "Gaming risks of plan &#x27;current&#x27;",
    ),
}
# Notebooks with ipywidgets controls: the control is displayed, and what it shows when run
# (held in the widget state, not in the cell outputs) contains this text and no error.
WIDGETS: dict[str, str] = {"03-commission-plan-lab.ipynb": "current (what-if)"}


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS
    assert sorted(MARKERS) == [p.name for p in NOTEBOOKS], "give every notebook its markers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_holds_no_logic(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]).startswith("# Parameters"), "a parameters cell first"
    for cell in code:
        assert cell.get("outputs") == [] and cell.get("execution_count") is None
        src = "".join(cell["source"])
        assert not any(line.lstrip().startswith(("def ", "class ")) for line in src.splitlines())
    assert "widgets" not in nb["metadata"], "widget state is an output: strip it"


def _text(outputs: list[Any]) -> str:
    parts = []
    for o in outputs:
        data = o.get("data", {})
        parts += [data.get("text/html", ""), data.get("text/plain", ""), o.get("text", "")]
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = _text(outputs)
    missing = [m for m in MARKERS[path.name] if m not in text]
    assert not missing, f"{path.name} did not display {missing}"
    if path.name in WIDGETS:
        views = [
            o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        ]
        assert views, "the controls are not displayed"
        state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        shown = [
            o
            for model in state.values()
            if model["model_name"] == "OutputModel"
            for o in model["state"].get("outputs", [])
        ]
        assert shown and not [o for o in shown if o.get("output_type") == "error"]
        assert WIDGETS[path.name] in _text(shown)
