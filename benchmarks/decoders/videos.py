"""Which decoders open MP4 / WebM clips, and do they return every frame?

    .venv/bin/python benchmarks/decoders/videos.py

Encodes self-made clips with PyAV (H.264 in MP4, VP9 in WebM, AV1 in MP4 through SVT-AV1;
ordinary and odd sizes), then asks each decoder of adapters.py for all frames in a fresh
process (decord and decord2 share a module name).  Prints a Markdown table: frames returned
per clip, or the error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from run import _env_for  # noqa: E402

CLIPS = [  # (name, codec, container ext, width, height, frames)
    ("h264_320x240", "libx264", "mp4", 320, 240, 30),
    ("h264_48x48", "libx264", "mp4", 48, 48, 30),
    ("vp9_320x240", "libvpx-vp9", "webm", 320, 240, 30),
    ("vp9_96x64", "libvpx-vp9", "webm", 96, 64, 30),
    ("av1_320x240", "libsvtav1", "mp4", 320, 240, 30),
]
DECODERS = ["gifqa", "pyav", "opencv", "decord", "decord2"]

PROBE = """
import json, sys
import adapters
name, path = sys.argv[1], sys.argv[2]
try:
    frames = adapters.DECODERS[name][0](path)
    print(json.dumps({"n": len(frames)}))
except BaseException as exc:
    print(json.dumps({"error": (type(exc).__name__ + ": " + str(exc))[:80]}))
"""


def make_clips(folder: Path) -> dict[str, Path]:
    import av
    import numpy as np

    out = {}
    for name, codec, ext, w, h, n in CLIPS:
        path = folder / f"{name}.{ext}"
        with av.open(str(path), "w") as c:
            s = c.add_stream(codec, rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            for i in range(n):
                img = np.zeros((h, w, 3), np.uint8)
                img[:, : (i * w) // n] = (200, 40, 40)
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        out[name] = path
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        table = {}
        for dec in DECODERS:
            for name, path in clips.items():
                r = subprocess.run(
                    [sys.executable, "-c", PROBE, dec, str(path)], capture_output=True, text=True,
                    env=_env_for(dec), cwd=HERE, timeout=120,
                )
                try:
                    table[dec, name] = json.loads(r.stdout.strip().splitlines()[-1])
                except (IndexError, json.JSONDecodeError):
                    table[dec, name] = {"error": f"process died (exit {r.returncode})"}
    names = [c[0] for c in CLIPS]
    print("| decoder | " + " | ".join(f"{n} ({c[5]} frames)" for n, c in zip(names, CLIPS)) + " |")
    print("|---|" + "---|" * len(names))
    for dec in DECODERS:
        cells = []
        for n in names:
            r = table[dec, n]
            cells.append(str(r["n"]) if "n" in r else "error: " + r["error"].split(":")[0])
        print(f"| {dec} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
