"""Self-checks for the notebooks' exercises, one module per notebook (``nb01`` ... ``nb07``).

Each ``check_NN_*`` prints one line, "Correct: ..." or "Not yet: ...", and returns True or False.
It computes the right answer with the course's own code (FAISS, the configured models, ranx, the
serving schema), and it never raises on a wrong or unfinished (``None``) answer, so that a
learner's cell always runs. Solutions live in ``solutions/``: try first, then look.

``from helpers.exercises import check_02_pairs_scored`` finds the check in its notebook's module.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    """Import ``check_NN_*`` from the module of notebook NN on first use."""
    if name.startswith("check_") and name[6:8].isdigit():
        module = importlib.import_module(f"helpers.exercises.nb{name[6:8]}")
        return getattr(module, name)
    raise AttributeError(f"module 'helpers.exercises' has no attribute {name!r}")
