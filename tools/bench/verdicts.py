"""The goals, judged from the measurements, each with its sample size (notebook 05).

``goals(results)`` returns one dict per goal: section, met (True, False, or None where it was not
measured or the hardware rules it out), its verdict word (notebook 05 prints it) and a detail
line that names n. ``summary_lines`` gives one line per goal that a workshop can paste side by
side across laptops.
"""

from __future__ import annotations

from tools.bench.quality import best_backend
from tools.bench.settings import GOALS, REFERENCE


def fmt_ratio(value: float | None) -> str:
    """Format a ratio as ``1.23×``."""
    return "n/a" if value is None else f"{value:.2f}×"


def fmt_ratio_summary(summary: dict | None) -> str:
    """Format a ratio summary as ``1.23× (1.10–1.31)``."""
    if not summary:
        return "n/a"
    return f"{fmt_ratio(summary['median'])} ({summary['min']:.2f}–{summary['max']:.2f})"


# A goal's verdict; None: measured, but no goal applies (ruled out by hardware, informational).
VERDICTS = {True: "met", False: "NOT met", None: "no verdict"}
SMALL_REQUEST = "a small request"  # the serving section's second case: reported, no goal


def goal_line(label: str, met: bool | None, detail: str) -> str:
    """Return a ``label: verdict — detail`` line."""
    return f"{label}: {VERDICTS[met]} — {detail}"


def backend_goal(section: dict, isa: dict) -> dict:
    """Judge the backend goal: >= 3x torch fp32 at >= 99% of its nDCG@10, where VNNI/AMX exist."""
    speed_goal, bar = GOALS["quality"]
    best = best_backend(section) if section.get("status") == "ok" else None
    if best is None:
        return {"section": "quality", "met": None, "detail": "no backend ran"}
    low, high = best["ci95"]
    detail = (
        f"{best['name']}: {fmt_ratio_summary(best['speedup'])} torch fp32's speed per request "
        f"(n={best['queries']} timed questions), nDCG@10 {best['ndcg_ratio']:.1%} of fp32 "
        f"(95% CI {low:.1%}–{high:.1%}, n={best['ranked']} questions) "
        f"(goal ≥ {speed_goal:g}× at ≥ {bar:.0%})"
    )
    if not (isa.get("vnni") or isa.get("amx")):
        return {
            "section": "quality", "met": None,
            "detail": "ruled out by hardware: this CPU has no VNNI or AMX, so int8 has no fused "
            f"dot product to gain from; best measured: {detail}",
        }  # fmt: skip
    met = best["speedup"]["median"] >= speed_goal and best["ndcg_ratio"] >= bar
    return {"section": "quality", "met": met, "detail": detail}


def worst_median_goal(section: str, rows: list[dict], detail) -> dict:
    """Judge ``section``'s goal on its worst row's median; ``detail(n)`` names that row's n."""
    worst = max(rows, key=lambda r: r["median"])
    return {
        "section": section,
        "met": worst["median"] <= GOALS[section],
        "detail": detail(worst["repetitions"]),
    }


def goals(results: dict) -> list[dict]:
    """Evaluate the goals from the measurements; every detail names its sample size."""
    sections = results["sections"]
    lines = [backend_goal(sections.get("quality", {}), results["machine"].get("isa", {}))]
    langchain = sections.get("langchain", {})
    if langchain.get("ratios"):
        lines.append(worst_median_goal("langchain", langchain["ratios"], lambda n: (
            "; ".join(f"{r['name']}: {r['median'] - 1:+.1%}" for r in langchain["ratios"])
            + f" time over raw predict (median of n={n} interleaved repetitions of "
            f"{langchain['queries']} questions; goal ≤ +5%)"
        )))  # fmt: skip
    latency = sections.get("latency", {})
    if latency.get("shares"):
        lines.append(worst_median_goal("latency", latency["shares"], lambda n: (
            ", ".join(f"k={s['k']}: {s['median']:.1%}" for s in latency["shares"])
            + f" of a query's time is not the cross-encoder (median of n={n} queries per k; "
            "goal ≤ 10%)"
        )))  # fmt: skip
    serving = sections.get("sagemaker", {})
    if serving.get("status") == "ok":
        main = serving["cases"][0]
        ratio = main["ratio"]
        others = "; ".join(
            f"{c['pairs']} pairs: {fmt_ratio_summary(c['ratio'])} ({SMALL_REQUEST}, no goal)"
            for c in serving["cases"][1:]
        )
        lines.append({
            "section": "sagemaker", "met": ratio["median"] <= GOALS["sagemaker"],
            "detail": f"HTTP/in-process {fmt_ratio_summary(ratio)} at {main['pairs']} pairs per "
            f"call, n={ratio['repetitions']} calls (goal ≤ {GOALS['sagemaker']}×)"
            + (f"; {others}" if others else ""),
        })  # fmt: skip
    else:
        reason = serving.get("reason", serving.get("status", "not run"))
        lines.append({"section": "sagemaker", "met": None, "detail": f"not measured: {reason}"})
    for ratio in sections.get("threads", {}).get("ratios", []):
        lines.append({
            "section": "threads", "met": None,
            "detail": f"{ratio['name']}: {fmt_ratio_summary(ratio)}, n={ratio['repetitions']} "
            "(informational)",
        })  # fmt: skip
    return [goal | {"verdict": VERDICTS[goal["met"]]} for goal in lines]


def summary_lines(results: dict) -> list[str]:
    """Return one comparable line per goal: CPU, instruction sets, verdict, numbers, n."""
    machine = results["machine"]
    isa = ", ".join(k for k, v in machine.get("isa", {}).items() if v) or "?"
    cpu = f"{machine['cpu_model']} ({machine.get('usable_cores')} cores; {isa})"
    return [
        f"[{g['section']}] {g['verdict']} · {g['detail']} · {cpu}" for g in results.get("goals", [])
    ]


def decision(results: dict) -> str:
    """Return which backend to use on this CPU and why, from the measured table."""
    section = results["sections"].get("quality", {})
    best = best_backend(section) if section.get("status") == "ok" else None
    if best is None:
        return "No decision: the quality section did not run."
    if best["name"] == REFERENCE:
        return (
            "Use torch-fp32 on this CPU: no other backend was faster while keeping "
            f"{GOALS['quality'][1]:.0%} of its nDCG@10 over {best['ranked']} questions."
        )
    backends = section["backends"]
    faster_lossy = [
        n for n, b in backends.items()
        if b["speedup"]["median"] > best["speedup"]["median"]
        and b["ndcg_ratio_vs_fp32"] < GOALS["quality"][1]
    ]  # fmt: skip
    why = (
        f"Use {best['name']} on this CPU: {best['speedup']['median']:.2f}× torch fp32's speed "
        f"per 20-pair request (median over {best['queries']} timed questions) at "
        f"{best['ndcg_ratio']:.1%} of its nDCG@10 (95% CI {best['ci95'][0]:.1%}–"
        f"{best['ci95'][1]:.1%} over {best['ranked']} questions); it is the fastest backend "
        f"that keeps {GOALS['quality'][1]:.0%}."
    )
    if faster_lossy:
        why += f" Faster but below the bar: {', '.join(faster_lossy)}."
    return why
