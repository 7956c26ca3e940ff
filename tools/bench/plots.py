"""Plots: throughput by batch size and max_length, speed vs quality, latency by stage (nb 05)."""

from __future__ import annotations

from pathlib import Path

from tools.bench.quality import timed_questions
from tools.bench.settings import GOALS


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    return plt, fig, ax


def _save(plt, fig, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)
    return name


def sweep_plot(section: dict, sweep: str, label: str, out: Path) -> str | None:
    """Draw pairs/s against batch size or max_length, one line per backend, min–max bars."""
    items = [m for m in section.get("measurements", []) if m.get("sweep") == sweep]
    if not items:
        return None
    plt, fig, ax = _figure()
    for name in dict.fromkeys(m["name"] for m in items):
        rows = sorted((m[sweep], m) for m in items if m["name"] == name)
        ax.errorbar(
            [x for x, _ in rows], [m["median"] for _, m in rows],
            yerr=[[m["median"] - m["min"] for _, m in rows],
                  [m["max"] - m["median"] for _, m in rows]],
            marker="o", capsize=3, label=name,
        )  # fmt: skip
    ticks = sorted({m[sweep] for m in items})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(label)
    ax.set_ylabel("pairs/s (median, min–max)")
    ax.set_title(f"Cross-encoder throughput by {label}")
    ax.legend(fontsize=7)
    return _save(plt, fig, out, f"throughput_{sweep}.png")


def quality_plot(section: dict, out: Path) -> str | None:
    """Draw each backend's speed-up against its nDCG@10 share of fp32 (95% interval)."""
    backends = section.get("backends") or {}
    if not backends:
        return None
    plt, fig, ax = _figure()
    speed_goal, bar = GOALS["quality"]
    for name, b in backends.items():
        ratio, (low, high) = b["ndcg_ratio_vs_fp32"], b["ndcg_ratio_ci95"]
        ax.errorbar(
            b["speedup"]["median"], ratio * 100,
            yerr=[[(ratio - low) * 100], [(high - ratio) * 100]],
            marker="o", capsize=3, label=name,
        )  # fmt: skip
    ax.axhline(bar * 100, color="grey", linestyle="--", linewidth=1)
    ax.axvline(speed_goal, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("speed-up vs torch fp32 (median per request)")
    ax.set_ylabel("nDCG@10, % of fp32 (95% CI)")
    timed, ranked = timed_questions(section), section["queries"]
    ax.set_title(f"Speed vs ranking quality: {timed} questions timed, {ranked} ranked")
    ax.legend(fontsize=7)
    return _save(plt, fig, out, "speed_vs_quality.png")


def latency_plot(section: dict, out: Path) -> str | None:
    """Draw the median time per stage for each k, stacked."""
    items = section.get("measurements") or []
    if not items:
        return None
    plt, fig, ax = _figure()
    ks = sorted({m["k"] for m in items})
    bottom = [0.0] * len(ks)
    for stage in ("embed", "search", "rerank", "other"):
        values = [
            next(m["median"] for m in items if m["name"] == stage and m["k"] == k) for k in ks
        ]
        ax.bar([str(k) for k in ks], values, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xlabel("k (candidates reranked)")
    ax.set_ylabel("ms per query (median)")
    ax.set_title("End-to-end latency by stage")
    ax.legend()
    return _save(plt, fig, out, "latency_stages.png")


def write_plots(results: dict, out: Path) -> list[str]:
    """Write every plot the results allow into ``out``; return their file names."""
    sections = results["sections"]
    throughput = sections.get("throughput", {})
    written = [
        sweep_plot(throughput, "batch_size", "batch size", out),
        sweep_plot(throughput, "max_length", "max_length", out),
        quality_plot(sections.get("quality", {}), out),
        latency_plot(sections.get("latency", {}), out),
    ]
    return [name for name in written if name]
