"""ReactionGIF (Shmueli, Ray & Ku, ACL 2021, "Happy Dance, Slow Clap"; github.com/bshmueli/ReactionGIF).

- ``ReactionGIF.ids.json``: JSON Lines ``{"idx", "original_id", "reply_id", "label"}``, 29,710
  records over 43 reaction labels.  Only tweet ids: texts and GIFs must be hydrated by the user.
- ``Reactions2GoEmotions.csv``: 43 x 27 0/1 matrix, reaction -> GoEmotions emotions (multi-label).
- Hydrated file (user-supplied, JSON Lines): the upstream ``fetch-tweets.py`` output (records with
  a ``text`` field and optionally ``reply``, the GIF URL), optionally with ``gif_path`` (a local
  file, absolute or relative to the GIF folder).  Without ``gif_path`` the GIF is looked up as
  ``<reply_id>.{gif,mp4,webm}`` in the GIF folder (:func:`gifqa.data.attach_media`,
  ``key=lambda r: r.media_id``).

Sentiment: the paper's binary induced-sentiment task; ``POSITIVE_LABELS`` are its 20 positive
reactions, the other 23 are negative.  There is no official split; :func:`split_reactiongif`
holds out a seeded share of the *original tweets* (so one eliciting text is never on both sides).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from gifqa.data.common import split_ids
from gifqa.errors import DataError

LABELS: tuple[str, ...] = (
    "agree", "applause", "awww", "dance", "deal_with_it", "do_not_want", "eww", "eye_roll", "facepalm",
    "fist_bump", "good_luck", "happy_dance", "hearts", "high_five", "hug", "idk", "kiss", "mic_drop", "no",
    "oh_snap", "ok", "omg", "oops", "please", "popcorn", "scared", "seriously", "shocked", "shrug", "sigh",
    "slow_clap", "smh", "sorry", "thank_you", "thumbs_down", "thumbs_up", "want", "win", "wink", "yawn",
    "yes", "yolo", "you_got_this",
)  # fmt: skip
POSITIVE_LABELS: frozenset[str] = frozenset(
    {
        "hug", "kiss", "wink", "awww", "hearts", "win", "fist_bump", "high_five", "good_luck", "you_got_this",
        "ok", "thumbs_up", "agree", "yes", "dance", "happy_dance", "applause", "slow_clap", "popcorn", "thank_you",
    }
)  # fmt: skip
N_GOEMOTIONS = 27
DEFAULT_TEST_FRACTION = 0.1  # as in the authors' baseline (which used sklearn's train_test_split, seed 43)
DEFAULT_SPLIT_SEED = 43


@dataclass(frozen=True)
class ReactionRecord:
    idx: int  # record number (not sequential)
    original_id: str  # tweet id of the eliciting tweet
    reply_id: str  # tweet id of the reply holding the reaction GIF
    label: str  # one of LABELS
    line: int  # 1-based line in the source file
    text: str | None = None  # eliciting tweet text (hydrated files only)
    gif_path: str | None = None  # local media path from the hydrated file, if given
    gif_url: str | None = None  # the reply's media URL from fetch-tweets.py --gifs, if given

    @property
    def sentiment(self) -> str:
        return "positive" if self.label in POSITIVE_LABELS else "negative"

    @property
    def media_id(self) -> str:
        """Stem of the local media file: the ``gif_path`` stem if given, else the reply tweet id."""
        return Path(self.gif_path).stem if self.gif_path else self.reply_id


def read_reactiongif(path: str | os.PathLike, *, require_text: bool = False) -> list[ReactionRecord]:
    """Read ``ReactionGIF.ids.json`` or a hydrated copy (JSON Lines); DataError with the line on bad rows."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    records: list[ReactionRecord] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                raise DataError(path, "blank line", number)
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"not JSON ({exc.msg})", number) from None
            if not isinstance(obj, dict):
                raise DataError(path, "each line must be a JSON object", number)
            for key in ("idx", "original_id", "reply_id", "label"):
                if key not in obj:
                    raise DataError(path, f"missing field {key!r}", number)
            if not isinstance(obj["idx"], int):
                raise DataError(path, f"'idx' must be an integer, found {obj['idx']!r}", number)
            for key in ("original_id", "reply_id"):
                if not (isinstance(obj[key], str) and obj[key].isdigit()):
                    raise DataError(path, f"{key!r} must be a tweet id (digits, as a string), found {obj[key]!r}", number)
            if obj["label"] not in LABELS:
                raise DataError(path, f"unknown label {obj['label']!r} (expected one of the 43 reactions)", number)
            text = obj.get("text")
            if text is not None and not isinstance(text, str):
                raise DataError(path, "'text' must be a string", number)
            if require_text and not (text or "").strip():
                raise DataError(path, "no tweet text: this is not a hydrated file (run fetch-tweets.py)", number)
            if obj["reply_id"] in seen:
                raise DataError(path, f"reply_id {obj['reply_id']} repeats line {seen[obj['reply_id']]}", number)
            seen[obj["reply_id"]] = number
            records.append(
                ReactionRecord(
                    obj["idx"], obj["original_id"], obj["reply_id"], obj["label"], number,
                    text=text, gif_path=obj.get("gif_path"), gif_url=obj.get("reply"),
                )
            )  # fmt: skip
    if not records:
        raise DataError(path, "file is empty")
    return records


def read_goemotions_mapping(path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """``Reactions2GoEmotions.csv`` -> {reaction: (emotion, ...)}; all 43 reactions, 27 emotions."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0][:1] != ["Reaction"] or len(rows[0]) != N_GOEMOTIONS + 1:
        raise DataError(path, f"header must be 'Reaction' and {N_GOEMOTIONS} emotion names", 1)
    emotions = [e.strip().lower() for e in rows[0][1:]]
    mapping: dict[str, tuple[str, ...]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != N_GOEMOTIONS + 1:
            raise DataError(path, f"expected {N_GOEMOTIONS + 1} columns, found {len(row)}", number)
        label = row[0].strip()
        if label not in LABELS:
            raise DataError(path, f"unknown reaction {label!r}", number)
        if any(v not in ("0", "1") for v in row[1:]):
            raise DataError(path, "emotion columns must be 0 or 1", number)
        mapping[label] = tuple(e for e, v in zip(emotions, row[1:]) if v == "1")
    missing = sorted(set(LABELS) - set(mapping))
    if missing:
        raise DataError(path, f"no row for {len(missing)} reactions: {', '.join(missing)}")
    return mapping


def split_reactiongif(
    records: list[ReactionRecord], test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = DEFAULT_SPLIT_SEED
) -> tuple[list[ReactionRecord], list[ReactionRecord]]:
    """(train, test): a seeded ``test_fraction`` of the original tweets, with all their replies, is test."""
    test_ids = split_ids((r.original_id for r in records), test_fraction, seed)
    return [r for r in records if r.original_id not in test_ids], [r for r in records if r.original_id in test_ids]
