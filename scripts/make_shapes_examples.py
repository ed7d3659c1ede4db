"""Write the self-made gifqa-shapes examples in examples/ (deterministic; ours, CC0 like make_examples.py).

    python scripts/make_shapes_examples.py

Each GIF is a scene of the gifqa-shapes world (gifqa/shapes/world.py) drawn at 64 px, and
examples/shapes_examples.json lists questions about it with the answers the world defines
(the same templates as the dataset), which tests/test_shapes_checkpoint.py asks the shipped
checkpoint.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent.parent / "examples"
SEEDS = (11, 12, 13)  # scene seeds; rerunning gives byte-identical files


def main() -> int:
    from gifqa.shapes.dataset import _times, caption, held_out_triples
    from gifqa.shapes.render import render_frames, save_gif
    from gifqa.shapes.world import ACTIONS, NUMBER_WORDS, sample_scene

    records = []
    for seed in SEEDS:
        rng = np.random.default_rng([2026, seed])
        scene = sample_scene(rng, size_px=64, forbidden=held_out_triples(0))
        main, *others = scene.actors
        first, second = main.segments
        name = f"shapes_{main.colour}_{main.shape}_{first.action}.gif"
        save_gif(scene, render_frames(scene, rng), OUT / name)
        qa = [
            {"question": f"what color is the {main.shape} ?", "answer": main.colour},
            {"question": f"what shape is {main.colour} ?", "answer": main.shape},
            {"question": "how many shapes are there ?", "answer": NUMBER_WORDS[len(scene.actors)]},
            {"question": f"where is the {main.name} ?", "answer": main.place},
            {"question": f"What does the {main.name} do after it {ACTIONS[first.action][1]} ?",
             "answer": second.action, "options": sorted([second.action, *[a for a in sorted(ACTIONS) if a != second.action][:4]])},
            {"question": f"What does the {main.name} do {_times(first.count)} ?", "answer": first.action},
            {"question": f"How many times does the {main.name} {ACTIONS[first.action][0]} ?", "answer": first.count},
        ]
        records.append({"gif": f"examples/{name}", "caption": caption(scene), "questions": qa})
    (OUT / "shapes_examples.json").write_text(json.dumps(records, indent=1) + "\n")
    for r in records:
        print(r["gif"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
