"""Caps that keep hostile or oversized media from taking the machine down.

Every decoder checks these *before* it allocates: the GIF structure is parsed without
decoding pixels (gif_structure.py), video stream headers are read before any frame.
The defaults decode every file of the real-world corpus in ``../shared/data/gifs``
(largest screen 4.37 Mpx, most frames 521) with room to spare, and stop every file of
``../shared/data/bad`` within a second and a few tens of MB.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class MediaLimits:
    max_file_bytes: int = 256 * 2**20  # bytes read from one file (256 MiB)
    max_pixels: int = 2**24  # pixels of one canvas or frame rectangle (16.7 Mpx = 4096x4096)
    max_source_frames: int = 5000  # frames a file may hold (GIF: walked; video: demuxed)
    max_decode_pixels: int = 10**9  # canvas pixels decoded to reach the last sampled frame (work cap; ~1-5 s)
    max_decoded_bytes: int = 1 * 2**30  # bytes of the returned frames array [T, H, W, 3] (1 GiB)
    timeout_s: float = 60.0  # wall-clock budget for decoding one file (seconds)

    @classmethod
    def from_overrides(cls, **overrides) -> "MediaLimits":
        """Defaults with the given fields replaced; ``None`` values keep the default."""
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown media limit(s): {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: v for k, v in overrides.items() if v is not None})


DEFAULT_LIMITS = MediaLimits()

# The CLI flag that raises each cap; used in error hints.
LIMIT_FLAGS = {
    "max_file_bytes": "--max-file-mb",
    "max_pixels": "--max-pixels",
    "max_source_frames": "--max-source-frames",
    "max_decode_pixels": "--max-decode-pixels",
    "max_decoded_bytes": "--max-decoded-mb",
    "timeout_s": "--timeout",
}


def limit_hint(field: str) -> str:
    """The 'next thing to try' part of a cap error."""
    flag = LIMIT_FLAGS.get(field, field)
    return f"raise the cap with {flag} (MediaLimits.{field}) if you trust this file"
