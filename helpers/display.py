"""Plain-text tables that read the same in Jupyter, a terminal and nbval (notebook 01)."""


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
