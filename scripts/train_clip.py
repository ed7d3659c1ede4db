"""Train the small CLIP of gifqa-shapes contrastively on the world's frames and captions.

    python scripts/train_clip.py --config scripts/configs/shapes-clip.yaml --output_dir runs/shapes-clip

Writes a transformers CLIPModel folder (config, safetensors, tokenizer, preprocessor_config.json,
training.json with caption <-> clip retrieval recall on the validation split).  The gifqa
recipe scripts/configs/shapes.yaml then uses its vision tower (frozen) and CLIP-Cut its two
towers.  The loop is gifqa.training.contrastive.train_contrastive.  Any recipe key can be
overridden: --optim.max_steps 100 --data.frames 4.
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv=None) -> int:
    from gifqa.cli.main import recipe_script
    from gifqa.shapes.vocab import build_clip_tokenizer
    from gifqa.training.contrastive import load_contrastive_recipe, train_contrastive

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    def body(config, overrides) -> None:
        cfg = load_contrastive_recipe(config, overrides)
        metrics = train_contrastive(cfg, build_clip_tokenizer())
        print(f"clip: {cfg.output_dir} val {metrics['val']}", file=sys.stderr)

    return recipe_script(__doc__, argv, body, "YAML recipe (scripts/configs/shapes-clip.yaml)")

if __name__ == "__main__":
    sys.exit(main())
