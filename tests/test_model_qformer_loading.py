"""Loading the Q-Former out of a (tiny) BLIP-2 checkpoint through the real loading path, and the
zero-shot BLIP-2 composite end to end."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors.torch import load_file, save_file

from gifqa.errors import CheckpointError
from gifqa.model import GifQAModel, load_preset
from gifqa.model.qformer_loading import load_qformer
from tests.model_helpers import (
    TINY_BLIP2_OPT,
    TINY_BLIP2_QFORMER,
    TINY_BLIP2_VISION,
    pixel_values,
    save_tiny_blip2,
    tiny_config,
)


@pytest.fixture(scope="module")
def blip2_dir(tmp_path_factory):
    return save_tiny_blip2(tmp_path_factory.mktemp("blip2"))


def _matching_config(vision_width=48, **kw):
    """Tiny gifqa config whose Q-Former matches the tiny BLIP-2's."""
    cfg = tiny_config()
    cfg.vision.hf_config = {**cfg.vision.hf_config, "hidden_size": vision_width}
    cfg.projector.hf_config = dict(TINY_BLIP2_QFORMER)
    cfg.projector.num_query_tokens = 4
    for k, v in kw.items():
        setattr(cfg.projector, k, v)
    return cfg.validate()


def test_every_qformer_tensor_equals_the_source(blip2_dir):
    src = load_file(f"{blip2_dir}/model.safetensors")
    model = GifQAModel(_matching_config())
    report = load_qformer(model.projector, blip2_dir)
    ours = model.projector.state_dict()
    qkeys = [k for k in src if k.startswith("qformer.")]
    assert len(qkeys) > 20
    for k in qkeys:
        assert torch.equal(ours[k], src[k]), k
    assert torch.equal(ours["query_tokens"], src["query_tokens"])
    assert sorted(report.loaded) == sorted(qkeys + ["query_tokens"])
    assert not report.reinitialised
    # the language projection was not asked for, so it stays as initialised
    assert not torch.equal(ours["language_projection.weight"][: src["language_projection.weight"].shape[0]],
                           src["language_projection.weight"][:, : ours["language_projection.weight"].shape[1]])


def test_missing_tensor_fails_naming_it(blip2_dir, tmp_path):
    src = load_file(f"{blip2_dir}/model.safetensors")
    victim = "qformer.encoder.layer.1.crossattention.attention.value.weight"
    del src[victim]
    save_file(src, str(tmp_path / "model.safetensors"))
    model = GifQAModel(_matching_config())
    with pytest.raises(CheckpointError, match=victim.replace(".", r"\.")):
        load_qformer(model.projector, tmp_path)


def test_unexpected_tensor_fails_and_text_branch_is_ignored(blip2_dir, tmp_path):
    src = load_file(f"{blip2_dir}/model.safetensors")
    # InstructBLIP-style extras that gifqa ignores on purpose ...
    src["qformer.embeddings.word_embeddings.weight"] = torch.zeros(64, 32)
    src["qformer.encoder.layer.0.intermediate.dense.weight"] = torch.zeros(64, 32)
    save_file(src, str(tmp_path / "model.safetensors"))
    model = GifQAModel(_matching_config())
    report = load_qformer(model.projector, tmp_path)
    assert len(report.ignored) == 2
    # ... but anything else unknown is an error
    src["qformer.encoder.layer.0.mystery.weight"] = torch.zeros(2)
    save_file(src, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="mystery"):
        load_qformer(model.projector, tmp_path)


def test_whole_checkpoint_into_bare_qformer_is_the_known_failure(blip2_dir):
    """Why the explicit mapping exists: the bare class's from_pretrained matches none of these keys."""
    from transformers import Blip2QFormerModel

    src = load_file(f"{blip2_dir}/model.safetensors")
    bare = Blip2QFormerModel.from_pretrained(blip2_dir)
    assert not torch.equal(bare.state_dict()["encoder.layer.0.attention.attention.query.weight"],
                           src["qformer.encoder.layer.0.attention.attention.query.weight"])


def test_width_mismatch_reinitialises_cross_attention_and_logs(blip2_dir, caplog):
    src = load_file(f"{blip2_dir}/model.safetensors")
    model = GifQAModel(_matching_config(vision_width=40))
    before = {k: v.clone() for k, v in model.projector.state_dict().items()}
    with caplog.at_level(logging.WARNING, logger="gifqa.model"):
        report = load_qformer(model.projector, blip2_dir)
    assert "re-initialised" in caplog.text
    ours = model.projector.state_dict()
    assert report.reinitialised and all(".crossattention.attention.key." in k or ".crossattention.attention.value."
                                        in k for k in report.reinitialised)
    for k in report.reinitialised:
        assert torch.equal(ours[k], before[k])
    assert torch.equal(ours["qformer.encoder.layer.0.crossattention.attention.query.weight"],
                       src["qformer.encoder.layer.0.crossattention.attention.query.weight"])
    strict = GifQAModel(_matching_config(vision_width=40, cross_attention_on_width_mismatch="error"))
    with pytest.raises(CheckpointError, match="48-d"):
        load_qformer(strict.projector, blip2_dir, on_width_mismatch="error")


def _zero_shot_config(blip2_dir, tok_dir):
    """The shipped zero-shot preset, pointed at the tiny BLIP-2 (same code path, smaller numbers)."""
    cfg = load_preset("blip2-opt-2.7b-zeroshot")
    for part in (cfg.vision, cfg.llm):
        part.hub_id, part.revision = blip2_dir, None
    cfg.projector.init_from, cfg.projector.init_revision = blip2_dir, None
    cfg.vision.hf_config = dict(TINY_BLIP2_VISION)
    cfg.projector.hf_config = dict(TINY_BLIP2_QFORMER)
    cfg.projector.num_query_tokens = 4
    cfg.llm.hf_config = {**TINY_BLIP2_OPT, "model_type": "opt"}
    cfg.llm.dtype = cfg.vision.dtype = "float32"
    cfg.llm.tokenizer = tok_dir
    return cfg.validate()


def test_zero_shot_composite_runs_end_to_end(blip2_dir, tmp_path):
    from transformers import Blip2ForConditionalGeneration

    from gifqa.model.backbones import load_tokenizer

    tiny_tok = load_tokenizer(tiny_config().llm)
    tiny_tok.save_pretrained(str(tmp_path / "tok"))
    cfg = _zero_shot_config(blip2_dir, str(tmp_path / "tok"))
    model = GifQAModel.from_config(cfg, pretrained=True).eval()
    src = Blip2ForConditionalGeneration.from_pretrained(blip2_dir).eval()
    # every part is the BLIP-2 checkpoint's
    for ours, theirs in ((model.vision.model, src.vision_model), (model.llm, src.language_model)):
        o, t = ours.state_dict(), theirs.state_dict()
        assert set(o) == set(t)
        for k, v in o.items():
            assert torch.equal(v, t[k]), k
    assert torch.equal(model.projector.language_projection.weight, src.language_projection.weight)
    assert torch.equal(model.projector.query_tokens, src.query_tokens)
    # one frame: the composite's frame tokens equal BLIP-2's own language-model inputs
    pv = pixel_values(batch=1, frames=1)
    tokens, _, _ = model.encode_frames(pv)
    with torch.no_grad():
        img = src.vision_model(pixel_values=pv[:, 0]).last_hidden_state
        q = src.qformer(query_embeds=src.query_tokens, encoder_hidden_states=img).last_hidden_state
        ref = src.language_projection(q)
    assert torch.allclose(tokens, ref, atol=1e-5)
    # several frames concatenated -> an answer string, no gifqa training
    answers = model.generate(pixel_values(batch=2, frames=3), ["what is the cat doing?", "what color?"],
                             max_new_tokens=5)
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)
    assert model.score_options(pixel_values(batch=1, frames=2)[0], "what?", ["a", "b c"]).shape == (2,)


def test_zero_shot_composite_checkpoint_round_trip(blip2_dir, tmp_path):
    """A model without LoRA whose backbones come from a checkpoint path saves and reloads exactly."""
    from gifqa.model.backbones import load_tokenizer

    load_tokenizer(tiny_config().llm).save_pretrained(str(tmp_path / "tok"))
    model = GifQAModel.from_config(_zero_shot_config(blip2_dir, str(tmp_path / "tok")), pretrained=True).eval()
    with torch.no_grad():
        model.projector.temporal_embedding.normal_()  # "fine-tuned"
    model.save_pretrained(tmp_path / "ckpt")
    assert not (tmp_path / "ckpt" / "adapter").exists()
    loaded = GifQAModel.from_pretrained(str(tmp_path / "ckpt")).eval()
    pv = pixel_values(batch=1, frames=2)
    assert torch.equal(model.score_options(pv, "what?", ["a", "b"]), loaded.score_options(pv, "what?", ["a", "b"]))
