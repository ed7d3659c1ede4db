"""The gifqa-shapes model: its tokenizer, the config switches it needs (llm.train, vision.train,
projector.temporal_embedding), checkpoints that save what trained, and the CI training recipe."""

import csv
import json
import sys

import pytest
import torch

from gifqa.errors import CheckpointError, ConfigError
from gifqa.model import GifQAModel
from gifqa.model.config import GifQAConfig
from gifqa.model.presets import load_preset, package_data_path
from tests.model_helpers import pixel_values, tiny_config
from tests.shared_data import REPO
from tests.training_helpers import metrics, train

SHAPES_TINY = REPO / "scripts" / "configs" / "shapes-tiny.yaml"


def _shapes_tokenizer():
    from gifqa.model.backbones import load_tokenizer

    return load_tokenizer(load_preset("shapes").llm)


def test_shapes_tokenizer_is_current_and_matches_the_preset():
    from gifqa.shapes.vocab import build_tokenizer, vocabulary

    shipped = json.loads(package_data_path("_shapes_tokenizer.json").read_text())
    assert shipped == json.loads(build_tokenizer().to_str())  # rerun scripts/make_shapes_tokenizer.py if not
    assert load_preset("shapes").llm.hf_config["vocab_size"] == len(vocabulary())
    tok = _shapes_tokenizer()
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)


def test_shapes_tokenizer_covers_every_generated_text(tmp_path):
    from gifqa.model import prompts
    from gifqa.shapes import generate_dataset

    generate_dataset(tmp_path, n_train=40, n_val=5, n_test=5, n_compositional=10, seed=5)
    texts = [prompts.CAPTION_PROMPT, prompts.question_prompt("what ?"), *prompts.COUNT_OPTIONS]
    for f in tmp_path.glob("*/*_question.csv"):
        for row in csv.DictReader(f.read_text().splitlines(), delimiter="\t"):
            texts += [row[k] for k in ("question", "answer", "a1", "a2", "a3", "a4", "a5", "description") if k in row]
    texts += [line.split("\t")[1] for line in (tmp_path / "descriptions.tsv").read_text().splitlines()]
    tok = _shapes_tokenizer()
    unknown = {t for t in texts if tok.unk_token_id in tok(t, add_special_tokens=False)["input_ids"]}
    assert not unknown, sorted(unknown)[:5]
    # answers decode back to themselves (FrameQA compares generated text with them)
    for word in ("red", "triangle", "left", "three", "10"):
        assert tok.decode(tok(" " + word, add_special_tokens=False)["input_ids"]) == word


def test_llm_train_switch_is_validated():
    data = tiny_config().to_dict()
    with pytest.raises(ConfigError, match="llm.train must be one of"):
        GifQAConfig.from_dict({**data, "llm": {**data["llm"], "train": "partly"}})
    with pytest.raises(ConfigError, match="lora.enabled is true"):  # tiny has LoRA on
        GifQAConfig.from_dict({**data, "llm": {**data["llm"], "train": "full"}})
    with pytest.raises(ConfigError, match="lora.enabled is false"):
        GifQAConfig.from_dict({**data, "lora": {**data["lora"], "enabled": False}})
    with pytest.raises(ConfigError, match="unknown key"):
        GifQAConfig.from_dict({**data, "llm": {**data["llm"], "trained": "full"}})
    with pytest.raises(ConfigError, match="unknown key"):
        GifQAConfig.from_dict({**data, "vision": {**data["vision"], "trainable": True}})
    with pytest.raises(ConfigError, match="expected bool"):
        GifQAConfig.from_dict({**data, "vision": {**data["vision"], "train": "yes"}})
    frozen = GifQAConfig.from_dict({**data, "llm": {**data["llm"], "train": "frozen"},
                                    "lora": {**data["lora"], "enabled": False}})
    model = GifQAModel(frozen)
    assert not any(p.requires_grad for p in model.llm.parameters())
    assert not any(p.requires_grad for p in model.vision.parameters())


def _full_config(**extra):
    return tiny_config(**{"lora__enabled": False, "llm__train": "full", "vision__train": True, **extra})


def test_full_llm_and_trained_vision_are_saved_and_loaded(tmp_path):
    model = GifQAModel(_full_config())
    assert all(p.requires_grad for p in model.llm.parameters())
    assert all(p.requires_grad for p in model.vision.parameters())
    names = {g["name"] for g in model.trainable_parameter_groups({"default": 1e-3})}
    assert {"llm", "vision"} <= names and "lora" not in names
    # gradients reach the tower and the LLM
    text = model.build_text_inputs(["Question: what color is it ? Answer:"] * 2, ["red", "blue"])
    model.train()
    model(pixel_values(), **text).loss.backward()
    assert model.vision.model.embeddings.patch_embedding.weight.grad.abs().sum() > 0
    assert model.llm.get_input_embeddings().weight.grad.abs().sum() > 0
    # "train" them: the checkpoint must carry the changed weights, not rebuild them from the seed
    with torch.no_grad():
        for p in list(model.llm.parameters()) + list(model.vision.parameters()):
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    pv = pixel_values()
    text = model.build_text_inputs(["Question: what color is it ? Answer:"] * 2, ["red", "blue"])
    want = model(pv, **text).logits
    model.save_pretrained(tmp_path / "ck")
    assert (tmp_path / "ck" / "tokenizer" / "tokenizer.json").is_file()
    assert not (tmp_path / "ck" / "adapter").exists()
    from safetensors.torch import load_file

    keys = load_file(tmp_path / "ck" / "gifqa_modules.safetensors").keys()
    assert any(k.startswith("llm.") for k in keys) and any(k.startswith("vision.") for k in keys)
    back = GifQAModel.from_pretrained(str(tmp_path / "ck")).eval()
    torch.testing.assert_close(back(pv, **text).logits, want)
    assert back.tokenizer("red")["input_ids"] == model.tokenizer("red")["input_ids"]
    # strict: a missing LLM tensor is named
    from safetensors.torch import save_file

    saved = load_file(tmp_path / "ck" / "gifqa_modules.safetensors")
    meta = {"format": "pt", "gifqa_format_version": "1", "random_backbone_sha256": ""}
    dropped = "llm.lm_head.weight"
    save_file({k: v for k, v in saved.items() if k != dropped}, str(tmp_path / "ck" / "gifqa_modules.safetensors"),
              metadata=meta)
    with pytest.raises(CheckpointError, match=dropped):
        GifQAModel.from_pretrained(str(tmp_path / "ck"))


def test_full_checkpoint_without_tokenizer_fails_clearly(tmp_path):
    import shutil

    model = GifQAModel(_full_config())
    model.save_pretrained(tmp_path / "ck")
    shutil.rmtree(tmp_path / "ck" / "tokenizer")
    with pytest.raises(CheckpointError, match="tokenizer.json"):
        GifQAModel.from_pretrained(str(tmp_path / "ck"))


def test_temporal_embedding_switch(tmp_path):
    model = GifQAModel(_full_config(projector__temporal_embedding=False)).eval()
    assert model.projector.temporal_embedding is None
    pv = pixel_values()
    # without it the Q-Former output of a frame does not depend on the frame's position
    _, q, _ = model.encode_frames(pv)
    _, q_rev, _ = model.encode_frames(pv.flip(1))
    torch.testing.assert_close(q, q_rev.flip(1))
    with_te = GifQAModel(_full_config())
    with torch.no_grad():
        with_te.projector.temporal_embedding.normal_()
    _, q, _ = with_te.eval().encode_frames(pv)
    _, q_rev, _ = with_te.encode_frames(pv.flip(1))
    assert not torch.allclose(q, q_rev.flip(1))
    model.save_pretrained(tmp_path / "ck")
    GifQAModel.from_pretrained(str(tmp_path / "ck"))  # strict: no temporal_embedding tensor expected


def test_frozen_vision_has_no_gradient_path():
    model = GifQAModel(tiny_config())
    feats = model.vision(pixel_values().flatten(0, 1))
    assert not feats.requires_grad


def test_feature_cache_refuses_a_training_tower(tmp_path):
    from gifqa.training import load_recipe
    from gifqa.training.loop import train as train_loop

    cfg = load_recipe(SHAPES_TINY, ["--output_dir", str(tmp_path / "r"), "--data.feature_cache", str(tmp_path / "fc"),
                                    "--model.overrides.vision.train", "true"])
    with pytest.raises(ConfigError, match="frozen vision tower"):
        train_loop(cfg)


def test_shapes_tiny_recipe_trains_through_the_entry_point(tmp_path):
    run = tmp_path / "run"
    train(run, recipe=SHAPES_TINY)
    rows = metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3] and all(r["loss"] > 0 for r in rows)
    assert all("loss_mvm" in r for r in rows if "loss_ce" in r and r.get("loss_reaction") is None)
    ckpt = run / "checkpoints" / "last"
    assert (ckpt / "tokenizer" / "tokenizer.json").is_file()
    model = GifQAModel.from_pretrained(str(ckpt))
    assert model.config.llm.train == "full" and not model.config.vision.train  # the shapes tower is frozen (cached)
    from gifqa.media import load_video

    gif = next((run / "data").rglob("shapes_train_000000.gif"))
    pv = model.preprocess_frames(load_video(gif, 4).frames)
    assert isinstance(model.eval().generate(pv[None], ["what color is the circle ?"], max_new_tokens=3)[0], str)


def test_frozen_tower_with_save_weights_is_stored_and_needs_no_seed(tmp_path):
    """vision.save_weights: a frozen random tower is stored, so loading does not depend on
    rebuilding the same random init (another torch/transformers version, another seed)."""
    model = GifQAModel(_full_config(vision__train=False, vision__save_weights=True)).eval()
    assert not any(p.requires_grad for p in model.vision.parameters())
    pv = pixel_values()
    text = model.build_text_inputs(["Question: what color is it ? Answer:"] * 2, ["red", "blue"])
    want = model(pv, **text).logits
    model.save_pretrained(tmp_path / "ck")
    from safetensors.torch import load_file

    assert any(k.startswith("vision.") for k in load_file(tmp_path / "ck" / "gifqa_modules.safetensors"))
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["seed"] += 1  # a different random init of everything rebuilt from the config
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    back = GifQAModel.from_pretrained(str(tmp_path / "ck")).eval()
    torch.testing.assert_close(back(pv, **text).logits, want)
    # without save_weights the same change is caught by the random-backbone fingerprint
    plain = GifQAModel(_full_config(vision__train=False))
    plain.save_pretrained(tmp_path / "ck2")
    cfg = json.loads((tmp_path / "ck2" / "config.json").read_text())
    cfg["seed"] += 1
    (tmp_path / "ck2" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="randomly initialised backbones"):
        GifQAModel.from_pretrained(str(tmp_path / "ck2"))


SHAPES = REPO / "scripts" / "configs" / "shapes.yaml"


@pytest.mark.slow
def test_short_shapes_run_beats_the_prior_on_val(tmp_path):
    """A few minutes of the shipped recipe (FrameQA stream only, MVM on) beats the most-frequent-
    answer prior on the generated validation split, both measured through the evaluation harness."""
    from gifqa.evaluation.harness import evaluate
    from gifqa.evaluation.predictors import PriorBaseline
    from gifqa.evaluation.tasks import get_tasks
    from gifqa.data.tgifqa import load_tgifqa

    import yaml

    # Step 1 of the recipe, shortened: the small CLIP whose frozen tower the model uses.
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import train_clip
    finally:
        sys.path.remove(str(REPO / "scripts"))
    # Both steps share one world, 2,000 training GIFs (the recipe's 20,000 take minutes to generate).
    clip, world = tmp_path / "clip", tmp_path / "world"
    assert train_clip.main(["--config", str(REPO / "scripts" / "configs" / "shapes-clip.yaml"), "--output_dir", str(clip),
                            "--data.world_root", str(world), "--data.generate.n_train", "2000",
                            "--optim.max_steps", "300"]) == 0
    recipe = yaml.safe_load(SHAPES.read_text())
    source = recipe["data"]["sources"][0]
    source["tasks"] = ["frameqa"]  # one stream: a short run has a clear signal
    source["world_root"], source["generate"]["n_train"] = str(world), 2000
    recipe["model"]["overrides"]["vision"]["hub_id"] = str(clip)
    (tmp_path / "short.yaml").write_text(yaml.safe_dump(recipe))
    run = tmp_path / "run"
    train(run, "--data.feature_cache", str(tmp_path / "fc"), "--optim.max_steps", "1500", "--optim.warmup_steps",
          "50", "--eval.every", "0", "--eval.limit", "200", "--eval.tasks", "[tgif-qa/frameqa]",
          recipe=tmp_path / "short.yaml")
    model_acc = [r for r in metrics(run) if "eval" in r][-1]["eval"]["tgif-qa/frameqa"]["accuracy"]
    root = next((world / "data").glob("shapes-*"))
    assert not (run / "data").exists()  # the run reused the CLIP step's world
    prior = PriorBaseline({"frameqa": load_tgifqa("frameqa", "train_full", root / "train")})
    res = evaluate(prior, get_tasks("tgif-qa/frameqa"), annotations_dir=root / "val", gif_dir=None,
                   out_dir=tmp_path / "prior", split="test", limit=200, progress=False, rank=0, world=1)
    prior_acc = res["tasks"]["tgif-qa/frameqa"]["metrics"]["accuracy"]
    assert model_acc > prior_acc + 0.1, (model_acc, prior_acc)
