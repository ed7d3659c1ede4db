"""MP4 / MOV / WebM / MKV / AVI through PyAV (FFmpeg).

Why PyAV: of the measured decoders it is the one that opened every self-encoded clip
(H.264, VP9, AV1, odd widths); decord and eva-decord fail on AV1 and narrow clips, OpenCV
returns 0 frames on AV1 without an error (../shared/research/decoders.md, report.md).

Two passes over the container: demux only (no decoding) to learn how many frames there are
and when each starts, so that caps are checked and frames chosen before any pixel is
decoded; then decode in order and convert only the frames asked for.
"""

from __future__ import annotations

import io
import time

import numpy as np

from gifqa.errors import MediaError, MediaLimitError, TruncatedMediaError
from gifqa.media.limits import MediaLimits, limit_hint


class VideoStructure:
    """Demuxed facts of the first video stream."""

    def __init__(self, width, height, codec, starts_ms, durations_ms, container_format):
        self.width = width  # coded frame width (pixels)
        self.height = height
        self.codec = codec  # e.g. "h264", "vp9", "av1"
        self.starts_ms = starts_ms  # int64 [N] presentation time of each frame, from 0
        self.durations_ms = durations_ms  # int64 [N]
        self.container_format = container_format

    @property
    def n_frames(self) -> int:
        return int(self.starts_ms.size)


def _open(data: bytes, path):
    import av

    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except Exception as exc:  # av.error.InvalidDataError and friends
        raise MediaError(path, f"video cannot be opened: {_av_message(exc)}") from exc


def _av_message(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def parse_video_structure(data: bytes, path=None, limits: MediaLimits | None = None) -> VideoStructure:
    """Read stream headers and packet timestamps (no decoding); enforce the caps."""
    limits = limits or MediaLimits()
    container = _open(data, path)
    try:
        if not container.streams.video:
            raise MediaError(path, "file has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(path, f"video stream declares a frame size of {width}x{height}")
        if width * height > limits.max_pixels:
            raise MediaLimitError(
                path,
                f"video frames are {width}x{height} = {width * height:,} pixels, over the cap of {limits.max_pixels:,}",
                limit_hint("max_pixels"),
            )
        pts = []
        durations = []
        try:
            for packet in container.demux(stream):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if packet.size == 0 or stamp is None:
                    continue  # flush packets carry no frame
                pts.append(int(stamp))
                durations.append(int(packet.duration or 0))
                if len(pts) > limits.max_source_frames:
                    raise MediaLimitError(
                        path, f"video has more than {limits.max_source_frames} frames", limit_hint("max_source_frames")
                    )
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(path, f"video is corrupt: {_av_message(exc)}") from exc
        if not pts:
            raise MediaError(path, "video stream holds no frames")
        tb = float(stream.time_base) if stream.time_base else 0.0
        order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
        pts_sorted = np.asarray(pts, dtype=np.int64)[order]
        starts_ms = np.round((pts_sorted - pts_sorted[0]) * tb * 1000.0).astype(np.int64)
        durs = np.diff(starts_ms)
        last = int(round(np.asarray(durations, dtype=np.int64)[order][-1] * tb * 1000.0))
        if last <= 0:
            last = int(np.median(durs)) if durs.size else 0
        durations_ms = np.append(durs, last).astype(np.int64)
        return VideoStructure(width, height, ctx.name, starts_ms, durations_ms, container.format.name)
    finally:
        container.close()


def iter_video_frames(
    data: bytes,
    structure: VideoStructure,
    indices,
    *,
    path=None,
    size: tuple[int, int] | None = None,
    deadline: float | None = None,
    limits: MediaLimits | None = None,
):
    """Yield ``(source_index, rgb uint8 [H, W, 3])`` for each wanted (sorted) index.

    Frames come out of the decoder in presentation order, so the i-th decoded frame is
    source frame i.  A stream that yields fewer frames than it demuxed raises
    :class:`TruncatedMediaError` with the number that did decode.
    """
    limits = limits or MediaLimits()
    wanted = list(indices)
    if not wanted:
        return
    width, height = size if size is not None else (structure.width, structure.height)
    container = _open(data, path)
    pos = 0
    i = -1
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: ~2x on 2 cores for H.264
        try:
            for frame in container.decode(stream):
                i += 1
                if deadline is not None and time.monotonic() > deadline:
                    raise MediaLimitError(
                        path,
                        f"decoding took longer than {limits.timeout_s:g} s (stopped at frame {i})",
                        limit_hint("timeout_s"),
                    )
                if i != wanted[pos]:
                    continue
                rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                while pos < len(wanted) and wanted[pos] == i:
                    yield i, rgb
                    pos += 1
                if pos == len(wanted):
                    return
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(path, f"video frame {i + 1} cannot be decoded: {_av_message(exc)}") from exc
        raise TruncatedMediaError(
            path,
            f"video decoded to {i + 1} frames but its container lists {structure.n_frames}",
            frames_complete=i + 1,
            hint="pass allow_truncated=True (--allow-truncated) to use the frames that decode",
        )
    finally:
        container.close()
