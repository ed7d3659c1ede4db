"""``gifqa react``: which reaction a GIF expresses (ReactionGIF's 43 labels) and its sentiment."""

from __future__ import annotations

import json

from gifqa.cli.model_args import add_model_arguments, load_answerer, model_errors, open_source

NAME = "react"
HELP = "top reaction labels (ReactionGIF's 43) with scores, plus induced sentiment"
EPILOG = """examples:
  gifqa react examples/shapes_bounce.gif --model checkpoints/gifqa-shapes
  gifqa react clip.gif --top 3 --json
"""


def add_arguments(parser) -> None:
    parser.add_argument("gif", metavar="GIF", help="path, - for stdin, or an http(s) URL")
    parser.add_argument("--top", type=int, default=5, help="labels to show (default 5)")
    add_model_arguments(parser, clipcut=False)
    parser.set_defaults(default_sampling="uniform")  # no question, so no CLIP-Cut


def run(args) -> int:
    source, name = open_source(args.gif, args)
    with model_errors():
        result = load_answerer(args).react(source, top=args.top, name=name)
    if args.json:
        print(json.dumps(result))
        return 0
    for r in result["reactions"]:
        print(f"{r['label']:<14} {r['score']:.3f}")
    s = result["sentiment"]
    print(f"sentiment      positive {s['positive']:.3f} / negative {s['negative']:.3f}")
    return 0
