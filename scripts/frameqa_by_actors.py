"""gifqa-shapes FrameQA accuracy by question type and by the number of shapes in the clip.

If a model answers "what colour is the circle ?" right with one shape on screen but at 1/k with k
shapes, it sees the colours but does not bind them to the shape the question names.  The number of
shapes comes from the clip's description (one colour word per shape, ``gifqa.shapes.world.COLOURS``).

    python scripts/frameqa_by_actors.py --predictions OUT/tgif-qa_frameqa/predictions.jsonl \\
        --annotations runs/world/val/Test_frameqa_question.csv

``predictions.jsonl`` is what ``gifqa eval --tasks tgif-qa/frameqa`` writes (vid_id, prediction).
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
            shapes = sum(w in COLOURS for w in row["description"].split())
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--predictions", required=True, type=Path, help="predictions.jsonl of gifqa eval (FrameQA)")
    ap.add_argument("--annotations", required=True, type=Path, help="the split's *_frameqa_question.csv")
    args = ap.parse_args(argv)
    print(table(args.predictions, args.annotations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
