"""The project's own promises: pins in sync and installable on the Python the docs name, every
import declared, notebooks shaped alike, every documented make command real."""

import ast
import functools
import json
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, metadata, packages_distributions
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def pins(lines):
    return sorted(
        line.strip().lstrip("- ") for line in lines if re.search(r"^[\s-]*[\w.-]+==", line)
    )


def test_environment_yml_has_the_same_pins_as_requirements():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    environment = (ROOT / "environment.yml").read_text().splitlines()
    assert pins(environment) == pins(requirements)


def test_torch_is_pinned_and_installed_as_the_cpu_wheel():
    import torch

    torch_pins = [p for p in pins((ROOT / "requirements.txt").read_text().splitlines())
                  if p.startswith("torch==")]  # fmt: skip
    assert len(torch_pins) == 1  # the Makefile installs exactly this one first
    assert torch.__version__.split("+")[0] == torch_pins[0].split("==")[1]
    assert torch.version.cuda is None, "pip pulled a CUDA build: reinstall the CPU wheel"


def test_uv_installs_from_the_sources_pip_is_configured_with():
    """uv reads no pip.conf: a local wheel folder (the CPU torch) must reach it (Makefile)."""
    from tools.pip_sources import uv_options

    listing = (
        "global.extra-index-url='file:///mirror/simple file:///more/simple'\n"
        "global.find-links='/opt/wheels'\n"
        "global.cert='/etc/ssl/certs/ca.crt'\n"
        ":env:.find-links='/opt/wheels'\n"
    )
    assert uv_options(listing) == [
        "--index-strategy", "unsafe-best-match",
        "--extra-index-url", "file:///mirror/simple", "--extra-index-url", "file:///more/simple",
        "--find-links", "/opt/wheels",
    ]  # fmt: skip
    assert uv_options("") == ["--index-strategy", "unsafe-best-match"]
    uv_pin = re.search(r"^UV_PIN := (uv==[\d.]+)$", (ROOT / "Makefile").read_text(), re.M)
    assert uv_pin and "UV_PIN := " in (ROOT / "serving" / "make_serve_venv.sh").read_text()


def fake_torch_wheel(folder: Path, version: str) -> str:
    """Write an empty pure-Python wheel named torch ``version`` into ``folder``; return its name."""
    import zipfile

    info, name = f"torch-{version}.dist-info", f"torch-{version}-py3-none-any.whl"
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr("torch/__init__.py", "")
        archive.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n"
        )
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return name


@pytest.fixture
def pytorch_index(tmp_path):
    """A local stand-in for PyTorch's CPU index, serving torch 2.13.0+cpu over HTTP; its URL."""
    import http.server
    import threading

    (tmp_path / "pytorch" / "torch").mkdir(parents=True)
    name = fake_torch_wheel(tmp_path / "pytorch" / "torch", "2.13.0+cpu")
    (tmp_path / "pytorch" / "torch" / "index.html").write_text(f'<a href="{name}">{name}</a>')
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "pytorch")
    )
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()


@pytest.fixture
def unreachable_index():
    from helpers.sagemaker.local import free_port  # a port nobody listens on

    return f"http://127.0.0.1:{free_port()}/whl/cpu"


def test_the_torch_step_adds_pytorchs_cpu_index_where_it_can_be_reached(
    pytorch_index, unreachable_index, capsys
):
    """PyPI's Linux torch is the CUDA build: the Makefile's and make_serve_venv.sh's torch step
    add PyTorch's CPU index when it answers, and say where torch comes from when it does not
    (this machine: no internet)."""
    from tools.pip_sources import torch_options

    assert torch_options(pytorch_index) == ["--extra-index-url", pytorch_index]
    assert torch_options(unreachable_index, timeout_s=5) == []
    assert f"note: {unreachable_index} cannot be reached" in capsys.readouterr().err
    assert torch_options("") == []  # TORCH_INDEX= leaves torch to pip's sources
    for script in (ROOT / "Makefile", ROOT / "serving" / "make_serve_venv.sh"):
        torch_step = next(line for line in script.read_text().splitlines() if "'^torch=='" in line)
        assert "--torch" in torch_step, script.name


def test_uv_takes_the_cpu_build_from_that_index_over_pypis(
    pytorch_index, unreachable_index, tmp_path
):
    """With the index added, uv picks 2.13.0+cpu over PyPI's 2.13.0 (here a wheel folder)."""
    from tools.pip_sources import torch_options

    uv = Path(sys.executable).parent / "uv"  # the Makefile's installer, in .venv
    if not uv.is_file():
        pytest.skip("no uv beside this Python: `make venv` installs it")
    (tmp_path / "pypi").mkdir()
    (tmp_path / "no-index").mkdir()
    fake_torch_wheel(tmp_path / "pypi", "2.13.0")

    def chosen(index: str) -> str:
        done = subprocess.run(
            [str(uv), "pip", "install", "--dry-run", "--no-deps", "--python", sys.executable,
             "--target", str(tmp_path / "env"), "--index-url", (tmp_path / "no-index").as_uri(),
             "--find-links", str(tmp_path / "pypi"), "--index-strategy", "unsafe-best-match",
             *torch_options(index, timeout_s=5), "torch==2.13.0"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return re.search(r"\+ torch==(\S+)", done.stderr).group(1)

    assert chosen(pytorch_index) == "2.13.0+cpu"
    assert chosen(unreachable_index) == "2.13.0"  # PyPI's, as the note says


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_make_test_times_alone_first_then_runs_the_rest_side_by_side():
    """tests/test_bench.py writes build/bench-quick, which notebook 05 reuses (``--reuse``): both
    run first, alone on the CPU they time; then every other test and notebook, in xdist workers
    of one torch thread each (a notebook whole in one worker), none of them run twice."""
    makefile = (ROOT / "Makefile").read_text()
    timed = re.search(r"^TIMED := (.+)$", makefile, re.M).group(1).split()
    assert timed == ["tests/test_bench.py", "notebooks/05_make_it_fast.ipynb"]
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    first, rest = re.findall(r"pytest ([^;]*);", recipe)
    assert first.split()[-1] == "$(TIMED)" and "-n" not in first.split()
    one_thread = "RERANK_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE"
    assert re.search(rf"^ONE_THREAD := {one_thread}$", makefile, re.M)
    assert "$(ONE_THREAD)" in recipe.split(first, 1)[1].split("pytest")[0]
    assert "-n $(TEST_WORKERS) --dist loadscope" in rest
    assert "$(addprefix --ignore ,$(TIMED))" in rest and rest.split()[-2:] == ["tests", "notebooks"]
    bench_test = (ROOT / "tests" / "test_bench.py").read_text()
    notebook = (ROOT / "notebooks" / "05_make_it_fast.ipynb").read_text()
    assert '"build" / "bench-quick"' in bench_test
    assert 'OUT = \\"build/bench-quick\\"' in notebook and '\\"--reuse\\"' in notebook


def test_every_make_command_in_ci_and_the_readmes_is_a_makefile_target():
    documented = {
        command.split()[1]
        for path in (ROOT / ".ci" / "run", ROOT / "README.md", ROOT / "README.zh-CN.md")
        for command in re.findall(r"\bmake [a-z][a-z-]*", path.read_text(encoding="utf-8"))
    }
    assert {"run", "test"} <= documented
    assert documented - make_targets() == set()


# Python version: the one the pins allow, said the same way everywhere ------------------------


def pinned_versions() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return dict(p.split("==") for p in pins(lines))


def oldest_python_the_pins_allow() -> Version:
    """The highest lower bound of Requires-Python over the installed, pinned distributions."""
    lowest = Version("3.8")
    for name, pinned in pinned_versions().items():
        info = metadata(name)
        assert info["Version"].split("+")[0] == pinned, f"{name} installed != pin: run make venv"
        for spec in SpecifierSet(info.get("Requires-Python") or ""):
            if spec.operator in (">=", ">"):
                lowest = max(lowest, Version(spec.version))
    return Version(f"{lowest.major}.{lowest.minor}")


def test_python_version_is_the_one_the_pins_need_everywhere():
    oldest = oldest_python_the_pins_allow()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={oldest}"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^PYTHON_MIN := {re.escape(str(oldest))}$", makefile, re.M)
    readme = " ".join((ROOT / "README.md").read_text().split())  # line breaks are the editor's
    assert f"Python {oldest} or newer" in readme
    assert f"Python {oldest} 或更新版本" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert f"python={oldest}" in (ROOT / "environment.yml").read_text()


# Every import of the notebooks and of the helpers they use is declared --------------------------

COLAB_EXTRAS = ("course", "offline")  # every notebook's Colab cell installs at least these
# Imported only inside a helper function that a notebook calls on an opt-in path; it must be
# declared in its extra, and a notebook that runs that path installs the extra (04, 07: aws).
ONLY_WHEN_ASKED = {"sagemaker": "aws"}  # helpers.sagemaker.deploy.import_sdk(), when deploying
# Needed at run time but imported by a library, not by our code: declared all the same.
IMPORTED_BY_LIBRARIES = {"rank-bm25": "LangChain's BM25Retriever"}


def imports_of(source: str) -> set[str]:
    """Top-level module names imported anywhere in ``source`` (IPython magics skipped)."""
    code = "\n".join(re.sub(r"^(\s*)[!%].*", r"\1pass", line) for line in source.splitlines())
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)  # and `from helpers import evaluation` may name a module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def helper_file(module: str) -> Path | None:
    path = ROOT / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports_reached_from(sources: list[str]) -> set[str]:
    """Follow ``helpers`` imports through the package; return the other top-level modules."""
    found, seen, todo = set(), set(), list(sources)
    while todo:
        for name in imports_of(todo.pop()):
            top = name.split(".")[0]
            if top != "helpers":
                found.add(top)
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # helpers, helpers.x, helpers.x.y
                module = ".".join(parts[:depth])
                path = helper_file(module)
                if path and module not in seen:
                    seen.add(module)
                    todo.append(path.read_text(encoding="utf-8"))
    return {m for m in found if m not in sys.stdlib_module_names and m != "__future__"}


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        r for extra in extras for r in project["optional-dependencies"].get(extra, [])
    ]
    return {canonicalize_name(Requirement(r).name) for r in wanted}


@functools.cache
def installed_distributions() -> dict[str, list[str]]:
    """{top-level module: distributions}, read once: scanning every installed package is slow."""
    return packages_distributions()


def distribution_of(module: str) -> str:
    names = installed_distributions().get(module)
    assert names, f"{module} is imported but not installed, so its distribution is unknown"
    return canonicalize_name(names[0])


def colab_extras(cells) -> list[str]:
    """The extras the notebook's Colab cell installs: ``rerank-lab[course,offline,...]``."""
    match = re.search(r'%pip install --quiet -e "/content/rerank-lab\[([a-z,]+)\]"', cells)
    assert match, "the Colab cell must pip install the cloned repository with its extras"
    return match.group(1).split(",")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_import_of_a_notebook_is_installed_by_its_colab_cell(path):
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    extras = colab_extras(code[0])
    assert set(COLAB_EXTRAS) <= set(extras)
    needed = {distribution_of(m) for m in third_party_imports_reached_from(code)}
    opt_in = {canonicalize_name(d) for d, extra in ONLY_WHEN_ASKED.items() if d in declared(extra)}
    missing = needed - declared(*extras) - opt_in
    assert missing == set(), f"declare them in pyproject or install more than {extras}"


def test_the_import_scan_sees_through_helpers_and_magics():
    modules = third_party_imports_reached_from(["%pip install x\nfrom helpers import evaluation"])
    assert {"ranx", "scipy"} <= modules and "pip" not in modules


def test_libraries_imported_for_us_are_declared_too():
    for distribution in IMPORTED_BY_LIBRARIES:
        assert canonicalize_name(distribution) in declared(*COLAB_EXTRAS)
    try:
        metadata("rank-bm25")
    except PackageNotFoundError:  # pragma: no cover - the pinned environment has it
        pytest.fail("rank-bm25 is declared but not installed")


def test_notebooks_are_numbered_and_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name
        assert f"notebooks/{path.name}" in readme, f"README does not link {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_header_footer_and_hygiene(path):
    cells = json.loads(path.read_text())["cells"]
    header = "".join(cells[0]["source"])
    for field in ("Level", "Time", "Prerequisites", "What you'll learn"):
        assert field in header, f"{path.name} header lacks {field}"
    assert "## What's next" in "".join(cells[-1]["source"])
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "import *" not in code and "sys.path" not in code
    assert "trust_remote_code=True" not in code
    assert not re.search(r"AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=", code)


def repository_url() -> str:
    match = re.search(r'^Repository = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "pyproject.toml needs [project.urls] Repository"
    return match.group(1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_in_colab_and_checks_the_environment_first(path):
    cells = json.loads(path.read_text())["cells"]
    slug = repository_url().removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}"
    assert badge in "".join(cells[0]["source"]), f"{path.name}: header lacks its Colab badge"
    assert badge in (ROOT / "README.md").read_text(), f"README lacks the Colab badge of {path.name}"
    install, env_check = ("".join(c["source"]) for c in cells[1:3])
    # The install cell must do nothing outside Colab, and clone the repository the badge opens.
    assert 'if "google.colab" in sys.modules:' in install
    assert f"git clone --quiet --depth 1 {repository_url()}.git" in install
    # ...and install everything its imports need (test_every_import_of_a_notebook_...).
    assert set(COLAB_EXTRAS) <= set(colab_extras(install))
    # Notebook 01 prints the full environment table; the others one line (helpers.envcheck).
    check = "check" if path.name.startswith("01_") else "summary"
    assert f"from helpers.envcheck import {check}" in env_check
    assert "nbval-ignore-output" in cells[2]["metadata"].get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_come_from_a_run_without_machine_paths(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    # One real top-to-bottom execution numbers the cells 1, 2, 3, ... with no gaps.
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    assert any(c["outputs"] for c in cells)
    text = json.dumps([c["outputs"] for c in cells])
    assert "/root/" not in text and "/home/" not in text and "site-packages" not in text
    assert "Traceback" not in text and '"output_type": "error"' not in text
