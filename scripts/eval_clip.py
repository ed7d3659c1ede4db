"""Evaluate a small CLIP (scripts/train_clip.py output) on a gifqa-shapes split: caption <-> clip
retrieval recall and accuracy against hard-negative captions (gifqa/shapes/negatives.py), as JSON.

    python scripts/eval_clip.py --clip runs/shapes-clip \\
        --world runs/shapes-world/data/shapes-n_compositional200-n_test200-n_train20000-n_val200-seed0-size_px64

The same numbers as the ``val`` / ``val_hard_negatives`` of the folder's training.json, for any
CLIP folder and split (e.g. a CLIP trained before hard negatives existed).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv=None) -> int:
    from gifqa.cli.main import run_script
    from gifqa.training.contrastive import evaluate_clip

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", required=True, help="CLIPModel folder written by scripts/train_clip.py")
    p.add_argument("--world", required=True, help="a gifqa-shapes world (the folder with manifest.json)")
    p.add_argument("--split", default="val", help="val, test, test_compositional or train (default val)")
    p.add_argument("--frames", type=int, default=8, help="frames per clip (default 8, as in training)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    args = p.parse_args(argv)
    return run_script(lambda: print(json.dumps(evaluate_clip(args.clip, args.world, args.split, args.frames), indent=1)),
                      debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
