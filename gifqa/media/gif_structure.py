"""Walk a GIF's block structure without decoding pixels.

This runs before any pixel is decoded, so that every cap is checked on the numbers the
file declares: screen and frame sizes, frame count, and where the data ends.  It reads the
GIF89a block grammar (https://www.w3.org/Graphics/GIF/spec-gif89a.txt, sections 17-27):

    header, logical screen descriptor, [global colour table],
    { extension | image descriptor [local colour table] LZW-data }*, trailer

The walk is linear in the file size and always advances, so it cannot hang.

Rules (general, not per test file):
- signature must be GIF87a or GIF89a; the screen and every frame must be at least 1x1;
- a block introducer other than 0x21 (extension), 0x2C (image) or 0x3B (trailer) is
  corruption;
- a file that ends inside a block is truncated; ``frames_complete`` says how many frames
  before that point are whole.  A file that ends cleanly after a whole frame but lacks the
  trailer byte is accepted (browsers and Pillow show it);
- bytes after the trailer are ignored;
- caps: screen/frame/canvas pixels, number of frames, total pixels to decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gifqa.errors import MediaError, MediaLimitError, TruncatedMediaError
from gifqa.media.limits import MediaLimits, limit_hint

DISPOSAL_NAMES = {0: "unspecified", 1: "none", 2: "background", 3: "previous"}


@dataclass
class GifFrameInfo:
    left: int  # x of the frame rectangle on the screen (pixels)
    top: int  # y of the frame rectangle (pixels)
    width: int  # frame rectangle width (pixels)
    height: int  # frame rectangle height (pixels)
    delay_cs: int  # delay from the graphic control extension (1/100 s); 0 when absent
    disposal: int  # 0-3, see DISPOSAL_NAMES; 4-7 are reserved and treated as 0
    transparent_index: int | None  # palette index shown as transparent, if any
    interlaced: bool
    local_palette_size: int  # entries in the local colour table, 0 if none
    offset: int  # byte offset of the image descriptor


@dataclass
class GifStructure:
    version: str  # "87a" or "89a"
    screen_width: int  # logical screen (pixels)
    screen_height: int
    global_palette_size: int  # entries, 0 if none
    background_index: int
    loop_count: int | None  # NETSCAPE loop count: 0 = forever, None = no extension (plays once)
    frames: list[GifFrameInfo] = field(default_factory=list)
    comments: int = 0
    has_trailer: bool = True
    trailing_bytes: int = 0  # bytes after the trailer
    truncated_at_frame: int | None = None  # index of the first incomplete frame, if truncated
    canvas_width: int = 0  # screen grown to hold every frame rectangle (as Pillow does)
    canvas_height: int = 0

    @property
    def n_frames(self) -> int:
        return len(self.frames)


def _u16(data, pos: int) -> int:
    return data[pos] | (data[pos + 1] << 8)


class _Walker:
    """Reads the byte stream, raising a truncation error that knows how many frames are whole."""

    def __init__(self, data: bytes, path, limits: MediaLimits):
        self.data = data
        self.n = len(data)
        self.path = path
        self.limits = limits

    def need(self, pos: int, count: int, what: str, frames_complete: int) -> None:
        if pos + count > self.n:
            raise TruncatedMediaError(
                self.path,
                f"GIF is truncated: file ends inside {what} at byte {self.n}",
                frames_complete=frames_complete,
                hint="pass allow_truncated=True (--allow-truncated) to use the frames before it"
                if frames_complete
                else None,
            )

    def skip_sub_blocks(self, pos: int, what: str, frames_complete: int) -> tuple[int, int]:
        """Skip a chain of data sub-blocks; return (position after terminator, payload bytes)."""
        data, n = self.data, self.n
        payload = 0
        while True:
            if pos >= n:
                self.need(pos, 1, what, frames_complete)
            size = data[pos]
            pos += 1
            if size == 0:
                return pos, payload
            if pos + size > n:
                self.need(pos, size, what, frames_complete)
            pos += size
            payload += size


def parse_gif_structure(data: bytes, path=None, limits: MediaLimits | None = None) -> GifStructure:
    """Parse ``data`` (a whole GIF file) into a :class:`GifStructure`, enforcing ``limits``.

    Raises :class:`MediaError` for corruption, :class:`MediaLimitError` for caps and
    :class:`TruncatedMediaError` (with ``frames_complete``) for a file that ends early.  A
    truncated structure is returned instead of raised only through :func:`parse_gif_lenient`.
    """
    structure, error = parse_gif_lenient(data, path, limits)
    if error is not None:
        raise error
    return structure


def parse_gif_lenient(data: bytes, path=None, limits: MediaLimits | None = None):
    """Like :func:`parse_gif_structure` but returns ``(structure, truncation_error)``.

    Corruption and caps still raise; truncation is returned so that the caller can decide
    whether the whole frames before it are wanted.
    """
    limits = limits or MediaLimits()
    w = _Walker(data, path, limits)
    if len(data) < 6 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise MediaError(path, f"not a GIF: signature {bytes(data[:6])!r}")
    w.need(6, 7, "the logical screen descriptor", 0)
    sw, sh = _u16(data, 6), _u16(data, 8)
    packed, bg_index = data[10], data[11]
    if sw == 0 or sh == 0:
        raise MediaError(path, f"GIF logical screen is {sw}x{sh}: a GIF needs at least 1x1")
    _check_pixels(path, "logical screen", sw, sh, limits)
    pos = 13
    gpal = 0
    if packed & 0x80:
        gpal = 2 ** ((packed & 0x07) + 1)
        w.need(pos, 3 * gpal, "the global colour table", 0)
        pos += 3 * gpal
    s = GifStructure(
        version=data[3:6].decode("ascii"),
        screen_width=sw,
        screen_height=sh,
        global_palette_size=gpal,
        background_index=bg_index,
        loop_count=None,
        canvas_width=sw,
        canvas_height=sh,
    )
    try:
        _walk_blocks(w, s, pos, gpal)
    except TruncatedMediaError as exc:
        if not s.frames:
            raise
        s.truncated_at_frame = len(s.frames)
        return s, exc
    return s, None


def _walk_blocks(w: _Walker, s: GifStructure, pos: int, gpal: int) -> None:
    data, path, limits = w.data, w.path, w.limits
    gce = None  # (delay_cs, disposal, transparent_index) for the next image
    decode_pixels = 0
    n = len(data)
    while True:
        frames_complete = len(s.frames)
        if pos >= n:
            # Clean end after whole blocks but no trailer: accepted (see module docstring).
            s.has_trailer = False
            break
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            s.trailing_bytes = n - pos - 1
            break
        if introducer == 0x21:  # extension
            w.need(pos, 2, "an extension block", frames_complete)
            label = data[pos + 1]
            body = pos + 2
            if label == 0xF9:  # graphic control extension
                w.need(body, 1, "a graphic control extension", frames_complete)
                if data[body] >= 4:
                    w.need(body, 5, "a graphic control extension", frames_complete)
                    flags = data[body + 1]
                    disposal = (flags >> 2) & 0x07
                    delay = _u16(data, body + 2)
                    transparent = data[body + 4] if flags & 0x01 else None
                    gce = (delay, disposal if disposal <= 3 else 0, transparent)
            elif label == 0xFF:  # application extension: NETSCAPE2.0 / ANIMEXTS1.0 loop count
                w.need(body, 1, "an application extension", frames_complete)
                if data[body] == 11 and bytes(data[body + 1 : body + 12]) in (
                    b"NETSCAPE2.0",
                    b"ANIMEXTS1.0",
                ):
                    sub = body + 12
                    if sub + 4 <= n and data[sub] >= 3 and data[sub + 1] == 1:
                        s.loop_count = _u16(data, sub + 2)
            elif label == 0xFE:
                s.comments += 1
            pos, _ = w.skip_sub_blocks(body, "an extension block", frames_complete)
            continue
        if introducer == 0x2C:  # image descriptor
            offset = pos
            w.need(pos, 10, f"the descriptor of frame {frames_complete}", frames_complete)
            left, top = _u16(data, pos + 1), _u16(data, pos + 3)
            fw, fh = _u16(data, pos + 5), _u16(data, pos + 7)
            flags = data[pos + 9]
            pos += 10
            if fw == 0 or fh == 0:
                raise MediaError(path, f"GIF frame {frames_complete} is {fw}x{fh}: a frame needs at least 1x1")
            _check_pixels(path, f"frame {frames_complete}", fw, fh, limits)
            # Pillow grows the canvas to hold a frame that reaches past the screen; cap the result.
            cw = max(s.canvas_width, left + fw)
            ch = max(s.canvas_height, top + fh)
            _check_pixels(path, f"canvas grown for frame {frames_complete}", cw, ch, limits)
            s.canvas_width, s.canvas_height = cw, ch
            lpal = 0
            if flags & 0x80:
                lpal = 2 ** ((flags & 0x07) + 1)
                w.need(pos, 3 * lpal, f"the colour table of frame {frames_complete}", frames_complete)
                pos += 3 * lpal
            elif gpal == 0:
                # No palette at all: Pillow and browsers fall back to a default grey ramp.
                pass
            w.need(pos, 1, f"the image data of frame {frames_complete}", frames_complete)
            min_code_size = data[pos]
            if not 1 <= min_code_size <= 11:
                raise MediaError(path, f"GIF frame {frames_complete} has an invalid LZW code size {min_code_size}")
            pos, payload = w.skip_sub_blocks(pos + 1, f"the image data of frame {frames_complete}", frames_complete)
            if payload == 0:
                raise MediaError(path, f"GIF frame {frames_complete} has no image data")
            delay, disposal, transparent = gce if gce is not None else (0, 0, None)
            gce = None
            s.frames.append(
                GifFrameInfo(
                    left=left,
                    top=top,
                    width=fw,
                    height=fh,
                    delay_cs=delay,
                    disposal=disposal,
                    transparent_index=transparent,
                    interlaced=bool(flags & 0x40),
                    local_palette_size=lpal,
                    offset=offset,
                )
            )
            if len(s.frames) > limits.max_source_frames:
                raise MediaLimitError(
                    path,
                    f"GIF has more than {limits.max_source_frames} frames",
                    limit_hint("max_source_frames"),
                )
            # Decoding frame k composites onto the whole canvas: that is the work per frame.
            decode_pixels += cw * ch
            if decode_pixels > limits.max_decode_pixels:
                raise MediaLimitError(
                    path,
                    f"GIF needs more than {limits.max_decode_pixels:,} pixels decoded",
                    limit_hint("max_decode_pixels"),
                )
            continue
        raise MediaError(path, f"GIF is corrupt: unknown block 0x{introducer:02x} at byte {pos}")
    if not s.frames:
        raise MediaError(path, "GIF contains no image")


def _check_pixels(path, what: str, width: int, height: int, limits: MediaLimits) -> None:
    if width * height > limits.max_pixels:
        raise MediaLimitError(
            path,
            f"{what} is {width}x{height} = {width * height:,} pixels, over the cap of {limits.max_pixels:,}",
            limit_hint("max_pixels"),
        )
