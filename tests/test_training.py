"""Training through the real entry point: one and two processes, overfitting, resuming."""

import json
import subprocess
import sys

import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.training import load_recipe
from tests.shared_data import REPO
from tests.training_helpers import ENV, RECIPE, metrics, train, trained_tensors


def test_recipe_overrides_and_unknown_keys():
    cfg = load_recipe(RECIPE, ["--output_dir", "/tmp/x", "--optim.max_steps", "7", "--optim.lr.qformer=3e-4"])
    assert cfg.output_dir == "/tmp/x" and cfg.optim.max_steps == 7 and cfg.optim.lr["qformer"] == 3e-4
    with pytest.raises(ConfigError, match="unknown key"):
        load_recipe(RECIPE, ["--optim.max_step", "7"])
    with pytest.raises(ConfigError, match="expected int"):
        load_recipe(RECIPE, ["--optim.max_steps", "many"])


def test_recipe_overrides_index_lists():
    # The shapes recipe's arms change one source's task weight: a number indexes the list of sources.
    recipe = REPO / "scripts" / "configs" / "shapes.yaml"
    cfg = load_recipe(recipe, ["--data.sources.0.task_weights.reaction", "0.75", "--data.sources.0.generate.n_val", "7"])
    (source,) = cfg.data.sources
    assert source.task_weights["reaction"] == 0.75 and source.task_weights["action"] == 1.5
    assert source.generate["n_val"] == 7
    with pytest.raises(ConfigError, match="'1' is not an index of a list of 1"):
        load_recipe(recipe, ["--data.sources.1.weight", "2"])
    with pytest.raises(ConfigError, match="'x' is not an index"):
        load_recipe(recipe, ["--data.sources.x.weight", "2"])
    with pytest.raises(ConfigError, match="seed is not a section"):
        load_recipe(recipe, ["--seed.x", "2"])


def test_single_process_run_writes_everything(tmp_path):
    run = tmp_path / "run"
    train(run)
    for name in ("config.resolved.json", "environment.json", "data_report.json", "metrics.jsonl", "state/latest.json"):
        assert (run / name).exists(), name
    env = json.loads((run / "environment.json").read_text())
    assert "torch" in env["versions"] and "git_commit" in env
    rows = metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all(r["loss"] > 0 for r in rows)
    assert any(k.startswith("loss_") and k not in ("loss_ce", "loss_mvm") for k in rows[0])  # per-task loss
    # the exported checkpoint loads through the inference path and answers
    from gifqa.inference import resolve_model
    from gifqa.media import load_video

    model = resolve_model(str(run / "checkpoints" / "last"))
    gif = next((run / "data").rglob("shapes_train_000000.gif"))
    pv = model.preprocess_frames(load_video(gif, 4).frames)
    assert isinstance(model.generate(pv[None], ["what color is the circle ?"], max_new_tokens=3)[0], str)
    # an existing run directory is never overwritten
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "--config", str(RECIPE), "--output_dir", str(run)],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 1 and "exists" in r.stderr


def test_two_processes_stay_in_sync(tmp_path):
    pytest.importorskip("accelerate", reason="accelerate is needed for the multi-process launch")
    run = tmp_path / "ddp"
    # On this accelerate, `--cpu` picks the single-process launcher (several CPU processes
    # need MPI there); the torchrun launcher (`--multi_gpu`) on a machine without CUDA starts
    # 2 CPU processes whose Accelerator uses gloo.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    train(run, "--optim.max_steps", "3", launcher=launcher)
    ranks = [json.loads((run / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world"] == 2 and r["steps_taken"] == 3 for r in ranks)  # both ranks stepped
    assert ranks[0]["param_checksum"] == ranks[1]["param_checksum"]  # gradients were synchronised
    # the checkpoint the 2-process run exported answers through the real CLI
    gif = next((run / "data").rglob("shapes_train_000000.gif"))
    r = subprocess.run([sys.executable, "-m", "gifqa", "ask", str(gif), "what color is the circle ?", "--model",
                        str(run / "checkpoints" / "last"), "--json", "--max-new-tokens", "3"],
                       capture_output=True, text=True, env=ENV, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    answer = json.loads(r.stdout)
    assert isinstance(answer["answer"], str) and answer["keyframes"] == sorted(answer["keyframes"])


def test_overfits_a_handful_of_examples(tmp_path):
    # The tiny preset's LLM is frozen and random with initializer_range 0.02: its frozen final
    # norm and LM head can only produce logits within about +-1.3, so no adapter can fit any
    # answer (the loss stalls near 5.3).  A wider init gives the frozen head a usable range;
    # everything trained here (LoRA, Q-Former, projection) is what the recipes train.
    run = tmp_path / "overfit"
    train(run, "--optim.max_steps", "40", "--optim.warmup_steps", "2", "--optim.lr.default", "1e-2",
          "--data.sources",
          '[{kind: shapes, tasks: [count], generate: {n_train: 2, n_val: 0, n_test: 0, n_compositional: 0, size_px: 32}}]',
          "--model.overrides", "{mvm: {enabled: false}, llm: {hf_config: {initializer_range: 0.3}}}")
    rows = metrics(run)
    first, last = rows[0]["loss"], sum(r["loss"] for r in rows[-5:]) / 5
    assert last < 0.2 * first, (first, last)


def test_resume_matches_uninterrupted_run(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    train(full, "--optim.max_steps", "4")
    train(part, "--optim.max_steps", "4", "--stop_after_steps", "2")
    assert json.loads((part / "state" / "latest.json").read_text())["step"] == 2
    assert not (part / "checkpoints" / "last").exists()
    train(part, "--optim.max_steps", "4", "--resume", "true")
    a, b = trained_tensors(full), trained_tensors(part)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [r["loss"] for r in metrics(full)][2:] == [r["loss"] for r in metrics(part)][2:]


def test_real_size_recipe_parses_and_validates_without_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from gifqa.model.config import GifQAConfig
    from gifqa.model.presets import load_preset
    from gifqa.training.config import LR_GROUPS
    from gifqa.training.loop import _deep_merge

    cfg = load_recipe(REPO / "scripts" / "configs" / "clip-l-qwen2.5-1.5b.yaml", ["--output_dir", "/tmp/never-written"])
    assert cfg.precision == "bf16" and cfg.gradient_checkpointing and cfg.model.pretrained
    assert cfg.data.feature_cache and cfg.eval.split == "val" and cfg.eval.every > 0
    tasks = {t for s in cfg.data.sources for t in s.tasks}
    assert tasks == {"action", "transition", "frameqa", "count", "caption", "synthetic", "reaction"}
    assert {s.kind for s in cfg.data.sources} == {"tgif-qa", "synthetic-qa"}
    assert set(cfg.optim.lr) <= set(LR_GROUPS)
    # the preset it names exists and, with the recipe's overrides, is a valid model config naming hub ids
    model_cfg = GifQAConfig.from_dict(_deep_merge(load_preset(cfg.model.preset).to_dict(), cfg.model.overrides))
    model_cfg.validate()
    assert model_cfg.vision.hub_id == "openai/clip-vit-large-patch14" and model_cfg.llm.hub_id.startswith("Qwen/")
    assert cfg.data.frames <= model_cfg.projector.max_frames and model_cfg.mvm.enabled and model_cfg.heads.reaction
    # a typo in the recipe's learning-rate groups is an error, not a silent default
    with pytest.raises(ConfigError, match="unknown group"):
        load_recipe(REPO / "scripts" / "configs" / "clip-l-qwen2.5-1.5b.yaml", ["--optim.lr.qfromer", "1e-4"])


CLIP_RECIPES = {"shapes-clip.yaml"}  # scripts/train_clip.py's schema, tested in test_shapes_clip.py


@pytest.mark.parametrize("recipe", sorted(p.relative_to(REPO / "scripts" / "configs").as_posix()
                                          for p in (REPO / "scripts" / "configs").rglob("*.yaml")
                                          if p.name not in CLIP_RECIPES))
def test_every_shipped_recipe_validates_with_its_model(recipe):
    """A recipe in scripts/configs (ablations included) parses, and its preset with its overrides is a
    valid model config: a renamed config field breaks this test, not a user's 30-minute run."""
    from gifqa.model.config import GifQAConfig
    from gifqa.model.presets import load_preset
    from gifqa.training.loop import _deep_merge

    cfg = load_recipe(REPO / "scripts" / "configs" / recipe, ["--output_dir", "/tmp/never-written"])
    if cfg.model.preset:
        GifQAConfig.from_dict(_deep_merge(load_preset(cfg.model.preset).to_dict(), cfg.model.overrides)).validate()
