"""Metrics against tables computed by hand."""

import math

import pytest

from gifqa.evaluation.metrics import (
    choice_accuracy,
    clamp_count,
    count_mse_floor,
    count_scores,
    frameqa_scores,
    most_frequent,
    normalize_answer,
)


def test_normalize_answer():
    assert normalize_answer("The Cat.") == "cat"
    assert normalize_answer("  an   Apple ") == "apple"
    assert normalize_answer("T-shirt") == "tshirt"
    assert normalize_answer(3) == "3"
    assert normalize_answer("Theater") == "theater"  # articles are whole words only


def test_choice_accuracy_missing_counts_wrong():
    gold = {"a": 0, "b": 4, "c": 2, "d": 1}
    pred = {"a": 0, "b": "4", "c": 3, "x": 1}  # d missing, x unknown
    assert choice_accuracy(pred, gold) == pytest.approx(2 / 4)
    assert choice_accuracy({"a": "zero"}, {"a": 0}) == 0.0


def test_frameqa_overall_and_by_type():
    gold = {"1": "cat", "2": "three", "3": "red", "4": "table", "5": "dog"}
    types = {"1": "object", "2": "number", "3": "color", "4": "location", "5": "object"}
    pred = {"1": "The cat", "2": "3", "3": "Red!", "4": "the table", "5": "cat"}
    overall, by_type = frameqa_scores(pred, gold, types)
    assert overall == pytest.approx(3 / 5)
    assert by_type == {"object": 0.5, "number": 0.0, "color": 1.0, "location": 1.0}


@pytest.mark.parametrize(
    "raw, clamped",
    [(0, 1), (0.49, 1), (1.5, 2), (2.5, 3), (-3, 1), (9.6, 10), (42, 10), (float("nan"), 1)],
)
def test_clamp_count(raw, clamped):
    assert clamp_count(raw) == clamped


def test_count_scores_hand_table():
    gold = {"a": 0, "b": 2, "c": 10, "d": 5}
    pred = {"a": 0, "b": 2.4, "c": 12, "d": None}
    # clamped: a 1 (err 1), b 2 (0), c 10 (0), d missing -> worst max((5-1)^2, (5-10)^2) = 25
    # unclamped: a 0, b 0.16, c 4, d 25
    # gold max1: a gold 1 -> 0, b 0, c 0, d worst max(16, 25) = 25
    s = count_scores(pred, gold)
    assert s["mse"] == pytest.approx((1 + 0 + 0 + 25) / 4)
    assert s["mse_unclamped"] == pytest.approx((0 + 0.16 + 4 + 25) / 4)
    assert s["mse_gold_max1"] == pytest.approx(25 / 4)


def test_perfect_count_predictions_hit_the_floor():
    gold = {str(i): g for i, g in enumerate([0, 0, 2, 3, 10])}
    s = count_scores(dict(gold), gold)
    assert s["mse"] == pytest.approx(2 / 5) == count_mse_floor(gold.values())
    assert s["mse_unclamped"] == 0.0 and s["mse_gold_max1"] == 0.0


def test_constant_answer():
    gold = {"a": 2, "b": 4, "c": 6}
    assert count_scores({k: 4 for k in gold}, gold)["mse"] == pytest.approx((4 + 0 + 4) / 3)


def test_empty_and_prior():
    assert math.isnan(choice_accuracy({}, {}))
    assert most_frequent(["b", "a", "a", "b", "c"]) == "b"  # tie: first seen
