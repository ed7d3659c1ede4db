"""CLIP-Cut overhead per GIF versus uniform sampling, with the same CLIP encoder.

    python benchmarks/bench_clipcut.py                    # 20 animated GIFs of ../shared/data/gifs
    python benchmarks/bench_clipcut.py --synthetic        # random frames, no media layer or data needed
    python benchmarks/bench_clipcut.py --model tiny       # the tiny test CLIP (plumbing only)

For each GIF, ``--candidates`` frames (default 32) are decoded uniformly by time at 224 px
(``gifqa.media.load_video``); then ``k`` keyframes (default 8) are chosen and embedded:

* uniform: ``select_keyframes(..., "uniform")`` + encode the k chosen frames;
* clipcut, cold cache: ``select_keyframes(..., "clipcut")`` = encode every candidate frame
  + the question, window ranking; the k chosen frames' embeddings are rows of what was
  encoded, so nothing else is needed when the same CLIP feeds the model;
* clipcut, warm cache: a second question on the same GIF (frame embeddings cached): text
  encoding + ranking only.

Encoder: ``--model vit-b32`` (default) is a *randomly initialised* CLIPModel with the
shapes of openai/clip-vit-base-patch32 (ViT-B/32 vision tower at 224 px, 12-layer 512-wide
text tower, 512-d projection), so compute matches the real model (no weights are available
offline; timing does not depend on weight values).  Times are wall-clock on the CPU with
``--threads`` torch threads; each GIF's three timings are taken back to back, and the
ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_report.py
from _report import print_table, save_json  # noqa: E402

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gifqa.retrieval.cache import EmbeddingCache  # noqa: E402
from gifqa.retrieval.encoders import CLIPEncoder  # noqa: E402
from gifqa.retrieval.sampling import select_keyframes  # noqa: E402
from tests.retrieval_helpers import FakeVideo, tiny_clip, tiny_tokenizer  # noqa: E402  (offline tokenizer)


def build_encoder(kind: str) -> CLIPEncoder:
    import torch
    from transformers import CLIPConfig, CLIPModel

    tok = tiny_tokenizer()
    if kind == "tiny":
        return CLIPEncoder(tiny_clip(tok), tok, "tiny-random-clip", device="cpu")
    torch.manual_seed(0)
    # CLIPConfig's defaults are the openai/clip-vit-base-patch32 shapes.
    config = CLIPConfig(text_config=dict(eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
                                         pad_token_id=tok.pad_token_id))
    assert config.vision_config.patch_size == 32 and config.vision_config.image_size == 224
    return CLIPEncoder(CLIPModel(config).eval(), tok, "random-clip-vit-b32-shape", device="cpu")


def load_clips(args) -> list:
    rng = np.random.default_rng(0)
    if args.synthetic:
        out = []
        for i in range(args.n_gifs):
            t = int(rng.integers(4, args.candidates + 1))
            frames = rng.integers(0, 256, (t, 224, 224, 3), dtype=np.uint8)
            out.append(FakeVideo(frames, np.arange(t) * 100, np.full(t, 100), sha256=f"{i:064x}"))
        return out
    from gifqa.media import load_video  # needs the media layer (merged main)

    import csv

    data = Path(args.data)
    with open(data / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["n_frames"]) >= 4]
    rows.sort(key=lambda r: r["file"])
    out = []
    for r in rows[: args.n_gifs]:
        out.append(load_video(data / r["file"], max_frames=args.candidates, sampling="uniform", size=224))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["vit-b32", "tiny"], default="vit-b32")
    ap.add_argument("--n-gifs", type=int, default=20)
    ap.add_argument("--candidates", type=int, default=32, help="frames decoded per GIF, uniform by time")
    ap.add_argument("-k", type=int, default=8, help="keyframes chosen per GIF")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "gifs"))
    ap.add_argument("--out", default="benchmarks/results/clipcut.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    encoder = build_encoder(args.model)
    clips = load_clips(args)
    q1, q2 = "what is the person doing with the cat", "what colour is the car"
    encoder.encode_frames(clips[0].frames[:2])  # warm-up (allocations, kernels)
    encoder.encode_text([q1])
    rows = []
    for clip in clips:
        t0 = time.perf_counter()
        idx = select_keyframes(clip, q1, args.k, "uniform")
        encoder.encode_frames(clip.frames[idx])
        t1 = time.perf_counter()
        cache = EmbeddingCache(False)
        select_keyframes(clip, q1, args.k, "clipcut", encoder, cache=cache)
        t2 = time.perf_counter()
        select_keyframes(clip, q2, args.k, "clipcut", encoder, cache=cache)
        t3 = time.perf_counter()
        rows.append(dict(frames=len(clip.frames), uniform_ms=1e3 * (t1 - t0), clipcut_cold_ms=1e3 * (t2 - t1),
                         clipcut_warm_ms=1e3 * (t3 - t2)))
    mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores visible, {args.threads} torch threads, torch {torch.__version__}"
    print(f"{len(rows)} GIFs ({'synthetic' if args.synthetic else args.data}), {mean['frames']:.1f} candidate frames "
          f"per GIF on average, k={args.k}, encoder {encoder.model_id}; {machine}\n")
    print_table(["strategy", "ms per GIF", "x uniform"],
                [[name, f"{mean[key]:.1f}", f"{mean[key] / mean['uniform_ms']:.2f}"]
                 for name, key in [("uniform (encode k frames)", "uniform_ms"), ("clipcut, cold cache", "clipcut_cold_ms"),
                                   ("clipcut, warm cache (2nd question)", "clipcut_warm_ms")]])
    save_json(args.out, {"machine": machine, "encoder": encoder.model_id, "args": vars(args), "mean": mean,
                         "per_gif": rows})


if __name__ == "__main__":
    main()
