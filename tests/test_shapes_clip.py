"""The small CLIP of gifqa-shapes: tokenizer, loss, and a real short training through scripts/train_clip.py
whose output loads as a CLIP-Cut encoder and as the gifqa model's vision tower."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[model]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")

ROOT = Path(__file__).resolve().parents[1]


def test_clip_tokenizer_ends_every_text_with_its_last_id():
    from gifqa.shapes.vocab import CLIP_END_TOKEN, build_clip_tokenizer, vocabulary

    tok = build_clip_tokenizer()
    end = tok.convert_tokens_to_ids(CLIP_END_TOKEN)
    assert end == len(vocabulary()) == len(tok) - 1 == tok.eos_token_id
    ids = tok(["a red circle .", "what does the square do 3 times ?"], padding=True)["input_ids"]
    assert ids[0][4] == end and ids[0][5:] == [tok.pad_token_id] * (len(ids[0]) - 5)
    assert ids[1][-1] == end and tok.unk_token_id not in ids[1]


def test_text_is_pooled_at_the_end_token():
    from gifqa.shapes.vocab import build_clip_tokenizer
    from gifqa.training.contrastive import ContrastiveConfig, build_clip

    tok = build_clip_tokenizer()
    cfg = ContrastiveConfig(text={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                  "num_attention_heads": 2, "max_position_embeddings": 16})
    model, _ = build_clip(cfg, tok)
    enc = tok(["a red circle .", "an orange star nods twice ."], padding=True, return_tensors="pt")
    out = model.text_model(**enc)
    last = enc["attention_mask"].sum(1) - 1
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state[torch.arange(2), last])


def test_clip_loss_is_symmetric_infonce():
    from gifqa.training.contrastive import clip_loss

    g = torch.Generator().manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=-1)
    t = torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=-1)
    scale = torch.tensor(math.log(10.0))
    logits = 10.0 * v @ t.t()
    want = (torch.nn.functional.cross_entropy(logits, torch.arange(6))
            + torch.nn.functional.cross_entropy(logits.t(), torch.arange(6))) / 2
    torch.testing.assert_close(clip_loss(v, t, scale), want)
    assert clip_loss(v, v, torch.tensor(math.log(100.0))) < clip_loss(v, t, torch.tensor(math.log(100.0)))


def test_hard_negatives_join_the_captions_a_clip_is_scored_against():
    from gifqa.training.contrastive import clip_loss

    g = torch.Generator().manual_seed(1)
    v = torch.nn.functional.normalize(torch.randn(5, 8, generator=g), dim=-1)
    t = torch.nn.functional.normalize(torch.randn(5, 8, generator=g), dim=-1)
    n = torch.nn.functional.normalize(torch.randn(5, 8, generator=g), dim=-1)
    scale = torch.tensor(math.log(10.0))
    logits = 10.0 * v @ t.t()
    want = (torch.nn.functional.cross_entropy(torch.cat([logits, 10.0 * v @ n.t()], 1), torch.arange(5))
            + torch.nn.functional.cross_entropy(logits.t(), torch.arange(5))) / 2
    torch.testing.assert_close(clip_loss(v, t, scale, n), want)
    assert clip_loss(v, t, scale, n) > clip_loss(v, t, scale)  # more negatives, never less loss
    # A negative that copies the positive caption costs the clip half of its probability mass.
    assert clip_loss(v, v, scale, v) > clip_loss(v, v, scale, -v)


CAPTION = "a yellow diamond spins four times and then blinks three times while an orange square nods ."


def test_hard_negative_changes_one_fact_the_frames_decide():
    from gifqa.shapes.negatives import KINDS, hard_negative
    from gifqa.shapes.world import COLOURS, SHAPES

    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        neg = hard_negative(CAPTION, rng)
        a, b = CAPTION.split(), neg.split()
        assert neg != CAPTION and len(a) == len(b)
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y and x not in ("a", "an")]
        assert len(diff) in (1, 2), neg  # one word replaced, or two swapped
        if len(diff) == 2:
            i, j = diff
            assert (a[i], a[j]) == (b[j], b[i])
        # Shapes and colours stay unique among actors, and articles follow the colour.
        assert len({w for w in b if w in SHAPES}) == 2 and len({w for w in b if w in COLOURS}) == 2
        for art, word in zip(b, b[1:]):
            if art in ("a", "an"):
                assert art == ("an" if word[0] in "aeiou" else "a"), neg
        seen.add(neg)
    assert len(seen) > 20  # many different negatives, not one
    # Restricted to a word class, only words of that class change; the same seed, the same draws.
    only_shape = hard_negative(CAPTION, np.random.default_rng(3), ("shape",))
    assert set(only_shape.split()) ^ set(CAPTION.split()) <= set(SHAPES)
    assert only_shape == hard_negative(CAPTION, np.random.default_rng(3), ("shape",))
    assert set(KINDS) == {"shape", "colour", "action"}
    assert hard_negative("no world words here .", rng) == "no world words here ."


def test_retrieval_metrics_rank_the_right_pair():
    from gifqa.training.contrastive import retrieval_metrics

    class Fake:  # embeddings: clip i and caption i are the same one-hot vector
        def eval(self):
            return self

        def get_image_features(self, pixel_values):
            return pixel_values.flatten(1)[:, :4]

        def get_text_features(self, input_ids, attention_mask):
            return torch.nn.functional.one_hot(input_ids[:, 0], 4).float()

    pixels = torch.eye(4)[:, None, :].expand(4, 2, 4).reshape(4, 2, 4, 1, 1)
    ids = torch.tensor([[0], [1], [2], [3]])
    m = retrieval_metrics(Fake(), pixels, ids, torch.ones_like(ids))
    assert m["text_to_video_r1"] == m["video_to_text_r1"] == 1.0
    m = retrieval_metrics(Fake(), pixels, ids.flip(0), torch.ones_like(ids))
    assert m["text_to_video_r1"] == 0.0 and m["text_to_video_r5"] == 1.0


def _recipe(tmp_path, steps: int) -> Path:
    recipe = tmp_path / "clip.yaml"
    recipe.write_text(f"""
output_dir: {tmp_path / 'clip'}
seed: 0
preset: shapes
text: {{hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 32}}
projection_dim: 32
hard_negatives: true
data:
  world_root: {tmp_path / 'world'}
  generate: {{n_train: 8, n_val: 4, n_test: 0, n_compositional: 0, seed: 3, size_px: 64}}
  frames: 4
optim: {{lr: 3.0e-3, weight_decay: 0.0, batch_size: 8, max_steps: {steps}, warmup_steps: 1}}
log_every: 1
""")
    return recipe


def _train_clip_script():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_clip
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return train_clip


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    """A CLIP trained for 40 steps on 8 generated GIFs through scripts/train_clip.py."""
    tmp = tmp_path_factory.mktemp("clip")
    assert _train_clip_script().main(["--config", str(_recipe(tmp, 40))]) == 0
    return tmp / "clip"


def test_train_clip_entry_point_learns_and_its_output_loads_everywhere(tiny_clip):
    import json

    from transformers import CLIPModel

    out = tiny_clip
    record = json.loads((out / "training.json").read_text())
    history = record["metrics"]["history"]
    assert len(history) == 40 and history[-1]["loss"] < history[0]["loss"] / 2  # memorises 8 pairs
    assert record["metrics"]["train_subset"]["text_to_video_r1"] >= 0.75
    assert record["config"]["optim"]["max_steps"] == 40 and record["config"]["hard_negatives"] is True
    assert set(record["metrics"]["val_hard_negatives"]) == {"any", "shape", "colour", "action"}
    assert all(0.0 <= x <= 1.0 for x in record["metrics"]["val_hard_negatives"].values())

    # CLIP-Cut's encoder reads the folder (tokenizer, image statistics of the preset).
    from gifqa.retrieval.encoders import CLIPEncoder

    enc = CLIPEncoder.from_pretrained(str(out), device="cpu")
    assert enc.image_size == 64 and enc.dim == 32
    assert list(enc._mean.flatten()) == [0.5, 0.5, 0.5]
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    assert enc.encode_frames(frames).shape == (3, 32) and enc.encode_text(["a red circle ."]).shape == (1, 32)

    # The gifqa model takes its tower from the folder, weight for weight.
    from gifqa.model import GifQAModel
    from gifqa.model.presets import load_preset

    cfg = load_preset("shapes")
    cfg.vision.hub_id = str(out)
    model = GifQAModel.from_config(cfg, pretrained=True)
    clip = CLIPModel.from_pretrained(out)
    tower = model.vision.model.state_dict()
    want = clip.vision_model.state_dict()
    assert len(tower) == len(want)
    for name, p in want.items():  # transformers 4 nests the tower under vision_model., 5 does not
        torch.testing.assert_close(tower.get(name, tower.get(f"vision_model.{name}")), p)


def test_eval_clip_script_reproduces_the_training_record(tiny_clip, capsys):
    import json

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import eval_clip
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    world = next((tiny_clip.parent / "world" / "data").glob("shapes-*"))
    assert eval_clip.main(["--clip", str(tiny_clip), "--world", str(world), "--frames", "4"]) == 0
    got = json.loads(capsys.readouterr().out)
    record = json.loads((tiny_clip / "training.json").read_text())["metrics"]
    assert got["retrieval"] == record["val"] and got["hard_negatives"] == record["val_hard_negatives"]
    # A folder that is not a world: one line naming it, exit code 1.
    assert eval_clip.main(["--clip", str(tiny_clip), "--world", str(tiny_clip)]) == 1
    err = capsys.readouterr().err
    assert "manifest.json: missing" in err and len(err.strip().splitlines()) == 1


def test_patch_labels_name_the_shape_covering_each_patch():
    from gifqa.shapes.patches import patch_coverage, patch_labels
    from gifqa.shapes.world import COLOURS, SHAPES, Actor, Scene, Segment

    # A big red square standing still at "left" (centre 12.8, 37.1 px of 64) and a small blue star that
    # blinks (gone in the middle of its one repetition) at "right" (51.2, 37.1).
    still = [Segment("nod", 1, 0.0, 1.0)]  # ends before the frames' times: no motion at t >= 1 ms
    square = Actor("square", "red", "big", "left", still)
    star = Actor("star", "blue", "small", "right", [Segment("blink", 1, 0.0, 1000.0)])
    scene = Scene(actors=[square, star], frame_delays_ms=[500, 500], background="plain",
                  background_rgb=(230, 230, 230), size_px=64)
    times = [100.0, 500.0]  # star shown, star hidden
    share = patch_coverage(scene, times, grid=4)  # [T, A, 16]
    assert share.shape == (2, 2, 16) and share.min() >= 0.0 and share.max() <= 1.0
    row2 = 2 * 4  # patches of rows 32-47 px: both shapes' centres
    assert share[0, 0, row2 + 0] > 0.5 and share[0, 0, row2 + 3] == 0.0  # the square fills its patch, not the star's
    assert share[0, 1, row2 + 3] > 0.25 and share[1, 1].max() == 0.0  # the star, then gone
    assert share[:, :, 0].max() == 0.0  # top-left corner: background
    shape, colour = patch_labels(scene, times, grid=4)
    assert shape.shape == colour.shape == (2, 16) and shape.dtype.kind == "i"
    assert shape[0, row2] == 1 + SHAPES.index("square") and colour[0, row2] == 1 + list(COLOURS).index("red")
    assert shape[0, row2 + 3] == 1 + SHAPES.index("star") and colour[0, row2 + 3] == 1 + list(COLOURS).index("blue")
    assert shape[1, row2 + 3] == 0 and colour[1, row2 + 3] == 0  # hidden star: nothing there
    assert shape[0, 0] == 0 and (shape[0] > 0).sum() == (colour[0] > 0).sum()


def test_actor_masks_are_the_pixels_the_actor_paints_and_coverage_can_take_a_subset():
    """actor_mask draws one ink on one channel (fast): the same pixels as the actor in its own colours
    (body and eye) on black; patch_coverage of some actors equals those actors' columns of all of them."""
    from PIL import Image, ImageDraw

    from gifqa.shapes.dataset import scene_for
    from gifqa.shapes.patches import patch_coverage
    from gifqa.shapes.render import _draw_actor, actor_mask

    checked = 0
    for name in [f"shapes_train_{i:06d}" for i in range(6)]:
        scene = scene_for(name, seed=3, size_px=64)
        times = scene.frame_times_ms()[::4]
        for actor in scene.actors:
            for t in times:
                painted = Image.new("RGB", (64, 64), (0, 0, 0))
                _draw_actor(ImageDraw.Draw(painted), actor, float(t), 64)
                expect = np.asarray(painted).max(axis=-1) > 0
                assert np.array_equal(actor_mask(actor, float(t), 64), expect)
                checked += int(expect.any())
        full = patch_coverage(scene, times, grid=4)  # [T, A, 16]
        last = len(scene.actors) - 1
        assert np.array_equal(patch_coverage(scene, times, grid=4, actors=[last, 0]), full[:, [last, 0]])
    assert checked > 50  # most masks drawn are not empty: the comparison saw shapes


def test_patch_poses_say_where_the_covering_shape_stands():
    """patch_poses: the covering shape's centre relative to each covered patch, its radius and heading,
    in patch units; NaN where nothing covers the patch; a hidden (blinking) shape covers nothing."""
    from gifqa.shapes.patches import POSE_SIZE, actor_pose, patch_poses
    from gifqa.shapes.world import PLACES, SIZES, Actor, Scene, Segment

    square = Actor("square", "red", "big", "left", [Segment("nod", 1, 0.0, 1.0)])  # still from 1 ms
    star = Actor("star", "blue", "small", "right", [Segment("blink", 1, 0.0, 1000.0)])
    scene = Scene(actors=[square, star], frame_delays_ms=[500, 500], background="plain",
                  background_rgb=(230, 230, 230), size_px=64)
    poses = patch_poses(scene, [100.0, 500.0], grid=4)
    assert poses.shape == (2, 16, POSE_SIZE) and poses.dtype == np.float32
    row2 = 2 * 4
    x, y = PLACES["left"]  # the square's centre: (0.2, 0.58) of the side = (0.8, 2.32) patches
    assert np.allclose(poses[0, row2], [x * 4 - 0.5, y * 4 - 2.5, SIZES["big"] * 4, 1.0, 0.0], atol=1e-5)
    assert np.isnan(poses[0, 0]).all()  # background
    assert not np.isnan(poses[0, row2 + 3]).any() and np.isnan(poses[1, row2 + 3]).all()  # the star, then hidden
    assert actor_pose(star, 500.0) is None


def test_patch_pose_trains_a_third_head(tmp_path):
    """``patch_pose``: the pose read-out learns (its error falls) and is reported on validation;
    without patch_supervision it is a config error."""
    import json

    from gifqa.errors import ConfigError
    from gifqa.training.contrastive import load_contrastive_recipe

    with pytest.raises(ConfigError, match="patch_pose needs patch_supervision"):
        load_contrastive_recipe(_recipe(tmp_path, 1), ["--patch_pose", "true"])
    assert _train_clip_script().main(["--config", str(_recipe(tmp_path, 30)), "--patch_supervision", "true",
                                      "--patch_pose", "true"]) == 0
    record = json.loads((tmp_path / "clip" / "training.json").read_text())
    history = record["metrics"]["history"]
    assert history[-1]["patch_pose_mse"] < history[0]["patch_pose_mse"] / 2
    assert record["metrics"]["val_patch_accuracy"]["pose_mse"] > 0


def test_patch_supervision_trains_heads_that_are_not_saved(tmp_path):
    """``patch_supervision``: the towers learn to say what covers each patch; the heads stay out of the folder."""
    import json

    from safetensors.torch import load_file

    assert _train_clip_script().main(["--config", str(_recipe(tmp_path, 30)), "--patch_supervision", "true"]) == 0
    record = json.loads((tmp_path / "clip" / "training.json").read_text())
    history = record["metrics"]["history"]
    assert record["config"]["patch_supervision"] is True and record["config"]["patch_loss_weight"] == 1.0
    assert history[-1]["patch_loss"] < history[0]["patch_loss"] / 2  # most patches are empty: learnt first
    assert history[-1]["patch_colour_acc"] > history[0]["patch_colour_acc"] + 0.3  # then the covered ones
    val = record["metrics"]["val_patch_accuracy"]
    assert val["covered_patches"] > 0 and 0.0 <= val["shape"] <= 1.0 and 0.0 <= val["colour"] <= 1.0
    weights = load_file(tmp_path / "clip" / "model.safetensors")
    assert not any("shape" in k or "colour" in k for k in weights)  # a plain CLIPModel folder


def test_probe_patch_features_script(tiny_clip, capsys):
    """scripts/probe_patch_features.py: per-layer linear-probe accuracies of shape and colour on covered patches."""
    import json

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import probe_patch_features
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert probe_patch_features.main(["--clip", str(tiny_clip), "--n-train", "12", "--n-test", "4", "--frames", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["train_patches"] > 0 and out["test_patches"] > 0
    layers = [k for k in out if k.startswith("layer")]
    assert layers == ["layer0", "layer1", "layer2"]  # embeddings + the preset's 2 layers
    for k in layers + ["raw_pixels", "majority"]:
        assert set(out[k]) == {"shape", "colour"} and all(0.0 <= v <= 1.0 for v in out[k].values())


def test_bad_recipe_key_is_an_error(tmp_path):
    from gifqa.errors import ConfigError
    from gifqa.training.contrastive import load_contrastive_recipe

    with pytest.raises(ConfigError, match="unknown key"):
        load_contrastive_recipe(_recipe(tmp_path, 1), ["--optim.steps", "3"])
    with pytest.raises(ConfigError, match="batch_size"):
        load_contrastive_recipe(_recipe(tmp_path, 1), ["--optim.batch_size", "1"])


def test_exported_shapes_checkpoint_carries_its_clip_and_answers_offline(tiny_clip, tmp_path, monkeypatch):
    """shapes-tiny trained on the CLIP's frozen tower, exported with --clip --keyframes clipcut: the
    export is self-contained (tower weights stored, CLIP inside), gives the run's outputs, and
    `gifqa ask` answers with CLIP-Cut keyframes with the hub switched off."""
    import io
    import json
    from contextlib import redirect_stdout

    from tests.training_helpers import train

    run = tmp_path / "run"
    train(run, "--model.pretrained", "true", "--model.overrides", json.dumps({"vision": {"hub_id": str(tiny_clip)}}),
          recipe=ROOT / "scripts" / "configs" / "shapes-tiny.yaml")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import export_shapes_checkpoint
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    out = tmp_path / "export"
    assert export_shapes_checkpoint.main(["--run", str(run), "--clip", str(tiny_clip), "--keyframes", "clipcut",
                                          "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vision"]["hub_id"] is None and cfg["vision"]["save_weights"] is True
    assert cfg["keyframes"] == {**cfg["keyframes"], "strategy": "clipcut", "clip_model": "clip"}
    assert (out / "clip" / "model.safetensors").is_file() and "CLIP-Cut scores frames with `clip`" in (out / "README.md").read_text()

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shutil_dir = tmp_path / "moved"  # the export is relocatable: nothing points back at the run or the CLIP folder
    out.rename(shutil_dir)
    tiny_clip_moved = tiny_clip.with_name("clip-moved")
    tiny_clip.rename(tiny_clip_moved)
    try:
        from gifqa.cli.main import main

        gif = next((run / "data").rglob("shapes_val_000000.gif"))
        buf = io.StringIO()
        with redirect_stdout(buf):
            rc = main(["ask", str(gif), "what color is the circle ?", "--model", str(shutil_dir), "--json"])
        assert rc == 0
        result = json.loads(buf.getvalue())
        assert isinstance(result["answer"], str)
        assert len(result["keyframes"]) == (cfg["keyframes"]["frames"] or cfg["projector"]["max_frames"])
        assert result["keyframes"] == sorted(result["keyframes"])  # CLIP-Cut keeps time order
    finally:
        tiny_clip_moved.rename(tiny_clip)


def test_tower_from_a_full_clip_folder_loads_quietly_and_strictly(tiny_clip, tmp_path, capfd):
    """The text tower's keys in a full CLIP folder are expected leftovers (no load report is
    printed); a tower tensor missing from the folder is an error."""
    import shutil

    from safetensors.torch import load_file, save_file

    from gifqa.errors import CheckpointError
    from gifqa.model.backbones import load_vision
    from gifqa.model.presets import load_preset

    cfg = load_preset("shapes").vision
    cfg.hub_id = str(tiny_clip)
    capfd.readouterr()
    assert load_vision(cfg) is not None
    captured = capfd.readouterr()
    assert "UNEXPECTED" not in captured.out + captured.err and "Loading weights" not in captured.err

    broken = tmp_path / "broken"
    shutil.copytree(tiny_clip, broken)
    state = load_file(broken / "model.safetensors")
    save_file({k: v for k, v in state.items() if "vision_model.encoder.layers.1." not in k},
              str(broken / "model.safetensors"), metadata={"format": "pt"})
    cfg.hub_id = str(broken)
    with pytest.raises(CheckpointError, match="missing"):
        load_vision(cfg)
    from gifqa.retrieval.encoders import CLIPEncoder

    with pytest.raises(CheckpointError, match="missing"):  # CLIP-Cut's encoder is as strict
        CLIPEncoder.from_pretrained(str(broken), device="cpu")


def test_train_clip_refuses_to_overwrite_and_to_exhaust_memory(tiny_clip, tmp_path):
    from gifqa.errors import ConfigError
    from gifqa.training.contrastive import load_contrastive_recipe, train_contrastive
    from gifqa.shapes.vocab import build_clip_tokenizer

    cfg = load_contrastive_recipe(_recipe(tmp_path, 1), ["--output_dir", str(tiny_clip)])
    with pytest.raises(ConfigError, match="not empty"):
        train_contrastive(cfg, build_clip_tokenizer())
    cfg = load_contrastive_recipe(_recipe(tmp_path, 1), ["--data.generate.n_train", "1000000"])
    with pytest.raises(ConfigError, match="GiB"):
        train_contrastive(cfg, build_clip_tokenizer())
    assert not (tmp_path / "world").exists()  # refused before generating anything


def test_step_one_decodes_the_same_clips_and_labels_in_worker_processes(tiny_clip, monkeypatch):
    from gifqa import workers
    from gifqa.model.presets import load_preset
    from gifqa.shapes.vocab import build_clip_tokenizer
    from gifqa.training.contrastive import _load_split

    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 2)  # a pool even for the tiny world's 8 clips
    world = next((tiny_clip.parent / "world" / "data").glob("shapes-*"))
    vision, tokenizer = load_preset("shapes").vision, build_clip_tokenizer()
    one, two = (_load_split(world, "train", 4, vision, tokenizer, 32, True, True, workers=n) for n in (1, 2))
    assert one[1] == two[1]  # captions
    for a, b in zip([*one[0], *one[2]], [*two[0], *two[2]]):  # pixels, ids, mask; shape, colour, pose labels
        assert torch.equal(a, b) if a.dtype != torch.float32 else torch.equal(a.nan_to_num(), b.nan_to_num())
