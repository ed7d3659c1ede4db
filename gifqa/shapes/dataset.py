"""Write a gifqa-shapes dataset: GIFs plus annotations in the official TGIF-QA file layout.

Layout (so the TGIF-QA readers, the training mixture and ``gifqa eval`` run unchanged):

    OUT/gifs/<gif_name>.gif
    OUT/train/Train_{action,transition,count,frameqa}_question.csv
    OUT/{val,test,test_compositional,val_compositional}/Test_{action,transition,count,frameqa}_question.csv
    OUT/<split>/gif_ids.txt   the split's GIF file names, one a line (``gifqa eval --caption-ids``)
    OUT/descriptions.tsv      TGIF layout: "<gif file name><TAB><caption>", one per GIF
    OUT/reactions.jsonl       {"gif_name", "split", "label"} with ReactionGIF label names
    OUT/manifest.json         seed, sizes, the held-out triples, generator version

Files are TAB-separated with CRLF line ends and a header, as upstream.  The compositional
test split's main actors perform (colour, shape, action) triples that no actor in the train, val
and test splits ever performs.  The compositional validation split (``val_compositional``; none
unless asked for) draws other clips from the same held-out triples, to pick models and settings on
without reading the compositional test split: CLEVR-CoGenT's valB / testB (Johnson et al. 2017).
The validation split cannot stand in for it: its triples are all seen in training, so it rewards
a model for leaning on which shapes do what in training, which the compositional split punishes
(report.md, gifqa-shapes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gifqa.shapes.render import render_frames, save_gif
from gifqa.shapes.world import ACTIONS, COLOURS, NUMBER_WORDS, SHAPES, Scene, sample_scene
from gifqa.workers import ordered_map

GENERATOR_VERSION = 2  # 2: exact actor colours in the GIF palette (render.gif_palette)
# Appended splits keep the others byte-identical: each GIF's RNG is seeded by its split's index here.
SPLITS = ("train", "val", "test", "test_compositional", "val_compositional")
COMPOSITIONAL_SPLITS = ("test_compositional", "val_compositional")
# A motion pattern's reaction, as a label of ReactionGIF's 43 (nod -> yes, shake -> no, ...).
REACTION_OF_ACTION = {
    "nod": "yes",
    "shake": "no",
    "bounce": "happy_dance",
    "spin": "dance",
    "grow": "omg",
    "blink": "wink",
}
HEADERS = {
    "action": ["gif_name", "question", "a1", "a2", "a3", "a4", "a5", "answer", "vid_id", "key"],
    "transition": ["gif_name", "question", "a1", "a2", "a3", "a4", "a5", "answer", "vid_id", "key"],
    "count": ["gif_name", "question", "answer", "vid_id", "key"],
    "frameqa": ["gif_name", "question", "answer", "type", "vid_id", "key", "description"],
}
VID_PREFIX = {"action": "ACTION", "transition": "TRANS", "count": "COUNT", "frameqa": "FRAMEQA"}
FRAMEQA_TYPE_IDS = {"object": 0, "number": 1, "color": 2, "location": 3}


def held_out_triples(seed: int, share: float = 0.15) -> set[tuple[str, str, str]]:
    """A fixed share of (colour, shape, action) triples kept out of every split but one.

    Every colour, shape and action still occurs in training: only combinations are held out.
    """
    rng = np.random.default_rng([seed, 7919])
    triples = [(c, s, a) for c in COLOURS for s in SHAPES for a in ACTIONS]
    pick = rng.permutation(len(triples))[: int(round(share * len(triples)))]
    return {triples[i] for i in sorted(pick)}


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def caption(scene: Scene) -> str:
    main, *others = scene.actors
    first, second = main.segments
    parts = [
        f"{_a(main.colour)} {main.shape} {ACTIONS[first.action][1]} {_times(first.count)} "
        f"and then {ACTIONS[second.action][1]} {_times(second.count)}"
    ]
    for o in others:
        parts.append(f"{_a(o.colour)} {o.shape} {ACTIONS[o.segments[0].action][1]}")
    return parts[0] + (" while " + " and ".join(parts[1:]) if len(parts) > 1 else "") + " ."


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{NUMBER_WORDS[n]} times")


def _options(rng: np.random.Generator, answer: str) -> tuple[list[str], int]:
    others = [a for a in ACTIONS if a != answer]
    opts = [answer] + [str(x) for x in rng.choice(others, size=4, replace=False)]
    order = rng.permutation(5)
    opts = [opts[i] for i in order]
    return opts, opts.index(answer)


@dataclass
class _Rows:
    action: list
    transition: list
    count: list
    frameqa: list


def questions(scene: Scene, gif_name: str, key: int, rng: np.random.Generator, rows: _Rows, desc: str) -> None:
    main = scene.actors[0]
    first, second = main.segments
    # Action: what does X do N times (the segment's action; segments of one actor differ).
    seg = first if rng.random() < 0.5 else second
    opts, ans = _options(rng, seg.action)
    rows.action.append([gif_name, f"What does the {main.name} do {_times(seg.count)} ?", *opts, ans, key])
    # Transition: after / before.
    if rng.random() < 0.5:
        q, target = f"What does the {main.name} do after it {ACTIONS[first.action][1]} ?", second.action
    else:
        q, target = f"What does the {main.name} do before it {ACTIONS[second.action][1]} ?", first.action
    opts, ans = _options(rng, target)
    rows.transition.append([gif_name, q, *opts, ans, key])
    # Count: any actor's segment.
    actor = scene.actors[int(rng.integers(len(scene.actors)))]
    seg = actor.segments[int(rng.integers(len(actor.segments)))]
    rows.count.append([gif_name, f"How many times does the {actor.name} {ACTIONS[seg.action][0]} ?", seg.count, key])
    # FrameQA: one question of each type, one-word answers.
    a = scene.actors[int(rng.integers(len(scene.actors)))]
    fq = [
        (f"what shape is {a.colour} ?", a.shape, "object"),
        (f"what color is the {a.shape} ?", a.colour, "color"),
        ("how many shapes are there ?", NUMBER_WORDS[len(scene.actors)], "number"),
        (f"where is the {a.name} ?", a.place, "location"),
    ]
    for q, answer, t in fq:
        rows.frameqa.append([gif_name, q, answer, FRAMEQA_TYPE_IDS[t], key, desc])


def _write_table(path: Path, task: str, rows: list, start_id: int) -> int:
    lines = ["\t".join(HEADERS[task])]
    n = start_id
    for r in rows:
        if task == "frameqa":  # rows are [gif, question, answer, type, key, description]
            gif, q, ans, t, key, desc = r
            fields = [gif, q, ans, t, f"{VID_PREFIX[task]}{n}", key, desc]
        else:  # rows end with the key; vid_id goes before it
            fields = [*r[:-1], f"{VID_PREFIX[task]}{n}", r[-1]]
        lines.append("\t".join(str(x) for x in fields))
        n += 1
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return n


def _scene_and_rng(seed: int, split: str, index: int, size_px: int, held_list: list) -> tuple[Scene, np.random.Generator]:
    """The scene of GIF ``index`` of ``split``, and its RNG after drawing it (rendering and the
    questions draw from it next)."""
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    if split in COMPOSITIONAL_SPLITS:
        return sample_scene(rng, size_px=size_px, main_triple=held_list[int(rng.integers(len(held_list)))]), rng
    return sample_scene(rng, size_px=size_px, forbidden=set(held_list)), rng


def scene_for(gif_name: str, *, seed: int = 0, size_px: int = 64) -> Scene:
    """Re-draw the scene behind a generated GIF from its name (``shapes_<split>_<index>``) and the
    dataset's seed and size (its manifest.json): the ground truth the annotations were written from,
    for analyses that need more than the annotation files hold (segment times, places)."""
    prefix, _, index = gif_name.removesuffix(".gif").rpartition("_")
    split = prefix.removeprefix("shapes_")
    if not prefix.startswith("shapes_") or split not in SPLITS or not index.isdigit():
        raise ValueError(f"{gif_name!r} is not a gifqa-shapes GIF name (shapes_<split>_<index>)")
    return _scene_and_rng(seed, split, int(index), size_px, sorted(held_out_triples(seed)))[0]


def _make_clip(job: tuple) -> tuple[str, dict, _Rows]:
    """Draw, render and save one GIF; -> (its description, its reaction record, its question rows).
    ``job``: (out_dir, seed, split, index, size_px, held_list, key).  Everything it draws comes from the
    clip's own RNG, so clips can be made in any order, in any process."""
    out, seed, split, i, size_px, held_list, key = job
    scene, rng = _scene_and_rng(seed, split, i, size_px, held_list)
    gif_name = f"shapes_{split}_{i:06d}"
    save_gif(scene, render_frames(scene, rng), Path(out) / "gifs" / f"{gif_name}.gif")
    desc = caption(scene)
    rows = _Rows([], [], [], [])
    questions(scene, gif_name, key, rng, rows, desc)
    reaction = {"gif_name": gif_name, "split": split, "label": REACTION_OF_ACTION[scene.actors[0].segments[0].action]}
    return desc, reaction, rows


def generate_dataset(
    out_dir,
    *,
    n_train: int = 2000,
    n_val: int = 200,
    n_test: int = 200,
    n_compositional: int = 200,
    seed: int = 0,
    size_px: int = 64,
    progress=None,
    n_val_compositional: int = 0,
    workers: int | None = None,
) -> dict:
    """Generate the dataset into ``out_dir``; returns the manifest (also written as JSON).

    Deterministic: the same arguments give byte-identical files (each GIF draws from its
    own RNG seeded by (seed, split, index)), whatever ``workers`` (processes rendering the GIFs, on
    Linux; default ``gifqa.workers.default_workers()``; elsewhere they are rendered in this process).
    """
    out = Path(out_dir)
    (out / "gifs").mkdir(parents=True, exist_ok=True)
    held_list = sorted(held_out_triples(seed))
    counts = dict(zip(SPLITS, (n_train, n_val, n_test, n_compositional, n_val_compositional)))
    if not n_val_compositional:  # written only when asked for, so older worlds regenerate unchanged
        del counts["val_compositional"]
    jobs, key = [], 0
    for split, n in counts.items():
        for i in range(n):
            jobs.append((str(out), seed, split, i, size_px, held_list, key))
            key += 1
    # The workers only draw with numpy and Pillow; every clip has its own RNG, so the files are the same
    # for any number of them.
    with ordered_map(_make_clip, jobs, workers) as made:
        descriptions, reactions = [], []
        next_ids = {t: 1 for t in HEADERS}
        for split in counts:
            rows = _Rows([], [], [], [])
            split_gifs = []
            for i in range(counts[split]):  # results come back in job order
                desc, reaction, clip_rows = next(made)
                descriptions.append(f"{reaction['gif_name']}.gif\t{desc}")
                split_gifs.append(f"{reaction['gif_name']}.gif")
                reactions.append(reaction)
                for task in HEADERS:
                    getattr(rows, task).extend(getattr(clip_rows, task))
                if progress is not None:
                    progress(split, i + 1, counts[split])
            folder = out / split
            folder.mkdir(exist_ok=True)
            (folder / "gif_ids.txt").write_text("".join(f"{g}\n" for g in split_gifs))
            prefix = "Train" if split == "train" else "Test"
            for task in HEADERS:
                next_ids[task] = _write_table(folder / f"{prefix}_{task}_question.csv", task, getattr(rows, task), next_ids[task])
    (out / "descriptions.tsv").write_text("\n".join(descriptions) + "\n")
    with open(out / "reactions.jsonl", "w") as fh:
        for r in reactions:
            fh.write(json.dumps(r) + "\n")
    manifest = {
        "generator": "gifqa-shapes",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "size_px": size_px,
        "splits": counts,
        "held_out_triples": [list(t) for t in held_list],
        "reaction_of_action": REACTION_OF_ACTION,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
