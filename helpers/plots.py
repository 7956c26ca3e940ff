"""Charts for notebooks 02 and 03: rank moves, a metric by k, pipelines side by side.

Each function draws one matplotlib figure with plain linear axes and returns it; in a notebook
the inline backend shows it at the end of the cell. nbval does not compare images, so every
chart sits next to a printed table of the same numbers.
"""

from __future__ import annotations


def _axes(width: float = 6.4, height: float = 3.6):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def rank_moves(base_ids: list, new_ids: list, top_n: int = 3, title: str = ""):
    """Draw each candidate's rank before (left) and after reranking (right); top_n in colour."""
    fig, ax = _axes(4.8, 6.0)
    new_rank = {chunk: rank for rank, chunk in enumerate(new_ids, start=1)}
    for old, chunk in enumerate(base_ids, start=1):
        kept = new_rank[chunk] <= top_n
        ax.plot([0, 1], [old, new_rank[chunk]], marker="o", color="C1" if kept else "0.75",
                linewidth=2.2 if kept else 1.0, zorder=3 if kept else 2)  # fmt: skip
        ax.annotate(str(chunk), (0, old), xytext=(-8, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=8)  # fmt: skip
        ax.annotate(str(chunk), (1, new_rank[chunk]), xytext=(8, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=8)  # fmt: skip
    ax.set_xticks([0, 1], ["first stage", "after reranking"])
    ax.set_xlim(-0.35, 1.35)
    ax.set_ylim(len(base_ids) + 0.5, 0.5)  # rank 1 at the top
    ax.set_yticks(range(1, len(base_ids) + 1))
    ax.set_ylabel("rank (chunk id beside each point)")
    ax.set_title(title or f"Where each candidate went (orange: the {top_n} kept)")
    fig.tight_layout()
    return fig


def metric_by_k(ks: list[int], curves: dict[str, list[float]], ylabel: str, title: str = ""):
    """Draw one line per system of a metric against k, the k values evenly spaced."""
    fig, ax = _axes()
    positions = list(range(len(ks)))  # even spacing: no log axis, no odd tick labels
    for name, values in curves.items():
        dashed = "ceiling" in name
        ax.plot(positions, values, marker="o", label=name, linestyle="--" if dashed else "-")
    ax.set_xticks(positions, [str(k) for k in ks])
    ax.set_xlabel("k, candidates from the first stage")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def pipeline_bars(names: list[str], metrics: dict[str, list[float]], title: str = ""):
    """Draw one horizontal group of bars per pipeline, one bar per metric, on a 0-1 axis."""
    fig, ax = _axes(7.6, 0.8 + 0.3 * len(names) * max(len(metrics), 1) / 2)
    height = 0.8 / max(len(metrics), 1)
    for index, (metric, values) in enumerate(metrics.items()):
        offsets = [row + index * height for row in range(len(names))]
        ax.barh(offsets, values, height=height, label=metric)
    ax.set_yticks([row + height * (len(metrics) - 1) / 2 for row in range(len(names))], names)
    ax.invert_yaxis()  # the first pipeline on top, as in the table
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (higher is better)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # beside the bars
    fig.tight_layout()
    return fig


def when_reranking_helps(labels: list[str], deltas: dict[str, list[float]], noise: float, title=""):
    """Draw each setup's change over its first stage alone, one bar per metric (notebook 03).

    The grey band is ``noise`` either side of 0: a change inside it is not significant on the
    questions measured (``ev.difference_needed``).
    """
    fig, ax = _axes(7.6, 1.2 + 0.5 * len(labels))
    height = 0.8 / max(len(deltas), 1)
    for index, (metric, values) in enumerate(deltas.items()):
        ax.barh([row + index * height for row in range(len(labels))], values, height=height,
                label=metric)  # fmt: skip
    ax.axvspan(-noise, noise, color="0.88", zorder=0, label=f"±{noise:.2f}: not significant")
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks([row + height * (len(deltas) - 1) / 2 for row in range(len(labels))], labels)
    ax.invert_yaxis()  # the first setup on top, as in the table
    ax.set_xlabel("change over the first stage alone (higher: reranking helps)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig
