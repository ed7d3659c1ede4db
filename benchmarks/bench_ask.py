"""Latency of `gifqa ask`: cold start (process start to answer) and warm per-question time in
batch mode, split into decode, retrieval (keyframe choice), vision, projector and generation.

    .venv/bin/python benchmarks/bench_ask.py --model tiny [--model checkpoints/gifqa-shapes] [--repeats 3]

Cold: `gifqa ask GIF QUESTION --json` in a fresh process, wall time, median of --repeats.
Warm: one `gifqa ask --batch` process answering 2 questions on each of --gifs generated shapes
GIFs; the first question of the whole batch (model warm-up) is left out; mean per question.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("decode", "retrieval", "vision", "projector", "generation", "total")


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")


def cold(model: str, gif: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gifqa", "ask", str(gif), "what color is the circle?", "--model", model,
                        "--json"], check=True, capture_output=True, env=_env())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def warm(model: str, gifs: list[Path], folder: Path) -> dict[str, float]:
    questions = folder / f"q-{abs(hash(model))}.jsonl"
    answers = folder / f"a-{abs(hash(model))}.jsonl"
    with open(questions, "w") as fh:
        for g in gifs:
            for q in ("what color is the circle ?", "what shape is red ?"):
                fh.write(json.dumps({"gif": str(g), "question": q}) + "\n")
    subprocess.run([sys.executable, "-m", "gifqa", "ask", "--batch", str(questions), "--out", str(answers),
                    "--model", model], check=True, capture_output=True, env=_env())
    rows = [json.loads(x) for x in answers.read_text().splitlines()][1:]
    return {p: statistics.mean(r["timing_ms"][p] for r in rows) for p in PARTS} | {"n": len(rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gifs", type=int, default=8)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from gifqa.shapes import generate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_dataset(tmp / "shapes", n_train=args.gifs, n_val=0, n_test=0, n_compositional=0, seed=1)
        gifs = sorted((tmp / "shapes" / "gifs").glob("*.gif"))
        lines = [
            "| model | cold start: process to answer (s) | warm: decode | retrieval | vision | projector | generation "
            "| total per question (ms) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for model in args.model:
            c = cold(model, gifs[0], args.repeats)
            w = warm(model, gifs, tmp)
            lines.append(f"| {model} | {c:.2f} | " + " | ".join(f"{w[p]:.1f}" for p in PARTS) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
