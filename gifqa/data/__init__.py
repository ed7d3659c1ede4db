"""Dataset readers: TGIF-QA, TGIF descriptions and splits, ReactionGIF.

Readers validate while parsing and raise :class:`gifqa.errors.DataError` (file and line) on
malformed input.  :func:`attach_media` pairs records with local media files and reports the
ones without, so nothing shrinks silently.  The main entry point for training and evaluation::

    from gifqa.data import load_tgifqa
    records = load_tgifqa("frameqa", "test", "../shared/data/tgif-qa")
"""

from gifqa.data.common import MediaReport, attach_media, index_media, split_ids
from gifqa.data.tgifqa import (
    DEFAULT_VAL_FRACTION,
    DEFAULT_VAL_SEED,
    FRAMEQA_TYPES,
    TASKS,
    ActionRecord,
    CountRecord,
    FrameQARecord,
    MultipleChoiceRecord,
    Record,
    TransitionRecord,
    by_vid_id,
    load_tgifqa,
    read_annotation_file,
    read_frameqa_answer_vocab,
    write_frameqa_file,
)

__all__ = [
    "DEFAULT_VAL_FRACTION",
    "DEFAULT_VAL_SEED",
    "FRAMEQA_TYPES",
    "TASKS",
    "ActionRecord",
    "CountRecord",
    "FrameQARecord",
    "MediaReport",
    "MultipleChoiceRecord",
    "Record",
    "TransitionRecord",
    "attach_media",
    "by_vid_id",
    "index_media",
    "load_tgifqa",
    "read_annotation_file",
    "read_frameqa_answer_vocab",
    "split_ids",
    "write_frameqa_file",
]
