"""The project's own promises: pins in sync, notebooks shaped alike, CI = README's command."""

import json
import re
from pathlib import Path

import pytest

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


def test_torch_is_pinned_to_the_cpu_wheel():
    assert "torch==2.13.0" in pins((ROOT / "requirements.txt").read_text().splitlines())


def test_ci_runs_the_readmes_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


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
    assert "NBVAL_IGNORE_OUTPUT" in env_check and "from helpers.envcheck import check" in env_check


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_come_from_a_run_without_machine_paths(path):
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    # One real top-to-bottom execution numbers the cells 1, 2, 3, ... with no gaps.
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    assert any(c["outputs"] for c in cells)
    text = json.dumps([c["outputs"] for c in cells])
    assert "/root/" not in text and "/home/" not in text and "site-packages" not in text
    assert "Traceback" not in text and '"output_type": "error"' not in text
