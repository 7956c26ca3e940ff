"""Choose what to ship from measured pipelines: k, top_n, first and second stage (notebook 03)."""

from __future__ import annotations

# Query-time cost, cheapest first. MaxP's sentence vectors can be computed when indexing, so at
# query time it is a few dot products; a cross-encoder runs a transformer once per candidate.
SECOND_STAGE_COST = {"none": 0, "MaxP": 1, "rerank": 2}
FIRST_STAGE_COST = {"BM25": 0, "dense": 1, "hybrid": 2}


def pipeline_name(row: dict) -> str:
    """Return e.g. "dense + rerank (k=20)", or "dense" for a first stage alone."""
    if row["second"] == "none":
        return row["first"]
    return f"{row['first']} + {row['second']} (k={row['k']})"


def pipeline_run(row: dict, candidates: dict, scores: dict, query_ids=None):
    """Return the ranx Run of one measured pipeline (a row of ``pipeline_rows``)."""
    from helpers.evaluation.runs import candidates_run, reranked_run

    lists = candidates[row["first"]]
    if query_ids is not None:
        lists = {q: lists[q] for q in query_ids}
    if row["second"] == "none":  # a first stage alone: its whole list (MRR@10 looks at 10)
        return candidates_run(lists, max(len(d) for d in lists.values()), pipeline_name(row))
    return reranked_run(lists, scores[row["second"]], row["k"], pipeline_name(row))


def pipeline_rows(qrels, candidates: dict, scores: dict, ks, top_ns) -> list[dict]:
    """Measure every first stage alone and with every second stage at every k and top_n.

    ``candidates``: {first stage: {query: [(doc, score)]}}; ``scores``: {second stage:
    {query: {chunk id: score}}}. Each row holds Recall@top_n, nDCG@top_n and MRR@10 (ranx).
    """
    from helpers.evaluation.significance import evaluate

    rows = []
    for first in candidates:
        setups = [("none", None)] + [(second, k) for second in scores for k in ks]
        for second, k in setups:
            for n in top_ns:
                row = {"first": first, "second": second, "k": k or n, "top_n": n}
                run = pipeline_run(row, candidates, scores)
                names = [f"recall@{n}", f"ndcg@{n}", "mrr@10"]
                values = map(float, evaluate(qrels, run, names).values())
                rows.append(row | dict(zip(("recall", "ndcg", "mrr"), values, strict=True)))
    return rows


def cost(row: dict) -> tuple:
    """Return a sortable query-time cost: second stage, then candidates, then first stage."""
    return (SECOND_STAGE_COST[row["second"]], row["k"] if row["second"] != "none" else 0,
            FIRST_STAGE_COST.get(row["first"], 9))  # fmt: skip


def choose_pipeline(rows: list[dict], target_recall: float = 0.9, tolerance: float = 0.02):
    """Pick top_n, then the cheapest pipeline within ``tolerance`` of the best Recall@top_n.

    top_n: the smallest whose best pipeline returns ``target_recall`` of the relevant chunks,
    else the largest tried. Among pipelines at that top_n within ``tolerance`` of the best
    recall, the cheapest (``cost``) wins; equal cost goes to the higher nDCG@top_n.
    """
    top_ns = sorted({r["top_n"] for r in rows})
    best = {n: max((r for r in rows if r["top_n"] == n), key=lambda r: r["recall"]) for n in top_ns}
    top_n = next((n for n in top_ns if best[n]["recall"] >= target_recall), top_ns[-1])
    floor = best[top_n]["recall"] - tolerance
    good = [r for r in rows if r["top_n"] == top_n and r["recall"] >= floor]
    return {
        "chosen": min(good, key=lambda r: (cost(r), -r["ndcg"])),
        "best": best[top_n],
        "top_n": top_n,
        "target_recall": target_recall,
        "tolerance": tolerance,
        "reached_target": best[top_n]["recall"] >= target_recall,
    }


def _best_with(rows: list[dict], top_n: int, keep) -> dict | None:
    matching = [r for r in rows if r["top_n"] == top_n and keep(r)]
    return max(matching, key=lambda r: (r["recall"], -cost(r)[0], r["ndcg"]), default=None)


def what_would_change(decision: dict, rows: list[dict]) -> list[str]:
    """Return sentences saying, from the measurements, what would change the choice."""
    chosen, n, tol = decision["chosen"], decision["top_n"], decision["tolerance"]
    lines = []
    rerank = _best_with(rows, n, lambda r: r["second"] == "rerank")
    without = _best_with(rows, n, lambda r: r["second"] != "rerank")
    if rerank is not None and without is not None and chosen["second"] != "rerank":
        needed = without["recall"] + tol
        lines.append(
            f"The cross-encoder would be shipped if its best setup ({pipeline_name(rerank)}, "
            f"Recall@{n} {rerank['recall']:.4f}) reached more than {needed:.4f}: {tol} above "
            f"the best pipeline without it ({pipeline_name(without)}, {without['recall']:.4f}), "
            f"a gain of {max(needed - rerank['recall'], 0):.4f}. A stronger reranker may: rerun "
            "this notebook with it (the README lists published figures for the default one)."
        )
    elif rerank is not None and without is not None:
        lines.append(
            f"Without the cross-encoder the best is {pipeline_name(without)} at Recall@{n} "
            f"{without['recall']:.4f}; a reranker that fell within {tol} of that would be "
            "dropped, with its cost."
        )
    if not decision["reached_target"]:
        lines.append(
            f"No pipeline returns {decision['target_recall']:.0%} of the relevant chunks in "
            f"{n} passages: pass more passages on, or improve the first stage."
        )
    lines.append(
        "Other data changes every number here: label a few dozen of your own questions "
        "(data/eval/README.md) and rerun this notebook or `python -m helpers.evaluation`."
    )
    return lines
