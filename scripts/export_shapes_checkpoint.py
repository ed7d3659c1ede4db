"""Export a gifqa-shapes training run's checkpoint as the shipped, self-contained checkpoint.

    python scripts/export_shapes_checkpoint.py --run runs/shapes --out checkpoints/gifqa-shapes

Loads ``RUN/checkpoints/<which>`` (strictly), turns on ``vision.save_weights`` so the frozen,
randomly initialised vision tower is stored too (the checkpoint then loads without rebuilding
that random init, i.e. on any torch / transformers version), and saves it to ``--out``.  The
weights are unchanged: the exported model gives the same outputs as the run's checkpoint
(checked here on one generated clip).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import torch

    from gifqa.model import GifQAModel

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="training run directory")
    p.add_argument("--which", default="last", help="checkpoint name under RUN/checkpoints (last or best)")
    p.add_argument("--out", required=True, help="export directory (replaced)")
    args = p.parse_args(argv)

    src = Path(args.run) / "checkpoints" / args.which
    model = GifQAModel.from_pretrained(str(src)).eval()
    if model.config.vision.hub_id is None and not model.config.vision.train:
        model.config.vision.save_weights = True
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out)
    back = GifQAModel.from_pretrained(str(out)).eval()
    pv = torch.randn(1, model.config.projector.max_frames, 3, model.config.vision.image_size,
                     model.config.vision.image_size, generator=torch.Generator().manual_seed(0))
    text = model.build_text_inputs(["Question: what color is the circle ? Answer:"])
    with torch.no_grad():
        torch.testing.assert_close(back(pv, **text).logits, model(pv, **text).logits)
    print(f"exported {src} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
