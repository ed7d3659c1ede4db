"""What a model that sees *which* actions happen in a clip, but not which shape does them, scores on
gifqa-shapes Transition questions.

"What does the red circle do after it nods ?": a model that knows the set of actions in the clip (every
shape's, every segment's) but binds none of them to a shape can rule out the options that nobody
performs and the action the question names, and guess among the rest.  With one shape on screen that
is always right; with two or three, other shapes' actions stay in the running.  This prints that
strategy's expected accuracy by the number of shapes on screen, in the layout of
``scripts/frameqa_by_actors.py``, to put a model's table next to it: a model at or under it has not
shown that it binds actions to shapes (report.md, gifqa-shapes).

    python scripts/shapes_bag_of_actions.py --world WORLD --split val

``WORLD`` is a ``gifqa make-shapes`` output (manifest.json, <split>/Test_transition_question.csv).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def expected_accuracy(world: Path, split: str) -> dict[int, tuple[float, int]]:
    """{shapes on screen (0 = all): (expected accuracy, questions)} of the bag-of-actions strategy."""
    from gifqa.shapes.dataset import scene_for
    from gifqa.shapes.world import ACTIONS

    from gifqa.data.tgifqa import annotation_path, read_annotation_file

    manifest = json.loads((world / "manifest.json").read_text())
    prefix = "Train" if split == "train" else "Test"
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for rec in read_annotation_file(annotation_path(world / split, "transition", prefix), "transition"):
        scene = scene_for(rec.gif_name, seed=manifest["seed"], size_px=manifest["size_px"])
        performed = {seg.action for actor in scene.actors for seg in actor.segments}
        named = {a for a, (_, third) in ACTIONS.items() if f" {third} ?" in rec.question.lower()}
        left = [o for o in rec.options if o in performed and o not in named]
        score = 1 / len(left) if rec.answer in left else 0.0
        for n in (0, len(scene.actors)):
            sums[n][0] += score
            sums[n][1] += 1
    return {n: (total / count, count) for n, (total, count) in sorted(sums.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", required=True, type=Path, help="a gifqa make-shapes directory")
    ap.add_argument("--split", default="val", help="val, test or test_compositional (default val)")
    args = ap.parse_args(argv)
    acc = expected_accuracy(args.world, args.split)
    counts = [n for n in acc if n]
    print("| bag of actions | all | " + " | ".join(f"{n} shape{'s' * (n > 1)}" for n in counts) + " |")
    print("|---" * (2 + len(counts)) + "|")
    print("| transition | " + " | ".join(f"{acc[n][0]:.2f} (n={acc[n][1]})" for n in [0, *counts]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
