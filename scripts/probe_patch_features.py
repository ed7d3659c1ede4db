"""Can a patch token of the vision tower tell which shape and which colour cover its patch?  (gifqa-shapes)

Binding a colour or an action to the shape a question names needs, somewhere, a token that holds both
what a shape is and where it is.  This script measures whether the tower's per-patch tokens hold the
first: it draws fresh scenes of the world (``gifqa.shapes.world.sample_scene``, seeded, no files),
labels each patch of each frame by the actor covering most of it (``gifqa.shapes.patches``; from
``--covered`` of the patch's pixels), and fits linear probes (softmax regression, full batch,
L-BFGS) from the tokens of each tower layer to the covering actor's shape and colour, on ``--n-train``
scenes, scored on ``--n-test`` others.  A probe on the patch's raw pixels is the reference for what
the patch alone shows.  A linear probe is the usual test of what a representation makes readable
(Alain & Bengio 2016, "Understanding intermediate layers using linear classifier probes").

    python scripts/probe_patch_features.py --clip checkpoints/gifqa-shapes/clip

Prints JSON on stdout: per layer (0 = the patch embeddings before the first attention layer), shape
and colour accuracy over the covered patches of the test scenes, and the majority-class rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def scenes_to_patches(n: int, seed: int, frames_per_scene: int, tower, vcfg, covered: float):
    """Tokens per layer [L+1][M, D], raw pixels [M, 3*p*p], shape and colour classes [M] of covered patches."""
    from gifqa.model.vision import preprocess_frames
    from gifqa.shapes.patches import patch_labels
    from gifqa.shapes.render import render_frames
    from gifqa.shapes.world import sample_scene

    grid = vcfg.image_size // int(vcfg.hf_config["patch_size"])
    p = vcfg.image_size // grid
    feats, pixels, shapes, colours = [], [], [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        scene = sample_scene(rng, size_px=vcfg.image_size)
        frames = render_frames(scene, rng)
        picks = np.linspace(0, len(frames) - 1, frames_per_scene).round().astype(int)
        x = preprocess_frames([np.asarray(frames[k].convert("RGB")) for k in picks], vcfg)  # [F, 3, S, S]
        with torch.no_grad():
            hs = tower(pixel_values=x, output_hidden_states=True).hidden_states  # L+1 x [F, 1+P, D]
        raw = x.reshape(len(picks), 3, grid, p, grid, p).permute(0, 2, 4, 1, 3, 5).reshape(len(picks), grid * grid, -1)
        shape, colour = patch_labels(scene, scene.frame_times_ms()[picks], grid, covered)  # [F, P], 0 = uncovered
        for f, patch in zip(*np.nonzero(shape)):
            feats.append([h[f, 1 + patch].numpy() for h in hs])
            pixels.append(raw[f, patch].numpy())
            shapes.append(shape[f, patch] - 1)
            colours.append(colour[f, patch] - 1)
    per_layer = [np.stack([row[layer] for row in feats]) for layer in range(len(feats[0]))]
    return per_layer, np.stack(pixels), np.array(shapes), np.array(colours)


def probe(x_train, y_train, x_test, y_test, classes: int) -> float:
    """Test accuracy of a softmax-regression probe (standardised inputs, small L2, L-BFGS)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xt = torch.tensor((x_train - mu) / sd, dtype=torch.float32)
    xs = torch.tensor((x_test - mu) / sd, dtype=torch.float32)
    yt = torch.tensor(y_train)
    lin = torch.nn.Linear(xt.shape[1], classes)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(xt), yt) + 1e-4 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((lin(xs).argmax(1).numpy() == y_test).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", required=True, help="a CLIP directory (step 1's output or a checkpoint's clip/)")
    ap.add_argument("--n-train", type=int, default=600, help="scenes to fit the probes on (default 600)")
    ap.add_argument("--n-test", type=int, default=200, help="other scenes to score them on (default 200)")
    ap.add_argument("--frames", type=int, default=4, help="frames per scene (default 4)")
    ap.add_argument("--covered", type=float, default=0.25, help="share of a patch's pixels an actor must cover (default 0.25)")
    ap.add_argument("--seed", type=int, default=1234, help="scene seed (default 1234: not the world's scenes)")
    args = ap.parse_args(argv)
    from transformers import CLIPVisionModel

    from gifqa.model.backbones import quiet_loading
    from gifqa.model.config import VisionConfig
    from gifqa.shapes.world import COLOURS, SHAPES

    torch.manual_seed(0)
    with quiet_loading():  # the CLIP folder also holds the text tower, not loaded here
        tower = CLIPVisionModel.from_pretrained(args.clip).eval()
    hf = tower.config
    pre = json.loads((Path(args.clip) / "preprocessor_config.json").read_text())
    vcfg = VisionConfig(kind="clip", image_mean=pre["image_mean"], image_std=pre["image_std"],
                        hf_config={"image_size": hf.image_size, "patch_size": hf.patch_size})
    tr = scenes_to_patches(args.n_train, args.seed, args.frames, tower, vcfg, args.covered)
    te = scenes_to_patches(args.n_test, args.seed + 1, args.frames, tower, vcfg, args.covered)
    out = {"clip": args.clip, "train_patches": int(len(tr[2])), "test_patches": int(len(te[2])),
           "majority": {"shape": round(float(np.bincount(te[2]).max() / len(te[2])), 3),
                        "colour": round(float(np.bincount(te[3]).max() / len(te[3])), 3)},
           "raw_pixels": {"shape": round(probe(tr[1], tr[2], te[1], te[2], len(SHAPES)), 3),
                          "colour": round(probe(tr[1], tr[3], te[1], te[3], len(COLOURS)), 3)}}
    for layer in range(len(tr[0])):
        out[f"layer{layer}"] = {"shape": round(probe(tr[0][layer], tr[2], te[0][layer], te[2], len(SHAPES)), 3),
                                "colour": round(probe(tr[0][layer], tr[3], te[0][layer], te[3], len(COLOURS)), 3)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
