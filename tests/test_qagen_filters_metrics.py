"""Filters and the BLEU-4 / ROUGE-L functions (hand-computed expected values)."""

from __future__ import annotations

import math

import pytest

from gifqa.qagen.filters import FilterConfig, check_question, contains_answer, normalise
from gifqa.qagen.metrics import corpus_bleu, lcs_length, mean_rouge_l, rouge_l


def test_bleu_hand_computed():
    # cand "the cat is on the red mat" (7 words) vs ref "the cat is on the mat" (6 words):
    # 1-grams 6/7, 2-grams 4/6, 3-grams 3/5, 4-grams 2/4; c > r so no brevity penalty.
    got = corpus_bleu(["the cat is on the red mat"], ["the cat is on the mat"])
    assert got == pytest.approx((6 / 7 * 4 / 6 * 3 / 5 * 2 / 4) ** 0.25, abs=1e-12)
    # all precisions 1, c = 4 < r = 6: BP = exp(1 - 6/4)
    assert corpus_bleu(["the cat is on"], ["the cat is on the mat"]) == pytest.approx(math.exp(-0.5))
    assert corpus_bleu(["What is the man holding?"], ["what is the man holding ?"]) == pytest.approx(1.0)
    assert corpus_bleu(["a b c"], ["d e f"]) == 0.0  # no 4-gram at all


def test_bleu_is_corpus_level_with_brevity_penalty():
    # counts are summed over the corpus before dividing (not a mean of sentence scores)
    both = corpus_bleu(["the cat is on the red mat", "the cat is on"], ["the cat is on the mat"] * 2)
    p = [(6 + 4) / (7 + 4), (4 + 3) / (6 + 3), (3 + 2) / (5 + 2), (2 + 1) / (4 + 1)]
    expected = math.exp(1 - 12 / 11) * math.exp(sum(math.log(x) for x in p) / 4)  # c = 11 < r = 12
    assert both == pytest.approx(expected)


def test_rouge_l_hand_computed():
    assert lcs_length("a b c d".split(), "a c d e".split()) == 3
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)  # P = R = 3/4
    p, r = 6 / 7, 1.0
    assert rouge_l("the cat is on the red mat", "the cat is on the mat") == pytest.approx(
        (1 + 1.44) * p * r / (r + 1.44 * p)
    )
    assert rouge_l("x y", "a b") == 0.0
    assert mean_rouge_l(["a b c d", "x"], ["a c d e", "y"]) == pytest.approx(0.375)


def test_answer_in_question_is_word_level():
    assert contains_answer("What color is the red car?", "red")
    assert not contains_answer("What is the man reading?", "red")  # substring of a word
    assert contains_answer("Where is the cat in a box?", "in a box")
    assert normalise("  What is THE man holding ? ") == "what is the man holding"


@pytest.mark.parametrize(
    "question,answer,reason",
    [
        (None, "x", "no_question"),
        ("?", "x", "empty"),
        ("What?", "x", "too_short"),
        ("what " * 31, "x", "too_long"),
        ("What color is the red car?", "red", "answer_in_question"),
        ("What is the man holding?", "ball", None),
    ],
)
def test_filter_reasons(question, answer, reason):
    assert check_question(question, answer, "g1", set(), FilterConfig()) == reason


def test_duplicates_are_per_gif_and_normalised():
    seen: set = set()
    cfg = FilterConfig()
    assert check_question("What is the man holding?", "ball", "g1", seen, cfg) is None
    assert check_question("what is the man holding ?", "bat", "g1", seen, cfg) == "duplicate"
    assert check_question("What is the man holding?", "ball", "g2", seen, cfg) is None
