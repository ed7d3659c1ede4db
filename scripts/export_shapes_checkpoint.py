"""Export a gifqa-shapes training run's checkpoint as the shipped, self-contained checkpoint.

    python scripts/export_shapes_checkpoint.py --run runs/shapes --clip runs/shapes-clip --out checkpoints/gifqa-shapes

Loads ``RUN/checkpoints/<which>`` (strictly) and saves it to ``--out`` self-contained: the frozen
vision tower (loaded from the run's local CLIP folder, or a random init) is stored in the
checkpoint (``vision.save_weights``; ``vision.hub_id`` cleared, since a path on the training
machine names nothing elsewhere), and with ``--clip`` the whole small CLIP is copied to
``OUT/clip`` and named by ``keyframes.clip_model: clip`` (relative to the checkpoint), so CLIP-Cut
works offline; ``--keyframes clipcut`` makes it the default sampling.  The weights are unchanged:
the exported model gives the same outputs as the run's checkpoint (checked here on one clip).
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
    p.add_argument("--clip", help="the CLIPModel folder the tower came from (scripts/train_clip.py output), copied to OUT/clip")
    p.add_argument("--keyframes", choices=("uniform", "clipcut"), help="default keyframe strategy of the export (default: the run's)")
    p.add_argument("--description", help="the model's one-paragraph description (config.json, model card; default: the run's)")
    args = p.parse_args(argv)

    src = Path(args.run) / "checkpoints" / args.which
    model = GifQAModel.from_pretrained(str(src)).eval()
    if not model.config.vision.train:
        model.config.vision.save_weights = True
        model.config.vision.hub_id = model.config.vision.revision = None
    if args.keyframes == "clipcut" and not args.clip:
        p.error("--keyframes clipcut needs --clip (the CLIP that scores frames)")
    if args.clip:
        model.config.keyframes.clip_model, model.config.keyframes.clip_revision = "clip", None
    if args.keyframes:
        model.config.keyframes.strategy = args.keyframes
    if args.description:
        model.config.description = args.description
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out)
    if args.clip:
        shutil.copytree(args.clip, out / "clip")
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
