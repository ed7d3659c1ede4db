"""Training throughput (samples/s) of a recipe: 1 and N processes, frozen-feature cache off and on.

    python benchmarks/bench_train.py                      # tiny recipe on CPU, 12 steps per run
    python benchmarks/bench_train.py --steps 20 --repeats 3 --json results.json

Every configuration runs the real entry point (scripts/train.py; `accelerate launch --multi_gpu
--num_processes N` for N > 1, which on a machine without CUDA starts N CPU processes with gloo)
on the same recipe, the same seed and the same number of steps, one after another in an
interleaved order (so a neighbour's load hits all of them alike).  The cache-on runs read a cache
filled by one untimed run first: they measure epochs after the pre-pass, which is its point.

Throughput is taken from metrics.jsonl: samples over the training steps after the first (the
first includes lazy initialisation), divided by the time those steps took; model building,
data generation and process start-up are not in it.  The total wall time of each command is
reported beside it.  Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A mixture with more clips than the tiny recipe's 8 (so the run sees many distinct GIFs).
DEFAULT_SOURCES = ("[{kind: shapes, tasks: [action, transition, frameqa, count, caption, reaction], "
                   "generate: {n_train: 32, n_val: 0, n_test: 0, n_compositional: 0, seed: 0, size_px: 64}}]")


def run_once(recipe: str, out: Path, procs: int, cache: Path | None, steps: int, extra: list[str]) -> dict:
    cmd = [sys.executable]
    if procs > 1:
        cmd += ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(procs),
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += [str(REPO / "scripts" / "train.py"), "--config", recipe, "--output_dir", str(out),
            "--optim.max_steps", str(steps), "--log_every", "1", *extra]
    if cache is not None:
        cmd += ["--data.feature_cache", str(cache)]
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [x for x in rows if "samples_per_s" in x][1:]
    cfg = json.loads((out / "config.resolved.json").read_text())
    per_step = cfg["optim"]["batch_size"] * cfg["optim"]["grad_accum"] * procs  # samples per optimizer step
    seconds = sum(per_step / x["samples_per_s"] for x in rows)  # each row covers one step (log_every 1)
    sps = per_step * len(rows) / seconds if rows else float("nan")
    return {"samples_per_s": sps, "wall_s": wall, "steps_timed": len(rows)}


def _relative(path: str) -> str:
    """The recipe path as the repository names it (results files should not hold this machine's paths)."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "scripts" / "configs" / "tiny.yaml"))
    ap.add_argument("--steps", type=int, default=12, help="optimizer steps per run")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    ap.add_argument("--repeats", type=int, default=1, help="runs per configuration (the median is reported)")
    ap.add_argument("--sources", default=DEFAULT_SOURCES, help="data.sources override ('' keeps the recipe's)")
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS per process")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", help="keep the run directories under this folder")
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    extra = ["--data.sources", args.sources] if args.sources else []
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_train_"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "feature_cache"
    # fill the cache once (untimed), for the cache-on runs
    run_once(args.config, work / "prefill", 1, cache, 1, extra)  # one step: the pre-pass encodes every clip
    configs = [(p, c) for p in args.procs for c in (False, True)]
    results: dict = {c: [] for c in configs}
    for rep in range(args.repeats):
        for procs, cached in configs:
            out = work / f"p{procs}-{'cache' if cached else 'nocache'}-{rep}"
            results[(procs, cached)].append(run_once(args.config, out, procs, cache if cached else None,
                                                     args.steps, extra))
    base = statistics.median(r["samples_per_s"] for r in results[(args.procs[0], False)])
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, no GPU used"
    print(f"Recipe {Path(args.config).name}, {args.steps} steps per run ({args.steps - 1} timed), "
          f"{args.repeats} run(s) each, OMP_NUM_THREADS={args.threads}; {machine}.\n")
    print("| processes | feature cache | samples/s (median) | vs 1 process, no cache | command wall s |")
    print("|---:|---|---:|---:|---:|")
    table = []
    for procs, cached in configs:
        sps = statistics.median(r["samples_per_s"] for r in results[(procs, cached)])
        wall = statistics.median(r["wall_s"] for r in results[(procs, cached)])
        table.append({"processes": procs, "feature_cache": cached, "samples_per_s": sps, "wall_s": wall,
                      "runs": results[(procs, cached)]})
        print(f"| {procs} | {'on' if cached else 'off'} | {sps:.1f} | {sps / base:.2f}x | {wall:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": _relative(args.config), "steps": args.steps, "repeats": args.repeats,
                                               "threads": args.threads, "machine": machine, "table": table}, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
