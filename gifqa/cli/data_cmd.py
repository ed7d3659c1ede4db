"""``gifqa data check``: per-dataset counts, missing files and media, malformed rows."""

from __future__ import annotations

import argparse
import json
import os
import sys

NAME = "data"
HELP = "check dataset folders: row counts, missing files, missing media, malformed rows"
EPILOG = """examples:
  gifqa data check --root ../shared/data
  gifqa data check --tgif-qa ../shared/data/tgif-qa --gif-dir ~/tgif/gifs
  gifqa data check --reactiongif data/reactiongif --hydrated ReactionGIF.json --json
exit status: 0 when every file present parses, 1 when one is malformed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = sub.add_parser("check", help="read every dataset file and report", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--root", help="folder holding tgif-qa/, tgif/ and reactiongif/ (e.g. ../shared/data)")
    p.add_argument("--tgif-qa", dest="tgif_qa", help="TGIF-QA annotation folder (overrides ROOT/tgif-qa)")
    p.add_argument("--tgif", dest="tgif_dir", help="TGIF folder with tgif-v1.0.tsv and splits/ (overrides ROOT/tgif)")
    p.add_argument("--reactiongif", dest="reactiongif_dir", help="ReactionGIF folder (overrides ROOT/reactiongif)")
    p.add_argument("--hydrated", help="hydrated ReactionGIF JSON Lines file (tweet text, optional gif_path)")
    p.add_argument("--gif-dir", dest="gif_dir", help="folder of <gif_id>.gif/.mp4 files: count the records without media")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the text report")


def run(args: argparse.Namespace) -> int:
    from gifqa.data.check import check_datasets, format_report
    from gifqa.errors import ConfigError

    def pick(explicit, sub):
        if explicit:
            return explicit
        if args.root and os.path.isdir(os.path.join(args.root, sub)):
            return os.path.join(args.root, sub)
        return None

    roots = {
        "tgif_qa": pick(args.tgif_qa, "tgif-qa"),
        "tgif_dir": pick(args.tgif_dir, "tgif"),
        "reactiongif_dir": pick(args.reactiongif_dir, "reactiongif"),
    }
    if not any(roots.values()):
        raise ConfigError("no dataset folder given or found; pass --root DIR or --tgif-qa/--tgif/--reactiongif")
    checks = check_datasets(**roots, reactiongif_hydrated=args.hydrated, gif_dir=args.gif_dir)
    if args.json:
        json.dump([c.to_dict() for c in checks], sys.stdout, indent=1)
        print()
    else:
        print(format_report(checks))
    return 1 if any(c.problems for c in checks) else 0
