"""The world's vocabulary and how a scene is drawn at a given time.

A scene has 1-3 actors (a shape of a colour and size at one of five places).  Each actor
performs up to two *segments*: an action repeated ``count`` times.  Actions are defined as
poses over time (milliseconds), so frames can be sampled at any, irregular, frame delays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SHAPES = ("circle", "square", "triangle", "diamond", "star")
COLOURS = {  # name -> RGB
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
    "purple": (140, 60, 180),
    "orange": (240, 130, 20),
}
# action -> (base verb, third person singular)
ACTIONS = {
    "bounce": ("bounce", "bounces"),
    "spin": ("spin", "spins"),
    "grow": ("grow", "grows"),
    "blink": ("blink", "blinks"),
    "nod": ("nod", "nods"),
    "shake": ("shake", "shakes"),
}
# Where an actor stands, as a fraction of the canvas (x, y).
PLACES = {"left": (0.2, 0.58), "right": (0.8, 0.58), "top": (0.5, 0.32), "bottom": (0.5, 0.8)}
SIZES = {"small": 0.11, "big": 0.16}  # radius as a fraction of the canvas side
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@dataclass
class Segment:
    action: str  # a key of ACTIONS
    count: int  # repetitions (1-5)
    start_ms: float  # segment start on the clip's timeline
    end_ms: float


@dataclass
class Actor:
    shape: str
    colour: str
    size: str  # "small" | "big"
    place: str  # a key of PLACES
    segments: list[Segment] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Scene:
    actors: list[Actor]  # actors[0] is the main actor (two segments)
    frame_delays_ms: list[int]  # per frame, what the GIF stores
    background: str  # "plain" | "noise" | "stripes"
    background_rgb: tuple[int, int, int]
    size_px: int  # canvas side (pixels)

    @property
    def duration_ms(self) -> int:
        return int(sum(self.frame_delays_ms))

    def frame_times_ms(self) -> np.ndarray:
        """Time each frame is sampled at: the middle of its display interval."""
        d = np.asarray(self.frame_delays_ms, dtype=np.float64)
        return np.cumsum(d) - d / 2


def pose(actor: Actor, t_ms: float) -> dict:
    """Offsets of an actor at time ``t_ms``: dx, dy (fractions of canvas), scale, angle (deg), visible."""
    p = {"dx": 0.0, "dy": 0.0, "scale": 1.0, "angle": 0.0, "visible": True}
    for seg in actor.segments:
        if not seg.start_ms <= t_ms < seg.end_ms:
            continue
        period = (seg.end_ms - seg.start_ms) / seg.count
        phase = ((t_ms - seg.start_ms) % period) / period  # 0..1 within one repetition
        if seg.action == "bounce":  # a hop up and back down
            p["dy"] = -0.15 * math.sin(math.pi * phase)
        elif seg.action == "spin":  # one full turn
            p["angle"] = 360.0 * phase
        elif seg.action == "grow":  # swell to 1.7x and back
            p["scale"] = 1.0 + 0.7 * math.sin(math.pi * phase)
        elif seg.action == "blink":  # gone for the middle of the repetition
            p["visible"] = not (0.3 <= phase < 0.7)
        elif seg.action == "nod":  # a small dip down and back up
            p["dy"] = 0.07 * math.sin(2 * math.pi * phase) if phase < 0.5 else 0.0
        elif seg.action == "shake":  # side to side
            p["dx"] = 0.08 * math.sin(2 * math.pi * phase)
    return p


FRAMES_PER_REPETITION = 4  # fewer and a repetition could fall between two frames


def _count(rng: np.random.Generator, frames: float, exclude: int | None = None) -> int:
    """Repetitions for a segment of ``frames`` frames: 1-5, each at least 4 frames long."""
    most = max(2, min(5, int(frames) // FRAMES_PER_REPETITION))
    choices = [c for c in range(1, most + 1) if c != exclude]
    return int(rng.choice(choices))


def sample_scene(rng: np.random.Generator, *, size_px: int = 64, main_triple=None, forbidden=frozenset()) -> Scene:
    """Draw a random scene.

    ``main_triple`` fixes the main actor's (colour, shape, first action); ``forbidden`` is a
    set of (colour, shape, action) triples no actor may perform (the compositional hold-out).
    """
    n_frames = int(rng.integers(20, 41))  # >= 20: each half of the clip can show 2 repetitions
    base = int(rng.choice([40, 60, 80, 100]))
    jitter = rng.integers(-2, 3, size=n_frames) * 10  # frame delays vary within a clip
    delays = np.clip(base + jitter, 20, 200).astype(int).tolist()
    n_actors = int(rng.integers(1, 4))
    places = list(rng.permutation(list(PLACES)))[:n_actors]
    used = set()
    actors = []
    duration = float(sum(delays))
    for i in range(n_actors):
        for _ in range(100):
            if i == 0 and main_triple is not None:
                colour, shape, first = main_triple
            else:
                colour = str(rng.choice(list(COLOURS)))
                shape = str(rng.choice(SHAPES))
                first = str(rng.choice(list(ACTIONS)))
            # Unique colours and unique shapes among actors, so every question has one answer.
            if colour in {a.colour for a in actors} or shape in {a.shape for a in actors}:
                continue
            if (colour, shape, first) in forbidden:
                continue
            break
        else:
            raise RuntimeError("could not place an actor; loosen the hold-out set")
        actor = Actor(shape=shape, colour=colour, size=str(rng.choice(list(SIZES))), place=str(places[i]))
        if i == 0:
            # Two segments with different actions, split at a random point of the clip.
            share = float(rng.uniform(0.4, 0.6))
            cut = duration * share
            second = str(rng.choice([a for a in ACTIONS if a != first and (colour, shape, a) not in forbidden]))
            c1 = _count(rng, n_frames * share)
            c2 = _count(rng, n_frames * (1 - share), exclude=c1)  # "what does it do N times" has one answer
            actor.segments = [Segment(first, c1, 0.0, cut), Segment(second, c2, cut, duration)]
        else:
            actor.segments = [Segment(first, _count(rng, n_frames), 0.0, duration)]
        actors.append(actor)
        used.add((colour, shape))
    bg = str(rng.choice(["plain", "plain", "noise", "stripes"]))
    bg_rgb = tuple(int(v) for v in rng.integers(200, 250, size=3))
    return Scene(actors=actors, frame_delays_ms=delays, background=bg, background_rgb=bg_rgb, size_px=size_px)
