"""Property: whatever cells of an export are blanked or garbled, every row is accounted for
(loaded, merged or rejected) and the input files are not changed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesanalytics as sa

EXPORTS = Path(__file__).resolve().parents[2] / "data" / "exports"
FAMILIES = ["salesforce", "hubspot", "pipedrive", "zoho"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(FAMILIES),
    edits=st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 40), st.sampled_from(["", "??", "1e9"])),
        max_size=6,
    ),
)
def test_rows_conserved_under_cell_damage(family: str, edits: list[tuple[int, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / family
        shutil.copytree(EXPORTS / family, dest)
        files = sorted(dest.iterdir())
        for k, (row, col, value) in enumerate(edits):
            path = files[k % len(files)]
            lines = path.read_text().splitlines()
            r = 1 + row % (len(lines) - 1)
            cells = lines[r].split(",")
            if '"' in lines[r]:
                continue
            cells[col % len(cells)] = value
            lines[r] = ",".join(cells)
            path.write_text("\n".join(lines) + "\n")
        snapshot = {p.name: p.read_bytes() for p in files}
        try:
            ds = sa.load(dest, format=family)
        except sa.DataError:
            return  # e.g. every deal rejected: no deals table is a clear error too
        assert ds.quality.balanced
        assert {p.name: p.read_bytes() for p in files} == snapshot
