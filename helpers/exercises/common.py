"""What every self-check shares: one printed verdict, never an exception from a bad answer."""

from __future__ import annotations


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
