"""Score thresholds chosen on dev questions and checked on test ones (notebook 02)."""

from __future__ import annotations


def returned_lists(search, queries: list[dict], top_n: int) -> dict[str, list[tuple[str, float]]]:
    """Return each query's top_n as [(chunk id, score)], best first, before any threshold.

    ``search(query)`` returns [(doc, score)] best first (a first stage, or a reranker's scores).
    """
    return {
        q["id"]: [(str(d.metadata["id"]), float(s)) for d, s in list(search(q["query"]))[:top_n]]
        for q in queries
    }


def threshold_outcomes(returned: dict, labels: dict, threshold: float) -> dict:
    """Count off-topic questions left with nothing and answerable ones that lose their answer.

    A passage is kept when its score is at least ``threshold`` (as ``score_threshold`` does).
    An answerable question loses its answer when its top_n held an answer chunk and none of
    them is kept; ``labels`` maps a query to its answer chunks (``answer_chunks``; empty for a
    no-answer question).
    """
    off_topic = [q for q in returned if not labels.get(q)]
    answered = [q for q in returned if any(c in labels.get(q, {}) for c, _ in returned[q])]
    return {
        "threshold": threshold,
        "off_topic": len(off_topic),
        "off_topic_empty": sum(all(s < threshold for _, s in returned[q]) for q in off_topic),
        "answerable": len(returned) - len(off_topic),
        "answer_returned": len(answered),
        "answer_lost": sum(
            all(s < threshold for c, s in returned[q] if c in labels[q]) for q in answered
        ),
    }


def _balance(outcome: dict) -> float:
    """Share of off-topic questions rejected minus share of returned answers lost."""
    rejected = outcome["off_topic_empty"] / max(outcome["off_topic"], 1)
    return rejected - outcome["answer_lost"] / max(outcome["answer_returned"], 1)


def calibrate_threshold(returned: dict, labels: dict) -> float:
    """Return the threshold that best separates these (dev) questions (notebook 02).

    It maximises the share of off-topic questions that return nothing minus the share of
    answers lost; of equally good thresholds it takes the lowest (fewest answers lost).
    Candidates are the scores themselves, so the result is on the model's own scale.
    """
    if not any(not labels.get(q) for q in returned) or all(not labels.get(q) for q in returned):
        raise ValueError("calibrating a threshold needs both off-topic and answerable questions")
    candidates = sorted({s for items in returned.values() for _, s in items})
    return max(candidates, key=lambda t: (_balance(threshold_outcomes(returned, labels, t)), -t))


def describe_outcomes(outcome: dict) -> str:
    """Return two lines: off-topic questions left with nothing, answers lost, counts and shares."""
    empty, off = outcome["off_topic_empty"], outcome["off_topic"]
    lost, had = outcome["answer_lost"], outcome["answer_returned"]
    return (
        f"off-topic questions left with nothing: {empty} of {off} ({empty / max(off, 1):.0%})\n"
        f"answers lost: {lost} of the {had} answerable questions whose passages held one "
        f"({lost / max(had, 1):.0%})"
    )
