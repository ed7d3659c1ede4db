"""Keyframe selection behind one interface: ``clipcut``, ``uniform`` (by time) or ``all``.

    select_keyframes(video_or_frames, question, k, strategy, encoder=None) -> int64 indices

``video_or_frames`` is a :class:`gifqa.media.Video` (anything with ``frames``,
``timestamps_ms``, ``durations_ms`` and optionally ``sha256`` / ``frame_indices``) or a bare
uint8 ``[T, H, W, 3]`` array (frames then count as equally long).  Indices point into
``frames`` (not into the source file; map them through ``video.frame_indices``) and come
in time order.

* ``uniform``: the frames on screen at the midpoints of ``k`` equal slices of play time,
  so a frame shown for longer is more likely to be picked (and is picked once per slice it
  covers: exactly ``k`` indices, possibly repeating); no encoder needed.
* ``all``: every frame, ``k`` ignored.
* ``clipcut``: :func:`gifqa.retrieval.clipcut.clipcut_select` on CLIP embeddings of the frames
  and of the query (the question, plus the description when one is given at training
  time); exactly ``k`` indices (see that module for short clips).  Frame embeddings go
  through an :class:`~gifqa.retrieval.cache.EmbeddingCache`, so further questions about the
  same clip encode only the text.
"""

from __future__ import annotations

import hashlib

import numpy as np

from gifqa.errors import ConfigError
from gifqa.media.sampling import uniform_by_time  # same rule as the media layer (one implementation)
from gifqa.retrieval.cache import EmbeddingCache
from gifqa.retrieval.clipcut import DEFAULT_WINDOW, clipcut_select
from gifqa.retrieval.encoders import FrameTextEncoder, check_frames, l2_normalize

KEYFRAME_STRATEGIES = ("clipcut", "uniform", "all")

_default_cache: EmbeddingCache | None = None


def default_cache() -> EmbeddingCache:
    """The process-wide cache (memory + ``$GIFQA_CACHE`` / ``~/.cache/gifqa``)."""
    global _default_cache
    if _default_cache is None:
        _default_cache = EmbeddingCache()
    return _default_cache


def _frames_and_times(video_or_frames):
    if isinstance(video_or_frames, np.ndarray):
        frames = check_frames(video_or_frames)
        n = len(frames)
        return frames, np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    frames = check_frames(video_or_frames.frames)
    starts = np.asarray(getattr(video_or_frames, "timestamps_ms", np.arange(len(frames))), dtype=np.int64)
    durations = np.asarray(getattr(video_or_frames, "durations_ms", np.ones(len(frames))), dtype=np.int64)
    if len(starts) != len(frames) or len(durations) != len(frames):
        raise ValueError("timestamps_ms and durations_ms must have one entry per frame")
    return frames, starts, durations


def content_key(video_or_frames) -> tuple[str, str]:
    """(content hash, sampling description) naming a clip's decoded frames for the cache.

    A Video carries the sha256 of its file bytes; the sampling part records which source
    frames were decoded and at what size, so a different ``max_frames`` or ``size`` is a
    different entry.  A bare array is hashed by its pixels.
    """
    frames = check_frames(video_or_frames if isinstance(video_or_frames, np.ndarray) else video_or_frames.frames)
    shape = "x".join(str(s) for s in frames.shape)
    sha = "" if isinstance(video_or_frames, np.ndarray) else getattr(video_or_frames, "sha256", "") or ""
    if sha:
        idx = getattr(video_or_frames, "frame_indices", None)
        idx = np.arange(len(frames)) if idx is None else np.asarray(idx)
        digest = hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).hexdigest()[:16]
        return sha, f"frames={digest};shape={shape}"
    return hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest(), f"pixels;shape={shape}"


def frame_embeddings(video_or_frames, encoder: FrameTextEncoder, cache: EmbeddingCache | None = None) -> np.ndarray:
    """float32 ``[T, D]`` unit-length frame embeddings, from the cache when it has them."""
    cache = default_cache() if cache is None else cache
    frames = video_or_frames if isinstance(video_or_frames, np.ndarray) else video_or_frames.frames
    sha, sampling = content_key(video_or_frames)
    return cache.get_or_compute(sha, encoder.model_id, sampling, lambda: l2_normalize(encoder.encode_frames(frames)))


def build_query(question: str, description: str | None = None) -> str:
    """The CLIP-Cut query: the question, plus the clip's description when one exists."""
    question = (question or "").strip()
    if description and description.strip():
        return f"{question} {description.strip()}".strip()
    return question


def select_keyframes(
    video_or_frames,
    question: str,
    k: int,
    strategy: str = "clipcut",
    encoder: FrameTextEncoder | None = None,
    *,
    description: str | None = None,
    cache: EmbeddingCache | None = None,
    window: int = DEFAULT_WINDOW,
    pad: bool = True,
) -> np.ndarray:
    """Indices (int64, time order) of the frames to show the model; see the module doc."""
    if strategy not in KEYFRAME_STRATEGIES:
        raise ConfigError(f"unknown keyframe strategy {strategy!r}; choose one of {', '.join(KEYFRAME_STRATEGIES)}")
    frames, starts, durations = _frames_and_times(video_or_frames)
    if len(frames) == 0:
        raise ValueError("a clip needs at least one frame")
    if strategy == "all":
        return np.arange(len(frames), dtype=np.int64)
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if strategy == "uniform":
        return uniform_by_time(starts, durations, k)
    if encoder is None:
        raise ConfigError("strategy 'clipcut' needs an encoder (e.g. CLIPEncoder.from_pretrained(...))")
    query = build_query(question, description)
    if not query:
        raise ValueError("clipcut needs a non-empty question")
    embs = frame_embeddings(video_or_frames, encoder, cache)
    q = l2_normalize(encoder.encode_text([query]))[0]
    return clipcut_select(embs, q, k, window=window, pad=pad).indices
