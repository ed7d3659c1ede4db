"""How fast `gifqa --help` and every subcommand's `--help` answer: process start to exit.

    python benchmarks/bench_cli_help.py [--repeats 15] [--out benchmarks/results/cli_help.json]

Each command runs as a fresh `python -m gifqa ... --help` process, alternating with a bare
`python -c pass` (the interpreter's own start-up) so both see the same machine load; the
table shows the median wall time of each and the difference, which is what gifqa adds
(argument parser construction: the command modules import only the standard library).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_report.py
from _report import print_table, save_json  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "cli_help.json"))
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from gifqa.cli.main import COMMAND_MODULES

    env = dict(os.environ, PYTHONPATH=str(REPO))
    commands = [[]] + [[importlib.import_module(m).NAME] for m in COMMAND_MODULES]
    baseline_cmd = [sys.executable, "-c", "pass"]
    rows = []
    for cmd in commands:
        full = [sys.executable, "-m", "gifqa", *cmd, "--help"]
        wall(full, env)  # warm the file cache
        ours, base = [], []
        for _ in range(args.repeats):
            ours.append(wall(full, env))
            base.append(wall(baseline_cmd, env))
        rows.append({"command": " ".join(["gifqa", *cmd, "--help"]), "median_s": statistics.median(ours),
                     "python_pass_median_s": statistics.median(base)})
    machine = f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores visible, Python {platform.python_version()}"
    print(f"median of {args.repeats} fresh processes each; {machine}\n")
    print_table(["command", "wall (ms)", "`python -c pass` (ms)", "added by gifqa (ms)"],
                [[f"`{r['command']}`", f"{1e3 * r['median_s']:.0f}", f"{1e3 * r['python_pass_median_s']:.0f}",
                  f"{1e3 * (r['median_s'] - r['python_pass_median_s']):.0f}"] for r in rows])
    save_json(args.out, {"machine": machine, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
