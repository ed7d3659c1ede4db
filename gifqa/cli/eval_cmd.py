"""``gifqa eval``: run a model or a baseline on TGIF-QA-layout tasks and write results files."""

from __future__ import annotations

import sys

from gifqa.cli.media_args import add_media_arguments, limits_from_args

NAME = "eval"
HELP = "evaluate a model (or a baseline) on TGIF-QA tasks; writes predictions and results files"
EPILOG = """examples:
  gifqa eval --model checkpoints/gifqa-shapes --tasks tgif-qa --annotations data/shapes/test_compositional \\
      --gif-dir data/shapes/gifs --out runs/eval-shapes
  gifqa eval --model tiny --tasks tgif-qa/action,tgif-qa/count --annotations DIR --gif-dir GIFS --out RUN --limit 20
  gifqa eval --model baseline:prior --tasks tgif-qa --annotations ../shared/data/tgif-qa --out runs/prior
  accelerate launch --num_processes 2 -m gifqa eval ...      (records are split across processes)

writes RUN/results.json (metrics, coverage, config, versions, model fingerprint), RUN/results.md,
and RUN/<task>/predictions.jsonl; see eval/README.md for the protocol
"""


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint dir, preset, hub id, or baseline:random / baseline:prior")
    parser.add_argument("--tasks", default="tgif-qa", help="comma-separated task names, or a dataset name for all its tasks")
    parser.add_argument("--annotations", required=True, metavar="DIR", help="folder with the TGIF-QA-layout *_question.csv files")
    parser.add_argument("--gif-dir", metavar="DIR", help="folder with <gif_name>.gif/.mp4 files (baselines do not need it)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="results folder (must not hold results.json yet)")
    parser.add_argument("--split", default="test", choices=["test", "val", "train"], help="annotation split (default test)")
    parser.add_argument("--limit", type=int, help="first N records of each task only")
    parser.add_argument("--frames", type=int, help="frames per clip (default: the model config's keyframes.frames, else max_frames)")
    parser.add_argument("--sampling", choices=["clipcut", "uniform", "all"],
                        help="keyframe sampling (default: the model config's keyframes.strategy)")
    parser.add_argument("--clip-model", metavar="HUB_ID_OR_DIR", help="the CLIP for --sampling clipcut (default: the model config's)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per generation batch (default 8)")
    parser.add_argument("--train-annotations", metavar="DIR", help="train files for baseline:prior (default: --annotations)")
    parser.add_argument("--seed", type=int, default=0, help="seed for baseline:random (default 0)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available, else cpu)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing results.json")
    add_media_arguments(parser)


def _predictor(args, tasks):
    from gifqa.data.tgifqa import load_tgifqa
    from gifqa.errors import DataError, GifqaError
    from gifqa.evaluation.predictors import ModelPredictor, PriorBaseline, RandomBaseline

    if args.model.startswith("baseline:"):
        kind = args.model.split(":", 1)[1]
        train_dir = args.train_annotations or args.annotations
        train = {}
        for spec in tasks:
            try:
                train[spec.task] = load_tgifqa(spec.task, "train_full", train_dir)
            except DataError as exc:
                if kind == "prior":
                    raise GifqaError(f"baseline:prior needs the training file: {exc}") from None
        if kind == "random":
            answers = [r.answer for r in train.get("frameqa", [])]
            return RandomBaseline(args.seed, answers), {"model": args.model, "seed": args.seed}
        if kind == "prior":
            return PriorBaseline(train), {"model": args.model, "train_annotations": str(train_dir)}
        raise GifqaError(f"unknown baseline {kind!r}; choose baseline:random or baseline:prior")
    import torch

    from gifqa.inference import ClipLoader, model_fingerprint, resolve_model

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = resolve_model(args.model, device=device)
    clips = ClipLoader(model, frames=args.frames, sampling=args.sampling, clip_model=args.clip_model,
                       limits=limits_from_args(args))
    info = {"model": args.model, "model_sha256": model_fingerprint(args.model), "frames": clips.frames,
            "sampling": clips.sampling, "clip_model": clips.selector.clip_model, "device": device,
            "model_config": model.config.to_dict()}
    return ModelPredictor(model, clips), info


def run(args) -> int:
    from pathlib import Path

    from gifqa.errors import GifqaError
    from gifqa.evaluation.harness import evaluate
    from gifqa.evaluation.tasks import get_tasks

    out = Path(args.out)
    if (out / "results.json").exists() and not args.force:
        raise GifqaError(f"{out}/results.json exists; choose a new --out or pass --force")
    tasks = get_tasks(args.tasks)
    predictor, info = _predictor(args, tasks)
    if getattr(predictor, "needs_media", False) and not args.gif_dir:
        raise GifqaError("--gif-dir is required to evaluate a model")
    config = {**info, "tasks": [t.name for t in tasks], "annotations": str(args.annotations),
              "gif_dir": args.gif_dir, "split": args.split, "limit": args.limit, "command": sys.argv}
    results = evaluate(
        predictor, tasks, annotations_dir=args.annotations, gif_dir=args.gif_dir, out_dir=out,
        split=args.split, limit=args.limit, batch_size=args.batch_size, config=config,
    )
    if results["tasks"]:
        print((out / "results.md").read_text(), end="")
        print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0
