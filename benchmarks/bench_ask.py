"""Latency of `gifqa ask`: cold start (process start to answer) and warm per-question time in
batch mode, split into decode, retrieval (keyframe choice), vision, projector and generation.

    .venv/bin/python benchmarks/bench_ask.py --model tiny [--model checkpoints/gifqa-shapes] [--repeats 3]
    .venv/bin/python benchmarks/bench_ask.py --model tiny --sampling clipcut --clip-model DIR_OR_HUB_ID
    .venv/bin/python benchmarks/bench_ask.py --model tiny --sampling clipcut --tiny-clip   (a random test-size CLIP)

Cold: `gifqa ask GIF QUESTION --json` in a fresh process, wall time, median of --repeats.
Warm: one `gifqa ask --batch` process answering 2 questions on each of --gifs generated shapes
GIFs; the first question of the whole batch (model warm-up) is left out.  Reported per
question, as a mean over "new GIF" (first question on a GIF: decodes it) and "same GIF"
(second question: the decoded clip, and for clipcut the frame embeddings, are reused) rows,
from the `timing_ms` the CLI reports.  `--sampling`/`--frames`/`--clip-model` are passed
through to `gifqa ask`.  Prints a Markdown table; writes --out JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_report.py
from _report import save_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PARTS = ("decode", "retrieval", "vision", "projector", "generation", "total")


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, env=_env(), text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")


def cold(model: str, gif: Path, repeats: int, extra: list[str]) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _run([sys.executable, "-m", "gifqa", "ask", str(gif), "what color is the circle?", "--model", model,
              "--json", *extra])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def warm(model: str, gifs: list[Path], folder: Path, extra: list[str]) -> dict[str, dict[str, float]]:
    questions = folder / f"q-{abs(hash(model))}.jsonl"
    answers = folder / f"a-{abs(hash(model))}.jsonl"
    with open(questions, "w") as fh:
        for g in gifs:
            for q in ("what color is the circle ?", "what shape is red ?"):
                fh.write(json.dumps({"gif": str(g), "question": q}) + "\n")
    answers.unlink(missing_ok=True)
    _run([sys.executable, "-m", "gifqa", "ask", "--batch", str(questions), "--out", str(answers), "--model", model,
          *extra])
    rows = [json.loads(x) for x in answers.read_text().splitlines()]
    out = {}
    for kind, sel in (("new GIF", rows[2::2]), ("same GIF", rows[1::2])):  # row 0 (warm-up) left out
        out[kind] = {p: statistics.mean(r["timing_ms"][p] for r in sel) for p in PARTS} | {"n": len(sel)}
    return out


def tiny_clip_dir(folder: Path) -> Path:
    """The random test-size CLIP of tests/retrieval_helpers.py, saved so `--clip-model` can load it."""
    sys.path.insert(0, str(REPO))
    from tests.retrieval_helpers import tiny_clip, tiny_tokenizer

    d = folder / "tiny-clip"
    tok = tiny_tokenizer()
    tiny_clip(tok, context=32).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gifs", type=int, default=8)
    ap.add_argument("--sampling", choices=["clipcut", "uniform", "all"])
    ap.add_argument("--frames", type=int)
    ap.add_argument("--clip-model")
    ap.add_argument("--tiny-clip", action="store_true", help="--clip-model = a random test-size CLIP saved to tmp")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ask.json"))
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    import torch

    from gifqa.shapes import generate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_dataset(tmp / "shapes", n_train=args.gifs, n_val=0, n_test=0, n_compositional=0, seed=1)
        gifs = sorted((tmp / "shapes" / "gifs").glob("*.gif"))
        extra = []
        if args.sampling:
            extra += ["--sampling", args.sampling]
        if args.frames:
            extra += ["--frames", str(args.frames)]
        clip_model = str(tiny_clip_dir(tmp)) if args.tiny_clip else args.clip_model
        if clip_model:
            extra += ["--clip-model", clip_model]
        machine = (f"{platform.machine()} CPU, {os.cpu_count()} cores visible, torch {torch.__version__} "
                   f"({torch.get_num_threads()} threads)")
        setting = f"sampling {args.sampling or 'from the model config'}" + (
            f", CLIP {'tiny random (test size)' if args.tiny_clip else clip_model}" if clip_model else "")
        lines = [
            f"{len(gifs)} generated shapes GIFs, 2 questions each; {setting}; {machine}",
            "",
            "| model | cold start: process to answer (s) | warm question | decode | retrieval | vision | projector "
            "| generation | total (ms) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        results = []
        for model in args.model:
            c = cold(model, gifs[0], args.repeats, extra)
            w = warm(model, gifs, tmp, extra)
            results.append({"model": model, "cold_s": c, "warm_ms": w})
            for kind, parts in w.items():
                lines.append(f"| {model} | {c:.2f} | {kind} (n={parts['n']}) | "
                             + " | ".join(f"{parts[p]:.1f}" for p in PARTS) + " |")
    print("\n".join(lines))
    save_json(args.out, {"machine": machine, "setting": setting, "args": dict(vars(args)), "results": results})


if __name__ == "__main__":
    main()
