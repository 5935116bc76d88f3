"""The README's two commands, and .ci/run running the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_exactly_two_quickstart_commands() -> None:
    cmds = quickstart_commands()
    assert len(cmds) == 2
    assert all("\n" not in c for c in cmds), "each command must be one copy-paste line"
    assert "data/sample" in cmds[0] and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quickstart_commands()[1] in ci.splitlines()


def test_docs_cover_every_column_and_problem_code() -> None:
    from salesanalytics.quality import PROBLEMS
    from salesanalytics.schema import TABLES

    model = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        for column in table.names:
            assert f"`{column}`" in model, (table.name, column)
    loading = (ROOT / "docs" / "loading.md").read_text(encoding="utf-8")
    for code in PROBLEMS:
        assert f"`{code}`" in loading, code
