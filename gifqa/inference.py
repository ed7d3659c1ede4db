"""What every command that runs a model shares: naming a model, and turning media into its input.

One way to name a model: a local checkpoint directory, a preset name (``gifqa models`` lists
them), or a hub id (downloaded on first use, then cached by huggingface_hub).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path

from gifqa.errors import ModelNotFoundError


def resolve_model(name: str, *, device: str | None = None):
    """Load a :class:`gifqa.model.GifQAModel` from a checkpoint dir, a preset or a hub id, in eval mode."""
    from gifqa.model import GifQAModel
    from gifqa.model.presets import list_presets

    path = Path(name).expanduser()
    if path.is_dir():
        model = GifQAModel.from_pretrained(str(path))
    elif name in list_presets():
        # A preset that names hub ids is meant with its pretrained weights (downloaded once,
        # then cached); one without (tiny) is random by design.
        model = _load_hub_backed(name, lambda: GifQAModel.from_preset(name, pretrained=preset_uses_hub(name)))
    elif os.sep in name and not name.count("/") == 1:
        raise ModelNotFoundError(f"{name}: no such checkpoint directory")
    elif "/" in name:
        model = _load_hub_backed(name, lambda: GifQAModel.from_pretrained(name))
    else:
        raise ModelNotFoundError(
            f"{name!r} is not a checkpoint directory, a preset ({', '.join(list_presets())}) or a hub id (org/name)"
        )
    if device is not None:
        model.to(device)
    return model.eval()


def preset_uses_hub(name: str) -> bool:
    from gifqa.model.presets import load_preset

    cfg = load_preset(name)
    return bool(cfg.vision.hub_id or cfg.llm.hub_id or cfg.projector.init_from)


def offline_choices() -> str:
    """What to run with no hub access, for error messages."""
    shipped = Path(__file__).resolve().parent.parent / "checkpoints" / "gifqa-shapes"
    choices = []
    if (shipped / "config.json").exists():
        choices.append(f"--model {shipped} (trained offline on gifqa-shapes)")
    choices.append("--model tiny (random weights: for smoke tests only)")
    return "; ".join(choices)


def _load_hub_backed(name: str, load):
    from gifqa.errors import CheckpointError, ConfigError

    try:
        return load()
    except (ModelNotFoundError, OSError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
        why = "it is not in the local cache and hub access is off (--offline / HF_HUB_OFFLINE=1)" if offline else (
            f"it could not be fetched ({' '.join(str(exc).split())[:200]})")
        raise ModelNotFoundError(f"model {name}: {why}. Offline choices: {offline_choices()}") from None
    except (CheckpointError, ConfigError):
        raise


def model_fingerprint(name: str) -> str:
    """sha256 of a checkpoint directory's files (sorted by path), or of a preset's config."""
    h = hashlib.sha256()
    path = Path(name)
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(f.read_bytes())
        return h.hexdigest()
    try:
        from gifqa.model.presets import load_preset

        h.update(json.dumps(load_preset(name).to_dict(), sort_keys=True).encode())
    except Exception:  # noqa: BLE001 - a hub id: its revision is in the config we record
        h.update(name.encode())
    return h.hexdigest()


class ClipLoader:
    """Decode + preprocess clips for a model, keeping the last few so repeated questions are free."""

    def __init__(self, model, *, frames: int, sampling: str = "uniform", limits=None, cache_size: int = 32):
        self.model = model
        self.frames = frames
        self.sampling = sampling
        self.limits = limits
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size

    def __call__(self, path):
        """pixel_values [T, 3, S, S] for the clip at ``path`` (raises MediaError for bad media)."""
        from gifqa.media import load_video

        key = str(path)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        if self.sampling not in ("uniform", "all"):
            raise ValueError(f"unknown sampling {self.sampling!r}; choose uniform or all")
        video = load_video(path, self.frames, sampling="uniform", limits=self.limits)
        pixels = self.model.preprocess_frames(video.frames)
        self.cache[key] = pixels
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return pixels
