"""How a model's gifqa-shapes Count and Action answers relate to the counts in the clip.

Count: the correlation of the answers with the true count, the MSE, the share answered exactly, and the
mean answer per true count (a model that counts but hedges shrinks these towards the middle); then the
same per asked action (the question's last word), since what a frame shows of each motion differs.
Action ("What does the red circle do 3 times ?"): the main shape does two actions, each a number of
times that differ, so a wrong answer is either that shape's other action (it saw both and picked by
their counts) or neither of them.  Reactions (``--reaction-eval``): the label is the main shape's first
action's reaction, and the main shape is the only one that changes what it does, so a wrong label is its
second action's, another shape's, or none on screen; split by how many shapes the clip shows.  Scenes are
re-drawn from the world's seed (gifqa.shapes.dataset.scene_for).

    python scripts/shapes_count_answers.py --world runs/shapes-world/data/<world> --split test_compositional \\
        --eval runs/final-eval/test_compositional

``--eval`` is a ``gifqa eval --tasks tgif-qa`` output folder (its ``tgif-qa_action`` and ``tgif-qa_count``
predictions), ``--reaction-eval`` one of ``--tasks reactiongif/reaction`` on the same split.  Prints Markdown on
stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gifqa.data.tgifqa import annotation_path, read_annotation_file
from gifqa.evaluation.scoring import read_predictions
from gifqa.shapes.dataset import REACTION_OF_ACTION, scene_for
from gifqa.shapes.world import ACTIONS


def count_summary(truth: np.ndarray, answers: np.ndarray) -> dict:
    """True counts and answers (same length) -> correlation, MSE, share exact, mean answer per true count."""
    corr = float(np.corrcoef(truth, answers)[0, 1]) if truth.std() > 0 and answers.std() > 0 else float("nan")
    return {"n": int(truth.size), "corr": corr, "mse": float(((truth - answers) ** 2).mean()),
            "exact": float((truth == answers).mean()),
            "mean_answer": {int(k): float(answers[truth == k].mean()) for k in np.unique(truth)}}


def asked_action(question: str) -> str:
    """The action a count question asks about: "How many times does the red circle bounce ?" -> "bounce"."""
    for action, (verb, _) in ACTIONS.items():
        if question.rstrip(" ?").endswith(" " + verb):
            return action
    raise ValueError(f"no action of the world ends {question!r}")


def action_outcomes(records, predictions: dict, seed: int, size_px: int) -> dict[str, int]:
    """Action records and predicted option indices -> counts of right / the main shape's other action / neither."""
    out = {"right": 0, "other action": 0, "neither": 0, "missing": 0}
    for r in records:
        if r.vid_id not in predictions:
            out["missing"] += 1
            continue
        first, second = (s.action for s in scene_for(r.gif_name, seed=seed, size_px=size_px).actors[0].segments)
        answer, picked = r.options[r.answer_index], r.options[int(predictions[r.vid_id])]
        other = second if answer == first else first
        out["right" if picked == answer else "other action" if picked == other else "neither"] += 1
    return out


def reaction_outcomes(predictions: dict, seed: int, size_px: int) -> dict[int, dict[str, int]]:
    """{gif_name: predicted label} -> per number of shapes on screen, counts of right / the main shape's second
    action's label / another shape's / none of them."""
    out: dict[int, dict[str, int]] = {}
    for name, label in predictions.items():
        scene = scene_for(name, seed=seed, size_px=size_px)
        main_segments = scene.actors[0].segments
        others = {REACTION_OF_ACTION[s.action] for a in scene.actors[1:] for s in a.segments}
        row = out.setdefault(len(scene.actors), {"right": 0, "main shape's second": 0, "another shape's": 0, "none": 0})
        if label == REACTION_OF_ACTION[main_segments[0].action]:
            row["right"] += 1
        elif len(main_segments) > 1 and label == REACTION_OF_ACTION[main_segments[1].action]:
            row["main shape's second"] += 1
        else:
            row["another shape's" if label in others else "none"] += 1
    return dict(sorted(out.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", required=True, type=Path, help="a generated gifqa-shapes world (holds manifest.json)")
    ap.add_argument("--split", default="val", help="the annotation folder under --world: val, test, test_compositional, ...")
    ap.add_argument("--eval", required=True, type=Path, help="a gifqa eval output folder with tgif-qa_action/ and tgif-qa_count/")
    ap.add_argument("--reaction-eval", type=Path, help="a gifqa eval output folder with reactiongif_reaction/ (same split)")
    args = ap.parse_args(argv)
    manifest = json.loads((args.world / "manifest.json").read_text())
    folder = args.world / args.split
    counts = read_annotation_file(annotation_path(folder, "count", "Test"), "count")
    answered, _ = read_predictions(args.eval / "tgif-qa_count" / "predictions.jsonl")
    rows = [(asked_action(r.question), float(r.answer), float(answered[r.vid_id])) for r in counts if r.vid_id in answered]
    if not rows:
        raise SystemExit(f"{args.eval}: no count prediction matches {folder}")
    print(f"{args.split} ({args.eval})\n")
    print("| count questions | n | correlation | MSE | exact | mean answer for true 1 / 2 / 3 / 4 / 5 |\n"
          "|---|---:|---:|---:|---:|---|")
    for name in ["all", *ACTIONS]:
        picked = [(t, a) for act, t, a in rows if name in ("all", act)]
        if not picked:
            continue
        s = count_summary(*map(np.array, zip(*picked)))
        means = " / ".join(f"{s['mean_answer'][k]:.2f}" if k in s["mean_answer"] else "-" for k in range(1, 6))
        print(f"| {name} | {s['n']} | {s['corr']:.2f} | {s['mse']:.3f} | {s['exact']:.3f} | {means} |")
    print()
    actions = read_annotation_file(annotation_path(folder, "action", "Test"), "action")
    o = action_outcomes(actions, read_predictions(args.eval / "tgif-qa_action" / "predictions.jsonl")[0],
                        manifest["seed"], manifest["size_px"])
    print("| action questions | right | the shape's other action | neither | missing |\n|---:|---:|---:|---:|---:|")
    print(f"| {len(actions)} | {o['right']} | {o['other action']} | {o['neither']} | {o['missing']} |")
    if args.reaction_eval:
        labels, _ = read_predictions(args.reaction_eval / "reactiongif_reaction" / "predictions.jsonl")
        print("\n| shapes on screen | reactions | right | main shape's second action | another shape's | none |\n"
              "|---:|---:|---:|---:|---:|---:|")
        for n, row in reaction_outcomes(labels, manifest["seed"], manifest["size_px"]).items():
            print(f"| {n} | {sum(row.values())} | " + " | ".join(str(v) for v in row.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
