"""Question-generation backends: each turns (sentence, answer candidate) pairs into questions.

A backend has a ``name`` and ``generate(items) -> list[str | None]`` (one question per item,
``None`` where it cannot ask one).  ``offline`` (rule-based, always available) and ``t5``
(answer-aware T5 fine-tuned on SQuAD, needs its weights) are built by :func:`make_backend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gifqa.qagen.candidates import Candidate

BACKENDS: tuple[str, ...] = ("t5", "offline")


@dataclass(frozen=True)
class QGItem:
    sentence: str  # the source description
    candidate: Candidate
    doc: Any = None  # the spaCy Doc of ``sentence`` (the rule-based backend needs it)


class QuestionBackend(Protocol):
    name: str

    def generate(self, items: list[QGItem]) -> list[str | None]: ...
