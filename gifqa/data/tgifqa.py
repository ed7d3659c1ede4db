"""TGIF-QA annotation readers (Jang et al., CVPR 2017; github.com/YunseokJANG/tgif-qa, ``dataset/``).

The official files are named ``{Train,Test,Total}_{action,transition,count,frameqa}_question.csv``
but are TAB-separated with CRLF line endings and one header line.  Columns per task:

- action, transition: ``gif_name question a1 a2 a3 a4 a5 answer vid_id key``; ``answer`` is the
  0-based index of the correct option.
- count: ``gif_name question answer vid_id key``; ``answer`` is an integer (0 and 2..10 occur).
- frameqa: ``gif_name question answer type vid_id key description``; ``type`` 0/1/2/3 is
  object/number/color/location and ``description`` is the TGIF sentence the question came from.

There is no official validation split.  ``split="val"`` carves one out of the official train
file: ``DEFAULT_VAL_FRACTION`` (10 %) of the distinct ``gif_name`` values, chosen by a seeded
shuffle (``DEFAULT_VAL_SEED`` = 0).  The split is by GIF, so no GIF is in two splits, and
``"train"`` is the official train file minus those GIFs (``"train_full"`` is all of it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, Union

from gifqa.data.common import parse_int, read_tsv, require_text, split_ids
from gifqa.errors import DataError

TASKS: tuple[str, ...] = ("action", "transition", "count", "frameqa")
SPLITS: tuple[str, ...] = ("train", "val", "test", "train_full", "total")

# Validation split carved from the official train file (there is none upstream).
DEFAULT_VAL_FRACTION = 0.1  # share of the distinct train GIFs (gif_name) held out
DEFAULT_VAL_SEED = 0

# FrameQA ``type`` column.  0..3 are the official types; 4 is gifqa's extension for
# generated questions whose answer is a verb (``gifqa gen-qa --format frameqa``); the
# official files never contain it.
FRAMEQA_TYPES: dict[int, str] = {0: "object", 1: "number", 2: "color", 3: "location", 4: "verb"}
FRAMEQA_TYPE_IDS: dict[str, int] = {name: i for i, name in FRAMEQA_TYPES.items()}

N_OPTIONS = 5

COLUMNS: dict[str, tuple[str, ...]] = {
    "action": ("gif_name", "question", "a1", "a2", "a3", "a4", "a5", "answer", "vid_id", "key"),
    "transition": ("gif_name", "question", "a1", "a2", "a3", "a4", "a5", "answer", "vid_id", "key"),
    "count": ("gif_name", "question", "answer", "vid_id", "key"),
    "frameqa": ("gif_name", "question", "answer", "type", "vid_id", "key", "description"),
}

UPSTREAM = "https://github.com/YunseokJANG/tgif-qa/tree/master/dataset"


@dataclass(frozen=True)
class _Base:
    vid_id: str  # e.g. "ACTION12"; unique within a file, the record's key
    key: int  # integer GIF key, shared across tasks for the same GIF
    gif_name: str  # TGIF GIF id (URL file name without .gif), the media file's stem
    question: str


@dataclass(frozen=True)
class MultipleChoiceRecord(_Base):
    options: tuple[str, ...]  # the 5 candidate answers a1..a5
    answer_index: int  # 0-based index into ``options``

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


@dataclass(frozen=True)
class ActionRecord(MultipleChoiceRecord):
    task = "action"


@dataclass(frozen=True)
class TransitionRecord(MultipleChoiceRecord):
    task = "transition"


@dataclass(frozen=True)
class CountRecord(_Base):
    answer: int  # number of repetitions as annotated (0 and 2..10; the official code uses max(answer, 1))
    task = "count"


@dataclass(frozen=True)
class FrameQARecord(_Base):
    answer: str  # one word
    type_id: int  # 0 object, 1 number, 2 color, 3 location (4 verb: generated files only)
    description: str  # source TGIF sentence
    task = "frameqa"

    @property
    def answer_type(self) -> str:
        return FRAMEQA_TYPES[self.type_id]


Record = Union[ActionRecord, TransitionRecord, CountRecord, FrameQARecord]


def annotation_path(annotations_dir: str | os.PathLike, task: str, official_split: str) -> Path:
    """Path of the official file for ``task`` and ``official_split`` in {"Train", "Test", "Total"}."""
    _check_task(task)
    return Path(annotations_dir) / f"{official_split}_{task}_question.csv"


def annotation_files(annotations_dir: str | os.PathLike) -> dict[tuple[str, str], Path]:
    """All 12 official file paths, keyed by (task, "Train"|"Test"|"Total"), whether present or not."""
    return {
        (task, split): annotation_path(annotations_dir, task, split)
        for task in TASKS
        for split in ("Train", "Test", "Total")
    }


def read_annotation_file(path: str | os.PathLike, task: str) -> list[Record]:
    """Parse one TGIF-QA annotation file of ``task``; DataError with the line number on malformed rows."""
    _check_task(task)
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"file not found; the TGIF-QA annotation files are at {UPSTREAM}")
    records: list[Record] = []
    seen: dict[str, int] = {}
    for line, f in read_tsv(path, COLUMNS[task]):
        gif_name = require_text(path, line, "gif_name", f[0])
        question = require_text(path, line, "question", f[1])
        if task in ("action", "transition"):
            options = tuple(require_text(path, line, f"a{i + 1}", f[2 + i]) for i in range(N_OPTIONS))
            answer_index = parse_int(path, line, "answer", f[7], lo=0, hi=N_OPTIONS - 1)
            vid_id, key = f[8], parse_int(path, line, "key", f[9])
            cls = ActionRecord if task == "action" else TransitionRecord
            record: Record = cls(vid_id, key, gif_name, question, options, answer_index)
        elif task == "count":
            answer = parse_int(path, line, "answer", f[2], lo=0)
            vid_id, key = f[3], parse_int(path, line, "key", f[4])
            record = CountRecord(vid_id, key, gif_name, question, answer)
        else:
            answer = require_text(path, line, "answer", f[2])
            type_id = parse_int(path, line, "type", f[3], lo=0, hi=max(FRAMEQA_TYPES))
            vid_id, key = f[4], parse_int(path, line, "key", f[5])
            description = require_text(path, line, "description", f[6])
            record = FrameQARecord(vid_id, key, gif_name, question, answer, type_id, description)
        vid_id = require_text(path, line, "vid_id", record.vid_id)
        if vid_id in seen:
            raise DataError(path, f"vid_id {vid_id!r} repeats the one on line {seen[vid_id]}", line)
        seen[vid_id] = line
        records.append(record)
    return records


def load_tgifqa(
    task: str,
    split: str,
    annotations_dir: str | os.PathLike,
    *,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = DEFAULT_VAL_SEED,
) -> list[Record]:
    """Records of one TGIF-QA task and split, in file order.

    ``split``: "test", "train" (official train minus the validation GIFs), "val" (the carved
    validation split), "train_full" (the whole official train file) or "total".  ``val_fraction``
    and ``seed`` choose the validation GIFs (see the module docstring).
    """
    _check_task(task)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    official = {"test": "Test", "total": "Total"}.get(split, "Train")
    records = read_annotation_file(annotation_path(annotations_dir, task, official), task)
    if split in ("train", "val"):
        val_gifs = split_ids((r.gif_name for r in records), val_fraction, seed)
        want_val = split == "val"
        records = [r for r in records if (r.gif_name in val_gifs) == want_val]
    return records


def by_vid_id(records: Iterable[Record]) -> dict[str, Record]:
    """Index records by ``vid_id`` (unique within one file)."""
    return {r.vid_id: r for r in records}


def read_frameqa_answer_vocab(path: str | os.PathLike) -> list[str]:
    """The FrameQA answer vocabulary file (``index<TAB>answer`` header, then indices 0..N-1 in order)."""
    path = Path(path)
    vocab: list[str] = []
    for line, (index, answer) in read_tsv(path, ("index", "answer")):
        if parse_int(path, line, "index", index) != len(vocab):
            raise DataError(path, f"index {index} out of order, expected {len(vocab)}", line)
        vocab.append(require_text(path, line, "answer", answer))
    return vocab


def write_frameqa_file(rows: Sequence[FrameQARecord], path: str | os.PathLike) -> None:
    """Write FrameQA records in the official layout (TAB, CRLF, header) so the readers load them back."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\t".join(COLUMNS["frameqa"]) + "\r\n")
        for r in rows:
            fields = (r.gif_name, r.question, r.answer, str(r.type_id), r.vid_id, str(r.key), r.description)
            for value in fields:
                if "\t" in value or "\n" in value or "\r" in value:
                    raise DataError(path, f"field {value!r} holds a tab or newline; the layout cannot store it")
            out.write("\t".join(fields) + "\r\n")


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown TGIF-QA task {task!r}; expected one of {', '.join(TASKS)}")
