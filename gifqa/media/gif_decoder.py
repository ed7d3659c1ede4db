"""GIF pixels: our structure check first, then Pillow decodes and composites.

Why Pillow: measured against the reference (Pillow ``seek(i)`` + ``convert("RGBA")`` over
white), it is the only decoder that is exact on all 112 corpus files; PyAV, OpenCV, libvips
and decord2 differ on some, and decord opens none (report.md, "Decoders").  Why the
structure check: Pillow allocates the canvas before it looks at the data and treats a
renamed PNG as a fine image, so every cap is enforced on the parsed structure first.

Speed: frames of a GIF can only be decoded in order (each is drawn over the previous one),
so we decode every frame up to the last one asked for, but convert, composite and copy only
the frames asked for.
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np

from gifqa.errors import MediaError, MediaLimitError, TruncatedMediaError
from gifqa.media.gif_structure import GifStructure
from gifqa.media.limits import MediaLimits, limit_hint


def _open(data: bytes, path):
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Caps are ours (checked before this); Pillow's own bomb warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=["GIF"])
    except Exception as exc:  # Pillow raises UnidentifiedImageError, SyntaxError, OSError, ...
        raise MediaError(path, f"GIF cannot be opened: {exc}") from exc


def iter_gif_frames(
    data: bytes,
    structure: GifStructure,
    indices,
    *,
    path=None,
    size: tuple[int, int] | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    deadline: float | None = None,
    limits: MediaLimits | None = None,
):
    """Yield ``(source_index, rgb uint8 [H, W, 3])`` for each wanted index, in order.

    ``indices`` must be sorted; repeated indices yield the same frame again.  Every frame
    is placed on the full canvas (screen grown to hold all frame rectangles, as Pillow
    does), so all yielded frames have one shape.
    """
    from PIL import Image

    limits = limits or MediaLimits()
    wanted = list(indices)
    if not wanted:
        return
    last = wanted[-1]
    canvas = (structure.canvas_width, structure.canvas_height)
    bg = Image.new("RGBA", canvas, tuple(background) + (255,))
    im = _open(data, path)
    pos = 0
    try:
        for i in range(last + 1):
            if deadline is not None and time.monotonic() > deadline:
                raise MediaLimitError(
                    path,
                    f"decoding took longer than {limits.timeout_s:g} s (stopped at frame {i})",
                    limit_hint("timeout_s"),
                )
            try:
                im.seek(i)
                if i != wanted[pos]:
                    # Pillow decodes a frame when the next seek needs it as the backdrop;
                    # loading here keeps errors attributed to the right frame.
                    im.load()
                    continue
                if _is_opaque(im):
                    # No alpha anywhere: compositing over the background would change nothing.
                    rgb = im.convert("RGB")
                    if rgb.size != canvas:
                        grown = Image.new("RGB", canvas, tuple(background))
                        grown.paste(rgb, (0, 0))
                        rgb = grown
                else:
                    rgba = im.convert("RGBA")
                    if rgba.size != canvas:
                        grown = Image.new("RGBA", canvas, (0, 0, 0, 0))
                        grown.paste(rgba, (0, 0))
                        rgba = grown
                    rgb = Image.alpha_composite(bg, rgba).convert("RGB")
            except MediaError:
                raise
            except EOFError as exc:
                raise MediaError(path, f"GIF ends before frame {i} (Pillow: {exc})") from exc
            except Exception as exc:
                raise _pillow_error(path, i, exc) from exc
            if size is not None and rgb.size != tuple(size):
                rgb = rgb.resize(tuple(size), Image.Resampling.BICUBIC)
            frame = np.asarray(rgb, dtype=np.uint8)
            while pos < len(wanted) and wanted[pos] == i:
                yield i, frame
                pos += 1
    finally:
        im.close()


def _is_opaque(im) -> bool:
    """True when Pillow's current frame has no transparent pixel to composite."""
    if im.mode == "RGB":
        return True
    return im.mode in ("P", "L") and "transparency" not in im.info


def verify_gif_pixels(data: bytes, structure: GifStructure, *, path=None, deadline=None, limits=None) -> None:
    """Decode every frame's pixels (no compositing kept) to prove the data is sound."""
    last = structure.n_frames - 1
    for _ in iter_gif_frames(data, structure, [last], path=path, deadline=deadline, limits=limits, size=(1, 1)):
        pass


def _pillow_error(path, index: int, exc: Exception) -> MediaError:
    text = str(exc) or type(exc).__name__
    if "truncated" in text:
        return TruncatedMediaError(path, f"GIF frame {index} is truncated ({text})", frames_complete=index)
    return MediaError(path, f"GIF frame {index} cannot be decoded: {text}")
