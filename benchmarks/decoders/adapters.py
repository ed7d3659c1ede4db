"""One function pair per decoder a user might pick: all frames, and 8 frames at 224x224.

Each adapter returns a list of RGB uint8 arrays.  They are written the way each library's
documentation shows, so the comparison is with what users would get.  The 8-frame task
picks frames uniformly by index (what these libraries offer); gifqa picks by time, which
costs the same.
"""

from __future__ import annotations

import numpy as np

SIZE = 224
K = 8


def _pick(n: int, k: int = K) -> list[int]:
    return [min(n - 1, int((i + 0.5) * n / k)) for i in range(k)]


# -- gifqa (structure check + Pillow for GIF, PyAV for video) ------------------------------
def gifqa_all(path):
    from gifqa.media import load_video

    return list(load_video(path).frames)


def gifqa_8(path):
    from gifqa.media import load_video

    return list(load_video(path, K, size=SIZE).frames)


# -- Pillow: the reference (RGBA composited over white) and the naive convert("RGB") -------
def _pil_frames(path, rgba: bool, wanted=None):
    from PIL import Image

    out = []
    with Image.open(path) as im:
        n = im.n_frames
        for i in range(n) if wanted is None else wanted:
            im.seek(i)
            if rgba:
                fr = im.convert("RGBA")
                bg = Image.new("RGBA", fr.size, (255, 255, 255, 255))
                fr = Image.alpha_composite(bg, fr).convert("RGB")
            else:
                fr = im.convert("RGB")
            out.append(fr)
    return out, n


def pillow_rgba_all(path):
    return [np.asarray(f) for f in _pil_frames(path, True)[0]]


def pillow_rgba_8(path):
    from PIL import Image

    with Image.open(path) as im:
        n = im.n_frames
    frames, _ = _pil_frames(path, True, _pick(n))
    return [np.asarray(f.resize((SIZE, SIZE), Image.Resampling.BICUBIC)) for f in frames]


def pillow_rgb_all(path):
    return [np.asarray(f) for f in _pil_frames(path, False)[0]]


def pillow_rgb_8(path):
    from PIL import Image

    with Image.open(path) as im:
        n = im.n_frames
    frames, _ = _pil_frames(path, False, _pick(n))
    return [np.asarray(f.resize((SIZE, SIZE), Image.Resampling.BICUBIC)) for f in frames]


# -- PyAV --------------------------------------------------------------------------------
def pyav_all(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def pyav_8(path):
    import av

    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))  # GIF has no index: decode, then pick
        return [frames[i].to_ndarray(format="rgb24", width=SIZE, height=SIZE) for i in _pick(len(frames))]


# -- OpenCV ------------------------------------------------------------------------------
def opencv_all(path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def opencv_8(path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for i in _pick(max(n, 1)):
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, frame = cap.read()
        if ok:
            out.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC))
    cap.release()
    return out


# -- decord / decord2 (same module name; the runner puts one of them on sys.path) ----------
def decord_all(path):
    import decord

    vr = decord.VideoReader(str(path))
    return list(vr.get_batch(list(range(len(vr)))).asnumpy())


def decord_8(path):
    import decord

    vr = decord.VideoReader(str(path), width=SIZE, height=SIZE)
    return list(vr.get_batch(_pick(len(vr))).asnumpy())


DECODERS = {
    "gifqa": (gifqa_all, gifqa_8),
    "pillow-rgba (reference)": (pillow_rgba_all, pillow_rgba_8),
    "pillow-rgb (naive)": (pillow_rgb_all, pillow_rgb_8),
    "pyav": (pyav_all, pyav_8),
    "opencv": (opencv_all, opencv_8),
    "decord": (decord_all, decord_8),
    "decord2": (decord_all, decord_8),
}
# Where decord and decord2 live (both install a module named `decord`): see setup.sh.
EXTRA_PATH = {"decord": ".bench/decord", "decord2": ".bench/decord2"}
