"""Does the Q-Former look at the shape a question names?  (gifqa-shapes, clips with 2-3 shapes)

For each question of a task (default ``transition``: its questions name the clip's main shape), runs
the model's projector on the model's keyframes with the question's prompt (a question-aware
Q-Former reads it) and, per cross-attention layer and per (head, query), sums the attention on patch
tokens that only the named shape covers and on those that only the other shapes cover.  ``ratio`` is
the named shape's mass per patch over the others' mass per patch (all heads and queries of the layer;
``ratio_range`` over those with at least 5 % of their attention on the shapes): 1 means no preference
for the shape the question is about; report.md has what the gifqa-shapes checkpoints show.
Which patches a shape covers comes from drawing it alone at each keyframe's time
(``gifqa.shapes.dataset.scene_for`` with the world's manifest seed and size); a patch counts as
covered from 5 % of its pixels.

    python scripts/named_shape_attention.py --model checkpoints/gifqa-shapes --world WORLD --split val

``WORLD`` is a ``gifqa make-shapes`` output (manifest.json, gifs/, <split>/).  Prints JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

COVERED = 0.05  # share of a patch's pixels a shape must cover for the patch to count as the shape's
MIN_SHAPE_MASS = 0.05  # a (head, query) with less of its attention on the shapes' patches gets no ratio


def coverage(scene, times_ms, grid: int) -> np.ndarray:
    """bool [T, actors, grid*grid]: which patches each actor covers at each time."""
    from gifqa.shapes.patches import patch_coverage

    return patch_coverage(scene, times_ms, grid) >= COVERED


@torch.no_grad()
def measure(model, world: Path, split: str, task: str, limit: int) -> dict:
    from gifqa.data.tgifqa import annotation_path, read_annotation_file
    from gifqa.media import load_video
    from gifqa.model import prompts
    from gifqa.shapes.dataset import scene_for
    from gifqa.shapes.patches import frame_times_ms, named_actor

    manifest = json.loads((world / "manifest.json").read_text())
    proj = model.projector
    proj.qformer.set_attn_implementation("eager")  # sdpa kernels return no attention weights
    proj.record_attentions = True
    vision = model.config.vision
    grid = vision.image_size // int(vision.hf_config.get("patch_size", 32))
    frames = model.config.keyframes.frames
    prefix = "Train" if split == "train" else "Test"
    rows = read_annotation_file(annotation_path(world / split, task, prefix), task)
    sums: dict[int, np.ndarray] = {}  # layer -> [4, H*Q]: named mass, others' mass, named patches, others' patches
    clips = n_frames = 0
    for row in rows:
        scene = scene_for(row.gif_name, seed=manifest["seed"], size_px=manifest["size_px"])
        named = named_actor(scene, row.question)
        if len(scene.actors) < 2 or named is None:
            continue
        video = load_video(world / "gifs" / f"{row.gif_name}.gif", frames)
        cover = coverage(scene, frame_times_ms(scene, video.timestamps_ms), grid)  # [T, A, P]
        target = cover[:, named]  # [T, P]
        others = np.delete(cover, named, axis=1).any(axis=1)  # [T, P]
        only_t, only_o = target & ~others, others & ~target
        enc = model.build_text_inputs([prompts.question_prompt(row.question)])
        model.encode_frames(model.preprocess_frames(video.frames)[None], None, enc["input_ids"], enc["attention_mask"])
        for layer, att in enumerate(proj.cross_attentions):
            att = att[:, :, : proj.num_query_tokens, -grid * grid:].flatten(1, 2).float().numpy()  # [T, H*Q, P]
            acc = sums.setdefault(layer, np.zeros((4, att.shape[1])))
            acc[0] += np.einsum("thp,tp->h", att, only_t)
            acc[1] += np.einsum("thp,tp->h", att, only_o)
            acc[2] += only_t.sum()
            acc[3] += only_o.sum()
        clips += 1
        n_frames += len(video.frames)
        if clips >= limit:
            break
    proj.record_attentions = False
    if not clips:
        raise SystemExit(f"named_shape_attention: no {task} question of {split} names one of 2-3 shapes")
    layers = {}
    for layer, (m_t, m_o, n_t, n_o) in sorted(sums.items()):
        per = (m_t / np.maximum(n_t, 1)) / np.maximum(m_o / np.maximum(n_o, 1), 1e-12)  # [H*Q]
        # A (head, query) that reads the class token almost only has a ratio of two tiny masses: left out.
        reads_shapes = (m_t + m_o) / n_frames >= MIN_SHAPE_MASS
        layers[f"layer{layer}"] = {"named_mass": round(float(m_t.mean() / n_frames), 3),
                                   "others_mass": round(float(m_o.mean() / n_frames), 3),
                                   "ratio": round(float((m_t.sum() / n_t[0]) / max(m_o.sum() / n_o[0], 1e-12)), 3),
                                   "ratio_range": [round(float(per[reads_shapes].min()), 2), round(float(per[reads_shapes].max()), 2)]
                                   if reads_shapes.any() else None,
                                   "ratio_per_head_query": [round(float(r), 2) if ok else None for r, ok in zip(per, reads_shapes)]}
    return {"task": task, "split": split, "clips": clips, "frames": n_frames,
            "patches_named": round(float(sums[0][2, 0] / n_frames), 2),
            "patches_others": round(float(sums[0][3, 0] / n_frames), 2), "cross_attention": layers}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint dir or preset")
    ap.add_argument("--world", required=True, type=Path, help="a gifqa make-shapes directory")
    ap.add_argument("--split", default="val", help="train, val, test or test_compositional (default val)")
    ap.add_argument("--task", default="transition", choices=["action", "transition", "count"],
                    help="whose questions (they name one shape; default transition)")
    ap.add_argument("--limit", type=int, default=120, help="clips with 2-3 shapes to read (default 120)")
    args = ap.parse_args(argv)
    from gifqa.inference import resolve_model

    model = resolve_model(args.model, device="cpu").eval()
    print(json.dumps({"model": args.model, **measure(model, args.world, args.split, args.task, args.limit)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
