"""ReactionGIF metrics as pure functions, and the evaluation records of a reactions file.

Shmueli, Ray & Ku, "Happy Dance, Slow Clap", ACL 2021 (github.com/bshmueli/ReactionGIF)
define three tasks on the same labels; we score all three from one prediction per clip:

- reaction: 43-way ``accuracy`` and ``macro_f1`` (unweighted mean of the per-label F1 over
  the labels that occur in the gold labels or the predictions, as scikit-learn's
  ``f1_score(average="macro")`` does; a label never seen on either side has no F1).
- sentiment: ``sentiment_accuracy`` of the binary induced sentiment (the paper's 20 positive
  reactions; :data:`gifqa.data.reactiongif.POSITIVE_LABELS`).  A prediction may carry its own
  sentiment (the model's P(positive) >= 0.5); otherwise it is the predicted label's.
- emotion: ``emotion_micro_f1`` over the 27 GoEmotions labels, the gold set being the gold
  reaction's row of ``Reactions2GoEmotions.csv``; a prediction may carry its own emotion set,
  otherwise it is the predicted label's row.  Micro-F1 = 2 TP / (2 TP + FP + FN) summed over
  clips and emotions.

A missing prediction is wrong: no label (a false negative for the gold label's F1, no false
positive), wrong sentiment, and an empty emotion set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from gifqa.data.common import read_jsonl
from gifqa.errors import DataError

SENTIMENTS = ("positive", "negative")


def label_tables() -> tuple[list[str], frozenset[str], dict[str, frozenset[str]]]:
    """(43 reactions, the positive ones, reaction -> GoEmotions set), from the shipped label file."""
    from gifqa.model.presets import package_data_path

    data = json.loads(package_data_path("_reactiongif_labels.json").read_text())
    emotions = data["goemotions"]
    mapping = {
        r: frozenset(e for e, on in zip(emotions, row) if on) for r, row in zip(data["reactions"], data["reaction_to_goemotions"])
    }
    return list(data["reactions"]), frozenset(data["positive_reactions"]), mapping


def macro_f1(predictions: Mapping[str, str], gold: Mapping[str, str]) -> float:
    """Mean per-label F1 over the labels in gold or predictions (missing prediction = no label)."""
    if not gold:
        return float("nan")
    labels = set(gold.values()) | {predictions[k] for k in gold if k in predictions}
    f1s = []
    for label in sorted(labels):
        tp = sum(1 for k, g in gold.items() if g == label and predictions.get(k) == label)
        fp = sum(1 for k, g in gold.items() if g != label and predictions.get(k) == label)
        fn = sum(1 for k, g in gold.items() if g == label and predictions.get(k) != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return sum(f1s) / len(f1s)


def micro_f1_sets(predicted: Mapping[str, frozenset], gold: Mapping[str, frozenset]) -> float:
    """Micro-F1 of multi-label sets over the ids in ``gold`` (missing = empty set)."""
    tp = fp = fn = 0
    for k, g in gold.items():
        p = set(predicted.get(k, ()))
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def reaction_scores(
    predictions: Mapping[str, str],
    gold: Mapping[str, str],
    *,
    sentiments: Mapping[str, str] | None = None,
    emotions: Mapping[str, frozenset] | None = None,
    positive: frozenset[str] | None = None,
    mapping: Mapping[str, frozenset] | None = None,
) -> dict:
    """All ReactionGIF metrics over the ids of ``gold`` ({id: reaction label}).

    ``sentiments`` / ``emotions`` override what is derived from the predicted label, per id.
    """
    if positive is None or mapping is None:
        _, pos, emo = label_tables()
        positive = pos if positive is None else positive
        mapping = emo if mapping is None else mapping
    sentiments = sentiments or {}
    emotions = emotions or {}

    def sentiment_of(label):
        return "positive" if label in positive else "negative"

    n = len(gold)
    hits = sum(1 for k, g in gold.items() if predictions.get(k) == g)
    pred_sent = {k: sentiments.get(k, sentiment_of(predictions[k])) for k in gold if k in predictions}
    sent_hits = sum(1 for k, g in gold.items() if pred_sent.get(k) == sentiment_of(g))
    pred_emo = {k: frozenset(emotions.get(k, mapping.get(predictions[k], frozenset()))) for k in gold if k in predictions}
    return {
        "n": n,
        "n_missing": sum(1 for k in gold if k not in predictions),
        "accuracy": hits / n if n else float("nan"),
        "macro_f1": macro_f1(predictions, gold),
        "sentiment_accuracy": sent_hits / n if n else float("nan"),
        "emotion_micro_f1": micro_f1_sets(pred_emo, {k: frozenset(mapping[g]) for k, g in gold.items()}),
    }


@dataclass(frozen=True)
class ReactionItem:
    """One clip to classify: ``vid_id`` keys predictions, ``gif_name`` names the media file."""

    vid_id: str
    gif_name: str
    label: str
    split: str


def load_reaction_items(path, split: str = "test") -> list[ReactionItem]:
    """Clips of ``split`` in a reactions JSON Lines file.

    Two layouts: ``{"gif_name", "label", "split"}`` per line (gifqa-shapes' reactions.jsonl;
    the media file is ``<gif_name>.gif``), or ReactionGIF's ``{"idx", "original_id",
    "reply_id", "label", ...}`` (hydrated or not), which has no split: ``test`` is the seeded
    10 % of original tweets of :func:`gifqa.data.reactiongif.split_reactiongif`, ``train`` the
    rest, and the media file is ``<reply_id>.gif`` (or the ``gif_path`` stem).
    """
    from gifqa.data.reactiongif import LABELS, read_reactiongif, split_reactiongif

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "reactions file not found")
    with open(path, encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    try:
        shapes_layout = "gif_name" in json.loads(first)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not JSON ({exc.msg})", 1) from None
    if not shapes_layout:
        train, test = split_reactiongif(read_reactiongif(path))
        chosen = {"test": test, "train": train, "train_full": train}.get(split)
        if chosen is None:
            raise DataError(path, f"ReactionGIF has no {split!r} split here (test or train)")
        return [ReactionItem(r.reply_id, r.media_id, r.label, split) for r in chosen]
    items, seen = [], set()
    for line_no, obj in read_jsonl(path, ("gif_name", "label", "split")):
        if obj["label"] not in LABELS:
            raise DataError(path, f"unknown label {obj['label']!r} (expected one of the 43 reactions)", line_no)
        if obj["gif_name"] in seen:
            raise DataError(path, f"gif_name {obj['gif_name']!r} repeats", line_no)
        seen.add(obj["gif_name"])
        wanted = ("train",) if split in ("train", "train_full") else (split,)
        if obj["split"] in wanted:
            items.append(ReactionItem(obj["gif_name"], obj["gif_name"], obj["label"], obj["split"]))
    return items
