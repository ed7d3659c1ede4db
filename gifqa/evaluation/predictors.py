"""Who answers in an evaluation: the model, or a baseline that needs no training.

Every predictor answers the three output kinds of the task declarations: ``choice`` (an
option index), ``text`` and ``count``.  Baselines ignore the pixels (``needs_media = False``),
so they also run where the media is absent, e.g. on the official TGIF-QA test files.
"""

from __future__ import annotations

import numpy as np

from gifqa.evaluation.metrics import most_frequent


class ModelPredictor:
    needs_media = True

    def __init__(self, model, clips):
        self.model = model
        self.clips = clips  # gifqa.inference.ClipLoader

    def choice(self, path, question: str, options: list[str]) -> tuple[int, list[float]]:
        scores = self.model.score_options(self.clips(path, question), question, list(options))
        values = [float(s) for s in scores]
        return int(np.argmax(values)), values

    def text(self, paths, questions: list[str], max_new_tokens: int, types=None) -> list[str]:
        import torch

        pixels = torch.stack([self.clips(p, q) for p, q in zip(paths, questions)])  # [B, T, 3, S, S]
        return self.model.generate(pixels, questions, max_new_tokens=max_new_tokens)

    def count(self, path, question: str) -> int:
        return int(self.model.predict_count(self.clips(path, question), question))


class RandomBaseline:
    """Uniform guesses, seeded: an option index, a training answer, or a count in 0..10."""

    needs_media = False

    def __init__(self, seed: int = 0, answers: list[str] | None = None):
        self.rng = np.random.default_rng(seed)
        self.answers = sorted(set(answers or [])) or ["yes"]

    def choice(self, path, question, options):
        return int(self.rng.integers(len(options))), []

    def text(self, paths, questions, max_new_tokens, types=None):
        return [str(self.rng.choice(self.answers)) for _ in questions]

    def count(self, path, question):
        return int(self.rng.integers(0, 11))


class PriorBaseline:
    """The most frequent training answer: per task, and per question type for FrameQA."""

    needs_media = False

    def __init__(self, train_records: dict[str, list]):
        self.choice_prior = {}
        for task in ("action", "transition"):
            if train_records.get(task):
                self.choice_prior[task] = most_frequent([r.answer_index for r in train_records[task]])
        counts = train_records.get("count") or []
        self.count_prior = most_frequent([r.answer for r in counts]) if counts else None
        frameqa = train_records.get("frameqa") or []
        self.text_prior = {}
        for t in {r.answer_type for r in frameqa}:
            self.text_prior[t] = most_frequent([r.answer for r in frameqa if r.answer_type == t])
        self.text_overall = most_frequent([r.answer for r in frameqa]) if frameqa else None
        self._current_task = None

    def for_task(self, task: str) -> "PriorBaseline":
        self._current_task = task
        return self

    def choice(self, path, question, options):
        return int(self.choice_prior.get(self._current_task, 0)), []

    def text(self, paths, questions, max_new_tokens, types=None):
        types = types or [None] * len(questions)
        return [self.text_prior.get(t, self.text_overall) or "" for t in types]

    def count(self, path, question):
        return int(self.count_prior if self.count_prior is not None else 0)
