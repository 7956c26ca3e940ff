"""Notebook 07's exercises: the solution passes, plausible mistakes get a hint, None never raises.
The scaling check applies the policy through moto's Application Auto Scaling."""

from __future__ import annotations

import copy

import pytest
from exercise_checks import expect, load_solution

from helpers import exercises as ex

SOLUTION = "07_scale_out_on_sagemaker"
ENDPOINT = "rerank-lab-20261130-101500-abcdef"


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
        answer = load_solution(SOLUTION).exercise_1(target, measured)
    expect(capsys, ex.check_07_instances(answer, target, measured), correct, phrase)


def test_07_instances_without_headroom(capsys):
    passed = ex.check_07_instances(4, 100.0, 25.0)  # 100 / 25 = 4 at 100 %; 100 / 17.5 -> 6
    expect(capsys, passed, False, "at 100%")


def test_07_scaling_policy(capsys):
    good = load_solution(SOLUTION).exercise_2(ENDPOINT)
    check = ex.check_07_scaling_policy
    expect(capsys, check(good, ENDPOINT, "ml.c5.2xlarge", 60), True, "480")
    per_core = copy.deepcopy(good) | {"TargetValue": 60.0}
    expect(capsys, check(per_core, ENDPOINT, "ml.c5.2xlarge", 60), False, "sums the cores")
    invocations = {
        "TargetValue": 100.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
    }
    expect(capsys, check(invocations, ENDPOINT, "ml.c5.2xlarge", 60), False, "count calls")
    other = copy.deepcopy(good)
    other["CustomizedMetricSpecification"]["Dimensions"][0]["Value"] = "someone-else"
    expect(capsys, check(other, ENDPOINT, "ml.c5.2xlarge", 60), False, "name this endpoint")
    expect(capsys, check("CPUUtilization", ENDPOINT, "ml.c5.2xlarge", 60), False, "a str")
    broken = {"TargetValue": "high"}  # AWS (and moto) reject it: a hint, not a traceback
    expect(capsys, check(broken, ENDPOINT, "ml.c5.2xlarge", 60), False, "could not read")
    expect(capsys, check(None, ENDPOINT, "ml.c5.2xlarge", 60), False, "replace the None")
