"""What every command that runs a model shares: naming a model, and turning media into its input.

One way to name a model: a local checkpoint directory, a preset name (``gifqa models`` lists
them), or a hub id (downloaded on first use, then cached by huggingface_hub).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from gifqa.errors import ConfigError, GifqaError, ModelNotFoundError


def resolve_model(name: str, *, device: str | None = None):
    """Load a :class:`gifqa.model.GifQAModel` from a checkpoint dir, a preset or a hub id, in eval mode."""
    from gifqa.model import GifQAModel
    from gifqa.model.presets import list_presets

    path = Path(name).expanduser()
    checkpoint_dir = None  # where relative paths in the config (keyframes.clip_model) point
    if path.is_dir():
        model = GifQAModel.from_pretrained(str(path))
        checkpoint_dir = path.resolve()
    elif name in list_presets():
        # A preset that names hub ids is meant with its pretrained weights (downloaded once,
        # then cached); one without (tiny) is random by design.
        model = _load_hub_backed(name, lambda: GifQAModel.from_preset(name, pretrained=preset_uses_hub(name)))
    elif os.sep in name and not name.count("/") == 1:
        raise ModelNotFoundError(f"{name}: no such checkpoint directory")
    elif "/" in name:
        model = _load_hub_backed(name, lambda: GifQAModel.from_pretrained(name))
        checkpoint_dir = _hub_snapshot(name)
    else:
        raise ModelNotFoundError(
            f"{name!r} is not a checkpoint directory, a preset ({', '.join(list_presets())}) or a hub id (org/name)"
        )
    model.checkpoint_dir = checkpoint_dir
    if device is not None:
        model.to(device)
    return model.eval()


def _hub_snapshot(name: str):
    """The local snapshot folder of a hub checkpoint that was just loaded (already cached)."""
    try:
        from gifqa.model.checkpoint import _resolve

        return _resolve(name, None)
    except GifqaError:
        return None


def preset_uses_hub(name: str) -> bool:
    from gifqa.model.presets import load_preset

    cfg = load_preset(name)
    return bool(cfg.vision.hub_id or cfg.llm.hub_id or cfg.projector.init_from)


def offline_choices() -> str:
    """What to run with no hub access, for error messages."""
    shipped = Path(__file__).resolve().parent.parent / "checkpoints" / "gifqa-shapes"
    where = f" ({shipped})" if (shipped / "config.json").exists() else " (in a source checkout of gifqa)"
    return (f"--model checkpoints/gifqa-shapes{where}, trained offline on the gifqa-shapes world; "
            "--model tiny (random weights: smoke tests only)")


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


# -- keyframes ---------------------------------------------------------------------------------

STRATEGIES = ("clipcut", "uniform", "all")


@dataclass
class Keyframes:
    """The frames a model is shown for one question, in time order."""

    frames: object  # uint8 [k, H, W, 3] (np.ndarray), the chosen frames
    frame_indices: list[int]  # index of each chosen frame in the source file, ascending
    timestamps_ms: list[int]  # start time of each chosen frame in the source
    decode_ms: float  # reading + decoding (0 when the decoded clip was still in memory)
    retrieval_ms: float  # choosing the frames: CLIP encoding + window ranking (0 for uniform / all)


def clip_model_path(clip_model: str | None, checkpoint_dir) -> str | None:
    """``keyframes.clip_model`` as a loadable name: a relative path is relative to the checkpoint dir.

    ``./x`` / ``../x`` / ``x`` that exists under the checkpoint dir is a directory; anything
    else (``openai/clip-vit-base-patch32``) is a hub id.
    """
    if not clip_model:
        return None
    p = Path(clip_model).expanduser()
    if p.is_absolute():
        return str(p)
    if checkpoint_dir is not None:
        local = Path(checkpoint_dir) / p
        if local.exists() or clip_model.startswith(("./", "../")):
            return str(local.resolve())
    return clip_model


def _encoder_cache_id(clip_model: str, revision: str | None) -> str:
    """Names the CLIP weights in embedding-cache keys: a directory by path + weights size and
    mtime (retrained weights at the same path are a new id), a hub id by id@revision."""
    p = Path(clip_model)
    if p.is_dir():
        stamp = ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
                         for f in sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin")))
        return f"{p.resolve()}#{stamp}"
    return f"{clip_model}@{revision or 'main'}"


class KeyframeSelector:
    """Decode a clip and choose the frames the model sees: one code path for ``gifqa ask``,
    ``caption``, ``react`` and the evaluation harness.

    * ``uniform``: the media layer decodes only the ``frames`` frames on screen at the
      midpoints of equal slices of play time.
    * ``all``: every frame (at most the model's ``max_frames``).
    * ``clipcut``: every frame is decoded (within the media caps), embedded with the CLIP
      named by ``clip_model`` (through the embedding cache: a second question about the same
      file encodes only the text), and :func:`gifqa.retrieval.select_keyframes` returns the
      ``frames`` best-matching windows' frames in time order (see gifqa/retrieval/clipcut.py).
      The last few decoded clips are kept in memory (bounded by bytes) so several questions
      about one GIF decode it once.
    """

    def __init__(self, strategy: str, frames: int, *, max_frames: int, clip_model: str | None = None,
                 clip_revision: str | None = None, encoder=None, limits=None, device: str | None = None,
                 cache=None, max_cached_bytes: int = 512 * 2**20):
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown keyframe sampling {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if frames <= 0:
            raise ConfigError(f"--frames must be positive, got {frames}")
        if frames > max_frames:
            raise ConfigError(f"--frames {frames} is more than this model takes ({max_frames})")
        if strategy == "clipcut" and encoder is None and not clip_model:
            raise ConfigError("--sampling clipcut needs a CLIP to score frames and this model's config names none "
                              "(keyframes.clip_model): pass --clip-model HUB_ID_OR_DIR "
                              "(e.g. openai/clip-vit-base-patch32), or use --sampling uniform")
        self.strategy = strategy
        self.frames = int(frames)
        self.max_frames = int(max_frames)
        self.clip_model = clip_model
        self.clip_revision = clip_revision
        self.limits = limits
        self.device = device
        self.cache = cache  # EmbeddingCache; None = the process-wide default (memory + disk)
        self._encoder = encoder
        self._videos: OrderedDict = OrderedDict()  # ident -> decoded Video (clipcut)
        self.max_cached_bytes = int(max_cached_bytes)

    @classmethod
    def for_model(cls, model, *, strategy: str | None = None, frames: int | None = None,
                  clip_model: str | None = None, clip_revision: str | None = None, **kwargs) -> "KeyframeSelector":
        """Defaults from ``model.config.keyframes``; the arguments (CLI flags) override them."""
        cfg = model.config.keyframes
        max_frames = model.config.projector.max_frames
        if clip_model:
            clip = clip_model_path(clip_model, Path.cwd())
        else:
            clip, clip_revision = clip_model_path(cfg.clip_model, getattr(model, "checkpoint_dir", None)), cfg.clip_revision
        if "device" not in kwargs:
            kwargs["device"] = str(next(model.parameters()).device)
        return cls(strategy or cfg.strategy, frames or cfg.frames or max_frames, max_frames=max_frames,
                   clip_model=clip, clip_revision=clip_revision, **kwargs)

    @property
    def needs_question(self) -> bool:
        return self.strategy == "clipcut"

    @property
    def encoder(self):
        """The CLIP for clipcut, loaded on first use (:meth:`load_encoder` loads it up front)."""
        if self._encoder is None:
            from gifqa.retrieval.encoders import CLIPEncoder

            enc = CLIPEncoder.from_pretrained(self.clip_model, device=self.device, revision=self.clip_revision)
            enc.model_id = _encoder_cache_id(self.clip_model, self.clip_revision)
            self._encoder = enc
        return self._encoder

    def load_encoder(self) -> None:
        if self.strategy == "clipcut":
            self.encoder  # noqa: B018 - loads it

    def select(self, source, question: str | None = None, *, name: str | None = None,
               no_question: str = "error") -> Keyframes:
        """Keyframes of ``source`` (a path, or the file's bytes with ``name``) for ``question``.

        ``no_question``: what clipcut does without a question: ``"error"`` (the harness, where
        a missing question is a bug) or ``"uniform"`` (captions and reactions have no query).
        """
        from gifqa.media import load_video

        t0 = time.perf_counter()
        strategy = self.strategy
        if strategy == "clipcut" and not (question or "").strip():
            if no_question != "uniform":
                raise GifqaError("--sampling clipcut chooses frames by the question, and none was given")
            strategy = "uniform"
        if strategy == "uniform":
            video = load_video(source, self.frames, limits=self.limits, name=name)
            return Keyframes(video.frames, video.frame_indices.tolist(), video.timestamps_ms.tolist(),
                             1000 * (time.perf_counter() - t0), 0.0)
        if strategy == "all":
            video = load_video(source, sampling="all", limits=self.limits, name=name)
            if len(video) > self.max_frames:
                raise GifqaError(f"{video.path}: has {len(video)} frames; --sampling all takes at most "
                                 f"{self.max_frames} for this model (use --sampling uniform or clipcut)")
            return Keyframes(video.frames, video.frame_indices.tolist(), video.timestamps_ms.tolist(),
                             1000 * (time.perf_counter() - t0), 0.0)
        from gifqa.retrieval.sampling import default_cache, select_keyframes

        video, cached = self._decoded(source, name)
        t1 = time.perf_counter()
        if cached:
            t0 = t1  # decoded for an earlier question
        idx = select_keyframes(video, question, self.frames, "clipcut", self.encoder,
                               cache=self.cache if self.cache is not None else default_cache())
        t2 = time.perf_counter()
        return Keyframes(video.frames[idx], video.frame_indices[idx].tolist(), video.timestamps_ms[idx].tolist(),
                         1000 * (t1 - t0), 1000 * (t2 - t1))

    def _decoded(self, source, name):
        from gifqa.media import load_video

        ident = str(source) if not isinstance(source, (bytes, bytearray)) else hashlib.sha256(source).hexdigest()
        if ident in self._videos:
            self._videos.move_to_end(ident)
            return self._videos[ident], True
        video = load_video(source, sampling="all", limits=self.limits, name=name)
        self._videos[ident] = video
        while len(self._videos) > 1 and sum(v.frames.nbytes for v in self._videos.values()) > self.max_cached_bytes:
            self._videos.popitem(last=False)
        return video, False


class ClipLoader:
    """pixel_values for the evaluation harness: :class:`KeyframeSelector` + the model's
    preprocessing, keeping the last few so repeated questions are free.

    ``frames`` / ``sampling`` / ``clip_model`` default to ``model.config.keyframes``.  With
    ``clipcut`` the frames depend on the question: call ``loader(path, question)``.
    """

    def __init__(self, model, *, frames: int | None = None, sampling: str | None = None,
                 clip_model: str | None = None, limits=None, cache_size: int = 32, selector=None):
        self.model = model
        self.selector = selector or KeyframeSelector.for_model(model, strategy=sampling, frames=frames,
                                                               clip_model=clip_model, limits=limits)
        self.selector.load_encoder()
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size

    @property
    def frames(self) -> int:
        return self.selector.frames

    @property
    def sampling(self) -> str:
        return self.selector.strategy

    def __call__(self, path, question: str | None = None):
        """pixel_values [T, 3, S, S] for the clip at ``path`` (raises MediaError for bad media)."""
        key = (str(path), question if self.selector.needs_question else None)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        keyframes = self.selector.select(path, question)
        pixels = self.model.preprocess_frames(keyframes.frames)
        self.cache[key] = pixels
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return pixels
