"""Draw a scene's frames with Pillow and save them as a GIF with the scene's frame delays."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gifqa.shapes.world import COLOURS, PLACES, SIZES, Actor, Scene, pose


def _polygon(shape: str, cx: float, cy: float, r: float, angle_deg: float) -> list[tuple[float, float]]:
    if shape == "square":
        corners = [45, 135, 225, 315]
        rr = r * math.sqrt(2) * 0.85
    elif shape == "diamond":
        corners = [0, 90, 180, 270]
        rr = r * 1.1
    elif shape == "triangle":
        corners = [-90, 30, 150]
        rr = r * 1.15
    elif shape == "star":
        pts = []
        for k in range(10):
            a = math.radians(-90 + 36 * k + angle_deg)
            rad = r * 1.15 if k % 2 == 0 else r * 0.5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    else:
        raise ValueError(shape)
    return [(cx + rr * math.cos(math.radians(c + angle_deg)), cy + rr * math.sin(math.radians(c + angle_deg))) for c in corners]


def _background(scene: Scene, rng: np.random.Generator) -> Image.Image:
    s = scene.size_px
    base = np.empty((s, s, 3), dtype=np.uint8)
    base[:] = scene.background_rgb
    if scene.background == "noise":
        noise = rng.integers(-18, 19, size=(s // 4, s // 4, 1))
        base = np.clip(base.astype(int) + np.kron(noise, np.ones((4, 4, 1), dtype=int)), 0, 255).astype(np.uint8)
    elif scene.background == "stripes":
        base[(np.arange(s) // 6) % 2 == 1] = np.clip(np.asarray(scene.background_rgb) - 25, 0, 255)
    return Image.fromarray(base)


def _draw_actor(draw: ImageDraw.ImageDraw, actor: Actor, t_ms: float, s: int, ink=None) -> None:
    """Draw ``actor`` as it stands at ``t_ms`` on a canvas of side ``s`` px; ``ink``: one fill for every
    part (body and eye) instead of the actor's colours, for masks."""
    p = pose(actor, t_ms)
    if not p["visible"]:
        return
    px, py = PLACES[actor.place]
    cx, cy = (px + p["dx"]) * s, (py + p["dy"]) * s
    r = SIZES[actor.size] * s * p["scale"]
    fill = COLOURS[actor.colour] if ink is None else ink
    if actor.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon(_polygon(actor.shape, cx, cy, r, p["angle"]), fill=fill)
    # A dark "eye" off the centre: it makes a spinning circle visible and shows heading.
    a = math.radians(p["angle"] - 90)
    ex, ey, er = cx + 0.5 * r * math.cos(a), cy + 0.5 * r * math.sin(a), max(1.0, 0.18 * r)
    draw.ellipse([ex - er, ey - er, ex + er, ey + er], fill=EYE_RGB if ink is None else ink)


def render_frames(scene: Scene, rng: np.random.Generator) -> list[Image.Image]:
    bg = _background(scene, rng)
    frames = []
    for t in scene.frame_times_ms():
        im = bg.copy()
        d = ImageDraw.Draw(im)
        for actor in scene.actors:
            _draw_actor(d, actor, float(t), scene.size_px)
        frames.append(im)
    return frames


# Colours that must survive palette quantisation exactly: every actor colour and the eye.
EYE_RGB = (20, 20, 20)
PALETTE_SIZE = 256  # GIF maximum


def gif_palette(frames: list[Image.Image]) -> Image.Image:
    """One palette for every frame of a GIF: the world's actor colours and the eye exactly, then
    a median-cut of all frames (backgrounds) for the remaining entries.

    A palette taken from one frame loses the colour of an actor that is invisible in that frame
    (blinking, appearing) or covers few pixels; its pixels are then mapped to the nearest
    remaining colour (a blue diamond became purple) and the colour answers no longer match the
    pixels.  Fixed entries make the actor colours exact in every frame.
    """
    fixed = [EYE_RGB, *COLOURS.values()]
    montage = Image.fromarray(np.concatenate([np.asarray(f.convert("RGB")) for f in frames], axis=0))
    rest = montage.quantize(colors=PALETTE_SIZE - len(fixed), method=Image.Quantize.MEDIANCUT)
    flat = [c for rgb in fixed for c in rgb] + rest.getpalette()[: 3 * (PALETTE_SIZE - len(fixed))]
    flat += [0] * (3 * PALETTE_SIZE - len(flat))
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat)
    return pal


def save_gif(scene: Scene, frames: list[Image.Image], path: Path) -> None:
    # One shared palette keeps colours stable across frames (no palette flicker) and the actor colours exact.
    palette_src = gif_palette(frames)
    paletted = [f.convert("RGB").quantize(palette=palette_src, dither=Image.Dither.NONE) for f in frames]
    paletted[0].save(
        path,
        save_all=True,
        append_images=paletted[1:],
        duration=list(scene.frame_delays_ms),
        loop=0,
        optimize=False,
        disposal=1,
    )


def actor_mask(actor: Actor, t_ms: float, size_px: int) -> np.ndarray:
    """Where ``actor`` is drawn at ``t_ms`` on a ``size_px`` canvas, alone: bool [size_px, size_px]
    (for analyses that need to know which pixels belong to which shape)."""
    # One 8-bit channel drawn in one ink: the same pixels as the actor's colours on black (neither an actor
    # colour nor the eye is black), without reducing over RGB, which was most of step 2's start-up.
    im = Image.new("L", (size_px, size_px), 0)
    _draw_actor(ImageDraw.Draw(im), actor, t_ms, size_px, ink=255)
    return np.asarray(im) > 0
