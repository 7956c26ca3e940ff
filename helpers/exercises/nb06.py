"""Self-checks for notebook 06's exercises (adapting a reranker)."""

from __future__ import annotations

from helpers.exercises.common import _check


def _kept(positive: float, candidates: dict, margin: float, count: int, relative: bool):
    limit = positive - (abs(positive) * margin if relative else margin)
    ranked = sorted(candidates, key=lambda name: -candidates[name])
    return [name for name in ranked if candidates[name] <= limit][:count]


def check_06_margin_negatives(answer, positive: float, candidates: dict, count: int = 3) -> bool:
    """Check the negatives ``mine_hard_negatives`` keeps with relative_margin=0.05 (notebook 06)."""

    def judge(names, truth):
        names = list(names)
        if names == truth:
            return True, f"{truth}: the {count} best candidates at least 5% below the positive."
        mistakes = [
            (_kept(positive, candidates, 0.0, count, True), "no margin: drop the near-ties."),
            (
                _kept(positive, candidates, 0.05, count, False),
                "that is an absolute margin of "
                "0.05; relative_margin=0.05 means 5% of the positive's score.",
            ),  # fmt: skip
            (sorted(truth), "right passages, but keep them best first ('top' sampling)."),
        ]
        hint = next((h for wrong, h in mistakes if names == wrong), None)
        return False, hint or "rank by score, drop those within 5% of the positive, keep 3."

    return _check(answer, f"a list of {count} candidate names", lambda: _kept(
        positive, candidates, 0.05, count, True), judge)  # fmt: skip


def bar_misses(first_stage: dict, second: dict) -> list[str]:
    """Return where ``second`` misses the course's bar (``ev.bar_misses``), by ranx metric name."""
    from helpers.evaluation import bar_misses as misses

    names = {"recall": "recall@5", "mrr": "mrr@10", "ndcg@10": "ndcg@10"}
    row = lambda metrics: {key: metrics[name] for key, name in names.items()}  # noqa: E731
    return [names[key] for key in misses(row(first_stage), row(second))]


def _ship(runs: dict) -> str:
    first_stage = runs["dense"]
    good = [name for name in runs if name != "dense" and not bar_misses(first_stage, runs[name])]
    return max(good, key=lambda name: runs[name]["ndcg@10"]) if good else "dense"


def check_06_ship_it(answer, runs: dict) -> bool:
    """Check which second stage to ship: the best one that clears the bar, else none (nb 06)."""

    def judge(name, truth):
        if name == truth:
            why = "no reranker clears the bar" if truth == "dense" else "it clears the bar"
            return True, f"{truth}: {why} (MRR@10, nDCG@10 kept, Recall@5 within 0.02)."
        if name not in runs:
            return False, f"{name!r} is not one of {sorted(runs)}."
        if name != "dense" and bar_misses(runs["dense"], runs[name]):
            return (
                False,
                f"{name} falls below dense on {', '.join(bar_misses(runs['dense'], runs[name]))}.",
            )
        return False, "another run clears the bar with a higher nDCG@10 (or none does)."

    return _check(answer, "a run name", lambda: _ship(runs), judge)
