"""Tables in Markdown, the whole report, and results.json (notebook 05 prints these tables)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tools.bench.quality import best_backend, timed_questions
from tools.bench.serving import breakdown
from tools.bench.settings import SCHEMA_VERSION, SECTIONS, TITLES
from tools.bench.verdicts import (
    SMALL_REQUEST,
    decision,
    fmt_ratio_summary,
    goal_line,
    goals,
    summary_lines,
)

MEASUREMENT_KEYS = ("median", "min", "max", "p95", "repetitions", "unit")
STATUSES = ("ok", "not available", "failed")


def fmt_summary(summary: dict | None, spec: str = ".1f", suffix: str = "") -> str:
    """Format ``median (min–max)``."""
    if not summary:
        return "n/a"
    median, low, high = summary["median"], summary["min"], summary["max"]
    return f"{median:{spec}}{suffix} ({low:{spec}}–{high:{spec}})"


def fmt_p95(summary: dict | None, spec: str = ".1f") -> str:
    """Format a p95, or say why there is none (too few samples)."""
    if not summary:
        return "n/a"
    if summary.get("p95") is None:
        return f"n/a (n={summary['repetitions']})"
    return f"{summary['p95']:{spec}}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a Markdown table; the first column is left-aligned, the rest right-aligned."""
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _find(items: list, **labels) -> dict | None:
    return next((i for i in items if all(i.get(k) == v for k, v in labels.items())), None)


def _sweep_table(section: dict, sweep: str, label: str) -> str:
    """Return one throughput table: a row per backend, a column per value of ``sweep``."""
    items = [m for m in section["measurements"] if m["sweep"] == sweep]
    values = sorted({m[sweep] for m in items})
    rows = [
        [name, *(fmt_summary(_find(items, name=name, **{sweep: v}), ".0f") for v in values)]
        for name in dict.fromkeys(m["name"] for m in items)
    ]
    return markdown_table(["backend", *[f"{label} {v}" for v in values]], rows)


def throughput_tables(section: dict) -> str:
    """Return section 1: pairs/s by batch size, and by max_length on long passages."""
    reps = section["measurements"][0]["repetitions"] if section["measurements"] else 0
    return (
        f"Pairs per second, median (min–max) of {reps} interleaved repetitions.\n\n"
        f"a) By batch size, max_length {section['grid_max_length']}, course chunks:\n\n"
        f"{_sweep_table(section, 'batch_size', 'batch')}\n\n"
        f"b) By max_length at batch {section['best_torch_batch_size']} (torch fp32's fastest), "
        f"long passages (4 chunks, ~2,000 characters):\n\n"
        f"{_sweep_table(section, 'max_length', 'max_length')}"
    )


def quality_table(section: dict, statuses: dict | None = None) -> str:
    """Return section 2: each backend's speed-up and ranking quality over every question."""
    rows = []
    for name, b in section["backends"].items():
        per = b["per_query_vs_fp32"]
        low, high = b["ndcg_ratio_ci95"]
        rows.append([
            name, fmt_ratio_summary(b["speedup"]), f"{b['latency']['median']:.0f}",
            fmt_p95(b["latency"], ".0f"), f"{b['ndcg@10']:.3f}",
            f"{b['ndcg_ratio_vs_fp32']:.1%} ({low:.1%}–{high:.1%})",
            f"{per['better']}/{per['same']}/{per['worse']}",
            f"{b['top1_agreement_with_fp32']:.0%}", f"{b['max_abs_logit_diff']:.3f}",
        ])  # fmt: skip
    for name, status in (statuses or {}).items():
        if name not in section["backends"]:
            rows.append([name, "", "", "", "", "", "", "", status])
    tokens = section.get("tokens") or {}
    token_text = (
        f" Tokens per (question, chunk) pair: median {tokens['median']:.0f}, max {tokens['max']}."
        if tokens
        else ""
    )
    table = markdown_table(
        ["backend", "speed-up vs fp32", "ms/request", "p95 ms", "nDCG@10",
         "nDCG vs fp32 (95% CI)", "better/same/worse", "same top-1", "max |Δ logit|"],
        rows,
    )  # fmt: skip
    timed = timed_questions(section)
    timed = f" (timed on the first {timed})" if timed < section["queries"] else ""
    return (
        f"n={section['queries']} questions, one request each: its dense top-"
        f"{section['candidates']} scored at batch {section['batch_size']}, max_length "
        f"{section['max_length']}; backends take turns on every question{timed}. Speed-up: "
        f"median (min–max) of per-question paired ratios; nDCG ratio: bootstrap 95% interval over "
        f"questions; better/same/worse: questions whose nDCG@10 moved against fp32. Dense "
        f"retrieval alone: nDCG@10 {section['dense_ndcg@10']:.3f}.{token_text}\n\n{table}"
    )


def langchain_table(section: dict) -> str:
    """Return section 3: ms per query for raw predict and the two LangChain paths."""
    rows = [[m["name"], fmt_summary(m), "1.00×"] for m in section["measurements"][:1]]
    for item in section["measurements"][1:]:
        rows.append([item["name"], fmt_summary(item), fmt_ratio_summary(
            _find(section["ratios"], name=item["name"]))])  # fmt: skip
    return (
        f"{section['queries']} questions × {section['candidates_per_query']} fixed candidates "
        f"per repetition, n={section['measurements'][0]['repetitions']} repetitions; top_n=3.\n\n"
        + markdown_table(["path", "ms/query", "time vs raw"], rows)
    )


def latency_table(section: dict) -> str:
    """Return section 4: p50 / p95 per stage and k, and the share that is not the model."""
    rows = []
    for k in sorted({m["k"] for m in section["measurements"]}):
        cells = [
            f"{m['median']:.1f} / {fmt_p95(m)}"
            for m in (_find(section["measurements"], name=s, k=k) for s in
                      ("embed", "search", "rerank", "other", "total"))
        ]  # fmt: skip
        share = _find(section["shares"], k=k)
        cells.append(f"{share['median']:.1%} ({share['min']:.1%}–{share['max']:.1%})")
        rows.append([f"k={k}", *cells])
    headers = ["k", "query embedding", "FAISS search", "rerank", "sort", "total",
               "not cross-encoder (share)"]  # fmt: skip
    return (
        f"Milliseconds, p50 / p95 over n={section['samples_per_k']} queries per k "
        f"({section['queries']} questions; torch fp32 via make_cross_encoder, batch 32, "
        f"max_length 512).\n\n" + markdown_table(headers, rows)
    )


def sagemaker_table(section: dict) -> str:
    """Return section 5: ms per call in-process and over HTTP, and where the gap goes."""
    parts = [
        f"Server: {section['server']} (started in {section['startup_seconds']:.0f} s), "
        f"{section['threads']} thread(s) on both sides, n={section['calls']} calls per case, "
        "contenders interleaved."
    ]
    for case in section["cases"]:
        label = " (the course's request)" if case["pairs"] == 20 else f" ({SMALL_REQUEST})"
        rows = [[m["name"], fmt_summary(m), fmt_p95(m)] for m in case["measurements"]]
        rows.append([case["ratio"]["name"], fmt_ratio_summary(case["ratio"]), ""])
        parts.append(f"{case['pairs']} pairs per call{label}:\n\n"
                     + markdown_table(["path", "ms/call", "p95"], rows))  # fmt: skip
    main = section["cases"][0]
    steps = breakdown(main)
    rows = [[step, f"{value:.1f}" if i in (0, len(steps) - 1) else f"{value:+.1f}"]
            for i, (step, value) in enumerate(steps)]  # fmt: skip
    parts.append(f"Where the time goes at {main['pairs']} pairs (medians, ms; each row is the "
                 "difference between two neighbouring measurements):\n\n"
                 + markdown_table(["step", "ms"], rows))  # fmt: skip
    return "\n\n".join(parts)


def threads_table(section: dict) -> str:
    """Return section 6: pairs/s per thread count and the per-repetition speed-up."""
    rows = [[m["name"], fmt_summary(m, ".0f")] for m in section["measurements"]]
    rows += [[r["name"], fmt_ratio_summary(r)] for r in section["ratios"]]
    return (
        f"Pairs per second at batch {section['batch_size']}, max_length {section['max_length']}, "
        f"n={section['measurements'][0]['repetitions']} repetitions.\n\n"
        + markdown_table(["setting", "pairs/s (or ratio)"], rows)
    )


TABLES = {
    "throughput": throughput_tables,
    "quality": quality_table,
    "langchain": langchain_table,
    "latency": latency_table,
    "sagemaker": sagemaker_table,
    "threads": threads_table,
}


def section_text(name: str, results: dict) -> str:
    """Return one section's table, or why it has none."""
    section = results["sections"][name]
    if section.get("status") != "ok":
        return f"{section.get('status')}: {section.get('reason', 'unknown reason')}"
    if name == "quality":
        return quality_table(section, results.get("backends"))
    return TABLES[name](section)


def validate_results(results: dict) -> list[str]:
    """Return the problems with a results dict (empty when it follows the schema)."""
    problems = [
        f"missing top-level key {key!r}"
        for key in ("schema_version", "created", "machine", "libraries", "settings", "sections")
        if key not in results
    ]
    if results.get("schema_version") not in (None, SCHEMA_VERSION):
        problems.append(f"schema_version is not {SCHEMA_VERSION}")
    for key in ("cpu_model", "logical_cores", "isa", "cpu_flags"):
        if key not in results.get("machine", {}):
            problems.append(f"machine lacks {key!r}")
    for name in SECTIONS:
        section = results.get("sections", {}).get(name)
        if not isinstance(section, dict):
            problems.append(f"section {name!r} missing")
            continue
        if section.get("status") not in STATUSES:
            problems.append(f"section {name!r} has no valid status")
        elif section["status"] != "ok" and not section.get("reason"):
            problems.append(f"section {name!r} is {section['status']} without a reason")
        for index, item in enumerate(section.get("measurements", [])):
            missing = [k for k in ("name", *MEASUREMENT_KEYS) if k not in item]
            if missing:
                problems.append(f"{name} measurement {index} lacks {missing}")
    return problems


def render_markdown(results: dict) -> str:
    """Return the whole report as Markdown: header, six sections, decision, goals, summary."""
    machine, libs = results["machine"], results["libraries"]
    load = machine.get("load_average_at_start")
    isa = ", ".join(k for k, v in machine.get("isa", {}).items() if v) or "none detected"
    parts = [
        "# Reranking benchmarks",
        f"{results['created']} · {machine['cpu_model']} · {machine['logical_cores']} logical "
        f"cores ({machine.get('usable_cores')} usable) · instruction sets: {isa} · "
        f"{machine.get('int8_hardware', '')} · load average at start: "
        f"{', '.join(f'{x:.1f}' for x in load) if load else 'n/a'}",
        f"Model: {results['model']['label']} · "
        f"{'quick run' if results['settings']['quick'] else 'full run'} · wall time "
        f"{results.get('wall_seconds', 0):.0f} s",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items() if v),
    ]
    for name in SECTIONS:
        parts += [f"## {TITLES[name]}", section_text(name, results)]
    parts += ["## Decision", results.get("decision") or decision(results), "## Goals"]
    parts.append("\n".join(
        f"- {goal_line(TITLES[g['section']].split('. ', 1)[1], g['met'], g['detail'])}"
        for g in results["goals"]
    ))  # fmt: skip
    parts += ["## One line per goal (compare across machines)", "```"
              + "\n" + "\n".join(results.get("summary", [])) + "\n```"]  # fmt: skip
    return "\n\n".join(parts) + "\n"


def finish(results: dict) -> None:
    """Add goals, the decision, the summary lines, the backend to ship and each section's table."""
    results["goals"] = goals(results)
    results["decision"] = decision(results)
    results["summary"] = summary_lines(results)
    results["ship"] = (best_backend(results["sections"]["quality"]) or {}).get("name")
    results["tables"] = {name: section_text(name, results) for name in SECTIONS}


def report(results: dict, out: Path) -> str:
    """Write results.json, results.md and plots into ``out``; return the Markdown."""
    from tools.bench.plots import write_plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    finish(results)
    results["plots"] = []
    for _ in range(2):  # the numbers are written first: a plot that fails cannot lose them
        text = render_markdown(results)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
        (out / "results.md").write_text(text)
        if results["plots"]:
            break
        results["plots"] = write_plots(results, out)
    return text
