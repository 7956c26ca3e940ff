"""Labelled queries and the chunks they mark (notebook 03; the rules: data/eval/README.md).

Labels are exact substrings of the corpus. Each passage marks ONE chunk (``"one_chunk"``): the
one holding the most of it (the first of equals), if that covers half of the shorter text. A
neighbour holding all of it whole is a copy (``whole_copies``): whichever a ranking shows first
earns the credit. ``"any_overlap"`` (every chunk holding half of it) shows the difference.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_QUERIES = Path(__file__).resolve().parents[2] / "data" / "eval" / "queries.json"
QUERY_TYPES = ("paraphrase", "keyword_light", "multi_passage", "no_answer")
SPLITS = ("dev", "test")
GRADES = (1, 2)
LABEL_POLICIES = ("one_chunk", "any_overlap")


class QueryFileError(ValueError):
    """The labelled query file is malformed; the message names the query and the problem."""


def _check_query(query: dict, corpus_text: str | None, seen: set) -> None:
    qid = query.get("id")
    if not qid or not str(query.get("query", "")).strip():
        raise QueryFileError(f"Query {qid!r} needs a non-empty 'id' and 'query'.")
    if qid in seen:
        raise QueryFileError(f"Query id {qid!r} is used twice; ids must be unique.")
    seen.add(qid)
    if query.get("split", "test") not in SPLITS:
        raise QueryFileError(f"Query {qid}: split must be one of {SPLITS}.")
    if query.get("type", "paraphrase") not in QUERY_TYPES:
        raise QueryFileError(f"Query {qid}: type must be one of {QUERY_TYPES}.")
    for passage in query.get("relevant", []):
        if passage.get("grade") not in GRADES:
            raise QueryFileError(
                f"Query {qid}: grade must be 1 or 2, not {passage.get('grade')!r}."
            )
        if corpus_text is not None and passage.get("text", "") not in corpus_text:
            raise QueryFileError(
                f"Query {qid}: {passage.get('text')!r} is not an exact substring of the corpus "
                "(check curly quotes, dashes and spaces)."
            )


def load_queries(path=DEFAULT_QUERIES, corpus_text: str | None = None) -> list[dict]:
    """Load a labelled query file and validate it (against the corpus, if given)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("version") != 1 or not isinstance(data.get("queries"), list):
        raise QueryFileError(f"{path}: expected {{'version': 1, 'queries': [...]}}.")
    seen: set = set()
    for query in data["queries"]:
        _check_query(query, corpus_text, seen)
    return data["queries"]


def select(queries: list[dict], split: str | None = None, answerable: bool | None = None):
    """Return the queries of one split, and only (un)answerable ones if asked."""
    return [
        q
        for q in queries
        if (split is None or q.get("split", "test") == split)
        and (answerable is None or bool(q.get("relevant")) == answerable)
    ]


def overlap(chunk: str, passage: str) -> int:
    """Return how many characters of ``passage`` a chunk holds in one piece."""
    if passage in chunk:
        return len(passage)
    if chunk in passage:
        return len(chunk)
    for size in range(min(len(chunk), len(passage)) - 1, 0, -1):
        if chunk.endswith(passage[:size]) or chunk.startswith(passage[-size:]):
            return size
    return 0


def is_relevant(chunk: str, passage: str, min_fraction: float = 0.5) -> bool:
    """Say whether the overlap covers half of the shorter text."""
    return overlap(chunk, passage) >= min_fraction * min(len(chunk), len(passage))


def credited_chunks(passage: str, chunks, policy: str = "one_chunk") -> list:
    """Return the chunks a labelled passage marks under ``policy`` (see the module docstring)."""
    if policy not in LABEL_POLICIES:
        raise ValueError(f"policy must be one of {LABEL_POLICIES}, not {policy!r}")
    marked = [c for c in chunks if is_relevant(c.page_content, passage)]
    if policy == "any_overlap" or not marked:
        return marked
    return [max(marked, key=lambda c: overlap(c.page_content, passage))]  # max keeps the first


def label_chunks(queries: list[dict], chunks, policy: str = "one_chunk") -> dict:
    """Map each query to {chunk id: grade}: each labelled passage marks its chunk(s)."""
    labels = {}
    for query in queries:
        grades: dict[str, int] = {}
        for passage in query.get("relevant", []):
            for chunk in credited_chunks(passage["text"], chunks, policy):
                chunk_id = str(chunk.metadata["id"])
                grades[chunk_id] = max(grades.get(chunk_id, 0), passage["grade"])
        labels[query["id"]] = grades
    return labels


def whole_copies(queries: list[dict], chunks) -> dict[str, dict[str, str]]:
    """Return {query id: {copy id: marked id}}: unmarked chunks holding a marked text whole."""
    copies = {}
    for query in queries:
        credited: dict[str, list[str]] = {}
        for passage in query.get("relevant", []):
            for chunk in credited_chunks(passage["text"], chunks):
                credited.setdefault(str(chunk.metadata["id"]), []).append(passage["text"])
        copies[query["id"]] = {
            str(chunk.metadata["id"]): marked
            for marked, texts in credited.items()
            for chunk in chunks
            if str(chunk.metadata["id"]) not in credited
            and all(text in chunk.page_content for text in texts)
        }
    return copies


def build_qrels(labels: dict[str, dict[str, int]], copies: dict | None = None):
    """Build ranx Qrels of the queries with relevant chunks; ``copies`` travel with them."""
    from ranx import Qrels

    qrels = Qrels({qid: grades for qid, grades in labels.items() if grades})
    qrels.copies = {qid: copies[qid] for qid in labels if copies and copies.get(qid)}
    return qrels


def answer_chunks(queries: list[dict], chunks) -> dict[str, set[str]]:
    """Return each query's chunks that hold an answer: marked ones and their whole copies."""
    labels, copies = label_chunks(queries, chunks), whole_copies(queries, chunks)
    return {q: set(labels[q]) | set(copies.get(q, {})) for q in labels}


def qrels_for(queries: list[dict], chunks, query_ids=None):
    """Return the Qrels of ``queries`` (only ``query_ids`` if given), copies included."""
    keep = [q for q in queries if query_ids is None or q["id"] in set(query_ids)]
    return build_qrels(label_chunks(keep, chunks), whole_copies(keep, chunks))
