"""Frozen-feature cache: the vision tower's per-frame features of every training clip, on disk.

The vision tower is frozen (``VisionTower`` never trains), so its output for a clip depends only on
the file's bytes, the tower (config *and* weights), the number of frames and the frame sampling.
A pre-pass computes ``model.vision(pixel_values)`` -> ``[T, N, D_v]`` once per clip and stores it in
safetensors shards; training then reads the features and runs only the Q-Former onwards: no GIF
decoding and no vision forward per epoch.  (The same idea as the pre-extracted clip features of
ClipBERT / Video-LLaMA style pipelines; what is cached here is exactly the tensor the projector
receives, so training with and without the cache computes the same losses.)

Layout::

    <cache_dir>/<key>/cache.json                 what the key stands for (human-readable)
    <cache_dir>/<key>/shard-<rank>-<id>.safetensors   tensors named by the clip file's sha256, [T, N, D_v]
    <cache_dir>/<key>/shard-<rank>-<id>.json          {"format", "clips": [sha256, ...]} written after the shard

``key`` hashes the vision config, the tower's weights, ``frames`` and ``sampling``: a cache directory
can be shared by runs and recipes, and a different tower never reads another tower's features.
Shards are written to a temp name and renamed, and a shard counts only once its ``.json`` exists,
so a pre-pass killed at any moment leaves no half-read entry.  Each process of a distributed
pre-pass writes its own shards (no shared index file to race on).  No pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import uuid
from contextlib import nullcontext
from pathlib import Path

import torch

from gifqa.errors import DataError
from gifqa.workers import ordered_map

CACHE_FORMAT = 1
SAMPLING = "uniform"  # the sampling ConcatExamples decodes with (load_video's default)
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def file_sha256(path, _memo: dict = {}) -> str:  # noqa: B006 - a per-process memo is the point
    """Hex sha256 of a file's bytes (memoised per process and path)."""
    path = str(path)
    if path not in _memo:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _memo[path] = h.hexdigest()
    return _memo[path]


def storage_dtype(vision_dtype: str, precision: str) -> torch.dtype:
    """Features are stored in the training dtype: bf16/fp16 when the run or the tower is half
    precision (what the projector computes in under autocast), float32 otherwise (lossless)."""
    if precision == "bf16" or vision_dtype == "bfloat16":
        return torch.bfloat16
    if precision == "fp16" or vision_dtype == "float16":
        return torch.float16
    return torch.float32


def cache_key(model, frames: int, sampling: str = SAMPLING, dtype: torch.dtype = torch.float32) -> tuple[str, dict]:
    """(short hex key, what it stands for).  The tower's weights are hashed too: a randomly
    initialised tower (the tiny preset) differs with its seed, a fine-tuned one with its file."""
    desc = {
        "format": CACHE_FORMAT,
        "vision": dataclasses.asdict(model.config.vision),
        "frames": int(frames),
        "sampling": sampling,
        "dtype": str(dtype).removeprefix("torch."),
    }
    h = hashlib.sha256(json.dumps(desc, sort_keys=True).encode())
    for name, t in sorted(model.vision.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    key = h.hexdigest()[:24]
    desc["weights_and_config_sha256"] = h.hexdigest()
    return key, desc


class FeatureCache:
    """Read side: ``get(sha256) -> [T, N, D_v] float32``.  Shard files are opened lazily in the
    process that reads them (each DataLoader worker opens its own; nothing open is pickled)."""

    def __init__(self, root, key: str):
        self.dir = Path(root) / key
        self.key = key
        self.index: dict[str, str] = {}  # clip sha256 -> shard file name
        self._handles: dict = {}

    def refresh(self) -> "FeatureCache":
        self.index = {}
        if self.dir.is_dir():
            for meta in sorted(self.dir.glob("shard-*.json")):
                shard = meta.with_suffix(".safetensors")
                if not shard.exists():
                    continue
                for sha in json.loads(meta.read_text())["clips"]:
                    self.index.setdefault(sha, shard.name)
        return self

    def __contains__(self, sha: str) -> bool:
        return sha in self.index

    def __len__(self) -> int:
        return len(self.index)

    def get(self, sha: str, path: str = "") -> torch.Tensor:
        from safetensors import safe_open

        name = self.index.get(sha)
        if name is None:
            raise DataError(path or sha, f"no cached features in {self.dir} (run the pre-pass again: "
                            "train with the same --data.feature_cache)")
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = safe_open(str(self.dir / name), framework="pt")
        return handle.get_tensor(sha).float()

    def write_shard(self, tensors: dict[str, torch.Tensor], rank: int, desc: dict) -> Path:
        """Atomically add a shard: tensors first (temp + rename), then the .json that makes it count."""
        from safetensors.torch import save_file

        self.dir.mkdir(parents=True, exist_ok=True)
        info = self.dir / "cache.json"
        if not info.exists():
            _atomic_write(info, json.dumps(desc, indent=1) + "\n")
        stem = f"shard-{rank:03d}-{uuid.uuid4().hex[:12]}"
        tmp = self.dir / f".{stem}.safetensors.tmp"
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"format": str(CACHE_FORMAT)})
        os.replace(tmp, self.dir / f"{stem}.safetensors")
        _atomic_write(self.dir / f"{stem}.json", json.dumps({"format": CACHE_FORMAT, "clips": sorted(tensors)}) + "\n")
        return self.dir / f"{stem}.safetensors"

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@torch.no_grad()
def build_feature_cache(model, paths, cache_dir, frames: int, *, precision: str = "no", rank: int = 0,
                        world: int = 1, batch_clips: int = 16, shard_clips: int = 512, limits=None,
                        autocast=None, log: bool = True, workers: int | None = None) -> tuple[FeatureCache, dict]:
    """The pre-pass: features of every clip in ``paths`` not yet cached.  Process ``rank`` of
    ``world`` handles every ``world``-th distinct file.  Returns (cache, {"clips", "reused", "computed"})
    for this process; call ``cache.refresh()`` after every process has finished.

    ``autocast``: a context factory the training forward runs under (``accelerator.autocast``), so
    the cached features are computed exactly as the training step would compute them.  ``workers``:
    processes decoding the clips (default ``gifqa.workers.default_workers()``).
    """
    dtype = storage_dtype(model.config.vision.dtype, precision)
    key, desc = cache_key(model, frames, SAMPLING, dtype)
    cache = FeatureCache(cache_dir, key).refresh()
    by_sha: dict[str, str] = {}
    for p in sorted({str(p) for p in paths}):
        by_sha.setdefault(file_sha256(p), p)
    mine = sorted(by_sha)[rank::world]
    todo = [sha for sha in mine if sha not in cache]
    stats = {"clips": len(mine), "reused": len(mine) - len(todo), "computed": len(todo)}
    if log and todo:
        print(f"feature cache {cache.dir}: encoding {len(todo)} clips (rank {rank})", file=sys.stderr)
    pending: dict[str, torch.Tensor] = {}
    device = model.device
    ctx = autocast or nullcontext
    # Decoding is most of the pre-pass on a CPU: worker processes decode (gifqa.workers.ordered_map; the
    # pixels are the same for any number), this process runs the tower on batches of them.
    jobs = [(by_sha[s], frames, SAMPLING, limits, model.config.vision) for s in todo]
    with ordered_map(_decode_for_cache, jobs, workers, chunksize=8) as decoded:
        for start in range(0, len(todo), batch_clips):
            shas = todo[start : start + batch_clips]
            pixels = [torch.from_numpy(next(decoded)) for _ in shas]
            counts = [len(p) for p in pixels]
            with ctx():
                feats = model.vision(torch.cat(pixels).to(device))  # [sum T, N, D_v]
            for sha, f in zip(shas, feats.split(counts)):
                pending[sha] = f.to(dtype).cpu()
            if len(pending) >= shard_clips:
                cache.write_shard(pending, rank, desc)
                pending = {}
    if pending:
        cache.write_shard(pending, rank, desc)
    return cache.refresh(), stats


def _decode_for_cache(job):
    """One clip of the pre-pass (in a worker process): float32 pixels [T, 3, S, S] as numpy."""
    from gifqa.media import load_video
    from gifqa.model.vision import preprocess_frames

    path, frames, sampling, limits, vision = job
    return preprocess_frames(load_video(path, frames, sampling=sampling, limits=limits).frames, vision).numpy()


def encode_from_features(model):
    """A stand-in for ``model.encode_frames`` that takes cached vision features ``[B, T, N, D_v]``
    instead of pixels and runs the rest of it (projector + validity mask) as the model does."""

    def encode(features: torch.Tensor, frame_mask: torch.Tensor | None = None, text_ids=None, text_mask=None):
        if features.ndim == 3:
            features = features[None]
        # float32, as VisionTower returns (the cache may store float16)
        return model.project_frames(features.float(), frame_mask, text_ids, text_mask)

    return encode


class precomputed_features:
    """Context: while inside, ``model.encode_frames`` reads cached features (an instance attribute
    shadowing the method), so ``model.forward`` / ``model.reaction_loss`` run unchanged after the
    vision tower.  Leaves the model as it was on exit."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.model.encode_frames = encode_from_features(self.model)
        return self.model

    def __exit__(self, *exc):
        del self.model.encode_frames
        return False
