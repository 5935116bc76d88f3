"""The report in a real browser: headless Chromium opens it from disk (``file://``, no server,
no network), and the test checks that no console message was logged (errors, CSP violations,
uncaught exceptions), that every figure drew its SVG and that the page has its sections; it
saves a screenshot. Only subprocess and the standard library (no selenium/playwright).

Without Chromium the test is skipped, except in CI (``CI`` set), where it fails: ``.ci/run``
installs Debian's chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from salesanalytics.report import REPORT_NAME

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--virtual-time-budget=15000",
]
CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")
SECTIONS = ["summary", "funnel", "sources", "sop", "plans", "quality", "provenance"]


@pytest.fixture
def browser() -> str:
    """The Chromium executable (skip without one, fail in CI)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (the test runs in CI)")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "LANG": "C.UTF-8"},
    )


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Dom(HTMLParser):
    """Plot divs and how many ``svg.main-svg`` each holds; section ids."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []  # the plot div each open element belongs to
        self.plots: dict[str, int] = {}
        self.sections: list[str] = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._see(tag, attrs)  # <x/>: no end tag follows, the stack is unchanged

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        owner = self._see(tag, attrs)
        if tag not in VOID:
            self.stack.append(owner)

    def _see(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        owner = self.stack[-1] if self.stack else None
        if tag == "div" and "plotly-graph-div" in classes:
            owner = a.get("id") or f"plot-{len(self.plots)}"
            self.plots[owner] = 0
        if tag == "svg" and "main-svg" in classes and owner is not None:
            self.plots[owner] += 1
        if tag == "section" and a.get("id"):
            self.sections.append(str(a["id"]))
        return owner

    def handle_endtag(self, tag: str) -> None:
        if self.stack and tag not in VOID:
            self.stack.pop()


def test_report_renders_in_chromium(browser: str, built: Any, tmp_path: Path) -> None:
    page = (built.out / REPORT_NAME).resolve()
    url = page.as_uri()
    expected = page.read_text(encoding="utf-8").count('class="plotly-graph-div"')

    shot = tmp_path / "report.png"
    dom_run = _run(
        browser,
        tmp_path / "profile",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1100,2400",
        f"--screenshot={shot}",
        "--dump-dom",
        url,
    )
    assert dom_run.returncode == 0, dom_run.stderr[-2000:]
    messages = [m.group(1) for m in CONSOLE.finditer(dom_run.stderr)]
    assert messages == [], messages  # the page logs nothing: no errors, no CSP violations

    dom = _Dom()
    dom.feed(dom_run.stdout)
    assert dom.sections == SECTIONS
    assert len(dom.plots) == expected >= 7
    empty = [name for name, svgs in dom.plots.items() if svgs == 0]
    assert empty == [], f"figures that drew nothing: {empty}"

    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
