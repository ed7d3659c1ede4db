"""Identify a media file by its content (magic bytes), never by its name."""

from __future__ import annotations

# Formats gifqa decodes and the decoder that reads each (chosen on measurements, see
# report.md "Decoders"): GIF through our structure check + Pillow, video through PyAV.
VIDEO_FORMATS = ("mp4", "mov", "webm", "mkv", "avi")
SUPPORTED_FORMATS = ("gif",) + VIDEO_FORMATS

_MP4_BRANDS_QUICKTIME = (b"qt  ",)


def sniff_format(head: bytes) -> str:
    """Return a short format name for the first bytes of a file.

    Supported: ``gif``, ``mp4``, ``mov``, ``webm``, ``mkv``, ``avi``.  Recognised but not
    supported (so that the error can say what the file really is): ``png``, ``jpeg``,
    ``webp``, ``git-lfs-pointer``, ``html``, ``text``, ``empty``; anything else is ``unknown``.
    """
    if not head:
        return "empty"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] in _MP4_BRANDS_QUICKTIME else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # EBML: WebM declares its DocType "webm" near the start; everything else is Matroska.
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head.startswith(b"version https://git-lfs"):
        return "git-lfs-pointer"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head[:3] == b"GIF":
        return "gif-like"  # GIF signature with an unknown version, e.g. b"GIF80x"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    if all(c.isprintable() or c in "\r\n\t" for c in text):
        return "text"
    return "unknown"


def describe_unsupported(fmt: str, head: bytes) -> tuple[str, str | None]:
    """(problem, hint) for a file whose sniffed format gifqa does not decode."""
    supported = "GIF, MP4, MOV, WebM, MKV, AVI"
    if fmt == "empty":
        return "file is empty (0 bytes)", None
    if fmt == "git-lfs-pointer":
        return (
            "is a Git LFS pointer, not a GIF",
            "run `git lfs pull` in the repository it came from",
        )
    if fmt == "gif-like":
        return f"not a GIF: unknown signature {head[:6]!r} (expected GIF87a or GIF89a)", None
    if fmt == "html":
        return "is an HTML page, not media", "check the URL or the download"
    if fmt in ("png", "jpeg", "webp"):
        return f"content is a {fmt.upper()} image, not a GIF or video", f"gifqa reads {supported}"
    if fmt == "text":
        return "is a text file, not media", f"gifqa reads {supported}"
    return f"unrecognised content (first bytes {head[:8]!r})", f"gifqa reads {supported}"
