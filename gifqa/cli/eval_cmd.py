"""``gifqa eval``: run a model or a baseline on TGIF-QA-layout tasks and write results files."""

from __future__ import annotations

import sys

from gifqa.cli.media_args import add_media_arguments, limits_from_args

NAME = "eval"
HELP = "evaluate a model (or a baseline) on TGIF-QA, captioning and reaction tasks; writes predictions and results"
EPILOG = """examples:
  gifqa eval --model checkpoints/gifqa-shapes --tasks tgif-qa --annotations data/shapes/test_compositional \\
      --gif-dir data/shapes/gifs --out runs/eval-shapes
  gifqa eval --model tiny --tasks tgif-qa/action,tgif-qa/count --annotations DIR --gif-dir GIFS --out RUN --limit 20
  gifqa eval --model baseline:prior --tasks tgif-qa --annotations ../shared/data/tgif-qa --out runs/prior
  gifqa eval --model baseline:clip --clip-model DIR --tasks tgif-qa --annotations DIR --gif-dir GIFS --out RUN
  gifqa eval --model M --tasks tgif/caption --references data/shapes/descriptions.tsv --caption-ids test_ids.txt \
      --gif-dir data/shapes/gifs --out RUN
  gifqa eval --model M --tasks reactiongif --reactions data/shapes/reactions.jsonl --gif-dir data/shapes/gifs --out RUN
  accelerate launch --num_processes 2 -m gifqa eval ...      (GIFs are split across processes)

writes RUN/results.json (metrics, coverage, config, versions, model fingerprint), RUN/results.md,
and RUN/<task>/predictions.jsonl; see eval/README.md for the protocol
"""


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint dir, preset, hub id, or baseline:random / baseline:prior / baseline:clip")
    parser.add_argument("--tasks", default="tgif-qa", help="comma-separated task names, or a dataset name for all its tasks")
    parser.add_argument("--annotations", metavar="DIR", help="folder with the TGIF-QA-layout *_question.csv files (tgif-qa tasks)")
    parser.add_argument("--references", metavar="TSV", help="tgif/caption: url-or-id<TAB>sentence references (tgif-v1.0.tsv, shapes descriptions.tsv)")
    parser.add_argument("--caption-ids", metavar="LIST", help="tgif/caption: GIFs to caption, one URL or id a line (TGIF splits/test.txt); default all in --references")
    parser.add_argument("--reactions", metavar="JSONL", help="reactiongif/reaction: shapes reactions.jsonl or ReactionGIF records with media")
    parser.add_argument("--reactions-split", metavar="NAME", help="split of --reactions to evaluate (default: --split; "
                        "gifqa-shapes also has test_compositional)")
    parser.add_argument("--answer-vocab", metavar="TSV", help="FrameQA answers (index<TAB>answer, e.g. frameqa_answer_vocab.tsv) for baseline:random when no FrameQA train file exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--gif-dir", metavar="DIR", help="folder with <gif_name>.gif/.mp4 files (baselines do not need it)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="results folder (must not hold results.json yet)")
    parser.add_argument("--split", default="test", choices=["test", "val", "train"], help="annotation split (default test)")
    parser.add_argument("--limit", type=int, help="first N records of each task only")
    parser.add_argument("--frames", type=int, help="frames per clip (default: the model config's keyframes.frames, else max_frames)")
    parser.add_argument("--sampling", choices=["clipcut", "uniform", "all"],
                        help="keyframe sampling (default: the model config's keyframes.strategy)")
    parser.add_argument("--clip-model", metavar="HUB_ID_OR_DIR", help="the CLIP (hub id or local dir) for --sampling clipcut "
                        "(default: the model config's) and for baseline:clip (required there)")
    from gifqa.model.prompts import COUNT_DECODES  # no torch: --help stays instant

    parser.add_argument("--count-decode", choices=COUNT_DECODES, default=COUNT_DECODES[0],
                        help="tgif-qa/count: the mean of the model's distribution over 0..10, rounded (default: "
                             "the least expected squared error), or its most likely answer")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per generation batch (default 8)")
    parser.add_argument("--train-annotations", metavar="DIR", help="train files for the baselines' priors and vocabularies (default: --annotations)")
    parser.add_argument("--seed", type=int, default=0, help="seed for baseline:random (default 0)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available, else cpu)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing results.json")
    add_media_arguments(parser)


def _training_data(args, tasks, kind):
    """What the baselines learn from: TGIF-QA train files, captions of the GIFs not evaluated,
    reaction labels of the train split."""
    from gifqa.data.tgifqa import load_tgifqa
    from gifqa.errors import DataError, GifqaError

    train: dict[str, list] = {}
    train_dir = args.train_annotations or args.annotations
    for spec in tasks:
        if spec.dataset == "tgif-qa":
            try:
                train[spec.task] = load_tgifqa(spec.task, "train_full", train_dir) if train_dir else []
            except DataError as exc:
                if kind == "prior":
                    raise GifqaError(f"baseline:prior needs the training file: {exc}") from None
            if kind == "prior" and not train.get(spec.task):
                raise GifqaError(f"baseline:prior needs the training file for {spec.name} (--train-annotations)")
        elif spec.dataset == "tgif":
            from gifqa.evaluation.captions import load_caption_items

            if args.references:
                scored = {c.vid_id for c in load_caption_items(args.references, args.caption_ids)}
                train["caption"] = [s for c in load_caption_items(args.references) if c.vid_id not in scored
                                    for s in c.references]
            if not train.get("caption"):
                raise GifqaError(f"baseline:{kind} for {spec.name} draws from the captions of GIFs that are not "
                                 "evaluated: pass --caption-ids so that --references holds other GIFs too")
        elif spec.dataset == "reactiongif":
            from gifqa.evaluation.reactions import load_reaction_items

            train["reaction"] = [r.label for r in load_reaction_items(args.reactions, "train")] if args.reactions else []
            if kind == "prior" and not train["reaction"]:
                raise GifqaError(f"baseline:prior for {spec.name} needs train-split records in --reactions")
    return train, str(train_dir)


def _read_answer_vocab(path) -> list[str]:
    """``index<TAB>answer`` lines (a header line ``index<TAB>answer`` is skipped)."""
    from pathlib import Path

    from gifqa.errors import DataError

    answers = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.rstrip("\r").split("\t")
        if n == 1 and parts[:2] == ["index", "answer"] or not line.strip():
            continue
        if len(parts) != 2 or not parts[1].strip():
            raise DataError(path, "expected index<TAB>answer", n)
        answers.append(parts[1].strip())
    if not answers:
        raise DataError(path, "no answers in the vocabulary file")
    return answers


def _predictor(args, tasks):
    from gifqa.errors import GifqaError
    from gifqa.evaluation.predictors import ClipZeroShot, ModelPredictor, PriorBaseline, RandomBaseline

    if args.model.startswith("baseline:"):
        kind = args.model.split(":", 1)[1]
        if kind not in ("random", "prior", "clip"):
            raise GifqaError(f"unknown baseline {kind!r}; choose baseline:random, baseline:prior or baseline:clip")
        train, train_dir = _training_data(args, tasks, kind)
        if kind == "random":
            answers = [r.answer for r in train.get("frameqa", [])]
            if args.answer_vocab:
                answers = _read_answer_vocab(args.answer_vocab)
            if not answers and any(t.name == "tgif-qa/frameqa" for t in tasks):
                raise GifqaError("baseline:random for tgif-qa/frameqa draws from an answer vocabulary: pass --answer-vocab "
                                 "(e.g. frameqa_answer_vocab.tsv) or --train-annotations with Train_frameqa_question.csv")
            info = {"model": args.model, "seed": args.seed, "answer_vocab": args.answer_vocab,
                    "n_answers": len(set(answers))}
            return RandomBaseline(args.seed, answers, train.get("caption")), info
        if kind == "prior":
            return PriorBaseline(train), {"model": args.model, "train_annotations": train_dir}
        return _clip_baseline(args, tasks, train, ClipZeroShot)
    import torch

    from gifqa.inference import ClipLoader, model_fingerprint, resolve_model

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = resolve_model(args.model, device=device)
    clips = ClipLoader(model, frames=args.frames, sampling=args.sampling, clip_model=args.clip_model,
                       limits=limits_from_args(args))
    info = {"model": args.model, "model_sha256": model_fingerprint(args.model), "frames": clips.frames,
            "sampling": clips.sampling, "clip_model": clips.selector.clip_model, "device": device,
            "count_decode": args.count_decode, "model_config": model.config.to_dict()}
    return ModelPredictor(model, clips, count_decode=args.count_decode), info


def _clip_baseline(args, tasks, train, cls):
    from gifqa.errors import GifqaError
    from gifqa.inference import model_fingerprint
    from gifqa.retrieval.encoders import CLIPEncoder
    from gifqa.retrieval.sampling import default_cache

    if not args.clip_model:
        raise GifqaError("baseline:clip needs --clip-model (a CLIP hub id such as openai/clip-vit-base-patch32, or a directory)")
    encoder = CLIPEncoder.from_pretrained(args.clip_model, device=args.device)
    frames = args.frames or 8
    vocabulary: dict[str, list[str]] = {}
    for r in train.get("frameqa", []):
        vocabulary.setdefault(r.answer_type, []).append(r.answer)
    if not vocabulary and args.answer_vocab:  # no types known: every answer is a candidate for every type
        vocabulary = {"any": _read_answer_vocab(args.answer_vocab)}
    if not vocabulary and any(t.name == "tgif-qa/frameqa" for t in tasks):
        raise GifqaError("baseline:clip for tgif-qa/frameqa ranks an answer vocabulary: pass --train-annotations "
                         "with Train_frameqa_question.csv, or --answer-vocab")
    predictor = cls(encoder, frames=frames, limits=limits_from_args(args), vocabulary=vocabulary,
                    captions=train.get("caption"), cache=default_cache())  # frame embeddings: $GIFQA_CACHE
    info = {"model": args.model, "clip_model": args.clip_model, "clip_sha256": model_fingerprint(args.clip_model),
            "frames": frames, "sampling": "uniform", "device": str(encoder.device),
            "train_annotations": str(args.train_annotations or args.annotations)}
    return predictor, info


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
              "gif_dir": args.gif_dir, "split": args.split, "limit": args.limit, "command": sys.argv,
              "references": args.references, "caption_ids": args.caption_ids, "reactions": args.reactions,
              "reactions_split": args.reactions_split or (args.split if args.reactions else None)}
    results = evaluate(
        predictor, tasks, annotations_dir=args.annotations, gif_dir=args.gif_dir, out_dir=out,
        split=args.split, limit=args.limit, batch_size=args.batch_size, config=config,
        references=args.references, caption_ids=args.caption_ids, reactions=args.reactions,
        reactions_split=args.reactions_split,
        progress=not args.quiet,
    )
    if results["tasks"]:
        print((out / "results.md").read_text(), end="")
        print(f"results: {out / 'results.json'}", file=sys.stderr)
    return 0
