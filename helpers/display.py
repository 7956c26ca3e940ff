"""Plain-text tables that read the same in Jupyter, a terminal and nbval (notebook 01)."""

from __future__ import annotations


def format_table(rows, headers) -> str:
    """Return ``rows`` as an aligned plain-text table under ``headers``."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def snippet(text: str, width: int = 60) -> str:
    """Return the first ``width`` characters of ``text`` on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def ranking_table(docs_with_scores, width: int = 60) -> str:
    """Return a table of rank, chunk id, score and snippet for ``[(doc, score), ...]``."""
    rows = [
        (rank, doc.metadata.get("id", "?"), f"{float(score):.4f}", snippet(doc.page_content, width))
        for rank, (doc, score) in enumerate(docs_with_scores, start=1)
    ]
    return format_table(rows, ["rank", "id", "score", "text"])


def side_by_side(left, right, names=("left", "right")) -> str:
    """Return a table comparing two rankings of documents by chunk id, rank by rank."""
    rows = []
    for rank, (a, b) in enumerate(zip(left, right, strict=True), start=1):
        a_id, b_id = a.metadata.get("id"), b.metadata.get("id")
        rows.append((rank, a_id, b_id, "" if a_id == b_id else "differs"))
    return format_table(rows, ["rank", f"{names[0]} id", f"{names[1]} id", ""])
