"""Step 2 of the shapes recipe against an earlier commit's, side by side: time per sample.

    python benchmarks/bench_recipe.py --baseline cf50757                 # 300 steps per run, 2 runs each
    python benchmarks/bench_recipe.py --baseline cf50757 --steps 500 --repeats 3 --json benchmarks/results/recipe.json

Wall times of a 25-minute run on a shared 2-core machine moved by a third from hour to hour here (report.md,
"Recipe time"), so a recipe's speed is compared to a baseline run in turn with it: A, B, A, B, ...  The
baseline is the commit's own code and its own scripts/configs/shapes.yaml (a git worktree in a temp
folder); both read the same world, step 1's CLIP and feature cache (build them first: the recipe's step 1,
then one step 2 run).  Each run is ``scripts/train.py --stop_after_steps N`` with no validation; its
samples/s come from metrics.jsonl, leaving out the first 50 steps (warm-up).  Per step the two recipes
may differ in work (the MVM pass) and code (the Q-Former's text, the optimizer); the table gives the
ratio of time per sample, and the step-count ratio of the two recipes beside it.
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

from _report import print_table, save_json

REPO = Path(__file__).resolve().parents[1]
LOG_EVERY = 50


def _recipe_steps(checkout: Path) -> int:
    """optim.max_steps of the checkout's shapes recipe."""
    import yaml

    return int(yaml.safe_load((checkout / "scripts" / "configs" / "shapes.yaml").read_text())["optim"]["max_steps"])


def run_step2(checkout: Path, out: Path, steps: int, shared: dict[str, Path]) -> dict:
    """scripts/train.py of ``checkout`` on its shapes recipe for ``steps`` steps -> samples/s after the first 50."""
    cmd = [sys.executable, str(checkout / "scripts" / "train.py"), "--config", str(checkout / "scripts" / "configs" / "shapes.yaml"),
           "--output_dir", str(out), "--stop_after_steps", str(steps), "--eval.every", "0", "--log_every", str(LOG_EVERY),
           "--data.sources.0.world_root", str(shared["world"]), "--model.overrides.vision.hub_id", str(shared["clip"]),
           "--data.feature_cache", str(shared["cache"])]
    env = dict(os.environ, HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(checkout))
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=checkout)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [x for x in rows if "samples_per_s" in x][1:]  # each row covers LOG_EVERY steps
    seconds = sum(1 / x["samples_per_s"] for x in rows)  # per sample, summed over rows of equal sample counts
    return {"samples_per_s": len(rows) / seconds, "wall_s": time.monotonic() - t0, "rows": [x["samples_per_s"] for x in rows]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="git commit of the baseline recipe (e.g. cf50757)")
    ap.add_argument("--steps", type=int, default=300, help="optimizer steps per run (the first 50 are not timed)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each, alternating")
    ap.add_argument("--runs", default=str(REPO / "runs"), help="folder with shapes-world, shapes-clip, feature-cache")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    runs = Path(args.runs).resolve()
    shared = {"world": runs / "shapes-world", "clip": runs / "shapes-clip", "cache": runs / "feature-cache"}
    for path in shared.values():
        if not path.exists():
            print(f"bench_recipe: {path} is missing: run the recipe's step 1 and one step 2 first", file=sys.stderr)
            return 1
    work = Path(tempfile.mkdtemp(prefix="bench_recipe_"))
    base = work / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), args.baseline], check=True)
    arms = {"baseline": base, "this checkout": REPO}
    try:
        steps = {name: _recipe_steps(checkout) for name, checkout in arms.items()}
        results: dict[str, list] = {k: [] for k in arms}
        for rep in range(args.repeats):
            for name, checkout in arms.items():
                results[name].append(run_step2(checkout, work / f"{name.replace(' ', '_')}-{rep}", args.steps, shared))
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    sps = {k: statistics.median(r["samples_per_s"] for r in v) for k, v in results.items()}
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, no GPU used"
    print(f"Step 2 of scripts/configs/shapes.yaml, {args.steps} steps per run ({args.steps - LOG_EVERY} timed), "
          f"{args.repeats} runs each, alternating; {machine}.\n")
    rows = [[k, f"{sps[k]:.1f}", f"{sps['baseline'] / sps[k]:.3f}", f"{steps[k]:,}",
             f"{steps[k] / steps['baseline'] * sps['baseline'] / sps[k]:.3f}"] for k in arms]
    print_table(["recipe", "samples/s (median)", "time per sample vs baseline", "steps", "steps' time vs baseline"], rows,
                ["---", "---:", "---:", "---:", "---:"])
    if args.json:
        save_json(args.json, {"baseline": args.baseline, "steps": args.steps, "repeats": args.repeats, "machine": machine,
                              "samples_per_s": sps, "recipe_steps": steps, "runs": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
