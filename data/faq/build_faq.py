"""Rebuild data/faq/faq.jsonl: real question -> answer pairs from two FAQs Debian ships.

Sources (see data/faq/README.md for versions and licences):
- the Python FAQ, ``python3.11-doc``: ``/usr/share/doc/python3.11/html/_sources/faq/*.rst.txt``
- the Perl FAQ, ``perl-doc``: ``/usr/share/perl/5.36.0/pod/perlfaq[1-9].pod``

Each row is one question heading and the prose under it (code blocks and markup dropped), cut
at a sentence end near ``MAX_CHARS`` so that an answer is about as long as one course chunk.

    python data/faq/build_faq.py              # apt-get download both packages into a temp dir
    python data/faq/build_faq.py --root /     # read the installed packages instead

The output is deterministic for the same package versions (rows sorted by source and order).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = ("python3.11-doc", "perl-doc")
PYTHON_FAQ = "usr/share/doc/python3.11/html/_sources/faq"
PERL_FAQ = "usr/share/perl/5.36.0/pod"
MAX_CHARS = 600
MIN_CHARS = 80  # shorter answers ("Yes.") carry no passage to match


def squash(text: str) -> str:
    """Collapse white space to single spaces."""
    return " ".join(text.split())


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """Return ``text`` cut after the last sentence end before ``limit`` (or at ``limit``)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
    return head[: end + 1] if end > limit // 3 else head.rsplit(" ", 1)[0]


def rst_prose(block: str) -> str:
    """Drop reST code blocks, directives and roles; keep the prose."""
    lines, skipping = [], False
    for line in block.splitlines():
        if skipping and (not line.strip() or line.startswith((" ", "\t"))):
            continue
        skipping = False
        stripped = line.strip()
        if stripped.endswith("::") or stripped.startswith(".. "):
            skipping = True
            line = stripped[:-1] if stripped.endswith("::") and stripped != "::" else ""
        elif stripped.startswith(">>>") or line.startswith("   "):
            continue
        lines.append(line)
    text = " ".join(lines)
    text = re.sub(r":\w+:`~?([^`<]*?)\s*(<[^>]*>)?`", r"\1", text)  # :func:`x` -> x
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)  # `name <url>`_ -> name
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"[*`|]", "", text)
    return squash(text)


def python_rows(folder: Path) -> list[dict]:
    """Return the Python FAQ's question headings (``-`` underlined, ending in ?) and answers."""
    rows = []
    for path in sorted(folder.glob("*.rst.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        heads = [
            i
            for i in range(len(lines) - 1)
            if lines[i].strip().endswith("?") and re.fullmatch(r"-{3,}", lines[i + 1].strip())
        ]
        for n, start in enumerate(heads):
            end = heads[n + 1] if n + 1 < len(heads) else len(lines)
            body = "\n".join(
                line
                for line in lines[start + 2 : end]
                if not re.fullmatch(r"[=\-~^]{3,}", line.strip())
            )
            rows.append(row("python-faq", path.name, lines[start], rst_prose(body)))
    return rows


def pod_prose(block: str) -> str:
    """Drop POD verbatim (indented) paragraphs and commands; unwrap formatting codes."""
    paragraphs = [p for p in re.split(r"\n\s*\n", block) if p.strip()]
    kept = [p for p in paragraphs if not p.startswith((" ", "\t", "="))]
    text = " ".join(kept)
    for _ in range(3):  # nested codes: C<L<x>>
        text = re.sub(r"[A-Z]<<+\s*(.*?)\s*>>+", r"\1", text)
        text = re.sub(r"[A-Z]<([^<>]*)>", lambda m: m.group(1).split("|")[0], text)
    return squash(text)


def perl_rows(folder: Path) -> list[dict]:
    """Return the Perl FAQ's ``=head2`` questions and answers (perlfaq1 to perlfaq9)."""
    rows = []
    for number in range(1, 10):
        path = folder / f"perlfaq{number}.pod"
        parts = re.split(r"^=head2 (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        for question, body in zip(parts[1::2], parts[2::2], strict=True):
            body = re.split(r"^=head1 ", body, flags=re.MULTILINE)[0]
            rows.append(row("perl-faq", path.name, pod_prose(question), pod_prose(body)))
    return rows


def row(source: str, file: str, question: str, answer: str) -> dict:
    """Return one JSONL row."""
    return {"source": source, "file": file, "question": squash(question), "answer": cut(answer)}


def extract(root: Path) -> list[dict]:
    """Return every usable row found under ``root`` (a file system root or an unpacked .deb)."""
    rows = python_rows(root / PYTHON_FAQ) + perl_rows(root / PERL_FAQ)
    return [r for r in rows if r["question"].endswith("?") and len(r["answer"]) >= MIN_CHARS]


def download(folder: Path) -> Path:
    """Download the two packages with apt-get and unpack them under ``folder``; return it."""
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=folder, check=True)
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb.name, "root"], cwd=folder, check=True)
    return folder / "root"


def main(argv: list[str] | None = None) -> int:
    """Write faq.jsonl (or --out) from the packages' FAQ sources."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, help="where the packages are unpacked (e.g. /)")
    parser.add_argument("--out", type=Path, default=HERE / "faq.jsonl")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = extract(args.root or download(Path(tmp)))
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(rows)} question -> answer rows written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
