"""Decoder benchmark: correctness against the reference, speed, and robustness on hostile files.

    bash benchmarks/decoders/setup.sh          # decord and decord2 into .bench/ (they clash)
    .venv/bin/python benchmarks/decoders/run.py --repeats 3 --out benchmarks/decoders/results.json

Prints a Markdown table (the one in report.md, "Decoders").  Every decoder runs in its own
subprocess (decord2 can abort the process; decord and decord2 share a module name), and the
repeats interleave the decoders so that machine load falls on all of them alike.

- Correctness: every frame of every GIF in --gifs against the reference (Pillow seek(i) +
  convert("RGBA") over white): files opened, frame count equal to the reference, mean
  absolute difference (0-255) over all frames of the files whose shapes match.
- Speed: median over repeats of the time to decode all frames, and of the time to take 8
  frames resized to 224x224; reported as frames/s and as a ratio against gifqa on the same files.
- Robustness: each file of --bad (and bad/wild) in a fresh process with a 4 GiB address-space
  cap and a 20 s wall-clock limit, decoding all frames: error / silent (returned frames, no
  error) / crash (killed by a signal) / timeout / out of memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import adapters  # noqa: E402


def _env_for(name: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    extra = adapters.EXTRA_PATH.get(name)
    paths = [str(REPO / extra)] if extra else []
    env["PYTHONPATH"] = os.pathsep.join(paths + [str(REPO), str(HERE)])
    return env


# --------------------------------------------------------------------------- worker side
def worker(name: str, files: list[str], check: bool) -> dict:
    import numpy as np

    all_fn, eight_fn = adapters.DECODERS[name]
    out = {}
    for warm in files[:3]:  # imports and first-call set-up are not decode time
        for fn in (all_fn, eight_fn):
            try:
                fn(warm)
            except BaseException:  # noqa: BLE001
                pass
    for f in files:
        rec = {}
        try:
            t0 = time.perf_counter()
            frames = all_fn(f)
            rec["t_all"] = time.perf_counter() - t0
            rec["n"] = len(frames)
        except BaseException as exc:  # noqa: BLE001 - a benchmark records every failure
            rec["error"] = f"{type(exc).__name__}: {exc}"[:200]
            out[f] = rec
            continue
        try:
            t0 = time.perf_counter()
            eight = eight_fn(f)
            rec["t_8"] = time.perf_counter() - t0
            rec["n8"] = len(eight)
        except BaseException as exc:  # noqa: BLE001
            rec["error_8"] = f"{type(exc).__name__}: {exc}"[:200]
        if check:
            ref = adapters.pillow_rgba_all(f)
            rec["n_ref"] = len(ref)
            # gifqa puts every frame on the canvas grown for all frames (Pillow grows it only
            # from the frame that needs it on): compare the region the reference frame covers.
            def fits(a, b):
                return a.ndim == 3 and a.shape[0] >= b.shape[0] and a.shape[1] >= b.shape[1] and a.shape[2] == 3

            if len(ref) == len(frames) and all(fits(a, b) for a, b in zip(frames, ref)):
                diffs = [
                    np.abs(a[: b.shape[0], : b.shape[1]].astype(np.int16) - b.astype(np.int16)).mean()
                    for a, b in zip(frames, ref)
                ]
                rec["mae"] = float(np.mean(diffs))
                rec["mae_max_frame"] = float(np.max(diffs))
        out[f] = rec
    return out


def one(name: str, path: str) -> None:
    all_fn, _ = adapters.DECODERS[name]
    try:
        frames = all_fn(path)
    except MemoryError:
        print("oom")
        return
    except BaseException as exc:  # noqa: BLE001
        print("error", type(exc).__name__, str(exc)[:120])
        return
    print("silent" if frames else "empty", len(frames))


# --------------------------------------------------------------------------- driver side
def run_worker(name, files, check):
    r = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--check" if check else "--no-check", "--files-json", json.dumps(files)],
        capture_output=True, text=True, env=_env_for(name),
    )
    if r.returncode != 0:
        return {"crashed": f"exit {r.returncode}: {r.stderr.strip().splitlines()[-1:] }"}
    return json.loads(r.stdout)


def robustness(name, path, mem=4 * 2**30, timeout=20.0):
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))

    t0 = time.monotonic()
    try:
        r = subprocess.run(
            [sys.executable, __file__, "--one", name, path], capture_output=True, text=True,
            env=_env_for(name), preexec_fn=cap, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "timeout", timeout
    elapsed = time.monotonic() - t0
    if r.returncode < 0:
        return "crash", elapsed
    word = (r.stdout.split() or ["crash"])[0]
    if word == "error" and "MemoryError" in r.stdout:
        word = "oom"
    return word, elapsed


def robustness_table(names, bad_dir) -> dict:
    bad = sorted(str(p) for p in [*Path(bad_dir).glob("*.gif"), *Path(bad_dir).glob("wild/*.gif")])
    table = {}
    for n in names:
        print(f"robustness: {n}", file=sys.stderr)
        table[n] = {b: robustness(n, b) for b in bad}
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gifs", default=str(REPO.parent / "shared" / "data" / "gifs"))
    ap.add_argument("--bad", default=str(REPO.parent / "shared" / "data" / "bad"))
    ap.add_argument("--decoders", default=",".join(adapters.DECODERS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--skip-robustness", action="store_true")
    ap.add_argument("--robustness-only", action="store_true", help="redo only the hostile-file table in --out")
    ap.add_argument("--from-json", metavar="RESULTS", help="print the tables of a saved --out file and exit")
    ap.add_argument("--worker"), ap.add_argument("--files-json"), ap.add_argument("--one", nargs=2)
    ap.add_argument("--check", action="store_true"), ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.files_json), args.check)))
        return
    if args.one:
        one(*args.one)
        return
    if args.from_json:  # re-print the tables of an earlier run
        print(markdown(json.loads(Path(args.from_json).read_text()), args.decoders.split(",")))
        return

    names = args.decoders.split(",")
    if args.robustness_only:  # re-measure robustness into an existing --out file
        results = json.loads(Path(args.out).read_text())
        results["robustness"] = robustness_table(names, args.bad)
        Path(args.out).write_text(json.dumps(results, indent=1))
        print(markdown(results, names))
        return
    files = sorted(str(p) for p in Path(args.gifs).glob("*.gif"))
    runs = {n: [] for n in names}
    for rep in range(args.repeats):
        for n in names:
            print(f"repeat {rep + 1}/{args.repeats}: {n}", file=sys.stderr)
            runs[n].append(run_worker(n, files, check=(rep == 0)))
    results = {"files": len(files), "frames_ref": None, "decoders": {}}
    for n in names:
        recs = {}
        for f in files:
            per = [r.get(f, {}) if "crashed" not in r else {"error": r["crashed"]} for r in runs[n]]
            base = dict(per[0])
            t_all = [p["t_all"] for p in per if "t_all" in p]
            t_8 = [p["t_8"] for p in per if "t_8" in p]
            if t_all:
                base["t_all"] = statistics.median(t_all)
            if t_8:
                base["t_8"] = statistics.median(t_8)
            recs[f] = base
        results["decoders"][n] = recs
    if not args.skip_robustness:
        results["robustness"] = robustness_table(names, args.bad)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    print(markdown(results, names))


def markdown(results, names) -> str:
    dec = results["decoders"]
    ours = dec.get("gifqa", {})
    lines = [
        f"Correctness and speed on {results['files']} GIFs (median of repeats):",
        "",
        "| decoder | files opened | frame count = reference | MAE vs reference (mean over files) | files with MAE <= 1.0 "
        "| all frames: frames/s | time vs gifqa, same files | 8 frames at 224x224: ms/file | time vs gifqa, same files |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in names:
        recs = dec[n]
        opened = [f for f, r in recs.items() if "t_all" in r]
        count_ok = [f for f in opened if recs[f].get("n") == recs[f].get("n_ref")]
        maes = [recs[f]["mae"] for f in opened if "mae" in recs[f]]
        good = sum(1 for f in opened if recs[f].get("mae", 99) <= 1.0)
        frames = sum(recs[f]["n"] for f in opened)
        t_all = sum(recs[f]["t_all"] for f in opened)
        same = [f for f in opened if "t_all" in ours.get(f, {})]
        ratio_all = sum(recs[f]["t_all"] for f in same) / max(1e-9, sum(ours[f]["t_all"] for f in same))
        op8 = [f for f in opened if "t_8" in recs[f] and "t_8" in ours.get(f, {})]
        ms8 = 1000 * statistics.mean(recs[f]["t_8"] for f in op8) if op8 else float("nan")
        ratio_8 = sum(recs[f]["t_8"] for f in op8) / max(1e-9, sum(ours[f]["t_8"] for f in op8)) if op8 else float("nan")
        mae = f"{statistics.mean(maes):.2f}" if maes else "-"
        fps = f"{frames / t_all:,.0f}" if t_all else "-"
        r_all = f"{ratio_all:.2f}x" if same else "-"
        r_8 = f"{ms8:.1f} | {ratio_8:.2f}x" if op8 else "- | -"
        lines.append(f"| {n} | {len(opened)} | {len(count_ok)} | {mae} | {good} | {fps} | {r_all} | {r_8} |")
    rob = results.get("robustness")
    if rob and any(rob.values()):
        lines += [
            "",
            f"Robustness on {len(next(iter(rob.values())))} hostile files (all frames, fresh process, 4 GiB / 20 s caps):",
            "",
            "| decoder | error raised | silent: frames, no error | silent: 0 frames, no error | crash (signal) | timeout | out of memory | slowest (s) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n in names:
            outcomes = list(rob[n].values())
            c = {k: sum(1 for o, _ in outcomes if o == k) for k in ("error", "silent", "empty", "crash", "timeout", "oom")}
            slowest = max((t for _, t in outcomes), default=0.0)
            lines.append(
                f"| {n} | {c['error']} | {c['silent']} | {c['empty']} | {c['crash']} | {c['timeout']} | {c['oom']} | {slowest:.1f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
