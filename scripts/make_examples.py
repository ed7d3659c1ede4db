"""Regenerate the self-made example media in examples/ (deterministic; CC0).

    python scripts/make_examples.py

examples/shapes_bounce.gif: a red circle bouncing left to right over a blue square,
16 frames of 64x64 with two different frame delays and a transparent background.
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "examples"


def shapes_bounce(path: Path) -> None:
    frames = []
    for i in range(16):
        im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        d = ImageDraw.Draw(im)
        d.rectangle([24, 40, 40, 56], fill=(30, 60, 200, 255))
        x = 4 + (i if i < 8 else 15 - i) * 6
        y = 6 + abs(4 - (i % 8)) * 4
        d.ellipse([x, y, x + 14, y + 14], fill=(220, 30, 30, 255))
        frames.append(im)
    durations = [80] * 8 + [120] * 8
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=2, optimize=False
    )


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    shapes_bounce(OUT / "shapes_bounce.gif")
    print(f"wrote {OUT / 'shapes_bounce.gif'}")
