"""``gifqa make-shapes``: generate the gifqa-shapes world (GIFs + TGIF-QA-layout annotations)."""

from __future__ import annotations

import sys

NAME = "make-shapes"
HELP = "generate gifqa-shapes: GIFs of moving shapes with TGIF-QA-style questions and answers"
EPILOG = """examples:
  gifqa make-shapes data/shapes                       (2000 train / 200 val / 200 test / 200 compositional)
  gifqa make-shapes /tmp/tiny --n-train 20 --n-val 4 --n-test 4 --n-compositional 4 --seed 1
  gifqa make-shapes data/shapes-cv --n-val-compositional 200   (also a compositional validation split)

output: OUT/gifs/*.gif, OUT/{train,val,test,test_compositional[,val_compositional]}/*_question.csv (TGIF-QA layout),
OUT/descriptions.tsv, OUT/reactions.jsonl, OUT/manifest.json
"""


def add_arguments(parser) -> None:
    parser.add_argument("out", metavar="OUT", help="output directory (created; must be empty or absent)")
    parser.add_argument("--n-train", type=int, default=2000, help="training GIFs (default 2000)")
    parser.add_argument("--n-val", type=int, default=200, help="validation GIFs (default 200)")
    parser.add_argument("--n-test", type=int, default=200, help="test GIFs (default 200)")
    parser.add_argument("--n-compositional", type=int, default=200, help="compositional test GIFs (default 200)")
    parser.add_argument("--n-val-compositional", type=int, default=0,
                        help="compositional validation GIFs: other clips of the test's held-out triples, to pick "
                             "models on (default 0: no such split)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--size", type=int, default=64, help="frame side in pixels (default 64)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes rendering GIFs (default: this machine's CPUs, at most 8); the files are the "
                             "same for any number")


def run(args) -> int:
    from pathlib import Path

    from gifqa.errors import GifqaError
    from gifqa.shapes import generate_dataset

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise GifqaError(f"{out}: directory is not empty; choose a new OUT so nothing is overwritten")
    for name in ("n_train", "n_val", "n_test", "n_compositional", "n_val_compositional"):
        if getattr(args, name) < 0:
            raise GifqaError(f"--{name.replace('_', '-')} must be >= 0")
    if args.workers is not None and args.workers < 1:
        raise GifqaError("--workers must be >= 1")
    if args.size < 32:
        raise GifqaError("--size must be at least 32 pixels")

    def progress(split, i, n):
        if i == n or i % 100 == 0:
            print(f"{split}: {i}/{n}", file=sys.stderr)

    manifest = generate_dataset(
        out, n_train=args.n_train, n_val=args.n_val, n_test=args.n_test, n_compositional=args.n_compositional,
        n_val_compositional=args.n_val_compositional, seed=args.seed, size_px=args.size, progress=progress,
        workers=args.workers,
    )
    total = sum(manifest["splits"].values())
    print(f"wrote {total} GIFs and their annotations to {out}")
    return 0
