"""What the media layer returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Video:
    """Decoded frames of a GIF or video, with their place in the source's timeline.

    Frames are composited exactly (GIF disposal, transparency, local palettes, interlacing)
    and transparent pixels are painted over an opaque background (white unless asked).
    """

    frames: np.ndarray  # uint8 [T, H, W, 3], RGB
    timestamps_ms: np.ndarray  # int64 [T], start time of each returned frame in the source
    durations_ms: np.ndarray  # int64 [T], how long each returned frame is shown (browser rules for GIF)
    frame_indices: np.ndarray  # int64 [T], index of each returned frame in the source file
    width: int  # width of the returned frames (pixels; after resizing, if asked)
    height: int  # height of the returned frames (pixels)
    source_format: str  # "gif", "mp4", "webm", "mov", "mkv", "avi"
    n_source_frames: int  # frames in the source (for a truncated file: the whole ones)
    duration_ms: int  # play time of the whole source, one loop
    loop_count: int | None = None  # GIF NETSCAPE loop count: 0 = forever, None = plays once
    truncated: bool = False  # True when the source ended early and allow_truncated returned what was whole
    path: str = ""  # the file it came from ("<bytes>" for in-memory input)
    sha256: str = ""  # hex digest of the file's bytes (a cache key for features)

    def __len__(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class MediaInfo:
    """What ``gifqa inspect`` reports: the container's facts, no pixels."""

    path: str
    format: str  # "gif", "mp4", ...
    format_detail: str  # "GIF89a", "h264 in mp4", ...
    width: int  # logical screen / coded frame width (pixels)
    height: int
    n_frames: int
    duration_ms: int  # one loop, browser delay rules for GIF
    frame_durations_ms: list[int] = field(default_factory=list)
    loop_count: int | None = None  # GIF: 0 = forever, None = no loop extension (plays once)
    bytes: int = 0
    sha256: str = ""
    truncated: bool = False
    verified: bool = False  # every frame's pixels were decoded without error
    details: dict = field(default_factory=dict)  # format-specific extras (disposal methods, codec, ...)

    def to_dict(self) -> dict:
        return asdict(self)
