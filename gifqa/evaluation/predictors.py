"""Who answers in an evaluation: the model, or a baseline that needs no training.

Every predictor answers the output kinds of the task declarations: ``choice`` (an option
index), ``text`` and ``count`` (one clip, or a batch of clips for ``text``), ``caption`` (a
batch of clips -> strings) and ``reaction`` (a batch of clips -> ``{"label", ...}`` rows).
The random and prior baselines ignore the pixels (``needs_media = False``), so they also run
where the media is absent, e.g. on the official TGIF-QA test files; the zero-shot CLIP
baseline (:class:`ClipZeroShot`) looks at the keyframes.
"""

from __future__ import annotations

import numpy as np

from gifqa.errors import ConfigError
from gifqa.evaluation.metrics import most_frequent


class ModelPredictor:
    needs_media = True

    def __init__(self, model, clips, count_decode: str = "mean"):
        self.model = model
        self.clips = clips  # gifqa.inference.ClipLoader
        self.count_decode = count_decode  # "mean" | "mode": GifQAModel.predict_count

    def choice(self, path, question: str, options: list[str]) -> tuple[int, list[float]]:
        scores = self.model.score_options(self.clips(path, question), question, list(options))
        values = [float(s) for s in scores]
        return int(np.argmax(values)), values

    def text(self, paths, questions: list[str], max_new_tokens: int, types=None) -> list[str]:
        import torch

        pixels = torch.stack([self.clips(p, q) for p, q in zip(paths, questions)])  # [B, T, 3, S, S]
        return self.model.generate(pixels, questions, max_new_tokens=max_new_tokens)

    def count(self, path, question: str) -> int:
        return int(self.model.predict_count(self.clips(path, question), question, decode=self.count_decode))

    def caption(self, paths, max_new_tokens: int) -> list[str]:
        import torch

        pixels = torch.stack([self.clips(p) for p in paths])  # [B, T, 3, S, S]
        return list(self.model.caption(pixels, max_new_tokens=max_new_tokens))

    def reaction(self, paths) -> list[dict]:
        """Argmax label; sentiment from the head's P(positive) >= 0.5; emotions with score >= 0.5."""
        import torch

        from gifqa.model.heads import reaction_labels

        with torch.no_grad():
            pixels = torch.stack([self.clips(p) for p in paths])  # [B, T, 3, S, S]
            logits = self.model.classify_reaction(pixels).float()  # [B, 43]
            p_pos = self.model.reaction_sentiment(logits).cpu()  # [B]
            emo = self.model.reaction_emotions(logits).cpu()  # [B, 27]
        labels = self.model.reaction_labels
        names = reaction_labels()["goemotions"]
        rows = []
        for b in range(len(paths)):
            rows.append({
                "label": labels[int(logits[b].argmax())],
                "sentiment": "positive" if float(p_pos[b]) >= 0.5 else "negative",
                "p_positive": round(float(p_pos[b]), 6),
                "emotions": [n for n, v in zip(names, emo[b].tolist()) if v >= 0.5],
            })
        return rows


class RandomBaseline:
    """Uniform guesses, seeded: an option index, a training answer, a count in 0..10, a
    training caption, or one of the 43 reactions."""

    needs_media = False

    def __init__(self, seed: int = 0, answers: list[str] | None = None, captions: list[str] | None = None):
        self.rng = np.random.default_rng(seed)
        self.answers = sorted(set(answers or []))
        self.captions = list(captions or [])

    def choice(self, path, question, options):
        return int(self.rng.integers(len(options))), []

    def text(self, paths, questions, max_new_tokens, types=None):
        if not self.answers:
            raise ConfigError("baseline:random FrameQA answers draw from an answer vocabulary; none was given")
        return [str(self.rng.choice(self.answers)) for _ in questions]

    def count(self, path, question):
        return int(self.rng.integers(0, 11))

    def caption(self, paths, max_new_tokens):
        if not self.captions:
            raise ConfigError("baseline:random captions draw from training captions; none were given")
        return [self.captions[int(self.rng.integers(len(self.captions)))] for _ in paths]

    def reaction(self, paths):
        from gifqa.data.reactiongif import LABELS

        return [{"label": LABELS[int(self.rng.integers(len(LABELS)))]} for _ in paths]


class PriorBaseline:
    """The most frequent training answer: per task, and per question type for FrameQA; the
    most frequent training caption; the most frequent training reaction label.

    ``train_records``: {"action" | "transition" | "count" | "frameqa": TGIF-QA records,
    "caption": [caption, ...], "reaction": [label, ...]}.
    """

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
        captions = train_records.get("caption") or []
        self.caption_prior = most_frequent(list(captions)) if captions else None
        reactions = train_records.get("reaction") or []
        self.reaction_prior = most_frequent(list(reactions)) if reactions else None
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

    def caption(self, paths, max_new_tokens):
        if self.caption_prior is None:
            raise ConfigError("baseline:prior for captions needs training captions")
        return [self.caption_prior for _ in paths]

    def reaction(self, paths):
        if self.reaction_prior is None:
            raise ConfigError("baseline:prior for reactions needs training labels")
        return [{"label": self.reaction_prior} for _ in paths]


# Zero-shot CLIP prompts.  FrameQA answers are scored inside a short sentence per question
# type (CLIP was trained on captions, not bare words; Radford et al. 2021, sec. 3.1.4 "prompt
# engineering"); Count scores "<question> <n> times"; Action / Transition options are verb
# phrases and are scored as they are.
FRAMEQA_TEMPLATES = {
    "object": "a photo of a {answer}.",
    "number": "a photo of {answer} things.",
    "color": "a photo of something {answer}.",
    "location": "a photo of something in the {answer}.",
}
COUNT_TEMPLATE = "{question} {n} times."


class ClipZeroShot:
    """Zero-shot CLIP: candidate texts ranked by cosine similarity with the clip's keyframes.

    The clip is ``frames`` keyframes taken uniformly by play time; its embedding is the mean of
    the unit-length frame embeddings, re-normalised.  Frame embeddings go through the retrieval
    embedding cache (keyed by file content, CLIP model and sampling), text embeddings are kept
    in memory, so every further question about a clip costs only new texts.

    * choice (Action, Transition): the option with the highest similarity.
    * text (FrameQA): the answer vocabulary of the question's type (training answers of that
      type) in :data:`FRAMEQA_TEMPLATES`; the best-scoring answer.
    * count: 0..10 in :data:`COUNT_TEMPLATE`; the best-scoring number.
    * caption: the training caption most similar to the clip (retrieval, not generation).
    * reaction: the 43 labels as "a reaction gif of {label}" (underscores as spaces).
    """

    needs_media = True

    def __init__(self, encoder, *, frames: int = 8, limits=None, vocabulary: dict[str, list[str]] | None = None,
                 captions: list[str] | None = None, cache=None):
        from gifqa.retrieval.cache import EmbeddingCache

        self.encoder = encoder
        self.frames = int(frames)
        self.limits = limits
        self.vocabulary = {t: sorted(set(v)) for t, v in (vocabulary or {}).items() if v}
        self.captions = sorted(set(captions or []))
        self.cache = EmbeddingCache(cache_dir=False) if cache is None else cache
        self._text: dict[str, np.ndarray] = {}
        self._clips: dict[str, np.ndarray] = {}

    def clip_embedding(self, path) -> np.ndarray:
        """Unit-length [D] embedding of the clip's keyframes."""
        from gifqa.media import load_video
        from gifqa.retrieval.encoders import l2_normalize
        from gifqa.retrieval.sampling import frame_embeddings

        key = str(path)
        if key not in self._clips:
            video = load_video(path, self.frames, sampling="uniform", limits=self.limits)
            embs = frame_embeddings(video, self.encoder, self.cache)  # [T, D], unit rows
            self._clips[key] = l2_normalize(embs.mean(axis=0, keepdims=True))[0]
            if len(self._clips) > 64:
                self._clips.pop(next(iter(self._clips)))
        return self._clips[key]

    def text_embeddings(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._text]
        if todo:
            for t, e in zip(todo, self.encoder.encode_text(todo)):
                self._text[t] = np.asarray(e, dtype=np.float32)
        return np.stack([self._text[t] for t in texts])  # [K, D], unit rows

    def similarities(self, path, texts: list[str]) -> np.ndarray:
        return self.text_embeddings(texts) @ self.clip_embedding(path)  # [K]

    def choice(self, path, question, options):
        sims = self.similarities(path, [str(o) for o in options])
        return int(np.argmax(sims)), [float(s) for s in sims]

    def text(self, paths, questions, max_new_tokens, types=None):
        types = types or [None] * len(questions)
        out = []
        for path, t in zip(paths, types):
            answers = self.vocabulary.get(t) or sorted({a for v in self.vocabulary.values() for a in v})
            if not answers:
                raise ConfigError("baseline:clip for FrameQA needs an answer vocabulary (the training file)")
            template = FRAMEQA_TEMPLATES.get(t, "a photo of {answer}.")
            sims = self.similarities(path, [template.format(answer=a) for a in answers])
            out.append(answers[int(np.argmax(sims))])
        return out

    def count(self, path, question):
        texts = [COUNT_TEMPLATE.format(question=question.strip(), n=n) for n in range(11)]
        return int(np.argmax(self.similarities(path, texts)))

    def caption(self, paths, max_new_tokens):
        if not self.captions:
            raise ConfigError("baseline:clip captions retrieve a training caption; none were given")
        return [self.captions[int(np.argmax(self.similarities(p, self.captions)))] for p in paths]

    def reaction(self, paths):
        from gifqa.data.reactiongif import LABELS

        texts = [f"a reaction gif of {label.replace('_', ' ')}" for label in LABELS]
        return [{"label": LABELS[int(np.argmax(self.similarities(p, texts)))]} for p in paths]
