"""What every exercise test uses (tests/test_exercises*.py): the solution module of a notebook and
the assertion on the one verdict line a check prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_solution(notebook_stem: str) -> ModuleType:
    """Import solutions/<notebook_stem>.py by path: the folder is not a package."""
    spec = importlib.util.spec_from_file_location(
        f"solution_{notebook_stem}", ROOT / "solutions" / f"{notebook_stem}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expect(capsys, passed, correct: bool, *phrases: str) -> None:
    """Assert one printed verdict line, its return value, and the phrases it names."""
    out = capsys.readouterr().out
    assert passed is correct, out
    assert out.startswith("Correct: " if correct else "Not yet: "), out
    assert out.count("\n") == 1, out
    for phrase in phrases:
        assert phrase in out, out
