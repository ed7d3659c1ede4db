"""save_pretrained / from_pretrained round trip and strict loading; config and presets."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from gifqa.errors import CheckpointError, ConfigError, ModelNotFoundError
from gifqa.model import GifQAConfig, GifQAModel, list_presets, load_preset
from tests.model_helpers import pixel_values, tiny_model


def _trained(seed=0):
    """A tiny model whose trained parts differ from their init (so the round trip is not trivial)."""
    torch.manual_seed(seed)
    model = tiny_model()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def _outputs(model):
    pv = pixel_values()
    enc = model.build_text_inputs(["Question: what? Answer:", "Question: who? Answer:"], ["a cat", "me"])
    with torch.no_grad():
        return model(pv, **enc).logits, model.classify_reaction(pv), model.generate(pv, ["what?", "who?"], max_new_tokens=4)


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _trained()
    model.save_pretrained(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["README.md", "adapter", "config.json", "gifqa_modules.safetensors"]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    assert not list(tmp_path.rglob("*.bin")) and not list(tmp_path.rglob("*.pt"))
    # only what was trained: no vision / base-LLM tensors
    keys = load_file(str(tmp_path / "gifqa_modules.safetensors")).keys()
    assert all(k.startswith(("projector.", "mvm_decoder.", "reaction_head.")) for k in keys)
    loaded = GifQAModel.from_pretrained(str(tmp_path)).eval()
    a, b = _outputs(model), _outputs(loaded)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    fresh = tiny_model().eval()
    assert not torch.equal(_outputs(fresh)[0], a[0])  # the checkpoint carried the training
    assert "tiny" in (tmp_path / "README.md").read_text()
    assert GifQAConfig.from_json(tmp_path / "config.json") == model.config


def test_missing_tensor_fails_naming_it(tmp_path):
    _trained().save_pretrained(tmp_path)
    f = tmp_path / "gifqa_modules.safetensors"
    state = load_file(str(f))
    victim = "projector.temporal_embedding"
    del state[victim]
    from safetensors import safe_open

    with safe_open(str(f), "pt") as st:
        meta = st.metadata()
    save_file(state, str(f), metadata=meta)
    with pytest.raises(CheckpointError, match=victim):
        GifQAModel.from_pretrained(str(tmp_path))


def test_missing_lora_tensor_fails_naming_it(tmp_path):
    _trained().save_pretrained(tmp_path)
    f = tmp_path / "adapter" / "adapter_model.safetensors"
    state = load_file(str(f))
    victim = sorted(state)[0]
    del state[victim]
    save_file(state, str(f))
    with pytest.raises(CheckpointError, match=victim.replace(".", r"\.")):
        GifQAModel.from_pretrained(str(tmp_path))


def test_unexpected_tensor_and_missing_files_fail(tmp_path):
    _trained().save_pretrained(tmp_path)
    f = tmp_path / "gifqa_modules.safetensors"
    state = load_file(str(f))
    state["projector.extra"] = torch.zeros(1)
    from safetensors import safe_open

    with safe_open(str(f), "pt") as st:
        meta = st.metadata()
    save_file(state, str(f), metadata=meta)
    with pytest.raises(CheckpointError, match="projector.extra"):
        GifQAModel.from_pretrained(str(tmp_path))
    f.unlink()
    with pytest.raises(CheckpointError, match="gifqa_modules.safetensors"):
        GifQAModel.from_pretrained(str(tmp_path))
    with pytest.raises(ModelNotFoundError):
        GifQAModel.from_pretrained(str(tmp_path / "nope"))


def test_changed_random_backbone_is_detected(tmp_path):
    _trained().save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["seed"] = 1  # the backbones rebuilt from this seed are not the ones trained with
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="backbones"):
        GifQAModel.from_pretrained(str(tmp_path))


def test_config_rejects_unknown_keys_and_round_trips(tmp_path):
    cfg = load_preset("tiny")
    data = cfg.to_dict()
    assert GifQAConfig.from_dict(data) == cfg
    bad = json.loads(json.dumps(data))
    bad["projector"]["num_querys"] = 3
    with pytest.raises(ConfigError, match="num_querys"):
        GifQAConfig.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["projector"]["hf_config"]["encoder_hidden_size"] = 99
    with pytest.raises(ConfigError, match="derived"):
        GifQAConfig.from_dict(bad)
    assert cfg.qformer_hf_config()["encoder_hidden_size"] == cfg.vision.width
    with pytest.raises(ConfigError, match="no such config"):
        GifQAConfig.from_json(tmp_path / "missing.json")


def test_presets_all_validate_and_build_on_meta_without_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    names = list_presets()
    assert "tiny" in names and len(names) >= 3
    assert not any(n.startswith("_") for n in names)
    for name in names:
        cfg = load_preset(name)
        if name in ("tiny", "shapes"):  # built from hf_config at random (shapes: trained from scratch, offline)
            assert cfg.vision.hub_id is None and cfg.llm.hub_id is None
            continue
        assert cfg.vision.hub_id and cfg.llm.hub_id and cfg.vision.revision and cfg.llm.revision
        with torch.device("meta"):
            model = GifQAModel(cfg)
        counts = model.parameter_counts()
        assert counts["llm"] > 1e8 and counts["vision"] > 1e7 and counts["qformer"] > 1e7
    with pytest.raises(ModelNotFoundError, match="tiny"):
        load_preset("nope")


def test_report_counts_real_presets_from_configs():
    from gifqa.model.report import run

    text = run(["clip-l-qwen2.5-1.5b"], batch=2)
    assert "| llm | 1,543,714,304 |" in text  # Qwen2.5-1.5B without embeddings tied twice
    assert "| vision | 303,179,776 |" in text  # CLIP ViT-L/14 vision tower
    assert "Training memory estimate" in text and "| total |" in text


@pytest.mark.parametrize("overrides", [{}, {"llm__train": "full", "lora__enabled": False}])
def test_model_card_counts_what_the_folder_holds(tmp_path, overrides):
    """The card's "trained" row counts the trained weights (here, with no frozen tower saved: the safetensors
    plus the LoRA adapter), and its file list names only what the folder holds."""
    model = tiny_model(**overrides)
    model.save_pretrained(tmp_path)
    saved = sum(t.numel() for t in load_file(str(tmp_path / "gifqa_modules.safetensors")).values())
    saved += model.parameter_counts()["lora"]
    card = (tmp_path / "README.md").read_text()
    assert f"| trained | {saved:,} |" in card
    assert ("`adapter/`" in card) == model.config.lora.enabled
    assert ("the LLM" in card) == (model.config.llm.train == "full")
