"""MP4 and WebM input through PyAV, on clips encoded in tmp_path."""

import numpy as np
import pytest

from gifqa.errors import MediaError, MediaLimitError
from gifqa.media import MediaLimits, load_video, probe
from tests.media_helpers import moving_square_frames, write_video

CODECS = [("mp4", "libx264"), ("webm", "libvpx-vp9")]


@pytest.fixture(params=CODECS, ids=[c[0] for c in CODECS])
def clip(request, tmp_path):
    ext, codec = request.param
    frames = moving_square_frames(10, size=64, square=16)
    return write_video(tmp_path / f"clip.{ext}", frames, fps=10, codec=codec), frames, ext


def test_decodes_every_frame_close_to_source(clip):
    path, frames, ext = clip
    v = load_video(path)
    assert v.source_format == ext and v.n_source_frames == 10 and len(v) == 10
    assert v.frames.shape == (10, 64, 64, 3)
    assert v.timestamps_ms.tolist() == [i * 100 for i in range(10)]
    assert v.duration_ms == 1000
    for i, (got, want) in enumerate(zip(v.frames, frames)):
        # lossy 4:2:0 coding: close, not equal; and not channel-swapped (red stays red)
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 6
        r, g, b = got[16, (4 * i) % 48 + 8]
        assert r > 200 and g < 60 and b < 60, (i, r, g, b)


def test_uniform_sampling_and_resize(clip):
    path, _, _ = clip
    v = load_video(path, max_frames=4, size=32)
    assert v.frame_indices.tolist() == [1, 3, 6, 8]
    assert v.frames.shape == (4, 32, 32, 3)


def test_probe(clip):
    path, _, ext = clip
    info = probe(path)
    assert info.format == ext and info.n_frames == 10 and (info.width, info.height) == (64, 64)
    assert info.verified and info.duration_ms == 1000


def test_video_caps(clip):
    path, _, _ = clip
    with pytest.raises(MediaLimitError, match="pixels"):
        load_video(path, limits=MediaLimits(max_pixels=1000))
    with pytest.raises(MediaLimitError, match="more than 5 frames"):
        load_video(path, limits=MediaLimits(max_source_frames=5))


def test_truncated_mp4_is_an_error(tmp_path):
    path = write_video(tmp_path / "c.mp4", moving_square_frames(10, size=64, square=16))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MediaError, match="cut.mp4"):
        load_video(cut)
