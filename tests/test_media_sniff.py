"""Content sniffing: formats are told by magic bytes, never by the file name."""

import pytest

from gifqa.media.sniff import sniff_format


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"GIF89a\x01\x00", "gif"),
        (b"GIF87a\x01\x00", "gif"),
        (b"GIF80x", "gif-like"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00", "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "mkv"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"version https://git-lfs.github.com/spec/v1\n", "git-lfs-pointer"),
        (b"<!DOCTYPE html><html>", "html"),
        (b"This is not a GIF.\n", "text"),
        (b"", "empty"),
        (b"\x00\x01\x02\xfe\xff", "unknown"),
    ],
)
def test_sniff(head, fmt):
    assert sniff_format(head) == fmt
