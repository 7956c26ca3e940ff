"""The code's shape (issue 21), read statically: no import circle; helpers/ never imports tools/;
no function in helpers/ over 40 lines; helpers/ at most 2,000 lines."""

from __future__ import annotations

import ast
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
