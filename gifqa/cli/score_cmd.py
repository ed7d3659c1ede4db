"""``gifqa score``: official TGIF-QA metrics for a predictions file."""

from __future__ import annotations

import json

NAME = "score"
HELP = "score a predictions file against an official TGIF-QA test file"
EPILOG = """examples:
  gifqa score --task action --predictions run/action.jsonl --annotations ../shared/data/tgif-qa
  gifqa score --task count --predictions preds.jsonl --annotations tgif-qa --json

predictions: one JSON object per line, {"vid_id": "ACTION12", "prediction": 3}
  action, transition: option index 0-4; frameqa: the answer string; count: a number
metrics: accuracy (action, transition, frameqa, with accuracy_by_type for frameqa);
  count: mse (prediction rounded and clamped to [1, 10]) and mse_unclamped
"""


def add_arguments(parser) -> None:
    parser.add_argument("--task", required=True, choices=["action", "transition", "frameqa", "count"])
    parser.add_argument("--predictions", required=True, metavar="PRED.jsonl")
    parser.add_argument("--annotations", required=True, metavar="DIR", help="folder with Test_<task>_question.csv")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    import sys

    from gifqa.evaluation.scoring import score_file

    result = score_file(args.task, args.predictions, args.annotations)
    if result["n_duplicate"] or result["n_unknown"]:
        print(
            f"gifqa: warning: {result['n_duplicate']} repeated and {result['n_unknown']} unknown vid_id(s) "
            "in the predictions (first prediction kept; unknown ones ignored)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result))
        return 0
    lines = [f"task      {result['task']}", f"rows      {result['n']} ({result['n_missing']} without a prediction)"]
    if "accuracy" in result:
        lines.append(f"accuracy  {result['accuracy']:.4f}")
    for t, acc in result.get("accuracy_by_type", {}).items():
        lines.append(f"  {t:<8}{acc:.4f}")
    if "mse" in result:
        lines.append(f"mse       {result['mse']:.4f}  (clamped to [1, 10]; floor {result['mse_floor']:.4f})")
        lines.append(f"mse_unclamped {result['mse_unclamped']:.4f}")
    print("\n".join(lines))
    return 0
