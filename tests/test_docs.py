"""The docs stay true: the two READMEs in sync, every relative link resolves, the instructor
guide covers every notebook and quotes checkpoint lines the notebooks really print."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
INSTRUCTOR = ROOT / "docs" / "instructor.md"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
DOCS = [README, README_ZH, *sorted((ROOT / "docs").glob("*.md"))]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
MAKE_COMMAND = re.compile(r"\bmake [a-z][a-z-]*")
EXTERNAL = ("http://", "https://", "mailto:")


def code_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def prose(text: str) -> str:
    """The text without its fenced code blocks (a link inside a code block is not a link)."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    return LINK.findall(prose(text))


def make_commands(text: str) -> set[str]:
    code = code_blocks(text) + INLINE_CODE.findall(prose(text))
    return {command for snippet in code for command in MAKE_COMMAND.findall(snippet)}


def sections(text: str) -> list[str]:
    return [line for line in prose(text).splitlines() if line.startswith("## ")]


def anchors(text: str) -> set[str]:
    """Heading ids as GitHub makes them (lowercase, punctuation dropped), plus explicit ids."""
    ids = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for line in prose(text).splitlines():
        if line.startswith("#"):
            heading = re.sub(r"<[^>]+>", "", line.lstrip("#").strip()).lower()
            ids.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
    return ids


def test_the_readmes_link_to_each_other_at_the_top():
    assert "中文说明: [README.zh-CN.md](README.zh-CN.md)" in README.read_text().splitlines()[:5]
    assert "[README.md](README.md)" in "\n".join(README_ZH.read_text().splitlines()[:5])


def test_the_readmes_have_the_same_sections_code_links_and_commands():
    english, chinese = README.read_text(), README_ZH.read_text()
    assert len(sections(chinese)) == len(sections(english))
    assert code_blocks(chinese) == code_blocks(english)
    cross_links = {"README.md", "README.zh-CN.md"}
    assert set(links(chinese)) - cross_links == set(links(english)) - cross_links
    assert make_commands(chinese) == make_commands(english)
    assert make_commands(english) >= {"make run", "make test", "make models", "make check"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    text = doc.read_text()
    for target in links(text):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        assert linked.exists(), f"{doc.name} links to missing {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked.read_text()), f"{doc.name}: no anchor {target}"


def test_the_instructor_guide_names_every_notebook():
    guide = INSTRUCTOR.read_text()
    assert NOTEBOOKS
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.name}" in guide, f"instructor.md does not name {notebook.name}"


def notebook_output_lines() -> set[str]:
    lines = set()
    for notebook in NOTEBOOKS:
        for cell in json.loads(notebook.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain") or ""
                lines.update(line.rstrip() for line in "".join(text).splitlines())
    return lines


def test_instructor_checkpoints_quote_committed_notebook_outputs():
    checkpoints = INSTRUCTOR.read_text().split("## Checkpoints", 1)[1].split("\n## ", 1)[0]
    quoted = [line for block in code_blocks(checkpoints) for line in block.splitlines() if line]
    assert len(quoted) >= 20
    printed = notebook_output_lines()
    missing = [line for line in quoted if line not in printed]
    assert not missing, f"not printed by any committed notebook: {missing}"


def test_instructor_common_failures_quote_troubleshooting_headings():
    failures = INSTRUCTOR.read_text().split("## Common failures", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"\[`([^`]+)`\]\(troubleshooting\.md\)", failures)
    assert len(quoted) >= 5
    headings = [line for line in TROUBLESHOOTING.read_text().splitlines() if line.startswith("## ")]
    for text in quoted:
        assert any(text in heading for heading in headings), f"no troubleshooting heading: {text}"


def header_minutes(notebook: Path) -> int:
    """The time in a notebook's header table (its first cell): the first 'N minutes'."""
    header = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    return int(re.search(r"\|\s*(\d+) minutes", header).group(1))


def test_instructor_timing_table_and_total_match_the_notebook_headers():
    timing = INSTRUCTOR.read_text().split("## Timing", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| \d\d \| \[[^\]]+\]\(\.\./notebooks/([^)]+)\) \|[^|]+\| (\d+) min \|$",
                      timing, re.MULTILINE)  # fmt: skip
    assert [name for name, _ in rows] == [notebook.name for notebook in NOTEBOOKS]
    for name, minutes in rows:
        assert int(minutes) == header_minutes(ROOT / "notebooks" / name), name
    total = sum(header_minutes(notebook) for notebook in NOTEBOOKS)
    hours, minutes = divmod(total, 60)
    assert f"That is {total} minutes ({hours} h {minutes} min) of notebooks" in timing


def test_both_readme_front_pages_stay_small():
    # What the course teaches, the two commands, the course map, where to go next (issue 21);
    # the rest lives in docs/.
    for front_page in (README, README_ZH):  # bytes: the Chinese page pays 3 a character
        assert len(front_page.read_bytes()) <= 8 * 1024, front_page.name
