"""The tiny preset end to end on CPU: forward/loss/backward, generation, MC scoring, counting,
captioning, the reaction head, trainable parameters and parameter groups."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.model.modeling import IGNORE_INDEX
from tests.model_helpers import pixel_values, tiny_model

QUESTIONS = ["what is the man doing?", "how many times does the cat jump?"]
ANSWERS = ["dancing", "3"]


def _batch(model):
    from gifqa.model.prompts import question_prompt

    return model.build_text_inputs([question_prompt(q) for q in QUESTIONS], ANSWERS)


def test_tiny_builds_fast_and_deterministically():
    tiny_model()  # warm the imports
    t0 = time.perf_counter()
    a = tiny_model()
    assert time.perf_counter() - t0 < 2.0
    b = tiny_model()
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and torch.equal(pa, pb), na


def test_only_lora_projector_qformer_heads_and_mvm_require_grad():
    model = tiny_model()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert trainable and frozen
    for n in trainable:
        assert (
            n.startswith(("projector.qformer.", "reaction_head.", "mvm_decoder."))
            or n in ("projector.query_tokens", "projector.temporal_embedding",
                     "projector.language_projection.weight", "projector.language_projection.bias")
            or (n.startswith("llm.") and ".lora_" in n)
        ), n
    for n in frozen:
        assert n.startswith("vision.") or (n.startswith("llm.") and "lora_" not in n), n
    # every part of the projector is trainable, and LoRA exists
    assert "projector.query_tokens" in trainable and "projector.temporal_embedding" in trainable
    assert any(".lora_A." in n for n in trainable) and any(".lora_B." in n for n in trainable)
    assert all(not p.requires_grad for p in model.vision.parameters())


def test_vision_stays_in_eval_mode():
    model = tiny_model()
    model.train()
    assert not model.vision.model.training
    assert model.projector.training


def test_forward_loss_backward_only_reaches_trainable(monkeypatch):
    torch.manual_seed(0)
    model = tiny_model(mvm__weight=0.0)
    model.train()
    enc = _batch(model)
    out = model(pixel_values(), **enc)
    assert out.loss.ndim == 0 and math.isfinite(out.loss.item())
    assert out.loss_mvm is None
    out.loss.backward()
    for n, p in model.named_parameters():
        if p.requires_grad and not n.startswith(("reaction_head.", "mvm_decoder.")):
            assert p.grad is not None, n
        if not p.requires_grad:
            assert p.grad is None, n
    # frame tokens come first: T*Q visual positions + text
    t, q = 3, model.config.projector.num_query_tokens
    assert out.logits.shape[1] == t * q + int(enc["attention_mask"].sum(1).max())


def test_labels_cover_answer_tokens_only():
    model = tiny_model()
    enc = _batch(model)
    tok = model.tokenizer
    for row_ids, row_labels, ans in zip(enc["input_ids"], enc["labels"], ANSWERS):
        supervised = row_ids[row_labels != IGNORE_INDEX].tolist()
        assert supervised[-1] == tok.eos_token_id
        assert tok.decode(supervised[:-1]).strip() == ans


def test_frame_mask_removes_padded_frames():
    """A clip padded with junk frames that frame_mask marks absent gives the same loss as the clip alone."""
    model = tiny_model().eval()
    pv = pixel_values(batch=1, frames=2)
    enc = model.build_text_inputs(["Question: what? Answer:"], ["red"])
    alone = model(pv, **enc).loss
    padded = torch.cat([pv, torch.randn(1, 1, 3, 32, 32) * 5], dim=1)
    # the temporal embedding is zero at init; give it values so that positions matter
    with torch.no_grad():
        model.projector.temporal_embedding.normal_()
    alone = model(pv, **enc).loss
    masked = model(padded, **enc, frame_mask=torch.tensor([[True, True, False]])).loss
    unmasked = model(padded, **enc).loss
    assert torch.allclose(alone, masked, atol=1e-5)
    assert not torch.allclose(alone, unmasked, atol=1e-5)


def test_generate_returns_strings_and_batch_matches_single():
    torch.manual_seed(0)
    model = tiny_model().eval()
    pv = pixel_values()
    batch = model.generate(pv, QUESTIONS, max_new_tokens=6)
    assert len(batch) == 2 and all(isinstance(s, str) for s in batch)
    singles = [model.generate(pv[i : i + 1], [QUESTIONS[i]], max_new_tokens=6)[0] for i in range(2)]
    assert batch == singles


def test_caption_single_and_batch():
    model = tiny_model().eval()
    pv = pixel_values()
    assert isinstance(model.caption(pv[0], max_new_tokens=4), str)
    caps = model.caption(pv, max_new_tokens=4)
    assert isinstance(caps, list) and len(caps) == 2


def test_score_options_is_the_answer_log_likelihood():
    """Scores equal minus the (summed) cross-entropy the training loss gives each option."""
    model = tiny_model().eval()
    pv = pixel_values(batch=1)
    options = ["red", "a blue car", "dog"]
    scores = model.score_options(pv[0], "what color?", options)
    assert scores.shape == (3,)
    for opt, s in zip(options, scores):
        enc = model.build_text_inputs(["Question: what color? Answer:"], [opt], add_eos=False)
        with torch.no_grad():
            out = model(pv, **enc)
        n_tokens = int((enc["labels"] != IGNORE_INDEX).sum())
        assert torch.allclose(s, -out.loss * n_tokens, atol=1e-4)
    norm = model.score_options(pv, "what color?", options, length_normalize=True)
    assert not torch.allclose(norm, scores)


def test_training_raises_the_trained_options_score():
    """A few optimizer steps on one (clip, answer) pair raise that option's log-likelihood more than
    the others': the scoring reads the model, it is not a constant."""
    torch.manual_seed(0)
    model = tiny_model(mvm__weight=0.0)
    pv = pixel_values(batch=1)
    options = ["red", "blue", "green"]
    before = model.eval().score_options(pv, "what color?", options)
    opt = torch.optim.AdamW(model.trainable_parameter_groups({"default": 3e-2}))
    enc = model.build_text_inputs(["Question: what color? Answer:"], ["green"])
    model.train()
    for _ in range(20):
        opt.zero_grad()
        model(pv, **enc).loss.backward()
        opt.step()
    gain = model.eval().score_options(pv, "what color?", options) - before
    assert gain[2] > 1.0 and gain[2] > gain[0] and gain[2] > gain[1]


def test_predict_count_returns_int_in_range():
    model = tiny_model().eval()
    for decode in ("mean", "mode"):
        n = model.predict_count(pixel_values(batch=1)[0], "how many times does the cat jump?", decode=decode)
        assert isinstance(n, int) and 0 <= n <= 10


def test_predict_count_mean_is_the_least_squares_answer(monkeypatch):
    # The LM says 1 with p 0.4 and 5 with p 0.6 (and ~0 elsewhere): its most likely answer is 5, the
    # integer with the least expected squared error is round(0.4 * 1 + 0.6 * 5) = round(3.4) = 3.
    model = tiny_model().eval()
    logp = torch.full((11,), -1e4)
    logp[1], logp[5] = math.log(0.4), math.log(0.6)
    monkeypatch.setattr(model, "score_options", lambda *a, **k: logp.clone())
    clip = pixel_values(batch=1)[0]
    assert model.predict_count(clip, "how many ?", decode="mode") == 5
    assert model.predict_count(clip, "how many ?") == 3  # mean is the default
    expected_sq_err = {a: 0.4 * (a - 1) ** 2 + 0.6 * (a - 5) ** 2 for a in range(11)}
    assert min(expected_sq_err, key=expected_sq_err.get) == 3
    logp[:] = -1e4
    logp[1], logp[4] = math.log(0.5), math.log(0.5)  # mean 2.5: halves round up
    assert model.predict_count(clip, "how many ?") == 3
    with pytest.raises(ConfigError, match="count decode"):
        model.predict_count(clip, "how many ?", decode="median")


def test_reaction_head_labels_sentiment_emotions():
    model = tiny_model().eval()
    logits = model.classify_reaction(pixel_values())
    assert logits.shape == (2, 43)
    labels = model.reaction_labels
    assert len(labels) == 43 and "applause" in labels and "shrug" in labels
    sent = model.reaction_sentiment(logits)
    assert sent.shape == (2,) and ((sent > 0) & (sent < 1)).all()
    # a one-hot "hug" distribution is fully positive; "shrug" maps to no GoEmotions label
    big = torch.full((2, 43), -1e4)
    big[0, labels.index("hug")] = 0
    big[1, labels.index("shrug")] = 0
    assert torch.allclose(model.reaction_sentiment(big), torch.tensor([1.0, 0.0]))
    emo = model.reaction_emotions(big)
    assert emo.shape == (2, 27) and emo[1].sum() == 0 and emo[0].sum() > 0
    loss = model.reaction_loss(pixel_values(), torch.tensor([0, 5]))
    loss.backward()
    assert model.reaction_head.classifier.weight.grad is not None


def test_reaction_labels_match_the_authors_csv():
    from gifqa.model.heads import reaction_labels
    from tests.shared_data import shared

    path = shared("reactiongif") / "Reactions2GoEmotions.csv"
    if not path.exists():
        pytest.skip(f"{path} absent")
    import csv

    rows = list(csv.reader(path.open()))
    table = reaction_labels()
    assert table["reactions"] == [r[0] for r in rows[1:]]
    assert table["reaction_to_goemotions"] == [[int(v) for v in r[1:]] for r in rows[1:]]
    assert len(table["positive_reactions"]) == 20


def test_parameter_groups_cover_every_trainable_parameter_once():
    model = tiny_model()
    groups = model.trainable_parameter_groups({"lora": 1e-4, "qformer": 2e-5, "default": 1e-3})
    names = {g["name"]: g["lr"] for g in groups}
    assert names == {"lora": 1e-4, "qformer": 2e-5, "projection": 1e-3, "heads": 1e-3, "mvm": 1e-3}
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == sum(1 for p in model.parameters() if p.requires_grad)
    with pytest.raises(ConfigError, match="unknown learning-rate group"):
        model.trainable_parameter_groups({"encoder": 1.0, "default": 1.0})  # ("vision" and "llm" are groups now)
    with pytest.raises(ConfigError, match="no learning rate for group"):
        model.trainable_parameter_groups({"lora": 1.0})


def test_preprocess_frames_shapes_and_normalisation():
    model = tiny_model()
    frames = np.zeros((4, 50, 80, 3), dtype=np.uint8)
    frames[..., 0] = 255
    pv = model.preprocess_frames(frames)
    assert pv.shape == (4, 3, 32, 32) and pv.dtype == torch.float32
    vc = model.config.vision
    assert torch.allclose(pv[:, 0], torch.full((4, 32, 32), (1 - vc.image_mean[0]) / vc.image_std[0]), atol=1e-4)
    assert torch.allclose(pv[:, 1], torch.full((4, 32, 32), -vc.image_mean[1] / vc.image_std[1]), atol=1e-4)
    assert model.preprocess_frames([frames[0], frames[1]]).shape == (2, 3, 32, 32)
    with pytest.raises(ConfigError):
        model.preprocess_frames(frames.astype(np.float32))


def test_too_many_frames_is_a_config_error():
    model = tiny_model()
    enc = _batch(model)
    with pytest.raises(ConfigError, match="max_frames"):
        model(pixel_values(frames=9), **enc)
