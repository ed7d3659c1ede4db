"""Train the small CLIP of gifqa-shapes contrastively on the world's frames and captions.

    python scripts/train_clip.py --config scripts/configs/shapes-clip.yaml --output_dir runs/shapes-clip

Writes a transformers CLIPModel folder (config, safetensors, tokenizer, preprocessor_config.json,
training.json with caption <-> clip retrieval recall on the validation split).  The gifqa
recipe scripts/configs/shapes.yaml then uses its vision tower (frozen) and CLIP-Cut its two
towers.  The loop is gifqa.training.contrastive.train_contrastive.  Any recipe key can be
overridden: --optim.max_steps 100 --data.frames 4.
"""

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML recipe (scripts/configs/shapes-clip.yaml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args, rest = parser.parse_known_args(argv)
    from gifqa.cli.main import run_script
    from gifqa.shapes.vocab import build_clip_tokenizer
    from gifqa.training.contrastive import load_contrastive_recipe, train_contrastive

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    def body() -> None:
        cfg = load_contrastive_recipe(args.config, rest)
        metrics = train_contrastive(cfg, build_clip_tokenizer())
        print(f"clip: {cfg.output_dir} val {metrics['val']}", file=sys.stderr)

    return run_script(body, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
