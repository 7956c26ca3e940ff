"""Measure retrieval and reranking with labelled queries and ranx (introduced in notebook 03).

One job per module, all re-exported here (``from helpers import evaluation as ev``):

- ``labels``: the labelled query file and the chunks each passage marks (one chunk per passage);
- ``runs``: first stages (BM25, dense), second stages (cross-encoder, MaxP, the blend), ranx runs;
- ``fusion``: the hybrid first stage (BM25 + dense, reciprocal rank fusion);
- ``significance``: metrics per query and significance corrected for many pairs;
- ``thresholds``: a score threshold chosen on dev questions, checked on test (notebook 02);
- ``decision``: what to ship, read from the measurements: the course's one ship rule;
- ``cli``: ``python -m helpers.evaluation --queries data/eval/queries.json --split test``.

Every metric comes from ranx. Queries with no relevant passage (``"relevant": []``) cannot enter
ranx's qrels, so they are left out of Recall, MRR and nDCG and used for thresholds instead.
"""

from helpers.evaluation.cli import main, markdown_table
from helpers.evaluation.decision import (
    BAR_SLACK,
    bar_misses,
    choose_pipeline,
    choose_weight,
    cost,
    pipeline_name,
    pipeline_rows,
    pipeline_run,
    what_would_change,
)
from helpers.evaluation.fusion import hybrid_retriever
from helpers.evaluation.labels import (
    DEFAULT_QUERIES,
    GRADES,
    LABEL_POLICIES,
    QUERY_TYPES,
    SPLITS,
    QueryFileError,
    answer_chunks,
    build_qrels,
    credited_chunks,
    is_relevant,
    label_chunks,
    load_queries,
    overlap,
    qrels_for,
    select,
    whole_copies,
)
from helpers.evaluation.runs import (
    as_search,
    blend_of,
    bm25_retriever,
    bm25_search,
    candidates_run,
    credit_first_copy,
    cross_encoder_scorer,
    first_stage_candidates,
    make_run,
    maxp_scorer,
    perfect_run,
    rerank_search,
    reranked_run,
    restrict,
    runs_at_k,
    score_candidates,
    second_stage_scores,
    with_scores,
)
from helpers.evaluation.significance import (
    adjust_p_values,
    compare_runs,
    difference_needed,
    evaluate,
    metrics_for,
    per_query,
    significantly_better,
    top_score_separation,
    verdict,
    wins_losses,
)
from helpers.evaluation.thresholds import (
    calibrate_threshold,
    describe_outcomes,
    returned_lists,
    threshold_outcomes,
)

__all__ = [
    "BAR_SLACK",
    "DEFAULT_QUERIES",
    "GRADES",
    "LABEL_POLICIES",
    "QUERY_TYPES",
    "SPLITS",
    "QueryFileError",
    "adjust_p_values",
    "answer_chunks",
    "as_search",
    "bar_misses",
    "blend_of",
    "bm25_retriever",
    "bm25_search",
    "build_qrels",
    "calibrate_threshold",
    "candidates_run",
    "choose_pipeline",
    "choose_weight",
    "compare_runs",
    "cost",
    "credit_first_copy",
    "credited_chunks",
    "cross_encoder_scorer",
    "describe_outcomes",
    "difference_needed",
    "evaluate",
    "first_stage_candidates",
    "hybrid_retriever",
    "is_relevant",
    "label_chunks",
    "load_queries",
    "main",
    "make_run",
    "markdown_table",
    "maxp_scorer",
    "metrics_for",
    "overlap",
    "per_query",
    "pipeline_name",
    "perfect_run",
    "pipeline_rows",
    "pipeline_run",
    "qrels_for",
    "reranked_run",
    "rerank_search",
    "restrict",
    "returned_lists",
    "runs_at_k",
    "score_candidates",
    "second_stage_scores",
    "select",
    "significantly_better",
    "threshold_outcomes",
    "top_score_separation",
    "verdict",
    "what_would_change",
    "whole_copies",
    "wins_losses",
    "with_scores",
]
