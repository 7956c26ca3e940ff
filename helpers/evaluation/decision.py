"""Choose what to ship from measured pipelines: k, top_n, first and second stage (notebook 03)."""

from __future__ import annotations

# Query-time cost, cheapest first: MaxP is a few dot products, a cross-encoder one pass per pair.
SECOND_STAGE_COST = {"none": 0, "MaxP": 1, "rerank": 2, "blend": 2, "MaxP blend": 3}
FIRST_STAGE_COST = {"BM25": 0, "dense": 1, "hybrid": 2}
# How far below the first stage alone a second stage may fall and still earn its place.
BAR_SLACK = {"recall": 0.02, "mrr": 0.0, "ndcg@10": 0.0}


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
    second = scores[row["second"]]
    if callable(second):  # a blend: its scores depend on the candidates and k (ev.blend_of)
        second = second(lists, row["k"])
    return reranked_run(lists, second, row["k"], pipeline_name(row))


def pipeline_rows(qrels, candidates: dict, scores: dict, ks, top_ns) -> list[dict]:
    """Measure every first stage alone and with every second stage at every k and top_n."""
    from helpers.evaluation.significance import evaluate

    rows = []
    for first in candidates:
        setups = [("none", None)] + [(second, k) for second in scores for k in ks]
        for second, k in setups:
            for n in top_ns:
                row = {"first": first, "second": second, "k": k or n, "top_n": n}
                run = pipeline_run(row, candidates, scores)
                names = [f"recall@{n}", f"ndcg@{n}", "mrr@10", "ndcg@10"]
                measured = evaluate(qrels, run, list(dict.fromkeys(names)))
                keys = zip(("recall", "ndcg", "mrr", "ndcg@10"), names, strict=True)
                rows.append(row | {key: float(measured[m]) for key, m in keys})
    return rows


def cost(row: dict) -> tuple:
    """Return a sortable query-time cost: second stage, then candidates, then first stage."""
    return (SECOND_STAGE_COST.get(row["second"], 2), row["k"] if row["second"] != "none" else 0,
            FIRST_STAGE_COST.get(row["first"], 9))  # fmt: skip


def bar_misses(first_stage: dict, row: dict) -> list[str]:
    """Return the keys where ``row`` falls below ``first_stage`` by more than ``BAR_SLACK``."""
    return [key for key, slack in BAR_SLACK.items() if row[key] < first_stage[key] - slack - 1e-12]


def choose_pipeline(rows: list[dict], target_recall: float = 0.9, tolerance: float = 0.02):
    """The course's one ship rule (notebooks 03 and 06), applied to dev rows of ``pipeline_rows``.

    1. top_n: the smallest whose best pipeline returns ``target_recall`` of the relevant chunks,
       else the largest tried;
    2. the first stage to beat: the best first stage alone at that top_n, by nDCG@10;
    3. a pipeline earns its place when its MRR@10 and nDCG@10 are at least that first stage's and
       its Recall@top_n is at most 0.02 below (``bar_misses``); the first stage alone always does;
    4. among those, the cheapest (``cost``) within ``tolerance`` of the best nDCG@10 ships; equal
       cost goes to the higher nDCG@10.
    """
    top_ns = sorted({r["top_n"] for r in rows})
    best_recall = {n: max(r["recall"] for r in rows if r["top_n"] == n) for n in top_ns}
    top_n = next((n for n in top_ns if best_recall[n] >= target_recall), top_ns[-1])
    at_n = [r for r in rows if r["top_n"] == top_n]
    firsts = [r for r in at_n if r["second"] == "none"]
    alone = max(firsts, key=lambda r: (r["ndcg@10"], -cost(r)[2]))
    earned = [r for r in at_n if not bar_misses(alone, r)]
    best = max(earned, key=lambda r: (r["ndcg@10"], -cost(r)[0]))
    good = [r for r in earned if r["ndcg@10"] >= best["ndcg@10"] - tolerance]
    return {
        "chosen": min(good, key=lambda r: (cost(r), -r["ndcg@10"])),
        "best": best,
        "first_stage": alone,
        "top_n": top_n,
        "target_recall": target_recall,
        "tolerance": tolerance,
        "reached_target": best_recall[top_n] >= target_recall,
    }


def choose_weight(qrels, candidates: dict, cross_scores: dict, k: int, weights, base=None):
    """Return the blend weight with the best nDCG@10 (then MRR@10, then smaller), and the grid."""
    from helpers.evaluation.runs import blend_of, reranked_run
    from helpers.evaluation.significance import evaluate

    lists = {q: candidates[q] for q in qrels.keys()}
    grid = {}
    for weight in weights:
        run = reranked_run(lists, blend_of(cross_scores, weight, base)(lists, k), k, "blend")
        grid[weight] = {m: float(v) for m, v in evaluate(qrels, run, ["mrr@10", "ndcg@10"]).items()}
    best = max(weights, key=lambda w: (grid[w]["ndcg@10"], grid[w]["mrr@10"], -w))
    return best, grid
