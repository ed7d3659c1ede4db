"""Which patches of a frame each shape covers: the world's ground truth at the vision tower's patch grid.

Used by analyses (does the Q-Former look at the shape a question names; can a patch token tell what
covers it) and by step 1 of the recipe as dense supervision of the CLIP tower
(``gifqa.training.contrastive``, ``patch_supervision``): only a synthetic world knows this.
"""

from __future__ import annotations

import numpy as np

import math

from gifqa.shapes.render import actor_mask
from gifqa.shapes.world import COLOURS, PLACES, SHAPES, SIZES, Actor, Scene, pose

LABEL_COVERED = 0.25  # share of a patch's pixels the covering actor must have for the patch to take its label


def frame_times_ms(scene: Scene, timestamps_ms) -> np.ndarray:
    """The times to draw ``scene`` at for GIF frames that start at ``timestamps_ms`` (``Video.timestamps_ms``).

    Not ``scene.frame_times_ms()[video.frame_indices]``: the GIF writer (Pillow) merges consecutive
    frames that came out identical (a shape standing still), adding up their delays, so a GIF frame's
    index is not the scene frame's index (in about 4 of 10 of the world's clips).  Its start time is
    kept: the scene frame on screen then is the one drawn."""
    d = np.asarray(scene.frame_delays_ms, dtype=np.float64)
    starts = np.cumsum(d) - d
    k = np.clip(np.searchsorted(starts, np.asarray(timestamps_ms, dtype=np.float64), side="right") - 1, 0, len(d) - 1)
    return scene.frame_times_ms()[k]


def patch_coverage(scene: Scene, times_ms, grid: int, actors=None) -> np.ndarray:
    """float32 [T, actors, grid*grid]: share of each patch's pixels each actor covers at each time,
    each actor drawn alone (so an actor in front does not hide the one behind it).  ``actors``: indices
    into ``scene.actors`` to draw (default: all), in that order.  Pixels past the last whole patch (a side
    not divisible by ``grid``) are left out."""
    s = scene.size_px
    p = s // grid
    which = range(len(scene.actors)) if actors is None else list(actors)
    masks = np.zeros((len(times_ms), len(which), grid * p, grid * p), dtype=np.float32)  # [T, A, S', S']
    for t, ms in enumerate(times_ms):
        for k, a in enumerate(which):
            masks[t, k] = actor_mask(scene.actors[a], float(ms), s)[: grid * p, : grid * p]
    # [T, A, grid, p, grid, p] -> mean over each patch's pixels -> [T, A, grid*grid]
    return masks.reshape(len(times_ms), len(which), grid, p, grid, p).mean(axis=(3, 5)).reshape(len(times_ms), len(which), -1)


def patch_labels(scene: Scene, times_ms, grid: int, covered: float = LABEL_COVERED,
                 share: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """int64 [T, grid*grid] shape and colour classes of each patch: 0 = no actor covers ``covered`` of
    it, else 1 + the index in ``SHAPES`` (``COLOURS``) of the actor covering the most of it.  ``share``:
    ``patch_coverage``'s result for these times, if already computed."""
    share = patch_coverage(scene, times_ms, grid) if share is None else share  # [T, A, P]
    best = share.argmax(axis=1)  # [T, P]
    hit = share.max(axis=1) >= covered
    shape_of = np.array([1 + SHAPES.index(a.shape) for a in scene.actors])
    colour_of = np.array([1 + list(COLOURS).index(a.colour) for a in scene.actors])
    return np.where(hit, shape_of[best], 0), np.where(hit, colour_of[best], 0)


POSE_SIZE = 5  # entries of actor_pose


def actor_pose(actor: Actor, t_ms: float) -> tuple[float, ...] | None:
    """What one frame shows of how ``actor`` stands at ``t_ms``, in canvas units: the centre (x, y, as
    fractions of the side), the radius (fraction of the side), the cosine and sine of its heading (its eye);
    None while it is hidden (blinking).  Only what a frame shows: "how far it has grown" or "how high it
    has hopped" need the shape's resting size and place, which one frame does not give."""
    p = pose(actor, t_ms)
    if not p["visible"]:
        return None
    px, py = PLACES[actor.place]
    a = math.radians(p["angle"])
    return (px + p["dx"], py + p["dy"], SIZES[actor.size] * p["scale"], math.cos(a), math.sin(a))


def patch_poses(scene: Scene, times_ms, grid: int, covered: float = LABEL_COVERED,
                share: np.ndarray | None = None) -> np.ndarray:
    """float32 [T, grid*grid, POSE_SIZE]: for each patch that an actor covers (``covered`` of its pixels;
    the one covering most, as ``patch_labels``), that actor's ``actor_pose`` relative to the patch, in
    patch units: its centre minus the patch's centre, its radius, its heading; NaN where no actor covers
    the patch."""
    share = patch_coverage(scene, times_ms, grid) if share is None else share  # [T, A, P]
    best, hit = share.argmax(axis=1), share.max(axis=1) >= covered  # [T, P]
    centres = (np.arange(grid) + 0.5) / grid
    cx, cy = np.tile(centres, grid), np.repeat(centres, grid)  # [P]: row-major patch centres
    out = np.full((len(times_ms), grid * grid, POSE_SIZE), np.nan, dtype=np.float32)
    for t, ms in enumerate(times_ms):
        for a, actor in enumerate(scene.actors):
            st = actor_pose(actor, float(ms))
            where = hit[t] & (best[t] == a)
            if st is None or not where.any():
                continue
            x, y, r, c, s_ = st
            out[t, where] = np.stack([(x - cx[where]) * grid, (y - cy[where]) * grid, np.full(where.sum(), r * grid),
                                      np.full(where.sum(), c), np.full(where.sum(), s_)], axis=-1)
    return out


def named_actor(scene: Scene, question: str) -> int | None:
    """Index of the one actor a question names ("the red circle", "the square", "what shape is red"),
    or None when it names none or several.  A colour-and-shape name wins over single words."""
    words = question.lower().replace("?", " ").replace(",", " ").split()
    text = " " + " ".join(words) + " "
    full = [i for i, a in enumerate(scene.actors) if f" {a.colour} {a.shape} " in text]
    if full:
        return full[0] if len(full) == 1 else None
    hits = {i for i, a in enumerate(scene.actors) if a.shape in words or a.colour in words}
    return hits.pop() if len(hits) == 1 else None
