"""Score a predictions file against an official TGIF-QA test file (no model involved).

Predictions are JSON lines ``{"vid_id": "...", "prediction": ...}``: an option index 0-4 for
action / transition, a string for frameqa, a number for count.  Rules (eval/README.md):
missing predictions count as wrong (Count: the worst clamped guess); a repeated ``vid_id``
keeps its first prediction and is reported; ``vid_id``s not in the official file are
reported and ignored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gifqa.data.common import read_jsonl
from gifqa.errors import DataError
from gifqa.evaluation import metrics

TASKS = ("action", "transition", "frameqa", "count")


def read_predictions(path) -> tuple[dict[str, object], list[str]]:
    """``({vid_id: prediction}, [duplicate vid_ids])``; DataError with the line number on bad lines."""
    rows, duplicates = read_prediction_rows(path)
    return {row["vid_id"]: row["prediction"] for row in rows}, duplicates


def read_prediction_rows(path) -> tuple[list[dict], list[str]]:
    """The rows (whole objects, ``vid_id`` as str, first of each ``vid_id`` kept) and the repeated ids."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "predictions file not found")
    preds: dict[str, dict] = {}
    duplicates: list[str] = []
    for _, obj in read_jsonl(path, ("vid_id", "prediction")):
        vid = str(obj["vid_id"])
        if vid in preds:
            duplicates.append(vid)
            continue
        preds[vid] = {**obj, "vid_id": vid}
    return list(preds.values()), duplicates


def score(task: str, predictions: dict[str, object], records) -> dict:
    """Metrics under fixed keys for one task; ``records`` are the official rows of that task."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    gold_ids = [r.vid_id for r in records]
    known = set(gold_ids)
    result = {
        "task": task,
        "n": len(records),
        "n_predicted": sum(1 for v in gold_ids if v in predictions),
        "n_missing": sum(1 for v in gold_ids if v not in predictions),
        "n_unknown": sum(1 for v in predictions if v not in known),
    }
    if task in ("action", "transition"):
        result["accuracy"] = metrics.choice_accuracy(predictions, {r.vid_id: r.answer_index for r in records})
    elif task == "frameqa":
        gold = {r.vid_id: r.answer for r in records}
        types = {r.vid_id: r.answer_type for r in records}
        result["accuracy"], result["accuracy_by_type"] = metrics.frameqa_scores(predictions, gold, types)
    else:
        gold = {r.vid_id: r.answer for r in records}
        result.update(metrics.count_scores(predictions, gold))
        result["mse_floor"] = metrics.count_mse_floor(gold.values())
    return result


def score_file(task: str, predictions_path, annotations_dir) -> dict:
    """Read both files and score; the result names the files and their sha256."""
    from gifqa.data.tgifqa import annotation_path, load_tgifqa

    preds, duplicates = read_predictions(predictions_path)
    records = load_tgifqa(task, "test", annotations_dir)
    result = score(task, preds, records)
    known = {r.vid_id for r in records}
    result["n_duplicate"] = len(duplicates)
    result["duplicates"] = sorted(set(duplicates))[:20]
    result["unknown"] = sorted(v for v in preds if v not in known)[:20]
    result["missing"] = [r.vid_id for r in records if r.vid_id not in preds][:20]
    gold_path = annotation_path(annotations_dir, task, "Test")
    result["files"] = {
        "predictions": {"path": str(predictions_path), "sha256": _sha256(predictions_path)},
        "annotations": {"path": str(gold_path), "sha256": _sha256(gold_path)},
    }
    return result


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
