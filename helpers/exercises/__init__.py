"""Self-checks for the notebooks' exercises (course plumbing, not a lesson): each check_NN_* prints
"Correct: ..." or "Not yet: ..." and returns True or False, computing the right answer with the
course's own tools; a wrong or unfinished (None) answer never raises. Solutions: solutions/."""

from __future__ import annotations

import functools
import io
import json
import math
import statistics
from types import SimpleNamespace

QUALITY_BAR = 0.99  # notebook 05's ship rule (tools/bench's too): keep 99% of fp32's nDCG@10


def _exercise(expected: str):
    """Turn a generator into a check: the right answer before its bare ``yield``, then verdicts
    ((mistake, hint) pairs; a confirmation string, or False); the first that holds is printed."""

    def decorate(verdicts):
        @functools.wraps(verdicts)
        def check(answer, *args, **kwargs) -> bool:
            verdict = (True, f"the answer is still None: replace the None with {expected}.")
            if answer is not None:
                steps = verdicts(answer, *args, **kwargs)
                next(steps)  # the course's computation, outside the try
                try:  # a half-finished answer gets a hint, not a traceback
                    verdict = next(v for v in steps if isinstance(v, str) or v and v[0])
                except Exception as error:
                    why = f"could not read the answer as {expected} ({type(error).__name__})."
                    verdict = (True, why)
            print(f"Correct: {verdict}" if isinstance(verdict, str) else f"Not yet: {verdict[1]}")
            return isinstance(verdict, str)

        return check

    return decorate


@_exercise("a whole number (a k)")
def check_01_smallest_k(answer, retriever, question: str, answer_ids):
    """Check the smallest k whose FAISS results hold every labelled answer chunk."""
    store, wanted = retriever.vectorstore, {int(i) for i in answer_ids}
    ids = lambda k: [d.metadata["id"] for d in store.similarity_search(question, k=k)]  # noqa: E731
    smallest = max(ids(store.index.ntotal).index(i) for i in wanted) + 1  # the deepest answer
    yield
    k = int(answer)
    yield k == smallest and f"k={k} finds all {len(wanted)} answer chunks; k={k - 1} misses one."
    yield k == len(wanted), "that many only if the answers were the top ones: see their ranks."
    yield k < smallest, f"k={k} misses chunk(s) {sorted(wanted - set(ids(k)))}: look deeper."
    yield True, f"k={k} finds them all, but so does a smaller k: find the deepest answer."


@_exercise("a list of 5 distances")
def check_01_l2_distances(answer, retriever, question: str):
    """Check squared L2 distances predicted from inner-product scores, against exact ones."""
    import numpy as np

    store = retriever.vectorstore
    vectors = store.index.reconstruct_n(0, store.index.ntotal)  # the very vectors FAISS searches
    query = np.array(store.embeddings.embed_query(question), dtype="float32")
    squared = np.sort(((vectors - query) ** 2).sum(axis=1))[:5]  # what an L2 index would return
    unit = np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    yield
    near = lambda f: np.allclose(np.array(answer, dtype=float), f(squared), atol=1e-3)  # noqa: E731
    yield not unit, "these vectors are not normalised: run with RERANK_PROFILE=offline."
    yield near(lambda d: d) and "2 - 2·score gives FAISS's squared L2 distances in the same order."
    yield near(lambda d: d / 2), "half of it: ‖q‖² + ‖d‖² = 2 when both lengths are 1."
    yield near(np.sqrt), "FAISS's L2 index reports the squared distance."
    yield near(lambda d: 1 - d / 2), "these are the scores: convert each with 2 - 2·score."
    yield True, "not FAISS's squared L2 distances: apply 2 - 2·score to each score."


@_exercise("a number between 0 and 1")
def check_02_threshold_keeps(answer, retriever, cross_encoder, question, top_n: int, keep: int):
    """Check a score threshold that makes a top_n reranker keep exactly ``keep``."""
    from helpers.reranking import ScoredCrossEncoderReranker

    found = retriever.invoke(question)
    reranker = ScoredCrossEncoderReranker(model=cross_encoder, top_n=len(found))
    scores = [d.metadata["rerank_score"] for d in reranker.compress_documents(found, question)]
    if len(scores) <= keep or scores[keep] == scores[keep - 1]:
        raise RuntimeError(f"scores tie at the cut: no threshold keeps exactly {keep}")
    yield  # the reranker drops the scores below the threshold, then keeps top_n
    kept = min(top_n, sum(s >= (threshold := float(answer)) for s in scores))
    window = f"above sigmoid score #{keep + 1} and at most #{keep}, best first"
    yield kept == keep and f"{threshold} keeps {keep} of at most {top_n}: the threshold binds."
    yield kept == top_n, f"{top_n} kept: top_n did the cutting, not the threshold ({window})."
    yield True, f"{kept} kept: {'raise' if kept > keep else 'lower'} it ({window})."


@_exercise("a whole number")
def check_02_pairs_scored(answer, retriever, questions, k: int, top_n: int):
    """Check how many (question, passage) pairs the cross-encoder scores for ``questions``."""
    k, n = min(k, retriever.vectorstore.index.ntotal), len(questions)
    yield
    yield float(answer) == n * k and f"{n} questions × {k} candidates = {n * k} pairs."
    yield float(answer) == n * top_n, "top_n only cuts after scoring: every candidate is scored."
    yield float(answer) == k, f"that is one question: count all {n}."
    yield True, "one pair per candidate per question."


@_exercise("a number")
def check_03_mrr_by_hand(answer, ranked: dict, qrels: dict):
    """Check a hand-computed MRR@10 of ranked lists (best first) against ranx's."""
    from ranx import Qrels, Run, evaluate

    run = Run({q: {d: float(len(ids) - r) for r, d in enumerate(ids)} for q, ids in ranked.items()})
    mrr = float(evaluate(Qrels(qrels), run, "mrr@10", make_comparable=True))
    ranks = [next((r for r, d in enumerate(ranked[q], 1) if qrels[q].get(d)), 0) for q in qrels]
    at_10 = [1 / r for r in ranks if 0 < r <= 10]
    yield
    near = lambda value: abs(float(answer) - value) <= 0.005  # noqa: E731
    yield near(mrr) and f"MRR@10 = {mrr:.2f}, as ranx computes it."
    yield near(sum(1 / r for r in ranks if r) / len(ranks)), "a hit below rank 10 counts as 0."
    yield near(sum(at_10) / max(len(at_10), 1)), "questions with no hit count as 0."
    yield True, "the mean, over the questions, of 1 / rank of the first hit."


@_exercise("a number")
def check_03_hybrid_recall(answer, bm25, dense, questions, qrels, weights, k=20, top_n=5):
    """Check the Recall@top_n of a re-weighted hybrid first stage on ``questions``."""
    from helpers import evaluation as ev

    run = lambda r: ev.candidates_run(ev.first_stage_candidates(r, questions, k), k, "check")  # noqa: E731
    recall = lambda r: float(ev.evaluate(qrels, run(r), f"recall@{top_n}"))  # noqa: E731
    got = recall(ev.hybrid_retriever(bm25, dense, weights=weights))
    equal = recall(ev.hybrid_retriever(bm25, dense))
    yield
    near = lambda value: abs(float(answer) - value) <= 5e-4  # noqa: E731
    than = "the same as" if abs(got - equal) <= 5e-4 else "above" if got > equal else "below"
    yield near(got) and f"Recall@{top_n} {got:.4f}, {than} {equal:.4f} with equal weights."
    yield near(equal), f"that is the equal-weights hybrid: pass weights={weights}."
    yield near(recall(dense)), "that is the dense retriever alone: fuse it with BM25."
    yield near(recall(bm25)), "that is BM25 alone: fuse it with the dense retriever."
    yield True, f"build ev.hybrid_retriever(bm25, dense, weights=...), take its top {k}, ranx."


@_exercise("a JSON string")
def check_04_request_body(answer, pairs):
    """Check a request body with the endpoint's own contract, serving/code/rerank_schema.py."""
    from helpers.sagemaker import load_schema

    schema, pairs = load_schema(), [tuple(p) for p in pairs]
    yield
    yield not isinstance(answer, str | bytes), f"a Python {type(answer).__name__}: send JSON text."
    try:
        got = schema.parse_request(answer)
    except schema.RequestError as error:
        yield True, f"inference.py would answer {error.status}, {error}"
    yield got != pairs, f"valid, but not these {len(pairs)} pairs in this order."
    yield "text_pairs" not in json.loads(answer), "valid, but LangChain sends the key text_pairs."
    yield f"inference.py reads {len(got)} pairs from text_pairs, LangChain's key."


@_exercise("a content handler")
def check_04_content_handler(answer, handler, reranker, pairs):
    """Check a LangChain content handler by scoring ``pairs`` with inference.py in this process."""
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    pairs, bodies, replies = [tuple(p) for p in pairs], [], []
    expected = reranker.score(pairs)

    def invoke_endpoint(Body, ContentType, Accept, **_):  # noqa: N803 (boto3's names)
        bodies.append(Body)
        replies.append(handler.transform_fn(reranker, Body, ContentType, Accept))
        return {"Body": io.BytesIO(replies[-1].encode())}  # a stream, as boto3 returns

    yield
    content = answer() if isinstance(answer, type) else answer
    subclass = isinstance(content, CrossEncoderContentHandler)
    yield not subclass, "subclass CrossEncoderContentHandler: LangChain accepts nothing else."
    encoder = SagemakerEndpointCrossEncoder(
        endpoint_name="-", region_name="us-east-1", content_handler=content
    )
    encoder.client = SimpleNamespace(invoke_endpoint=invoke_endpoint)  # ours, not boto3's
    try:
        scores = encoder.score(pairs)
    except Exception as error:
        where = "transform_output (read the stream)" if replies else "the request"
        yield True, f"{where} failed: {str(error)[:90]}"
    right = isinstance(scores, list) and len(scores) == len(expected)
    right = right and all(abs(a - b) <= 1e-4 for a, b in zip(scores, expected, strict=True))
    yield not right, "transform_output must return the list of scores, one per pair."
    yield "pairs" not in json.loads(bodies[0]), "the seed's inference.py reads only the key pairs."
    yield f"LangChain scored {len(pairs)} pairs through inference.py, sending pairs."


@_exercise("a backend name")
def check_05_best_backend(answer, speedups: dict):
    """Check the fastest backend that keeps QUALITY_BAR of torch fp32's nDCG@10."""
    rows, bar = {"torch-fp32": (1.0, 1.0), **speedups}, QUALITY_BAR
    kept = [name for name, (_, share) in rows.items() if share >= bar]
    best = max(kept, key=lambda name: (rows[name][0], name == "torch-fp32"))  # fp32 wins a tie
    yield
    yield answer == best and f"{best} is the fastest backend that keeps {bar:.0%} of the nDCG."
    yield answer not in rows, f"{answer!r} is not in the table: answer with one of its names."
    yield rows[answer][1] < bar, f"{answer} keeps {rows[answer][1]:.1%} of the nDCG, not {bar:.0%}."
    yield True, f"{answer} keeps the quality, but another backend that does is faster."


@_exercise("a number")
def check_05_batch_speedup(answer, seconds: dict):
    """Check a batch-size speed-up measured with ``timing.interleaved``."""
    series, median = (seconds if isinstance(seconds, dict) else {}), statistics.median
    one, many = series.get("batch 1", []), series.get("batch 20", [])
    yield
    yield not {"batch 1", "batch 20"} <= series.keys(), "seconds needs 'batch 1' and 'batch 20'."
    yield not 5 <= len(one) == len(many), "time both together: interleaved(..., repetitions=5)."
    speedup, ratio = median(one) / median(many), float(answer)
    paired = median(a / b for a, b in zip(one, many, strict=True))  # per repetition
    right = any(abs(ratio - v) <= 0.01 * v for v in (speedup, paired))
    yield right and f"your interleaved runs say batch 20 is {'' if speedup > 1 else 'not '}faster."
    yield abs(ratio - 1 / speedup) <= 0.01 * speedup, "inverted: a speed-up is slower / faster."
    means = statistics.mean(one) / statistics.mean(many)
    yield abs(ratio - means) <= 0.01 * speedup, "means: one slow repetition pulls them."
    yield True, "divide the two medians."


@_exercise("a list of 3 candidate names")
def check_06_margin_negatives(answer, positive: float, candidates: dict):
    """Check the negatives ``mine_hard_negatives`` keeps with relative_margin=0.05."""
    ranked = sorted(candidates, key=candidates.get, reverse=True)
    kept = lambda limit: [n for n in ranked if candidates[n] <= limit][:3]  # noqa: E731
    right = kept(positive - abs(positive) * 0.05)
    yield
    names = list(answer)
    yield names == right and f"{right}: the 3 best candidates at least 5% below the positive."
    yield names == kept(positive), "no margin: drop the near-ties."
    yield names == kept(positive - 0.05), "an absolute margin: 0.05 of the positive's score."
    yield names == sorted(right), "right passages, but keep them best first ('top' sampling)."
    yield True, "rank by score, drop those within 5% of the positive, keep 3."


@_exercise("a run name")
def check_06_ship_it(answer, runs: dict):
    """Check which run ships: the best nDCG@10 of those that clear the bar, else dense."""
    from helpers.evaluation import bar_misses

    metric = {"recall": "recall@5", "mrr": "mrr@10", "ndcg@10": "ndcg@10"}  # bar key: ranx name
    row = lambda run: {key: runs[run][name] for key, name in metric.items()}  # noqa: E731
    misses = {run: [metric[m] for m in bar_misses(row("dense"), row(run))] for run in runs}
    good = [run for run in runs if not misses[run] and run != "dense"]
    ship = max(good, key=lambda run: runs[run]["ndcg@10"]) if good else "dense"
    why = "no reranker clears the bar" if ship == "dense" else "it clears the bar"
    yield
    yield answer == ship and f"{ship}: {why} (MRR@10, nDCG@10 kept, Recall@5 within 0.02)."
    yield answer not in runs, f"{answer!r} is not one of {sorted(runs)}."
    yield bool(misses[answer]), f"{answer} falls below dense on {', '.join(misses[answer])}."
    yield True, "another run clears the bar with a higher nDCG@10 (or none does)."


@_exercise("an int")
def check_07_instances(answer, target_rps: float, measured_rps: float, utilisation=0.7):
    """Check an instance count for target_rps, each instance run at ``utilisation``."""
    need = lambda share: max(1, math.ceil(target_rps / (measured_rps * share)))  # noqa: E731
    floor = max(1, int(target_rps // (measured_rps * utilisation)))
    yield
    yield type(answer) is not int, f"a {type(answer).__name__}: no one starts part of an instance."
    yield answer == need(utilisation) and f"{answer} instances serve {target_rps:g} requests/s."
    yield answer == floor, "rounded down: the last, partly used instance is still needed."
    yield answer == need(1.0), f"each at 100%: leave headroom, run them at {utilisation:.0%}."
    yield True, "divide the target by what one instance serves at the utilisation, round up."


@_exercise("a dict")
def check_07_scaling_policy(answer, endpoint_name: str, instance_type: str, per_core: float):
    """Apply a target-tracking policy under moto (AWS's checks), then check what it tracks."""
    from helpers.sagemaker import Deployment, aws_clients, fake_aws
    from helpers.sagemaker.scaling import VCPUS, enable_autoscaling

    target = per_core * VCPUS[instance_type]
    deployment = Deployment(endpoint_name, "eu-west-1", "you")
    variant = {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}
    yield
    yield not isinstance(answer, dict), f"a {type(answer).__name__}: write it as a dict."
    with fake_aws():
        enable_autoscaling(aws_clients().autoscaling, deployment, answer)
    kind = answer.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType", "")
    metric, value = answer.get("CustomizedMetricSpecification", {}), answer.get("TargetValue")
    where = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
    yield "InvocationsPerInstance" in kind, "count calls, not work: one call may hold 256 pairs."
    yield metric.get("MetricName") != "CPUUtilization", "track the variant's CPUUtilization."
    space = metric.get("Namespace")
    yield space != "/aws/sagemaker/Endpoints", "instance metrics live in /aws/sagemaker/Endpoints."
    yield where != variant, "name this endpoint and its variant AllTraffic in Dimensions."
    yield value == per_core, f"CPUUtilization sums the cores: {per_core:g} % per core is more."
    yield value != target, f"TargetValue: {per_core:g} % on each of the instance's cores."
    yield f"moto accepted it: CPU at {target:g} % (all cores) of {instance_type}."
