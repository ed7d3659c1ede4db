"""The 112 real GIFs of ../shared/data/gifs: every frame against the reference decoder.

Reference (the issue's definition): Pillow ``seek(i)`` then ``convert("RGBA")``,
alpha-composited over white, computed here with integer numpy arithmetic rather than
our code path.  Pillow grows the canvas for frames past the logical screen; our frames all
have the grown size, so each reference frame is compared with the region it covers.
"""

import csv

import numpy as np
import pytest
from PIL import Image

from gifqa.media import load_video, probe
from tests.shared_data import requires_shared, shared

GIFS = shared("gifs")
pytestmark = requires_shared("gifs")


def _manifest():
    path = GIFS / "manifest.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


MANIFEST = _manifest()


def reference_frames(path):
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            a = np.asarray(im.convert("RGBA"), dtype=np.uint32)
            alpha = a[..., 3:]
            yield ((a[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.int16)


def test_manifest_lists_112_files():
    assert len(MANIFEST) == 112


@pytest.mark.parametrize("row", MANIFEST, ids=[r["file"] for r in MANIFEST])
def test_decodes_exactly(row):
    path = GIFS / row["file"]
    video = load_video(path)
    assert video.n_source_frames == len(video) == int(row["n_frames"])
    assert (video.width, video.height) >= (int(row["width"]), int(row["height"]))
    n = 0
    for i, ref in enumerate(reference_frames(path)):
        h, w = ref.shape[:2]
        mae = np.abs(video.frames[i, :h, :w].astype(np.int16) - ref).mean()
        assert mae <= 1.0, f"frame {i}: mean absolute difference {mae:.3f} > 1.0"
        n += 1
    assert n == len(video)


@pytest.mark.parametrize("row", MANIFEST[:: max(1, len(MANIFEST) // 12)], ids=lambda r: r["file"])
def test_probe_matches_manifest(row):
    info = probe(GIFS / row["file"], verify=False)
    assert info.n_frames == int(row["n_frames"])
    assert (info.width, info.height) == (int(row["width"]), int(row["height"]))
    expect_loop = None if row["loop"] == "none" else int(row["loop"])
    assert info.loop_count == expect_loop
    # The manifest sums raw delays; we report what browsers show (0/1 cs -> 100 ms).
    assert sum(info.details["raw_delays_cs"]) * 10 == int(row["total_duration_ms"])
