"""Make test media in tmp_path: GIFs through Pillow, MP4/WebM through PyAV, and byte surgery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def moving_square_frames(n: int = 6, size: int = 32, square: int = 8) -> list[np.ndarray]:
    """RGB frames of a red square moving right over grey: frame i has the square at x = 4*i."""
    frames = []
    for i in range(n):
        f = np.full((size, size, 3), 128, dtype=np.uint8)
        x = (4 * i) % (size - square)
        f[8 : 8 + square, x : x + square] = (255, 0, 0)
        frames.append(f)
    return frames


def write_gif(path: Path, frames, durations_ms=100, loop: int | None = 0, **save_kw) -> Path:
    """Write RGB/RGBA numpy frames or PIL images as an animated GIF."""
    images = [Image.fromarray(f) if isinstance(f, np.ndarray) else f for f in frames]
    kw = dict(save_all=True, append_images=images[1:], duration=durations_ms, optimize=False)
    if loop is not None:
        kw["loop"] = loop
    kw.update(save_kw)
    images[0].save(path, **kw)
    return Path(path)


def write_video(path: Path, frames, fps: int = 10, codec: str = "libx264", pix_fmt: str = "yuv420p") -> Path:
    """Encode RGB frames into an MP4 (libx264) or WebM (libvpx-vp9) file with PyAV."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def frame_offsets(data: bytes) -> list[int]:
    """Byte offsets of the image descriptors of a GIF (via our structure parser)."""
    from gifqa.media.gif_structure import parse_gif_structure

    return [f.offset for f in parse_gif_structure(data).frames]
