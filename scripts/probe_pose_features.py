"""Can the frame tokens tell where in its repetition the counted shape is?  (gifqa-shapes, counting)

To count how often a shape bounces, a model must see, frame by frame, how far up the shape is: a
repetition is one rise and fall of its pose (height for bounce and nod, sideways offset for shake,
size for grow, visibility for blink, heading for spin).  This script draws fresh scenes of the world
(``gifqa.shapes.world.sample_scene``, seeded, no files), asks the count question of one actor's
segment ("How many times does the red circle bounce ?"), samples ``--frames`` frames of the segment's
clip uniformly in time, and fits linear probes (ridge regression, closed form) from

- ``pixels``: the frame's raw pixels (the reference for what a frame shows),
- ``tower``: every token of the vision tower's last layer,
- ``pixels_local`` and ``layer<k>_local``: the pixels, and each tower layer's tokens (0 = the patch
  embeddings), of the 3 x 3 patches around the shape's resting place, which hold it whichever of the
  four places it stands at (so that a linear probe need not find the shape first),
- ``queries``: the question-aware Q-Former's output queries for the frame (all of them),
- ``query0``: its first query (the one ``grounding`` trains to look at the named shape),

to that actor's pose in the frame: the pose quantity its action moves, over the frames inside the
segment, per action (ridge strength picked on a held-out fifth of the training frames).  Scored as
R^2 on ``--n-test`` other scenes.  A linear probe is the usual test of
what a representation makes readable (Alain & Bengio 2016).

    python scripts/probe_pose_features.py --model checkpoints/gifqa-shapes

Prints JSON on stdout: per action and feature, the test R^2 (1 = the pose is read exactly, 0 = no
better than its mean), and the frames each probe was fitted and scored on.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

# The pose quantity each action moves (gifqa.shapes.world.pose): what a probe must read to follow it.
MOVED = {"bounce": ["dy"], "nod": ["dy"], "shake": ["dx"], "grow": ["scale"], "blink": ["visible"],
         "spin": ["cos", "sin"]}


def count_question(seed: int, index: int, size_px: int, frames: int):
    """A fresh scene seeded by (``seed``, ``index``), one actor's segment, its count question and the
    ``frames`` frames the model would sample (uniform in time, gifqa.media.sampling.uniform_by_time):
    (rng, scene, actor, segment, question, frame indices [frames])."""
    from gifqa.media.sampling import timeline, uniform_by_time
    from gifqa.shapes.world import ACTIONS, sample_scene

    rng = np.random.default_rng([seed, index])
    scene = sample_scene(rng, size_px=size_px)
    actor = scene.actors[int(rng.integers(len(scene.actors)))]
    seg = actor.segments[int(rng.integers(len(actor.segments)))]
    question = f"How many times does the {actor.name} {ACTIONS[seg.action][0]} ?"
    return rng, scene, actor, seg, question, uniform_by_time(*timeline(scene.frame_delays_ms), frames)


def pose_row(actor, t_ms: float) -> dict:
    from gifqa.shapes.world import pose

    p = pose(actor, t_ms)
    a = np.radians(p["angle"])
    return {"dx": p["dx"], "dy": p["dy"], "scale": p["scale"], "visible": float(p["visible"]),
            "cos": float(np.cos(a)), "sin": float(np.sin(a))}


@torch.no_grad()
def collect(model, n: int, seed: int, frames: int) -> dict[str, dict[str, list]]:
    """action -> {feature name or 'target': rows}: one row per sampled frame inside the counted segment."""
    from gifqa.model import prompts
    from gifqa.shapes.render import render_frames

    size = model.config.vision.image_size
    grid = size // int(model.config.vision.hf_config["patch_size"])
    patch = size // grid  # pixels a side
    out: dict[str, dict[str, list]] = {}
    for i in range(n):
        rng, scene, actor, seg, question, picks = count_question(seed, i, size, frames)
        images = render_frames(scene, rng)
        times = scene.frame_times_ms()
        picks = np.unique(picks)  # one row per distinct frame
        x = model.preprocess_frames(np.stack([np.asarray(images[k].convert("RGB")) for k in picks]))  # [T, 3, S, S]
        feats = model.frame_features(x)  # [1, T, N, D_v]
        layers = model.vision.model(pixel_values=x, output_hidden_states=True).hidden_states  # L+1 x [T, 1+P, D_v]
        window = _window(actor.place, grid)  # [9] patch indices
        enc = model.build_text_inputs([prompts.question_prompt(question)])
        _, queries, _ = model.project_frames(feats, None, enc["input_ids"], enc["attention_mask"])  # [1, T, Q, D_q]
        rows = out.setdefault(seg.action, {"target": []})
        patches = x.reshape(len(picks), 3, grid, patch, grid, patch).permute(0, 2, 4, 1, 3, 5).reshape(len(picks), grid * grid, -1)
        for j, k in enumerate(picks):
            if not seg.start_ms <= times[k] < seg.end_ms:
                continue
            p = pose_row(actor, float(times[k]))
            rows["target"].append([p[m] for m in MOVED[seg.action]])
            feature = {"pixels": x[j].flatten(), "tower": feats[0, j].flatten(), "queries": queries[0, j].flatten(),
                       "query0": queries[0, j, 0], "pixels_local": patches[j, window].flatten(),
                       **{f"layer{k}_local": h[j, 1 + window].flatten() for k, h in enumerate(layers)}}
            for name, v in feature.items():
                rows.setdefault(name, []).append(v.numpy())
    return out


def _window(place: str, grid: int) -> np.ndarray:
    """Indices (row-major) of the 3 x 3 patches centred on the patch that holds ``place``'s centre."""
    from gifqa.shapes.world import PLACES

    px, py = PLACES[place]
    cx, cy = (min(max(int(v * grid), 1), grid - 2) for v in (px, py))
    return np.array([(cy + dy) * grid + cx + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def ridge_r2(x_train, y_train, x_test, y_test, alpha: float = 1.0) -> float:
    """Test R^2 of a ridge regression on standardised inputs (mean over target columns)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    ym = y_train.mean(0)
    lam = alpha * len(a)
    if a.shape[1] <= len(a):  # primal: (A'A + lam I) w = A'y
        pred = b @ np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (y_train - ym)) + ym
    else:  # dual, for more features than frames (raw pixels): w = A'(AA' + lam I)^-1 y
        pred = (b @ a.T) @ np.linalg.solve(a @ a.T + lam * np.eye(len(a)), y_train - ym) + ym
    ss_res = ((y_test - pred) ** 2).sum(0)
    ss_tot = ((y_test - y_test.mean(0)) ** 2).sum(0) + 1e-12
    return float((1 - ss_res / ss_tot).mean())


ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0)


def probe_r2(x_train, y_train, x_test, y_test) -> float:
    """Test R^2 of the ridge whose strength did best on a held-out fifth of the training frames."""
    cut = len(x_train) * 4 // 5
    best = max(ALPHAS, key=lambda al: ridge_r2(x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:], al))
    return ridge_r2(x_train, y_train, x_test, y_test, best)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint dir or preset")
    ap.add_argument("--frames", type=int, default=None, help="frames sampled per clip (default: the model's keyframes)")
    ap.add_argument("--n-train", type=int, default=1500, help="scenes to fit the probes on (default 1500)")
    ap.add_argument("--n-test", type=int, default=500, help="other scenes to score them on (default 500)")
    ap.add_argument("--seed", type=int, default=4321, help="scene seed (default 4321: not the world's scenes)")
    args = ap.parse_args(argv)
    from gifqa.inference import resolve_model

    torch.manual_seed(0)
    model = resolve_model(args.model, device="cpu").eval()
    args.frames = args.frames or model.config.keyframes.frames
    tr = collect(model, args.n_train, args.seed, args.frames)
    te = collect(model, args.n_test, args.seed + 1, args.frames)
    result = {"model": args.model, "frames": args.frames, "actions": {}}
    for action in sorted(tr):
        if action not in te or len(tr[action]["target"]) < 20:
            continue
        ytr, yte = np.asarray(tr[action]["target"]), np.asarray(te[action]["target"])
        row = {"train_frames": len(ytr), "test_frames": len(yte)}
        for name in [k for k in tr[action] if k != "target"]:
            row[name] = round(probe_r2(np.asarray(tr[action][name]), ytr, np.asarray(te[action][name]), yte), 3)
        result["actions"][action] = row
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
