"""Helpers of the training tests: run the real entry point, read what a run wrote."""

import json
import os
import subprocess
import sys

from safetensors.torch import load_file

from tests.shared_data import REPO

RECIPE = REPO / "scripts" / "configs" / "tiny.yaml"
ENV = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")


def train(run_dir, *overrides, launcher=None, recipe=RECIPE):
    """``python scripts/train.py --config RECIPE --output_dir RUN_DIR OVERRIDES`` (or under ``launcher``)."""
    cmd = [*(launcher or [sys.executable]), str(REPO / "scripts" / "train.py"), "--config", str(recipe),
           "--output_dir", str(run_dir), *map(str, overrides)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def metrics(run_dir):
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def train_rows(run_dir):
    """The per-step training rows of metrics.jsonl (eval rows left out)."""
    return [r for r in metrics(run_dir) if "loss" in r]


def trained_tensors(run_dir, name="last"):
    ckpt = run_dir / "checkpoints" / name
    out = dict(load_file(ckpt / "gifqa_modules.safetensors"))
    for f in (ckpt / "adapter").glob("*.safetensors"):
        out.update({f"adapter.{k}": v for k, v in load_file(f).items()})
    return out
