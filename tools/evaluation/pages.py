"""Load the functions a notebook defines on its page, so that tests can check them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
KEPT = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def page_functions(notebook: str, *names: str, **names_above) -> dict:
    """Return {name: function or class} for ``names`` defined in the notebook whose file starts so.

    The imports and definitions of the cells defining them run in order, in one namespace that
    starts with ``names_above`` (what those functions use from earlier cells, e.g. ``ev``).
    """
    (path,) = NOTEBOOKS.glob(f"{notebook}*.ipynb")
    namespace = dict(names_above)
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        wanted = (f"{kind} {name}(" for kind in ("def", "class") for name in names)
        if cell["cell_type"] != "code" or not any(text in source for text in wanted):
            continue
        kept = [node for node in ast.parse(source).body if isinstance(node, KEPT)]
        exec(compile(ast.Module(kept, []), str(path), "exec"), namespace)
    missing = [name for name in names if name not in namespace]
    if missing:
        raise LookupError(f"{path.name} defines no {missing}")
    return {name: namespace[name] for name in names}
