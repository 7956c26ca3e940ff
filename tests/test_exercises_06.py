"""Notebook 06's exercises: each solution passes its self-check, plausible mistakes get a
"Not yet" that names them, and an unfinished answer (None) prints "Not yet" without raising."""

from __future__ import annotations

from exercise_checks import expect, load_solution

from helpers import exercises as ex

SOLUTION = "06_adapt_a_reranker_to_your_corpus"
POSITIVE = 0.80
CANDIDATES = {"a": 0.79, "b": 0.74, "c": 0.77, "d": 0.61, "e": 0.70, "f": 0.755}
RESULTS = {
    "dense": {"recall@5": 0.72, "mrr@10": 0.82, "ndcg@10": 0.78},
    "short run": {"recall@5": 0.61, "mrr@10": 0.70, "ndcg@10": 0.66},
    "full recipe": {"recall@5": 0.71, "mrr@10": 0.84, "ndcg@10": 0.80},
    "keywords only": {"recall@5": 0.78, "mrr@10": 0.81, "ndcg@10": 0.81},
}


def test_06_margin_negatives(capsys):
    answer = load_solution(SOLUTION).exercise_1(POSITIVE, CANDIDATES)
    assert answer == ["f", "b", "e"]
    check = ex.check_06_margin_negatives
    expect(capsys, check(answer, POSITIVE, CANDIDATES), True, "['f', 'b', 'e']")
    expect(capsys, check(["a", "c", "f"], POSITIVE, CANDIDATES), False, "no margin")
    expect(capsys, check(["b", "e", "d"], POSITIVE, CANDIDATES), False, "absolute margin")
    expect(capsys, check(["b", "e", "f"], POSITIVE, CANDIDATES), False, "best first")
    expect(capsys, check(["d", "e", "b"], POSITIVE, CANDIDATES), False, "rank by score")
    expect(capsys, check(42, POSITIVE, CANDIDATES), False, "could not read")
    expect(capsys, check(None, POSITIVE, CANDIDATES), False, "replace the None")


def test_06_ship_it(capsys):
    answer = load_solution(SOLUTION).exercise_2(RESULTS)
    assert answer == "full recipe"
    expect(capsys, ex.check_06_ship_it(answer, RESULTS), True, "clears the bar")
    expect(capsys, ex.check_06_ship_it("keywords only", RESULTS), False, "mrr@10")
    expect(capsys, ex.check_06_ship_it("short run", RESULTS), False, "recall@5")
    expect(capsys, ex.check_06_ship_it("dense", RESULTS), False, "another run")
    expect(capsys, ex.check_06_ship_it("bm25", RESULTS), False, "is not one of")
    expect(capsys, ex.check_06_ship_it(None, RESULTS), False, "replace the None")
    nothing_clears = {name: RESULTS[name] for name in ("dense", "short run", "keywords only")}
    assert load_solution(SOLUTION).exercise_2(nothing_clears) == "dense"
    expect(capsys, ex.check_06_ship_it("dense", nothing_clears), True, "no reranker clears")
