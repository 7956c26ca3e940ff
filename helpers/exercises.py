"""Self-checks for the notebooks' exercises (introduced in notebooks 01 to 05).

Each ``check_NN_*`` prints one line, "Correct: ..." or "Not yet: ...", and returns True or False.
It computes the right answer with the course's own code (FAISS, the configured models, ranx, the
serving schema), and it never raises on a wrong or unfinished (``None``) answer, so that a
learner's cell always runs. Solutions live in ``solutions/``: try first, then look.
"""

from __future__ import annotations

import io
import json
import math

from helpers.bench import GOALS, best_backend, paired_ratios, summarize


def _verdict(correct: bool, reason: str) -> bool:
    print(("Correct: " if correct else "Not yet: ") + reason)
    return correct


def _check(answer, expected: str, truth, judge) -> bool:
    """Print ``judge(answer, truth())`` -> (correct, reason); a bad answer never raises."""
    if answer is None:
        return _verdict(False, f"the answer is still None: replace the None with {expected}.")
    value = truth()  # outside the try: an error here is the course's, not the learner's
    try:
        return _verdict(*judge(answer, value))
    except Exception as error:  # a half-finished answer must print a hint, not crash the cell
        return _verdict(False, f"could not read the answer as {expected} ({type(error).__name__}).")


def _close(value, target, tolerance: float) -> bool:
    values, targets = (value, target) if isinstance(value, list) else ([value], [target])
    return len(values) == len(targets) and all(
        abs(a - b) <= tolerance for a, b in zip(values, targets, strict=True)
    )


def _mistake(value, mistakes, tolerance: float = 0.005) -> str | None:
    """Return the hint of the first ``(wrong value, hint)`` that ``value`` matches, else None."""
    return next((hint for wrong, hint in mistakes if _close(value, wrong, tolerance)), None)


def check_01_top5_ids(answer, retriever, question: str) -> bool:
    """Check the ids of the 5 chunks FAISS ranks best for ``question`` (notebook 01)."""

    def truth():
        return [d.metadata["id"] for d in retriever.vectorstore.similarity_search(question, k=5)]

    def judge(ids, top5):
        if any(hasattr(item, "page_content") for item in ids):
            return False, "these are Documents: give their ids, doc.metadata['id']."
        ids = [int(item) for item in ids]
        if len(ids) != 5:
            return False, f"{len(ids)} ids: give the first 5 only, best first."
        if ids == top5:
            return True, f"the inner-product top 5 for this question is {top5}."
        if sorted(ids) == sorted(top5):
            return False, "the right chunks in the wrong order: keep the retriever's order."
        return False, "not the retriever's top 5: take the first 5 of retriever.invoke(question)."

    return _check(answer, "a list of 5 chunk ids", truth, judge)


def check_01_l2_distances(answer, retriever, question: str) -> bool:
    """Check squared L2 distances predicted from inner-product scores (notebook 01)."""
    import faiss
    import numpy as np

    store = retriever.vectorstore
    vectors = store.index.reconstruct_n(0, store.index.ntotal)

    def truth():  # an exact L2 index over the very vectors the retriever searches
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        query = np.array([store.embeddings.embed_query(question)], dtype="float32")
        return [float(d) for d in index.search(query, 5)[0][0]]

    def judge(distances, squared):
        got = [float(d) for d in distances]
        if not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
            return False, "these vectors are not normalised: run with RERANK_PROFILE=offline."
        if _close(got, squared, 1e-3):
            return True, "2 - 2·score gives FAISS's squared L2 distances in the same order."
        mistakes = [
            ([d / 2 for d in squared], "half of it: ‖q‖² + ‖d‖² = 2 when both lengths are 1."),
            ([math.sqrt(d) for d in squared], "FAISS's L2 index reports the squared distance."),
            ([1 - d / 2 for d in squared], "these are the scores: convert each with 2 - 2·score."),
        ]
        hint = _mistake(got, mistakes, 1e-3)
        return False, hint or "not FAISS's squared L2 distances: apply 2 - 2·score to each score."

    return _check(answer, "a list of 5 distances", truth, judge)


def check_02_thresholded_docs(answer, retriever, cross_encoder, question, top_n, threshold):
    """Check the documents a reranker keeps with both top_n and a threshold (notebook 02)."""
    from helpers.reranking import ScoredCrossEncoderReranker

    def truth():
        reranker = ScoredCrossEncoderReranker(
            model=cross_encoder, top_n=top_n, score_threshold=threshold
        )
        kept = reranker.compress_documents(retriever.invoke(question), question)
        return [d.metadata["id"] for d in kept]

    def judge(docs, kept):
        if any("rerank_score" not in d.metadata for d in docs):
            return False, "no rerank_score in metadata: rerank with build_reranking_retriever."
        scores = [d.metadata["rerank_score"] for d in docs]
        if len(docs) > top_n:
            return False, f"{len(docs)} documents, but top_n={top_n} keeps at most {top_n}."
        if docs and min(scores) < threshold:
            return False, f"a score of {min(scores):.2f} is below the threshold {threshold:.2f}."
        if scores != sorted(scores, reverse=True):
            return False, "not sorted by rerank_score, best first."
        if [d.metadata["id"] for d in docs] != kept:
            return False, "not what the reranker keeps for this question's FAISS candidates."
        return True, f"{len(docs)} of at most {top_n} passages score ≥ {threshold:.2f}: {kept}."

    return _check(answer, "the list of Documents the retriever returns", truth, judge)


class _PairCounter:
    """A stand-in cross-encoder that counts the pairs it scores (all get 0): no model needed."""

    pairs = 0

    def score(self, pairs):
        self.pairs += len(pairs)
        return [0.0] * len(pairs)


def check_02_pairs_scored(answer, retriever, questions, k: int, top_n: int) -> bool:
    """Check how many pairs the cross-encoder scores for ``questions`` at k (notebook 02)."""
    from helpers.reranking import build_reranking_retriever

    def truth():  # run the real FAISS + LangChain pipeline and count what reaches the model
        counter = _PairCounter()
        base = retriever.vectorstore.as_retriever(search_kwargs={"k": k})
        reranking = build_reranking_retriever(base, top_n=top_n, cross_encoder=counter)
        for question in questions:
            reranking.invoke(question)
        return counter.pairs

    def judge(count, scored):
        if float(count) == scored:
            return True, f"{len(questions)} questions × {k} candidates = {scored} pairs."
        mistakes = [
            (len(questions) * top_n, "top_n only cuts after scoring: every candidate is scored."),
            (k, f"that is one question: count all {len(questions)}."),
        ]
        return False, _mistake(float(count), mistakes) or "one pair per candidate per question."

    return _check(answer, "a whole number", truth, judge)


def _ranx_run(lists: dict):
    """Return a ranx Run whose scores keep each list's order (first = best)."""
    from ranx import Run

    return Run({q: {d: float(len(ids) - r) for r, d in enumerate(ids)} for q, ids in lists.items()})


def check_03_mrr_by_hand(answer, ranked: dict, qrels: dict) -> bool:
    """Check a hand-computed MRR@10 of ranked lists against ranx's (notebook 03)."""
    from ranx import Qrels, evaluate

    def reciprocal_ranks(cutoff=None):
        return [
            next((1 / r for r, d in enumerate(ranked[q][:cutoff], 1) if qrels[q].get(d)), 0.0)
            for q in qrels
        ]

    def judge(value, mrr):
        at_10 = reciprocal_ranks(10)
        if abs(float(value) - mrr) <= 0.005:
            return True, f"MRR@10 = {mrr:.2f}, as ranx computes it."
        mistakes = [
            (sum(reciprocal_ranks()) / len(qrels), "a hit below rank 10 counts as 0 in MRR@10."),
            (sum(at_10) / max(sum(r > 0 for r in at_10), 1), "questions with no hit count as 0."),
        ]
        return False, _mistake(float(value), mistakes) or "mean of 1 / rank of the first hit."

    def truth():
        return float(evaluate(Qrels(qrels), _ranx_run(ranked), "mrr@10", make_comparable=True))

    return _check(answer, "a number", truth, judge)


def check_03_recall_ceiling(answer, dense_candidates, labels, query_ids, k: int, top_n: int):
    """Check the best Recall@top_n any reranker of the dense top k can reach (notebook 03)."""
    from ranx import Qrels, evaluate

    qrels = Qrels({q: labels[q] for q in query_ids})
    top_k = {q: [str(d.metadata["id"]) for d, _ in dense_candidates[q][:k]] for q in query_ids}
    perfect = {q: sorted(ids, key=lambda i, q=q: -labels[q].get(i, 0)) for q, ids in top_k.items()}

    def recall(ranked, cutoff):
        return float(evaluate(qrels, _ranx_run(ranked), f"recall@{cutoff}", make_comparable=True))

    def judge(value, ceiling):
        if abs(float(value) - ceiling) <= 0.005:
            return True, f"at best Recall@{top_n} = {ceiling:.2f}: {top_n} slots, filled from {k}."
        mistakes = [
            (recall(top_k, k), f"that is Recall@{k}: only {top_n} passages are returned."),
            (recall(top_k, top_n), f"that is the dense order's Recall@{top_n}: rerank it."),
        ]
        hint = f"per question: min({top_n}, relevant in the top {k}) / all its relevant."
        return False, _mistake(float(value), mistakes) or hint

    return _check(answer, "a number", lambda: recall(perfect, top_n), judge)


def check_04_request_body(answer, pairs) -> bool:
    """Check a request body with the endpoint's own contract, rerank_schema.py (notebook 04)."""
    from helpers.sagemaker import load_schema

    schema = load_schema()

    def judge(body, expected):
        if not isinstance(body, str | bytes):
            return False, f"a Python {type(body).__name__}: the endpoint receives JSON text."
        try:
            got = schema.parse_request(body)
        except schema.RequestError as error:
            return False, f"inference.py would answer {error.status}, {error}"
        if got != expected:
            return False, f"valid, but not these {len(expected)} pairs in this order."
        if "text_pairs" not in json.loads(body):
            return False, "valid, but LangChain's default handler sends the key text_pairs."
        return True, f"inference.py reads {len(got)} pairs from text_pairs, LangChain's key."

    return _check(answer, "a JSON string", lambda: [tuple(p) for p in pairs], judge)


class _InProcessRuntime:
    """A sagemaker-runtime client that answers with inference.py in this process: no server."""

    def __init__(self, handler, reranker):
        self.handler, self.reranker, self.bodies, self.answered = handler, reranker, [], False

    def invoke_endpoint(self, EndpointName, Body, ContentType, Accept, **kwargs):  # noqa: N803
        self.bodies.append(Body)
        reply = self.handler.transform_fn(self.reranker, Body, ContentType, Accept)
        self.answered = True
        return {"Body": io.BytesIO(reply.encode("utf-8"))}  # a stream, like boto3's StreamingBody


def check_04_content_handler(answer, handler, reranker, pairs) -> bool:
    """Check a LangChain content handler that sends ``pairs`` to inference.py (notebook 04)."""
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    pairs = [tuple(p) for p in pairs]

    def judge(content, expected):
        content = content() if isinstance(content, type) else content
        if not isinstance(content, CrossEncoderContentHandler):
            return False, "subclass CrossEncoderContentHandler: LangChain accepts nothing else."
        encoder = SagemakerEndpointCrossEncoder(
            endpoint_name="in-process", region_name="us-east-1", content_handler=content
        )
        encoder.client = runtime = _InProcessRuntime(handler, reranker)  # ours, not boto3's
        try:
            scores = encoder.score(pairs)
        except Exception as error:
            where = "transform_output (read the stream: output.read())" if runtime.answered else ""
            return False, f"{where or 'the request'} failed: {str(error)[:90]}"
        if not (isinstance(scores, list) and _close(scores, expected, 1e-4)):
            return False, "transform_output must return the list of scores, one per pair."
        if "pairs" not in json.loads(runtime.bodies[0]):
            return False, "it works here, but the seed's inference.py reads only the key pairs."
        return True, f"LangChain scored {len(pairs)} pairs through inference.py, sending pairs."

    return _check(answer, "a content handler", lambda: reranker.score(pairs), judge)


def check_05_speedup(answer, baseline_ms, optimised_ms) -> bool:
    """Check a speed-up computed from the medians of two timing series (notebook 05)."""
    baseline, optimised = summarize(baseline_ms), summarize(optimised_ms)
    per_repetition = summarize(paired_ratios(baseline_ms, optimised_ms))["median"]

    def judge(ratio, speedup):
        ratio = float(ratio)
        if any(abs(ratio - v) <= 0.01 * v for v in (speedup, per_repetition)):
            return True, f"{speedup:.2f}× as fast by the medians, which one slow run cannot move."
        mistakes = [
            (1 / speedup, "inverted: a speed-up is baseline time / optimised time."),
            (baseline["mean"] / optimised["mean"], "means: one slow repetition pulls them."),
        ]
        return False, _mistake(ratio, mistakes, 0.01 * speedup) or "divide the two medians."

    return _check(answer, "a number", lambda: baseline["median"] / optimised["median"], judge)


def check_05_best_backend(answer, speedups: dict) -> bool:
    """Check the fastest backend that keeps 99% of fp32's nDCG@10 (notebook 05)."""
    bar = GOALS["throughput"][1]

    def truth():  # the table in helpers.bench's shape, so that its own rule picks the winner
        ratios = [
            {"name": n, "kind": "speed-up", "batch_size": 32, "median": s[0]}
            for n, s in speedups.items()
        ]
        quality = {n: {"ndcg_ratio_vs_fp32": s[1]} for n, s in speedups.items()}
        name, _, kept = best_backend({"ratios": ratios, "quality": quality})
        return name if kept >= bar else "torch-fp32"

    def judge(name, best):
        if name == best:
            return True, f"{best} is the fastest backend that keeps {bar:.0%} of fp32's nDCG@10."
        if name not in speedups:
            return False, f"{name!r} is not in the table: answer with one of its names."
        if speedups[name][1] < bar:
            return False, f"{name} keeps {speedups[name][1]:.1%} of fp32's nDCG, below {bar:.0%}."
        return False, f"{name} keeps the quality, but another backend that does is faster."

    return _check(answer, "a backend name", truth, judge)
