"""The code's shape (issue 21), read statically: no import circle; helpers/ never imports tools/;
no function in helpers/ over 40 lines; helpers/ at most 2,000 lines; the two pieces a reader
copies (notebook 02's pipeline cell, notebook 04's minimal handler) stay short and whole."""

from __future__ import annotations

import ast
import builtins
import json
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "tools")
# No import circle is allowed anywhere (issue 21); the last, helpers.evaluation <-> helpers.maxp,
# went in 8acfcde. A group listed here would pass.
KNOWN_CIRCLES: list[frozenset[str]] = []
MAX_FUNCTION_LINES = 40
MAX_HELPERS_LINES = 2000  # the sum of `wc -l` over helpers/**/*.py
# Functions in helpers/ allowed over MAX_FUNCTION_LINES, as "path:function": none.
LONG_FUNCTIONS: set[str] = set()


def module_files(packages=PACKAGES) -> dict[str, Path]:
    """Return {dotted module name: file} for every .py file under ``packages``."""
    modules = {}
    for package in packages:
        for path in sorted((REPOSITORY / package).rglob("*.py")):
            parts = list(path.relative_to(REPOSITORY).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Return the modules ``name`` imports anywhere in its file (inside functions too).

    ``from package import submodule`` counts as importing the submodule; ``from package import
    function`` counts as importing the package (its ``__init__``).
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
    return {module for module in found if module in modules and module != name}


def import_graph(packages=PACKAGES) -> dict[str, set[str]]:
    """Return {module: the course modules it imports}."""
    modules = module_files(packages)
    return {name: imported_names(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Return the groups of modules that import one another (strongly connected, size > 1)."""
    order, low, stack, found = {}, {}, [], []

    def visit(module: str) -> None:  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group = set()
            while not group or module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                found.append(frozenset(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [frozenset("abc")]


def test_no_import_circle_among_the_course_modules():
    found = circles(import_graph())
    unexpected = [sorted(group) for group in found if not any(group <= k for k in KNOWN_CIRCLES)]
    assert not unexpected, f"modules that import one another: {unexpected}"


def test_helpers_never_import_tools():
    modules = module_files()
    wrong = {
        name: sorted(m for m in imported_names(name, file, modules) if m.split(".")[0] == "tools")
        for name, file in modules.items()
        if name.split(".")[0] == "helpers"
    }
    assert not {name: found for name, found in wrong.items() if found}


def long_functions(package: str = "helpers") -> dict[str, int]:
    """Return {"path:function": lines} for every function in ``package`` over the limit."""
    found = {}
    for path in sorted((REPOSITORY / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{path.relative_to(REPOSITORY).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_in_helpers_is_over_40_lines():
    found = long_functions()
    assert not {name: n for name, n in found.items() if name not in LONG_FUNCTIONS}, found


def helpers_lines() -> int:
    """Return the lines of every .py file under helpers/, as `wc -l` counts them."""
    return sum(p.read_bytes().count(b"\n") for p in (REPOSITORY / "helpers").rglob("*.py"))


@pytest.mark.xfail(
    strict=True, reason="helpers/ is 2,760 lines (measured 2026-12-06); the bar is 2,000"
)
def test_helpers_is_at_most_2000_lines():
    assert helpers_lines() <= MAX_HELPERS_LINES, f"helpers/ is {helpers_lines()} lines"


def code_cell(notebook: str, marker: str) -> str:
    """Return the one code cell of ``notebooks/notebook`` that contains ``marker``."""
    cells = json.loads((REPOSITORY / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    (source,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and marker in "".join(c["source"])
    ]
    return source


def names_used_but_not_defined(source: str) -> set[str]:
    """Return the names ``source`` reads that it neither binds nor gets from builtins."""
    tree = ast.parse(source)
    bound, read = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound


def test_the_name_finder_sees_a_name_from_another_cell():
    assert names_used_but_not_defined("import os\nx = os.sep + y\nprint(x)") == {"y"}


def test_notebook_02_runs_the_seeds_pipeline_in_one_cell_a_reader_can_copy():
    # Issue 21: about 30 lines, literal model ids, everything it uses defined in the cell itself.
    cell = code_cell("02_rerank_with_a_cross_encoder.ipynb", "ContextualCompressionRetriever(")
    assert len([line for line in cell.splitlines() if line.strip()]) <= 30, cell
    for piece in (
        '"sentence-transformers/msmarco-distilbert-dot-v5"', '"BAAI/bge-reranker-base"',
        "chunk_size=500, chunk_overlap=100", '{"k": 20}', "top_n=3",
        "DistanceStrategy.MAX_INNER_PRODUCT", '"What is the plan for the economy?"',
    ):  # fmt: skip
        assert piece in cell, piece
    assert not names_used_but_not_defined(cell)


def test_notebook_04_writes_a_minimal_handler_of_the_seeds_shape_first():
    # Issue 21: at most ~60 lines, weights from model_dir (safetensors), pairs in, scores out.
    cell = code_cell(
        "04_serve_and_deploy_inference.ipynb", "%%writefile {minimal_code}/inference.py"
    )
    handler = cell.split("\n", 1)[1]
    assert len(handler.splitlines()) <= 60
    functions = {n.name for n in ast.walk(ast.parse(handler)) if isinstance(n, ast.FunctionDef)}
    assert functions == {"model_fn", "transform_fn"}
    assert "from_pretrained(model_dir" in handler and "use_safetensors=True" in handler
    assert '["pairs"]' in handler and '{"scores":' in handler
    assert not names_used_but_not_defined(handler)
