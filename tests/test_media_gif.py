"""GIF decoding on GIFs made in tmp_path: compositing, timing, caps, truncation, bad bytes."""

import numpy as np
import pytest
from PIL import Image

from gifqa.errors import MediaError, MediaLimitError, TruncatedMediaError
from gifqa.media import MediaLimits, load_video, probe
from tests.media_helpers import frame_offsets, moving_square_frames, write_gif


@pytest.fixture
def square_gif(tmp_path):
    return write_gif(tmp_path / "square.gif", moving_square_frames(6), durations_ms=[100, 100, 300, 100, 100, 100])


def test_all_frames_exact(square_gif):
    v = load_video(square_gif)
    assert v.frames.shape == (6, 32, 32, 3) and v.frames.dtype == np.uint8
    for got, want in zip(v.frames, moving_square_frames(6)):
        assert np.array_equal(got, want)  # RGB order, no channel swap, no palette loss
    assert v.timestamps_ms.tolist() == [0, 100, 200, 500, 600, 700]
    assert v.durations_ms.tolist() == [100, 100, 300, 100, 100, 100]
    assert v.duration_ms == 800 and v.n_source_frames == 6 and v.loop_count == 0
    assert v.source_format == "gif" and len(v.sha256) == 64


def test_uniform_sampling_and_resize(square_gif):
    v = load_video(square_gif, max_frames=4, size=(16, 8))
    # 4 slices of 200 ms: midpoints 100, 300, 500, 700 -> frames 1, 2, 3, 5
    assert v.frame_indices.tolist() == [1, 2, 3, 5]
    assert v.frames.shape == (4, 8, 16, 3)
    assert v.timestamps_ms.tolist() == [100, 200, 500, 700]


def test_every_n_and_all(square_gif):
    assert load_video(square_gif, sampling="every_n", step=2).frame_indices.tolist() == [0, 2, 4]
    assert len(load_video(square_gif, sampling="all")) == 6


def test_zero_delay_plays_as_100ms(tmp_path):
    path = write_gif(tmp_path / "fast.gif", moving_square_frames(3), durations_ms=0)
    v = load_video(path)
    assert v.durations_ms.tolist() == [100, 100, 100]
    assert probe(path).details["raw_delays_cs"] == [0, 0, 0]


def test_transparency_composited_on_background(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:4] = (0, 0, 255, 255)  # top half opaque blue, bottom half transparent
    second = rgba.copy()
    second[0, 0] = (255, 0, 0, 255)  # differs, so Pillow does not merge the two frames
    frames = [Image.fromarray(rgba), Image.fromarray(second)]
    path = write_gif(tmp_path / "t.gif", frames, disposal=2)
    white = load_video(path).frames[1]
    assert (white[1:4] == (0, 0, 255)).all() and (white[4:] == 255).all()
    green = load_video(path, background=(0, 255, 0)).frames[1]
    assert (green[4:] == (0, 255, 0)).all()


def test_disposal_previous_and_none(tmp_path):
    # Frame 0 paints the whole canvas red; frame 1 draws a small blue patch and asks for
    # "restore to previous"; frame 2 is fully transparent, so it must show frame 0's red
    # again where the blue patch was.  With disposal "none" the blue patch stays.
    base = np.zeros((8, 8, 4), dtype=np.uint8)
    base[..., 0], base[..., 3] = 255, 255
    patch = np.zeros((8, 8, 4), dtype=np.uint8)
    patch[2:4, 2:4] = (0, 0, 255, 255)
    empty = np.zeros((8, 8, 4), dtype=np.uint8)
    empty[0, 0] = (255, 0, 0, 255)  # Pillow drops fully transparent frames; keep one pixel
    frames = [Image.fromarray(a) for a in (base, patch, empty)]
    for disposal, expect in ((3, (255, 0, 0)), (1, (0, 0, 255))):
        path = write_gif(tmp_path / f"d{disposal}.gif", frames, disposal=[1, disposal, 1])
        v = load_video(path)
        assert v.n_source_frames == 3
        assert tuple(v.frames[2][3, 3]) == expect, f"disposal {disposal}"


def test_loop_count_and_no_loop(tmp_path):
    assert load_video(write_gif(tmp_path / "l3.gif", moving_square_frames(2), loop=3)).loop_count == 3
    assert load_video(write_gif(tmp_path / "once.gif", moving_square_frames(2), loop=None)).loop_count is None


def test_single_frame_gif(tmp_path):
    path = tmp_path / "one.gif"
    Image.fromarray(moving_square_frames(1)[0]).save(path)
    v = load_video(path, max_frames=3)
    assert v.frame_indices.tolist() == [0, 0, 0] and v.duration_ms == 100


def test_truncated_gif_errors_unless_allowed(square_gif):
    data = square_gif.read_bytes()
    cut = frame_offsets(data)[4] + 30  # inside frame 4's image data
    bad = square_gif.with_name("cut.gif")
    bad.write_bytes(data[:cut])
    with pytest.raises(TruncatedMediaError) as err:
        load_video(bad)
    assert err.value.frames_complete == 4 and "truncated" in str(err.value) and "cut.gif" in str(err.value)
    v = load_video(bad, allow_truncated=True)
    assert v.truncated and v.n_source_frames == 4 and len(v) == 4
    assert np.array_equal(v.frames[3], moving_square_frames(6)[3])


def test_missing_trailer_is_accepted_and_trailing_bytes_ignored(square_gif):
    data = square_gif.read_bytes()
    assert data[-1:] == b";"
    no_trailer = square_gif.with_name("nt.gif")
    no_trailer.write_bytes(data[:-1])
    assert len(load_video(no_trailer)) == 6
    garbage = square_gif.with_name("tail.gif")
    garbage.write_bytes(data + b"\x00garbage after the trailer")
    assert len(load_video(garbage)) == 6


def test_corrupt_block_introducer(square_gif):
    data = bytearray(square_gif.read_bytes())
    data[frame_offsets(bytes(data))[2]] = 0x47  # replace an image descriptor's 0x2C
    bad = square_gif.with_name("corrupt.gif")
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="unknown block 0x47"):
        load_video(bad)


def test_zero_sized_frame(square_gif):
    data = bytearray(square_gif.read_bytes())
    off = frame_offsets(bytes(data))[1]
    data[off + 5 : off + 7] = b"\x00\x00"  # frame width 0
    bad = square_gif.with_name("zero.gif")
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="frame 1 is 0x"):
        load_video(bad)


@pytest.mark.parametrize(
    "limits, match",
    [
        (MediaLimits(max_pixels=1000), "over the cap"),
        (MediaLimits(max_source_frames=5), "more than 5 frames"),
        (MediaLimits(max_decode_pixels=32 * 32 * 3), "pixels decoded"),
        (MediaLimits(max_file_bytes=100), "bytes, over the cap"),
        (MediaLimits(max_decoded_bytes=32 * 32 * 3 * 5), "MiB, over the cap"),
    ],
)
def test_caps(square_gif, limits, match):
    with pytest.raises(MediaLimitError, match=match) as err:
        load_video(square_gif, limits=limits)
    assert "square.gif" in str(err.value) and "--" in str(err.value)  # names the file and the flag


def test_timeout_cap(square_gif):
    with pytest.raises(MediaLimitError, match="longer than"):
        load_video(square_gif, limits=MediaLimits(timeout_s=-1.0))


def test_content_not_name_decides(tmp_path, square_gif):
    png = tmp_path / "really_a_png.gif"
    Image.fromarray(moving_square_frames(1)[0]).save(png, format="PNG")
    with pytest.raises(MediaError, match="PNG image"):
        load_video(png)
    renamed = tmp_path / "animation.mp4"
    renamed.write_bytes(square_gif.read_bytes())
    assert load_video(renamed).source_format == "gif"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        load_video(tmp_path / "nope.gif")
    with pytest.raises(MediaError, match="directory"):
        load_video(tmp_path)


def test_bytes_input(square_gif):
    v = load_video(square_gif.read_bytes(), name="<stdin>", max_frames=2)
    assert v.path == "<stdin>" and len(v) == 2
