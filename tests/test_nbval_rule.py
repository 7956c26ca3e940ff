"""The nbval rule (README, Contributing): what a notebook cell's output may leave uncompared.

A cell whose output nbval must not compare says so on its first line and says why on its second,
so a reader (and a reviewer) can tell a trained-model score from a forgotten check.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IGNORE = "# NBVAL_IGNORE_OUTPUT"
REASON = "# Not compared:"
# The environment check is the same cell in every notebook: machine facts, by definition.
ENVIRONMENT_CHECK = "from helpers.envcheck import check"


def code_cells(path: Path) -> list[list[str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]).splitlines() for c in cells if c["cell_type"] == "code"]


def ignored_cells_without_a_reason(lines_per_cell: list[list[str]]) -> list[str]:
    """Return the first lines of cells that skip nbval's comparison without saying why."""
    missing = []
    for lines in lines_per_cell:
        if IGNORE not in (line.strip() for line in lines):
            continue
        is_env_check = any(ENVIRONMENT_CHECK in line for line in lines)
        if lines[0].strip() != IGNORE or not (
            is_env_check or (len(lines) > 1 and lines[1].startswith(REASON))
        ):
            missing.append(lines[1] if len(lines) > 1 else lines[0])
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_uncompared_cell_says_why(path):
    assert ignored_cells_without_a_reason(code_cells(path)) == []


def test_the_check_catches_a_cell_without_a_reason():
    cells = [
        [IGNORE, "print(scores)"],
        [IGNORE, f"{REASON} trained-model scores", "print(scores)"],
        ["x = 1", IGNORE, f"{REASON} not first"],
        [IGNORE, ENVIRONMENT_CHECK],
    ]
    assert ignored_cells_without_a_reason(cells) == ["print(scores)", IGNORE]


def test_nbval_does_not_run_lax():
    # Lax mode compares only marked cells: a forgotten marker would silently check nothing.
    options = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "--nbval-lax" not in options and "--nbval " in options
