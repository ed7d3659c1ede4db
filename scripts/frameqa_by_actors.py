"""gifqa-shapes accuracy (Count: MSE) by the number of shapes in the clip; FrameQA also by question type,
Transition also by question word (before / after).

If a model answers "what colour is the circle ?" right with one shape on screen but at 1/k with k
shapes, it sees the colours but does not bind them to the shape the question names.  The number of
shapes comes from the clip's description (one colour word per shape, ``gifqa.shapes.world.COLOURS``):
FrameQA files carry it; for Action, Transition and Count give the world's ``descriptions.tsv``.

    python scripts/frameqa_by_actors.py --predictions OUT/tgif-qa_frameqa/predictions.jsonl \\
        --annotations runs/world/val/Test_frameqa_question.csv
    python scripts/frameqa_by_actors.py --predictions OUT/tgif-qa_transition/predictions.jsonl \\
        --annotations runs/world/val/Test_transition_question.csv --descriptions runs/world/descriptions.tsv

``predictions.jsonl`` is what ``gifqa eval --tasks tgif-qa/<task>`` writes (vid_id, prediction).
Prints a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

from gifqa.evaluation.metrics import FRAMEQA_TYPES
from gifqa.shapes.world import COLOURS


def table(predictions: Path, annotations: Path) -> str:
    pred = {}
    with open(predictions, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                pred[str(row["vid_id"])] = str(row["prediction"]).strip().lower()
    hits: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])  # (type, shapes) -> [right, total]
    with open(annotations, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["vid_id"] not in pred:
                continue
            kind = FRAMEQA_TYPES[int(row["type"])]
            shapes = _shapes(row["description"])
            for key in ((kind, shapes), (kind, 0)):  # 0 = all clips
                hits[key][0] += pred[row["vid_id"]] == row["answer"].strip().lower()
                hits[key][1] += 1
    if not hits:
        raise SystemExit(f"frameqa_by_actors: no question of {annotations} has a prediction in {predictions}")
    counts = sorted({k[1] for k in hits if k[1]})
    head = "| type | all | " + " | ".join(f"{n} shape{'s' * (n > 1)}" for n in counts) + " |"
    lines = [head, "|---" * (2 + len(counts)) + "|"]
    for kind in FRAMEQA_TYPES:
        cells = []
        for n in [0, *counts]:
            right, total = hits.get((kind, n), (0, 0))
            cells.append(f"{right / total:.2f} (n={total})" if total else "")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _shapes(caption: str) -> int:
    return sum(w in COLOURS for w in caption.split())


def task_table(predictions: Path, annotations: Path, descriptions: Path) -> str:
    """Action / Transition (accuracy: the prediction is an option index) or Count (MSE) by shapes on screen."""
    shapes = {}
    with open(descriptions, encoding="utf-8") as f:
        for line in f:
            name, _, caption = line.rstrip("\n").partition("\t")
            shapes[name.removesuffix(".gif")] = _shapes(caption)
    pred = {}
    with open(predictions, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                pred[str(row["vid_id"])] = float(row["prediction"])
    from gifqa.data.tgifqa import read_annotation_file

    task = annotations.stem.split("_")[1]  # <Split>_<task>_question.csv
    counting = task == "count"
    # (row, shapes (0 = all)) -> [sum, total].  Transition also gets a row per question word: on the
    # compositional split a "before" question's answer is the held-out (colour, shape, action) triple
    # itself, an "after" question's is a triple seen in training (report.md, gifqa-shapes).
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0])
    for rec in read_annotation_file(annotations, task):
        if rec.vid_id not in pred:
            continue
        p = pred[rec.vid_id]
        score = (p - rec.answer) ** 2 if counting else float(p == rec.answer_index)
        rows = [task]
        words = [w for w in ("before", "after") if f" {w} " in f" {rec.question.lower()} "]
        if task == "transition" and len(words) == 1:
            rows.append(f"{task}, {words[0]} questions")
        for row in rows:
            for n in (0, shapes[rec.gif_name]):
                sums[row, n][0] += score
                sums[row, n][1] += 1
    if not sums:
        raise SystemExit(f"frameqa_by_actors: no question of {annotations} has a prediction in {predictions}")
    counts = sorted({n for _, n in sums if n})
    head = "| " + ("MSE" if counting else "accuracy") + " | all | " + " | ".join(
        f"{n} shape{'s' * (n > 1)}" for n in counts) + " |"
    lines = [head, "|---" * (2 + len(counts)) + "|"]
    present = {r for r, _ in sums}
    for row in [r for r in (task, f"{task}, before questions", f"{task}, after questions") if r in present]:
        cells = [f"{sums[row, n][0] / sums[row, n][1]:.2f} (n={sums[row, n][1]})" if sums[row, n][1] else ""
                 for n in [0, *counts]]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--predictions", required=True, type=Path, help="predictions.jsonl of gifqa eval (one tgif-qa task)")
    ap.add_argument("--annotations", required=True, type=Path, help="the split's *_<task>_question.csv")
    ap.add_argument("--descriptions", type=Path, help="the world's descriptions.tsv (needed for Action, Transition, Count)")
    args = ap.parse_args(argv)
    if "frameqa" in args.annotations.name:
        print(table(args.predictions, args.annotations))
    elif args.descriptions is None:
        ap.error("--descriptions is needed for Action, Transition and Count files (their rows name no shapes)")
    else:
        print(task_table(args.predictions, args.annotations, args.descriptions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
