"""Notebook 07's exercises: the solution passes, plausible mistakes get a hint, None never raises.
The scaling check applies the policy through moto's Application Auto Scaling."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

from helpers import exercises as ex

ROOT = Path(__file__).resolve().parents[1]
ENDPOINT = "rerank-lab-20261130-101500-abcdef"


def solution():
    path = ROOT / "solutions" / "07_scale_out_on_sagemaker.py"
    spec = importlib.util.spec_from_file_location("solution_07", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict(capsys, passed, correct: bool, phrase: str = "") -> None:
    out = capsys.readouterr().out
    assert passed is correct and out.startswith("Correct: " if correct else "Not yet: "), out
    assert out.count("\n") == 1 and phrase in out, out


@pytest.mark.parametrize(
    ("answer", "correct", "phrase"),
    [
        ("solution", True, "3 instances"),
        (2, False, "rounded down"),
        (3.0, False, "a float"),
        (None, False, "replace the None"),
        (9, False, "round up"),
    ],
)
def test_07_instances(capsys, answer, correct, phrase):
    target, measured = 50.0, 25.0  # 50 / (25 * 0.7) = 2.86: 3 instances
    if answer == "solution":
        answer = solution().exercise_1(target, measured)
    verdict(capsys, ex.check_07_instances(answer, target, measured), correct, phrase)


def test_07_instances_without_headroom(capsys):
    passed = ex.check_07_instances(4, 100.0, 25.0)  # 100 / 25 = 4 at 100 %; 100 / 17.5 -> 6
    verdict(capsys, passed, False, "at 100%")


def test_07_scaling_policy(capsys):
    good = solution().exercise_2(ENDPOINT)
    check = ex.check_07_scaling_policy
    verdict(capsys, check(good, ENDPOINT, "ml.c5.2xlarge", 60), True, "480")
    per_core = copy.deepcopy(good) | {"TargetValue": 60.0}
    verdict(capsys, check(per_core, ENDPOINT, "ml.c5.2xlarge", 60), False, "sums the cores")
    invocations = {
        "TargetValue": 100.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
    }
    verdict(capsys, check(invocations, ENDPOINT, "ml.c5.2xlarge", 60), False, "count calls")
    other = copy.deepcopy(good)
    other["CustomizedMetricSpecification"]["Dimensions"][0]["Value"] = "someone-else"
    verdict(capsys, check(other, ENDPOINT, "ml.c5.2xlarge", 60), False, "name this endpoint")
    verdict(capsys, check("CPUUtilization", ENDPOINT, "ml.c5.2xlarge", 60), False, "a str")
    broken = {"TargetValue": "high"}  # AWS (and moto) reject it: a hint, not a traceback
    verdict(capsys, check(broken, ENDPOINT, "ml.c5.2xlarge", 60), False, "could not read")
    verdict(capsys, check(None, ENDPOINT, "ml.c5.2xlarge", 60), False, "replace the None")
