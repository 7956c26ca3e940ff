"""The nbval rule (docs/contributing.md): what a notebook cell's output may leave uncompared.

A cell whose output nbval must not compare carries nbval's `nbval-ignore-output` tag and says why
in its metadata (`nbval_reason`), so a maintainer can tell a trained-model score from a forgotten
check, and a reader who copies the code copies no test plumbing.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TAG = "nbval-ignore-output"
# nbval's comment markers (NBVAL_IGNORE_OUTPUT, NBVAL_SKIP, ...) belong in tags, not in code.
COMMENT_MARKER = re.compile(r"^\s*#\s*NBVAL_", re.MULTILINE)


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code"]


def rule_breaches(cells: list[dict]) -> list[str]:
    """Return the first lines of cells that hide a marker in code or skip nbval without a reason."""
    breaches = []
    for cell in cells:
        source = "".join(cell["source"])
        first_line = source.splitlines()[0] if source else ""
        if COMMENT_MARKER.search(source):
            breaches.append(f"marker in code: {first_line}")
        metadata = cell.get("metadata", {})
        if TAG in metadata.get("tags", []) and not str(metadata.get("nbval_reason", "")).strip():
            breaches.append(f"no reason: {first_line}")
    return breaches


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_uncompared_cell_is_tagged_and_says_why(path):
    assert rule_breaches(code_cells(path)) == []


def test_the_check_catches_a_marker_in_code_and_a_tag_without_a_reason():
    cells = [
        {"source": ["# NBVAL_IGNORE_OUTPUT\n", "print(scores)"], "metadata": {}},
        {"source": ["print(scores)"], "metadata": {"tags": [TAG]}},
        {"source": ["print(scores)"], "metadata": {"tags": [TAG], "nbval_reason": "scores"}},
        {"source": ["x = 1  # NBVAL_SKIP is not at a line start"], "metadata": {}},
    ]
    assert rule_breaches(cells) == [
        "marker in code: # NBVAL_IGNORE_OUTPUT",
        "no reason: print(scores)",
    ]


def test_nbval_does_not_run_lax():
    # Lax mode compares only marked cells: a forgotten marker would silently check nothing.
    options = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "--nbval-lax" not in options and "--nbval " in options
