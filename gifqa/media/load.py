"""``load_video`` and ``probe``: one entry point for every format gifqa reads.

Order of work, so that hostile input costs little: read at most ``max_file_bytes``;
identify the content by magic bytes; parse the structure without pixels and check every
cap; choose the frames; check the output size; only then decode, within a time budget.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Sequence, Union

import numpy as np

from gifqa.errors import MediaError, MediaLimitError
from gifqa.media.limits import MediaLimits, limit_hint
from gifqa.media.sampling import browser_duration_ms, select_indices, timeline
from gifqa.media.sniff import VIDEO_FORMATS, describe_unsupported, sniff_format
from gifqa.media.types import MediaInfo, Video

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def read_source(source: Source, limits: MediaLimits, name: str | None = None) -> tuple[bytes, str]:
    """The bytes of a path (or in-memory bytes) and the name to use in messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
        if len(data) > limits.max_file_bytes:
            raise MediaLimitError(label, _too_big(len(data), limits), limit_hint("max_file_bytes"))
        return data, label
    label = name or os.fspath(source)
    try:
        size = os.stat(source).st_size
        if size > limits.max_file_bytes:
            raise MediaLimitError(label, _too_big(size, limits), limit_hint("max_file_bytes"))
        with open(source, "rb") as fh:
            data = fh.read(limits.max_file_bytes + 1)
    except FileNotFoundError:
        raise MediaError(label, "no such file") from None
    except IsADirectoryError:
        raise MediaError(label, "is a directory, not a file") from None
    except PermissionError:
        raise MediaError(label, "permission denied") from None
    except OSError as exc:
        raise MediaError(label, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > limits.max_file_bytes:  # grew while we read it (a pipe, a device)
        raise MediaLimitError(label, _too_big(len(data), limits), limit_hint("max_file_bytes"))
    return data, label


def _too_big(n: int, limits: MediaLimits) -> str:
    return f"file is {n:,} bytes, over the cap of {limits.max_file_bytes:,}"


def _identify(data: bytes, label: str) -> str:
    fmt = sniff_format(data[:64])
    if fmt == "gif" or fmt in VIDEO_FORMATS:
        return fmt
    problem, hint = describe_unsupported(fmt, data[:64])
    raise MediaError(label, problem, hint)


def _as_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        size = (size, size)
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return w, h


def load_video(
    source: Source,
    max_frames: int | None = None,
    *,
    sampling: str = "uniform",
    step: int = 1,
    size: int | Sequence[int] | None = None,
    background: Sequence[int] = (255, 255, 255),
    limits: MediaLimits | None = None,
    allow_truncated: bool = False,
    name: str | None = None,
) -> Video:
    """Decode a GIF, MP4, MOV, WebM, MKV or AVI file into RGB frames.

    Args:
        source: a path, or the file's bytes (then ``name`` labels it in messages).
        max_frames: how many frames to return; ``None`` returns every frame.
        sampling: ``"uniform"`` (by time: the right choice for GIFs whose frames have
            different delays), ``"all"``, or ``"every_n"`` (every ``step``-th frame).
        size: resize every frame to ``(width, height)`` (an int means square), bicubic.
        background: RGB painted under transparent GIF pixels.
        limits: caps on size, frames, work, memory and time (:class:`MediaLimits`).
        allow_truncated: for a file that ends early, return the whole frames before the
            cut instead of raising :class:`~gifqa.errors.TruncatedMediaError`.

    Raises:
        gifqa.errors.MediaError (and its subclasses) for anything wrong with the file.
    """
    limits = limits or MediaLimits()
    t0 = time.monotonic()
    deadline = t0 + limits.timeout_s
    data, label = read_source(source, limits, name)
    fmt = _identify(data, label)
    out_size = _as_size(size)
    if fmt == "gif":
        from gifqa.media.gif_decoder import iter_gif_frames
        from gifqa.media.gif_structure import parse_gif_lenient

        structure, truncation = parse_gif_lenient(data, label, limits)
        if truncation is not None and not allow_truncated:
            raise truncation
        delays = [browser_duration_ms(f.delay_cs * 10) for f in structure.frames]
        starts, durations = timeline(delays)
        width, height = structure.canvas_width, structure.canvas_height
        loop_count = structure.loop_count
        truncated = truncation is not None

        def frames_for(idx):
            return iter_gif_frames(
                data, structure, idx, path=label, size=out_size, background=tuple(background),
                deadline=deadline, limits=limits,
            )
    else:
        from gifqa.media.video_decoder import iter_video_frames, parse_video_structure

        structure = parse_video_structure(data, label, limits)
        starts, durations = structure.starts_ms, structure.durations_ms
        width, height = structure.width, structure.height
        loop_count = None
        truncated = False

        def frames_for(idx):
            return iter_video_frames(
                data, structure, idx, path=label, size=out_size, deadline=deadline, limits=limits
            )

    try:
        indices = select_indices(starts, durations, max_frames=max_frames, sampling=sampling, step=step)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    out_w, out_h = out_size if out_size is not None else (width, height)
    nbytes = int(indices.size) * out_w * out_h * 3
    if nbytes > limits.max_decoded_bytes:
        raise MediaLimitError(
            label,
            f"{indices.size} frames of {out_w}x{out_h} need {nbytes / 2**20:,.0f} MiB, over the cap of "
            f"{limits.max_decoded_bytes / 2**20:,.0f} MiB",
            "ask for fewer frames (max_frames / --frames) or a smaller size, or raise --max-decoded-mb",
        )
    frames = np.empty((indices.size, out_h, out_w, 3), dtype=np.uint8)
    got = 0
    try:
        for k, (_, frame) in enumerate(frames_for(indices)):
            frames[k] = frame
            got = k + 1
    except MediaError as exc:
        from gifqa.errors import TruncatedMediaError

        if not (allow_truncated and isinstance(exc, TruncatedMediaError) and got > 0):
            raise
        truncated = True
        frames = frames[:got]
        indices = indices[:got]
    n_source = len(starts)
    return Video(
        frames=frames,
        timestamps_ms=np.asarray(starts, dtype=np.int64)[indices],
        durations_ms=np.asarray(durations, dtype=np.int64)[indices],
        frame_indices=indices.astype(np.int64),
        width=out_w,
        height=out_h,
        source_format=fmt,
        n_source_frames=n_source,
        duration_ms=int(starts[-1] + durations[-1]),
        loop_count=loop_count,
        truncated=truncated,
        path=label,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def probe(
    source: Source,
    *,
    limits: MediaLimits | None = None,
    verify: bool = True,
    allow_truncated: bool = False,
    name: str | None = None,
) -> MediaInfo:
    """Facts about a media file: format, size, frames, timing, loop count.

    With ``verify`` (the default) every frame's pixel data is decoded too, so that corrupt
    data is found here rather than halfway through a batch job.
    """
    limits = limits or MediaLimits()
    deadline = time.monotonic() + limits.timeout_s
    data, label = read_source(source, limits, name)
    fmt = _identify(data, label)
    sha = hashlib.sha256(data).hexdigest()
    if fmt == "gif":
        from gifqa.media.gif_decoder import verify_gif_pixels
        from gifqa.media.gif_structure import DISPOSAL_NAMES, parse_gif_lenient

        s, truncation = parse_gif_lenient(data, label, limits)
        if truncation is not None and not allow_truncated:
            raise truncation
        if verify:
            verify_gif_pixels(data, s, path=label, deadline=deadline, limits=limits)
        durations = [browser_duration_ms(f.delay_cs * 10) for f in s.frames]
        return MediaInfo(
            path=label,
            format="gif",
            format_detail=f"GIF{s.version}",
            width=s.screen_width,
            height=s.screen_height,
            n_frames=s.n_frames,
            duration_ms=int(sum(durations)),
            frame_durations_ms=durations,
            loop_count=s.loop_count,
            bytes=len(data),
            sha256=sha,
            truncated=truncation is not None,
            verified=verify,
            details={
                "canvas": [s.canvas_width, s.canvas_height],
                "raw_delays_cs": [f.delay_cs for f in s.frames],
                "disposal_methods": sorted({DISPOSAL_NAMES[f.disposal] for f in s.frames}),
                "transparency": any(f.transparent_index is not None for f in s.frames),
                "interlaced_frames": sum(f.interlaced for f in s.frames),
                "local_palette_frames": sum(1 for f in s.frames if f.local_palette_size),
                "global_palette_size": s.global_palette_size,
                "comments": s.comments,
                "has_trailer": s.has_trailer,
                "trailing_bytes": s.trailing_bytes,
            },
        )
    from gifqa.media.video_decoder import iter_video_frames, parse_video_structure

    s = parse_video_structure(data, label, limits)
    if verify:
        for _ in iter_video_frames(data, s, [s.n_frames - 1], path=label, size=(2, 2), deadline=deadline, limits=limits):
            pass
    return MediaInfo(
        path=label,
        format=fmt,
        format_detail=f"{s.codec} in {s.container_format}",
        width=s.width,
        height=s.height,
        n_frames=s.n_frames,
        duration_ms=int(s.starts_ms[-1] + s.durations_ms[-1]),
        frame_durations_ms=[int(d) for d in s.durations_ms],
        loop_count=None,
        bytes=len(data),
        sha256=sha,
        verified=verify,
        details={"codec": s.codec, "container": s.container_format},
    )
