"""``gifqa score``: official metrics for a predictions file (TGIF-QA, TGIF captioning, ReactionGIF)."""

from __future__ import annotations

import json

NAME = "score"
HELP = "score a predictions file against official TGIF-QA test files, caption references or reaction labels"
EPILOG = """examples:
  gifqa score --task action --predictions run/action.jsonl --annotations ../shared/data/tgif-qa
  gifqa score --task count --predictions preds.jsonl --annotations tgif-qa --json
  gifqa score --task caption --predictions captions.jsonl --references tgif-v1.0.tsv --caption-ids splits/test.txt
  gifqa score --task caption --predictions results-lstm-cnn-finetune-cvpr16.tsv --references tgif-v1.0.tsv \\
      --caption-ids splits/test.txt
  gifqa score --task reaction --predictions reactions.jsonl --reactions data/shapes/reactions.jsonl

predictions: one JSON object per line, {"vid_id": "ACTION12", "prediction": 3}
  action, transition: option index 0-4; frameqa: the answer string; count: a number;
  caption: the caption (vid_id = GIF id), or a url-or-id<TAB>caption .tsv file;
  reaction: one of the 43 ReactionGIF labels (optional "sentiment", "emotions" fields)
metrics: accuracy (action, transition, frameqa, with accuracy_by_type for frameqa);
  count: mse (prediction rounded and clamped to [1, 10]) and mse_unclamped;
  caption: bleu_1..bleu_4, meteor, rouge_l, cider (coco-caption; needs java);
  reaction: accuracy, macro_f1, sentiment_accuracy, emotion_micro_f1
"""

QA_TASKS = ["action", "transition", "frameqa", "count"]


def add_arguments(parser) -> None:
    parser.add_argument("--task", required=True, choices=[*QA_TASKS, "caption", "reaction"])
    parser.add_argument("--predictions", required=True, metavar="PRED.jsonl")
    parser.add_argument("--annotations", metavar="DIR", help="TGIF-QA tasks: folder with Test_<task>_question.csv")
    parser.add_argument("--references", metavar="TSV", help="caption: url-or-id<TAB>sentence references (tgif-v1.0.tsv)")
    parser.add_argument("--caption-ids", metavar="LIST", help="caption: GIFs to score, one URL or id a line (default: all referenced)")
    parser.add_argument("--reactions", metavar="JSONL", help="reaction: reactions file with the gold labels")
    parser.add_argument("--split", default="test", help="reaction: split of --reactions to score (default test)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _score_other(args) -> dict:
    from pathlib import Path

    from gifqa.errors import GifqaError
    from gifqa.evaluation.harness import score_task
    from gifqa.evaluation.tasks import load_tasks

    if args.task == "caption":
        from gifqa.evaluation.captions import load_caption_items, read_caption_predictions

        if not args.references:
            raise GifqaError("--task caption needs --references (e.g. tgif-v1.0.tsv, or shapes descriptions.tsv)")
        records = load_caption_items(args.references, args.caption_ids)
        preds, dups = read_caption_predictions(args.predictions)
        rows = [{"vid_id": k, "prediction": v} for k, v in preds.items()]
        spec = load_tasks()["tgif/caption"]
        gold_files = [f for f in (args.references, args.caption_ids) if f]
    else:
        from gifqa.evaluation.reactions import load_reaction_items
        from gifqa.evaluation.scoring import read_prediction_rows

        if not args.reactions:
            raise GifqaError("--task reaction needs --reactions (the file with the gold labels)")
        records = load_reaction_items(args.reactions, args.split)
        rows, dups = read_prediction_rows(args.predictions)
        spec = load_tasks()["reactiongif/reaction"]
        gold_files = [args.reactions]
    result = score_task(spec, rows, records)
    known = {r.vid_id for r in records}
    by_id = {row["vid_id"] for row in rows}
    result.update({
        "n_duplicate": len(dups),
        "duplicates": sorted(set(dups))[:20],
        "unknown": sorted(v for v in by_id if v not in known)[:20],
        "missing": [r.vid_id for r in records if r.vid_id not in by_id][:20],
        "files": {"predictions": _file(args.predictions), "gold": [_file(Path(f)) for f in gold_files]},
    })
    return result


def _file(path) -> dict:
    import hashlib
    from pathlib import Path

    return {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def run(args) -> int:
    import sys

    from gifqa.errors import GifqaError
    from gifqa.evaluation.scoring import score_file

    if args.task in QA_TASKS:
        if not args.annotations:
            raise GifqaError(f"--task {args.task} needs --annotations (the folder with Test_{args.task}_question.csv)")
        result = score_file(args.task, args.predictions, args.annotations)
    else:
        result = _score_other(args)
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
    if args.task in ("action", "transition", "frameqa"):
        lines.append(f"accuracy  {result['accuracy']:.4f}")
    for t, acc in result.get("accuracy_by_type", {}).items():
        lines.append(f"  {t:<8}{acc:.4f}")
    if "mse" in result:
        lines.append(f"mse       {result['mse']:.4f}  (clamped to [1, 10]; floor {result['mse_floor']:.4f})")
        lines.append(f"mse_unclamped {result['mse_unclamped']:.4f}")
    if args.task == "caption":
        for k in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider"):
            lines.append(f"{k:<9} {result[k]:.4f}")
    if args.task == "reaction":
        for k in ("accuracy", "macro_f1", "sentiment_accuracy", "emotion_micro_f1"):
            lines.append(f"{k:<18} {result[k]:.4f}")
    print("\n".join(lines))
    return 0
