"""How well can a small temporal head count from per-frame inputs?  (gifqa-shapes, counting)

Counting bounds two of the shapes targets (Count, and Action: "what does the red circle do 3 times").
This script separates what the frames must carry from how the count is read out.  It draws fresh
scenes of the world (``gifqa.shapes.world.sample_scene``, seeded, no files), asks the count question of
one actor's segment, samples ``--frames`` frames uniformly in time and trains a small head on
``--n-train`` scenes, scored on ``--n-test`` others, from one of two inputs:

- ``--source pose``: the counted shape's true pose per frame (``gifqa.training.grounding.pose_vector``)
  and which action the question asks (one-hot): what a model that saw the pose exactly would have;
- ``--source model --model M``: the model's question-aware Q-Former queries per frame (frozen).

The head: a per-frame MLP on each frame's input and its change from the previous frame, two temporal
convolutions (kernel 3) and a non-negative density per frame, summed over the frames; the sum is the
count (trained with squared error).  Counting as a sum of
per-frame densities is the density-map view of counting (Lempitsky & Zisserman 2010); TGIF-QA's
own model regresses the count (Jang et al. 2017).

    python scripts/count_head_probe.py --source pose --frames 16
    python scripts/count_head_probe.py --source model --model checkpoints/gifqa-shapes --frames 8

Prints JSON on stdout: test MSE of the rounded count (clamped to 1-10, as ``tgif-qa/count``), accuracy,
the training MSE, and the MSE of always answering the training mean (the prior).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from probe_pose_features import count_question  # scripts/: the same scenes and questions
from torch import nn


def scenes(n: int, seed: int, frames: int, model=None):
    """Inputs [n, T, D] and counts [n] of ``n`` fresh scenes."""
    from gifqa.shapes.world import ACTIONS
    from gifqa.training.grounding import pose_vector

    xs, ys = [], []
    for i in range(n):
        rng, scene, actor, seg, question, picks = count_question(
            seed, i, 64 if model is None else model.config.vision.image_size, frames)
        times = scene.frame_times_ms()
        if model is None:
            asked = [float(a == seg.action) for a in ACTIONS]
            # A hidden (blinking) shape has no centre, size or heading: zeros, with "visible" 0.
            xs.append([list(np.nan_to_num(pose_vector(actor, float(times[k])))) + asked for k in picks])
        else:
            xs.append(_queries(model, scene, rng, picks, question))
        ys.append(seg.count)
    return torch.tensor(np.asarray(xs), dtype=torch.float32), torch.tensor(ys, dtype=torch.float32)


@torch.no_grad()
def _queries(model, scene, rng, picks, question: str) -> np.ndarray:
    """The model's Q-Former queries for the picked frames, flattened per frame [T, Q*D_q]."""
    from gifqa.model import prompts
    from gifqa.shapes.render import render_frames

    images = render_frames(scene, rng)
    x = model.preprocess_frames(np.stack([np.asarray(images[k].convert("RGB")) for k in picks]))
    feats = model.frame_features(x)  # [1, T, N, D_v]
    enc = model.build_text_inputs([prompts.question_prompt(question)])
    step = model.config.projector.max_frames  # the temporal embedding covers this many: longer clips in chunks
    out = [model.project_frames(feats[:, c:c + step], None, enc["input_ids"], enc["attention_mask"])[1][0]
           for c in range(0, feats.shape[1], step)]
    return torch.cat(out).flatten(1).numpy()


def with_change(x: torch.Tensor) -> torch.Tensor:
    """[B, T, D] -> [B, T, 2D]: each frame's input and its change from the previous frame (0 for the first)."""
    return torch.cat([x, x - torch.cat([x[:, :1], x[:, :-1]], dim=1)], dim=-1)


class DensityHead(nn.Module):
    def __init__(self, width_in: int, width: int = 32, dropout: float = 0.0):
        super().__init__()
        self.inp = nn.Sequential(nn.Dropout(dropout), nn.Linear(width_in, width), nn.GELU())
        self.conv = nn.Sequential(nn.Conv1d(width, width, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(width, width, 3, padding=1), nn.GELU())
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> counts [B]: the sum of per-frame densities."""
        h = self.conv(self.inp(x).transpose(1, 2)).transpose(1, 2)  # [B, T, W]
        return nn.functional.softplus(self.out(h))[..., 0].sum(dim=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=["pose", "model"], default="pose", help="the head's input (default pose)")
    ap.add_argument("--model", help="checkpoint dir or preset (--source model)")
    ap.add_argument("--frames", type=int, default=16, help="frames sampled per clip (default 16)")
    ap.add_argument("--n-train", type=int, default=3000, help="scenes to train the head on (default 3000)")
    ap.add_argument("--n-test", type=int, default=600, help="other scenes to score it on (default 600)")
    ap.add_argument("--epochs", type=int, default=120, help="passes over the training scenes (default 120)")
    ap.add_argument("--seed", type=int, default=11, help="scene seed (default 11: not the world's scenes)")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    args = ap.parse_args(argv)
    model = None
    if args.source == "model":
        if not args.model:
            ap.error("--source model needs --model")
        from gifqa.inference import resolve_model

        model = resolve_model(args.model, device="cpu").eval()
    torch.manual_seed(0)
    x, y = scenes(args.n_train, args.seed, args.frames, model)
    tx, ty = scenes(args.n_test, args.seed + 1, args.frames, model)
    x, tx = with_change(x), with_change(tx)
    mu, sd = x.mean(dim=(0, 1)), x.std(dim=(0, 1)) + 1e-5
    x, tx = (x - mu) / sd, (tx - mu) / sd
    head = DensityHead(x.shape[-1], dropout=0.3 if model is not None else 0.0)
    opt = torch.optim.AdamW(head.parameters(), args.lr, weight_decay=1e-2)
    for _ in range(args.epochs):
        head.train()
        for idx in torch.randperm(len(x)).split(64):
            loss = (head(x[idx]) - y[idx]).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        def mse(inputs, counts):
            pred = head(inputs).round().clamp(1, 10)
            return float((pred - counts).pow(2).mean()), float((pred == counts).float().mean())

        test_mse, test_acc = mse(tx, ty)
        train_mse, _ = mse(x, y)
    print(json.dumps({"source": args.source, "model": args.model, "frames": args.frames, "train": args.n_train,
                      "test": args.n_test, "epochs": args.epochs, "test_mse": round(test_mse, 3),
                      "test_accuracy": round(test_acc, 3), "train_mse": round(train_mse, 3),
                      "prior_mse": round(float((ty - y.mean().round()).pow(2).mean()), 3)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
