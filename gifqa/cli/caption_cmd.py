"""``gifqa caption``: describe a GIF or short video in one sentence."""

from __future__ import annotations

import json

from gifqa.cli.model_args import add_model_arguments, load_answerer, model_errors, open_source

NAME = "caption"
HELP = "describe a GIF or short video in one sentence"
EPILOG = """examples:
  gifqa caption examples/shapes_bounce.gif --model checkpoints/gifqa-shapes
  gifqa caption clip.mp4 --json
"""


def add_arguments(parser) -> None:
    parser.add_argument("gif", metavar="GIF", help="path, - for stdin, or an http(s) URL")
    parser.add_argument("--max-new-tokens", type=int, default=30, help="caption length budget (tokens, default 30)")
    add_model_arguments(parser, clipcut=False)
    parser.set_defaults(default_sampling="uniform")  # no question, so no CLIP-Cut


def run(args) -> int:
    source, name = open_source(args.gif, args)
    with model_errors():
        result = load_answerer(args).caption(source, max_new_tokens=args.max_new_tokens, name=name)
    print(json.dumps(result.to_dict()) if args.json else result.answer)
    return 0
