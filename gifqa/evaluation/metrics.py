"""TGIF-QA metrics as pure functions, following the official code's definitions.

Source: Jang et al., TGIF-QA (CVPR 2017), github.com/YunseokJANG/tgif-qa, `code/gifqa/`:
- Action / Transition: 5-way multiple choice, accuracy.
- FrameQA: top-1 accuracy of the answer word; we compare normalised strings (see
  :func:`normalize_answer`), overall and per question type.
- Count: mean squared error of the prediction rounded and clamped to [1, 10] against the
  answer.  The answers are {0, 2, ..., 10}; 0 can never be matched exactly under the clamp,
  so even a perfect predictor has an MSE floor (the share of 0 answers).  The official code
  additionally maps the gold answer with max(answer, 1); that variant is returned as
  ``mse_gold_max1`` so numbers can be compared with papers that used it.

Missing predictions: they count as wrong for accuracy.  For Count, a missing prediction is
scored as the worst clamped guess, max((gold - 1)^2, (gold - 10)^2), so that leaving rows
out can never improve the score.
"""

from __future__ import annotations

import math
import re
import string
from typing import Iterable, Mapping, Sequence

FRAMEQA_TYPES = ("object", "number", "color", "location")  # type ids 0, 1, 2, 3
COUNT_MIN, COUNT_MAX = 1, 10

_ARTICLES = {"a", "an", "the"}
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}]")


def normalize_answer(text) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse spaces.

    ``"The Cat."`` -> ``"cat"``; ``"T-shirt"`` -> ``"tshirt"``; numbers stay digits
    (``3`` and ``"3"`` are equal, ``"three"`` is not: TGIF-QA's number answers are words such
    as "three", and the vocabulary is matched as written).
    """
    text = _PUNCT.sub("", str(text).lower())
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def accuracy(predictions: Mapping[str, object], gold: Mapping[str, object], *, normalize=None) -> float:
    """Share of gold keys whose prediction equals the gold value (missing = wrong)."""
    if not gold:
        return float("nan")
    norm = normalize or (lambda x: x)
    hits = sum(1 for k, g in gold.items() if k in predictions and norm(predictions[k]) == norm(g))
    return hits / len(gold)


def choice_accuracy(predictions: Mapping[str, object], gold: Mapping[str, int]) -> float:
    """Action / Transition: the prediction is an option index 0-4."""

    def as_index(x):
        try:
            return int(x)
        except (TypeError, ValueError):
            return None

    return accuracy({k: as_index(v) for k, v in predictions.items()}, gold)


def frameqa_scores(
    predictions: Mapping[str, object], gold: Mapping[str, str], types: Mapping[str, str]
) -> tuple[float, dict[str, float]]:
    """Overall accuracy and accuracy per FrameQA type (``object``, ``number``, ``color``, ``location``)."""
    overall = accuracy(predictions, gold, normalize=normalize_answer)
    by_type = {}
    for t in FRAMEQA_TYPES:
        subset = {k: g for k, g in gold.items() if types.get(k) == t}
        by_type[t] = accuracy(predictions, subset, normalize=normalize_answer)
    return overall, by_type


def clamp_count(prediction: float) -> int:
    """Round half away from zero, then clamp to [1, 10] (the official rule)."""
    value = float(prediction)
    if math.isnan(value):
        return COUNT_MIN
    rounded = math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)
    return int(min(COUNT_MAX, max(COUNT_MIN, rounded)))


def count_scores(predictions: Mapping[str, object], gold: Mapping[str, int]) -> dict[str, float]:
    """``mse`` (clamped prediction vs gold), ``mse_unclamped`` (raw prediction vs gold) and
    ``mse_gold_max1`` (the official code's variant, gold mapped with max(gold, 1))."""
    if not gold:
        return {"mse": float("nan"), "mse_unclamped": float("nan"), "mse_gold_max1": float("nan")}
    se = se_raw = se_max1 = 0.0
    for k, g in gold.items():
        g = int(g)
        p = predictions.get(k)
        value = _as_float(p)
        if value is None:
            worst = max((g - COUNT_MIN) ** 2, (g - COUNT_MAX) ** 2)
            se += worst
            se_raw += worst
            se_max1 += max((max(g, 1) - COUNT_MIN) ** 2, (max(g, 1) - COUNT_MAX) ** 2)
            continue
        c = clamp_count(value)
        se += (c - g) ** 2
        se_raw += (value - g) ** 2
        se_max1 += (c - max(g, 1)) ** 2
    n = len(gold)
    return {"mse": se / n, "mse_unclamped": se_raw / n, "mse_gold_max1": se_max1 / n}


def count_mse_floor(gold: Iterable[int]) -> float:
    """The lowest ``mse`` any predictor can reach: every 0 answer costs at least 1."""
    gold = list(gold)
    return sum(1 for g in gold if int(g) < COUNT_MIN) / len(gold) if gold else float("nan")


def _as_float(x) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def most_frequent(values: Sequence) -> object:
    """The most frequent value, ties broken by first occurrence (for prior baselines)."""
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)
