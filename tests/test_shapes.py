"""gifqa-shapes: determinism, file layout, the compositional hold-out, and answers that hold."""

import csv
import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from gifqa.media import load_video
from gifqa.shapes import generate_dataset
from gifqa.shapes.dataset import HEADERS, SPLITS, held_out_triples
from gifqa.shapes.world import ACTIONS, Actor, Segment, pose, sample_scene
from tests.shared_data import REPO


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    generate_dataset(out, n_train=24, n_val=4, n_test=4, n_compositional=6, n_val_compositional=4, seed=3)
    return out


def _read(path):
    raw = path.read_bytes()
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")  # CRLF like upstream
    return list(csv.reader(raw.decode("ascii").splitlines(), delimiter="\t"))


def test_layout_and_headers(dataset):
    for split in SPLITS:
        prefix = "Train" if split == "train" else "Test"
        for task, header in HEADERS.items():
            rows = _read(dataset / split / f"{prefix}_{task}_question.csv")
            assert rows[0] == header and all(len(r) == len(header) for r in rows)
            for r in rows[1:]:
                assert (dataset / "gifs" / f"{r[0]}.gif").exists()
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["splits"] == {"train": 24, "val": 4, "test": 4, "test_compositional": 6, "val_compositional": 4}


def test_deterministic(tmp_path, dataset):
    generate_dataset(tmp_path, n_train=24, n_val=4, n_test=4, n_compositional=6, n_val_compositional=4, seed=3)
    for rel in ["train/Train_action_question.csv", "descriptions.tsv", "gifs/shapes_val_000002.gif"]:
        a, b = (tmp_path / rel).read_bytes(), (dataset / rel).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), rel


def test_worlds_rendered_by_several_processes_are_byte_identical(tmp_path):
    """generate_dataset(workers=2) renders the GIFs in a process pool (>= POOL_MIN_CLIPS clips): every file
    equals the one-process world's, and the progress callback still sees each split's clips in order."""
    from gifqa.workers import POOL_MIN_ITEMS as POOL_MIN_CLIPS

    kw = dict(n_train=POOL_MIN_CLIPS, n_val=3, n_test=3, n_compositional=3, n_val_compositional=2, seed=4)
    seen = []
    generate_dataset(tmp_path / "one", workers=1, **kw)
    generate_dataset(tmp_path / "two", workers=2, progress=lambda split, i, n: seen.append((split, i)), **kw)
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    assert one == two and len(one) > POOL_MIN_CLIPS
    for rel in one:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    assert seen[:2] == [("train", 1), ("train", 2)] and seen[-1] == ("val_compositional", 2)
    assert len(seen) == sum(kw[k] for k in kw if k.startswith("n_"))


def test_a_plain_script_can_render_a_world_with_several_processes(tmp_path):
    """A script that calls generate_dataset at its top level, with no ``if __name__ == "__main__"`` guard (the
    package docstring's example), still works with a process pool: the workers must not re-run the script."""
    from gifqa.workers import POOL_MIN_ITEMS as POOL_MIN_CLIPS

    script = tmp_path / "make_world.py"
    script.write_text("from gifqa.shapes import generate_dataset\n"
                      f"generate_dataset({str(tmp_path / 'w')!r}, n_train={POOL_MIN_CLIPS}, n_val=1, n_test=1, "
                      "n_compositional=1, seed=2, workers=2)\nprint('done')\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["done"], r.stderr[-2000:]
    assert len(list((tmp_path / "w" / "gifs").glob("*.gif"))) == POOL_MIN_CLIPS + 3


def test_compositional_validation_split_leaves_the_others_unchanged(tmp_path, dataset):
    """Without --n-val-compositional a world is what it was before the split existed (no folder, no
    manifest entry); with it, every other split's files and GIFs are byte-identical, its clips are new
    ones, and its rows come after the others' (vid_ids and keys unchanged)."""
    generate_dataset(tmp_path, n_train=24, n_val=4, n_test=4, n_compositional=6, seed=3)
    assert not (tmp_path / "val_compositional").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "val_compositional" not in manifest["splits"]
    for split in ("train", "val", "test", "test_compositional"):
        for f in (tmp_path / split).iterdir():
            assert f.read_bytes() == (dataset / split / f.name).read_bytes(), f
    for gif in (tmp_path / "gifs").iterdir():
        assert gif.read_bytes() == (dataset / "gifs" / gif.name).read_bytes(), gif.name
    lines = (dataset / "descriptions.tsv").read_text().splitlines()
    assert (tmp_path / "descriptions.tsv").read_text().splitlines() == lines[:-4]
    assert all(line.startswith("shapes_val_compositional_") for line in lines[-4:])
    val_gifs = sorted((dataset / "gifs").glob("shapes_val_compositional_*.gif"))
    test_gifs = {g.read_bytes() for g in (dataset / "gifs").glob("shapes_test_compositional_*.gif")}
    assert len(val_gifs) == 4 and not any(g.read_bytes() in test_gifs for g in val_gifs)


def test_gifs_decode_with_varied_delays(dataset):
    v = load_video(dataset / "gifs" / "shapes_train_000005.gif")
    assert v.frames.shape[1:] == (64, 64, 3) and len(v) >= 10
    assert len(set(v.durations_ms.tolist())) > 1  # delays vary within a clip


def test_compositional_hold_out():
    held = held_out_triples(3)
    assert held and {t[0] for t in held} <= set(["red", "green", "blue", "yellow", "purple", "orange"])
    rng = np.random.default_rng(0)
    for _ in range(200):
        scene = sample_scene(rng, forbidden=held)
        for actor in scene.actors:
            for seg in actor.segments:
                assert (actor.colour, actor.shape, seg.action) not in held
    triple = sorted(held)[0]
    scene = sample_scene(rng, main_triple=triple)
    main = scene.actors[0]
    assert (main.colour, main.shape, main.segments[0].action) == triple


@pytest.mark.parametrize("split", ["test_compositional", "val_compositional"])
def test_compositional_split_uses_held_out_triples(dataset, split):
    held = {tuple(t) for t in json.loads((dataset / "manifest.json").read_text())["held_out_triples"]}
    rows = _read(dataset / split / "Test_transition_question.csv")[1:]
    assert rows
    descs = dict(line.split("\t") for line in (dataset / "descriptions.tsv").read_text().splitlines())
    for r in rows:
        words = descs[r[0] + ".gif"].split()
        colour, shape, verb = words[1], words[2], words[3]
        action = next(a for a, (_, third) in ACTIONS.items() if third == verb)
        assert (colour, shape, action) in held


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("count", [1, 3, 5])
def test_pose_repeats_count_times(action, count):
    actor = Actor("square", "red", "big", "left", [Segment(action, count, 0.0, 1000.0)])
    t = np.linspace(0, 999.9, 4000)
    poses = [pose(actor, x) for x in t]
    signal = {
        "bounce": [p["dy"] < -0.05 for p in poses],
        "spin": [p["angle"] > 300 for p in poses],
        "grow": [p["scale"] > 1.5 for p in poses],
        "blink": [not p["visible"] for p in poses],
        "nod": [p["dy"] > 0.05 for p in poses],
        "shake": [p["dx"] > 0.05 for p in poses],
    }[action]
    rises = sum(1 for a, b in zip([False] + signal, signal) if b and not a)
    assert rises == count


def test_answers_match_scene(dataset):
    rows = _read(dataset / "train" / "Train_action_question.csv")[1:]
    descs = dict(line.split("\t") for line in (dataset / "descriptions.tsv").read_text().splitlines())
    for r in rows:
        options, answer = r[2:7], int(r[7])
        verb3 = ACTIONS[options[answer]][1]
        times = r[1].split(" do ")[1].rsplit(" ?", 1)[0]  # e.g. "three times"
        assert f"{verb3} {times}" in descs[r[0] + ".gif"], (r, descs[r[0] + ".gif"])


def test_cli_refuses_non_empty_dir(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "gifqa", "make-shapes", str(tmp_path), "--n-train", "1"], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "not empty" in r.stderr and (tmp_path / "keep.txt").read_text() == "x"
    out = tmp_path / "new"
    r = subprocess.run(
        [sys.executable, "-m", "gifqa", "make-shapes", str(out), "--n-train", "2", "--n-val", "1", "--n-test", "1", "--n-compositional", "1",
         "--n-val-compositional", "2"],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0 and len(list((out / "gifs").glob("*.gif"))) == 7
    assert (out / "val_compositional" / "gif_ids.txt").read_text().split() == [
        "shapes_val_compositional_000000.gif", "shapes_val_compositional_000001.gif"]
    r = subprocess.run([sys.executable, "-m", "gifqa", "make-shapes", str(tmp_path / "neg"), "--n-val-compositional", "-1"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "--n-val-compositional must be >= 0" in r.stderr
    r = subprocess.run([sys.executable, "-m", "gifqa", "make-shapes", str(tmp_path / "w0"), "--workers", "0"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "--workers must be >= 1" in r.stderr and not (tmp_path / "w0").exists()


def test_actor_colours_are_exact_in_every_gif():
    """Regression: the GIF palette came from the middle frame only, so an actor invisible there
    (blinking) lost its colour to the nearest palette entry (a blue diamond drawn purple) and
    the colour answers did not match the pixels."""
    import tempfile
    from pathlib import Path

    from gifqa.shapes.render import render_frames, save_gif
    from gifqa.shapes.world import COLOURS

    checked_blink = False
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(12):
            rng = np.random.default_rng([7, seed])
            scene = sample_scene(rng)
            if seed == 0:  # force the case that broke: the main actor blinks through the middle frame
                scene.actors[0].segments = [Segment("blink", 1, 0.0, float(scene.duration_ms))]
            path = Path(tmp) / f"s{seed}.gif"
            save_gif(scene, render_frames(scene, rng), path)
            pixels = {tuple(p) for p in load_video(path).frames.reshape(-1, 3).tolist()}
            for actor in scene.actors:
                assert tuple(COLOURS[actor.colour]) in pixels, (seed, actor.name)
            checked_blink |= seed == 0
    assert checked_blink


def test_scene_for_redraws_every_split(dataset):
    """scene_for (the analyses' ground truth) re-draws the very scene each GIF was written from."""
    from gifqa.shapes.dataset import caption, scene_for

    for line in (dataset / "descriptions.tsv").read_text().splitlines():
        name, desc = line.split("\t")
        assert caption(scene_for(name, seed=3, size_px=64)) == desc, name
    with pytest.raises(ValueError, match="not a gifqa-shapes GIF name"):
        scene_for("shapes_nosuchsplit_000001")


def test_location_answers_match_where_the_pixels_are(dataset):
    """Every "where is the <colour> <shape> ?" answer names the quarter of the frame where that colour's
    pixels are (the place questions were near chance for the model, so the labels were checked first)."""
    from gifqa.shapes.world import COLOURS

    checked = 0
    for split in SPLITS:
        prefix = "Train" if split == "train" else "Test"
        for row in _read(dataset / split / f"{prefix}_frameqa_question.csv")[1:]:
            gif, question, answer = row[0], row[1], row[2]
            if not question.startswith("where is"):
                continue
            colour = question.split()[3]
            frames = load_video(dataset / "gifs" / f"{gif}.gif").frames.astype(int)  # [T, H, W, 3]
            mask = np.abs(frames - np.array(COLOURS[colour])).sum(-1) == 0  # [T, H, W]; the palette holds it exactly
            assert mask.any(), (gif, colour)
            _, ys, xs = np.nonzero(mask)
            x, y = xs.mean() / frames.shape[2], ys.mean() / frames.shape[1]
            seen = "left" if x < 0.35 else "right" if x > 0.65 else ("top" if y < 0.56 else "bottom")
            assert seen == answer, (gif, question, answer, round(x, 2), round(y, 2))
            checked += 1
    assert checked >= 30


def test_count_coverage_script(dataset, capsys):
    """scripts/shapes_count_coverage.py: more frames never cover a repetition worse; 'all frames' bound."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import shapes_count_coverage as cov
    finally:
        sys.path.pop(0)
    assert cov.main(["--world", str(dataset), "--split", "test_compositional", "--frames", "2", "40"]) == 0
    table = capsys.readouterr().out.strip().splitlines()[-2:]
    two, forty = ([float(c) for c in row.strip("|").split("|")[1:]] for row in table)
    assert two[1] < 1.0 and forty[1] == 1.0 and forty[0] > two[0]


def test_count_answers_script(dataset, tmp_path, capsys):
    """scripts/shapes_count_answers.py: answers equal to the truth count exactly, and an Action answer that is
    the main shape's other action is told apart from a right one."""
    from gifqa.data.tgifqa import annotation_path, read_annotation_file
    from gifqa.shapes.dataset import scene_for

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import shapes_count_answers as sca
    finally:
        sys.path.pop(0)
    folder = dataset / "test_compositional"
    counts = read_annotation_file(annotation_path(folder, "count", "Test"), "count")
    actions = read_annotation_file(annotation_path(folder, "action", "Test"), "action")
    (tmp_path / "tgif-qa_count").mkdir()
    (tmp_path / "tgif-qa_action").mkdir()
    (tmp_path / "tgif-qa_count" / "predictions.jsonl").write_text(
        "".join(json.dumps({"vid_id": r.vid_id, "prediction": r.answer}) + "\n" for r in counts))
    rows = []
    for i, r in enumerate(actions):  # every other question: the main shape's other action, when it is an option
        first, second = (s.action for s in scene_for(r.gif_name, seed=3, size_px=64).actors[0].segments)
        other = second if r.options[r.answer_index] == first else first
        pick = r.options.index(other) if i % 2 and other in r.options else r.answer_index
        rows.append(json.dumps({"vid_id": r.vid_id, "prediction": pick}) + "\n")
    (tmp_path / "tgif-qa_action" / "predictions.jsonl").write_text("".join(rows))
    # reactions: the main shape's first action's label, but every other clip its second action's
    from gifqa.shapes.dataset import REACTION_OF_ACTION

    reactions, gifs = [], sorted({r.gif_name for r in counts + actions})
    for i, name in enumerate(gifs):
        segments = scene_for(name, seed=3, size_px=64).actors[0].segments
        label = REACTION_OF_ACTION[segments[i % 2].action]
        reactions.append(json.dumps({"vid_id": name, "prediction": label}) + "\n")
    (tmp_path / "reactiongif_reaction").mkdir()
    (tmp_path / "reactiongif_reaction" / "predictions.jsonl").write_text("".join(reactions))
    assert sca.main(["--world", str(dataset), "--split", "test_compositional", "--eval", str(tmp_path),
                     "--reaction-eval", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    out, reaction_table = out.split("\n| shapes on screen |")
    cells = [[int(c) for c in row.strip("|").split("|")] for row in reaction_table.strip().splitlines()[2:]]
    assert sum(c[1] for c in cells) == len(gifs) and all(c[1] == sum(c[2:]) for c in cells)
    assert sum(c[2] for c in cells) == (len(gifs) + 1) // 2 and sum(c[3] for c in cells) == len(gifs) // 2
    table = out.split("\n|---|---:|---:|---:|---:|---|\n")[1].split("\n\n")[0].splitlines()
    cells = {row.split("|")[1].strip(): row.split("|")[2:6] for row in table}
    n, corr, mse, exact = cells.pop("all")
    assert int(n) == len(counts) and float(mse) == 0.0 and float(exact) == 1.0
    assert set(cells) <= set(ACTIONS) and sum(int(c[0]) for c in cells.values()) == len(counts)  # per asked action
    assert sca.asked_action("How many times does the red circle bounce ?") == "bounce"
    right, other, neither, missing = (int(c) for c in out.strip().splitlines()[-1].strip("|").split("|")[1:])
    assert other > 0 and right + other == len(actions) and neither == missing == 0
    truth = np.array([1.0, 2.0, 3.0, 3.0])
    s = sca.count_summary(truth, np.array([2.0, 2.0, 2.0, 3.0]))
    assert s["mean_answer"] == {1: 2.0, 2: 2.0, 3: 2.5} and s["exact"] == 0.5 and math.isclose(s["mse"], 0.5)


def test_named_shape_attention_script(dataset):
    """scripts/named_shape_attention.py: shape coverage lands where the shape stands, and the attention
    masses it reports are shares of the frame's attention."""
    import json

    from gifqa.inference import resolve_model
    from gifqa.shapes.dataset import scene_for

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import named_shape_attention as nsa
    finally:
        sys.path.pop(0)
    scene = scene_for("shapes_val_000000", seed=3)
    cover = nsa.coverage(scene, scene.frame_times_ms()[:3], 4)  # [T, actors, 16]
    assert cover.shape == (3, len(scene.actors), 16)
    for a, actor in enumerate(scene.actors):
        cols = {int(p) % 4 for p in np.nonzero(cover[:, a].any(0))[0]}
        rows = {int(p) // 4 for p in np.nonzero(cover[:, a].any(0))[0]}
        assert cols, actor
        if actor.place == "left":
            assert cols <= {0, 1}
        elif actor.place == "right":
            assert cols <= {2, 3}
        elif actor.place == "top":
            assert min(rows) <= 1
        else:
            assert max(rows) == 3
    model = resolve_model("shapes", device="cpu")
    out = nsa.measure(model, dataset, "train", "transition", limit=3)
    assert out["clips"] == 3 and out["frames"] == 3 * model.config.keyframes.frames
    assert not model.projector.record_attentions and model.projector.cross_attentions  # switched back off
    for layer in out["cross_attention"].values():
        assert 0 <= layer["named_mass"] <= 1 and 0 <= layer["others_mass"] <= 1
        assert layer["named_mass"] + layer["others_mass"] <= 1 + 1e-6
        assert len(layer["ratio_per_head_query"]) == 4 * model.config.projector.num_query_tokens and layer["ratio"] >= 0
    json.dumps(out)


def test_bag_of_actions_script(dataset, capsys):
    """scripts/shapes_bag_of_actions.py: knowing the clip's actions answers every one-shape Transition
    question (the other segment's action is the only one left) and less with more shapes."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import shapes_bag_of_actions as bag
    finally:
        sys.path.pop(0)
    acc = bag.expected_accuracy(dataset, "train")
    assert acc[1] == (1.0, acc[1][1]) and acc[0][1] == 24
    assert all(0 < a <= 1 for a, _ in acc.values()) and min(a for a, _ in acc.values()) < 1
    weighted = sum(a * n for k, (a, n) in acc.items() if k) / acc[0][1]
    assert abs(weighted - acc[0][0]) < 1e-9
    assert bag.main(["--world", str(dataset), "--split", "train"]) == 0
    assert capsys.readouterr().out.splitlines()[2].startswith("| transition | ")
