"""Filters for generated questions: no question, empty/short/over-long, answer leaked, duplicates.

Each check returns the name of the reason a question is dropped (``REASONS``) or None to keep
it, so the pipeline can report how many were filtered for which reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REASONS: tuple[str, ...] = ("no_question", "empty", "too_short", "too_long", "answer_in_question", "duplicate")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-case word tokens, punctuation dropped (the normal form used by the filters and metrics)."""
    return _WORD.findall(text.lower())


def normalise(text: str) -> str:
    return " ".join(words(text))


def contains_answer(question: str, answer: str) -> bool:
    """Whether the answer's words appear, contiguous and whole, in the question."""
    q, a = words(question), words(answer)
    if not a:
        return False
    return any(q[i : i + len(a)] == a for i in range(len(q) - len(a) + 1))


@dataclass
class FilterConfig:
    min_question_words: int = 3  # fewer words: dropped as too short ("What?")
    max_question_words: int = 30  # more words: dropped as over-long (runaway generations)
    drop_answer_in_question: bool = True
    drop_duplicates: bool = True  # same normalised question for the same GIF


def check_question(
    question: str | None, answer: str, gif_id: str, seen: set[tuple[str, str]], config: FilterConfig
) -> str | None:
    """The reason to drop ``question`` or None; a kept question is added to ``seen``."""
    if question is None:
        return "no_question"
    n = len(words(question))
    if n == 0:
        return "empty"
    if n < config.min_question_words:
        return "too_short"
    if n > config.max_question_words:
        return "too_long"
    if config.drop_answer_in_question and contains_answer(question, answer):
        return "answer_in_question"
    key = (gif_id, normalise(question))
    if config.drop_duplicates and key in seen:
        return "duplicate"
    seen.add(key)
    return None
