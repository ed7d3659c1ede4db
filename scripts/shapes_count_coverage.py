"""How many sampled frames land in each repetition a gifqa-shapes count question asks about.

A count question ("How many times does the green star blink ?") is about one segment of one actor:
an action repeated 1-5 times.  A model that sees ``frames`` frames sampled uniformly by time (the
training and evaluation sampler, gifqa.media.sampling.uniform_by_time) can only count repetitions
it sees at least twice (once per half of the motion, the Nyquist rate of a periodic motion), and
reliably only with a few frames each.  This script re-draws each question's scene from the world's
seed (gifqa.shapes.dataset.scene_for) and prints, per frame budget, the share of questions whose
segment gets at least 2 and at least 3 sampled frames per repetition: an upper bound on what any
model can count at that budget.

    python scripts/shapes_count_coverage.py --world runs/shapes-world/data/<world> --split val --frames 4 8 16 32
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gifqa.data.tgifqa import annotation_path, read_annotation_file
from gifqa.media.sampling import browser_duration_ms, timeline, uniform_by_time
from gifqa.shapes.dataset import scene_for
from gifqa.shapes.world import ACTIONS, Segment


def asked_segment(scene, question: str) -> Segment:
    """The segment a count question names: its actor (unique colour and shape) and its action."""
    for actor in scene.actors:
        if f" {actor.name} " in question:
            for seg in actor.segments:
                if question.endswith(f" {ACTIONS[seg.action][0]} ?"):
                    return seg
    raise ValueError(f"no segment of the scene matches {question!r}")


def frames_per_repetition(scene, seg: Segment, frames: int) -> float:
    """Sampled frames (uniform by time) that start inside ``seg``, per repetition of it."""
    starts, durations = timeline([browser_duration_ms(d) for d in scene.frame_delays_ms])
    idx = uniform_by_time(starts, durations, frames)
    t = starts[idx]
    return float(((t >= seg.start_ms) & (t < seg.end_ms)).sum()) / seg.count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", required=True, type=Path, help="a generated gifqa-shapes world (holds manifest.json)")
    ap.add_argument("--split", default="val", help="val, test, test_compositional or train")
    ap.add_argument("--frames", type=int, nargs="+", default=[4, 8, 16, 24, 32])
    args = ap.parse_args(argv)
    manifest = json.loads((args.world / "manifest.json").read_text())
    prefix = "Train" if args.split == "train" else "Test"
    records = read_annotation_file(annotation_path(args.world / args.split, "count", prefix), "count")
    asked = []
    for r in records:
        scene = scene_for(r.gif_name, seed=manifest["seed"], size_px=manifest["size_px"])
        seg = asked_segment(scene, r.question)
        if seg.count != r.answer:  # the re-drawn scene must be the one the file was written from
            raise SystemExit(f"{r.gif_name}: re-drawn count {seg.count} != annotated {r.answer}; wrong seed?")
        asked.append((scene, seg))
    print(f"{args.split}: {len(asked)} count questions, {args.world}")
    print("| frames | median frames per repetition | >= 2 per repetition | >= 3 per repetition |")
    print("|---:|---:|---:|---:|")
    for k in args.frames:
        per_rep = np.array([frames_per_repetition(scene, seg, k) for scene, seg in asked])
        print(f"| {k} | {np.median(per_rep):.2f} | {np.mean(per_rep >= 2):.2f} | {np.mean(per_rep >= 3):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
