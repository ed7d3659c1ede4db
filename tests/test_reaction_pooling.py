"""The reaction head's pooling: the mean (default, what shipped checkpoints hold) and attention
pooling with a learned probe (heads.reaction_pooling: attention); and its input: the Q-Former
outputs (default) or the LLM's states at the frame tokens (heads.reaction_input: llm)."""

from __future__ import annotations

import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.model.heads import ReactionHead
from tests.model_helpers import pixel_values, tiny_config, tiny_model


def _round_trip(model, pv, tmp_path):
    """Save, load strictly, and check the reloaded model gives the same reaction logits; returns it."""
    from gifqa.model import GifQAModel

    model.eval()
    model.save_pretrained(tmp_path / "ck")
    back = GifQAModel.from_pretrained(str(tmp_path / "ck")).eval()
    torch.testing.assert_close(back.classify_reaction(pv), model.classify_reaction(pv))
    return back


def test_mean_pooling_is_the_default_and_adds_no_parameters():
    assert tiny_config().heads.reaction_pooling == "mean"
    names = {n for n, _ in ReactionHead(32, 0.0).named_parameters()}
    assert names == {"norm.weight", "norm.bias", "classifier.weight", "classifier.bias"}  # old checkpoints load strictly
    with pytest.raises(ConfigError, match="reaction_pooling"):
        tiny_config(heads__reaction_pooling="max")


@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_padded_frames_do_not_change_the_logits(pooling):
    torch.manual_seed(0)
    head = ReactionHead(32, 0.0, pooling).eval()
    queries = torch.randn(2, 5, 4, 32)  # [B, T, Q, D]
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    noisy = queries.clone()
    noisy[0, 3:] = 100.0 * torch.randn(2, 4, 32)
    torch.testing.assert_close(head(queries, mask), head(noisy, mask))
    # clip 0 with its padding cut off gives the same logits as padded and masked
    torch.testing.assert_close(head(queries[:1, :3]), head(queries, mask)[:1])


def test_attention_pooling_weighs_tokens_and_trains_and_round_trips(tmp_path):
    torch.manual_seed(0)
    head = ReactionHead(32, 0.0, "attention").eval()
    queries = torch.randn(3, 4, 2, 32)
    # Not a mean: the probe's attention weights the tokens unequally.
    mean = ReactionHead(32, 0.0, "mean")
    assert not torch.allclose(head.pool(queries), mean.pool(queries), atol=1e-3)

    model = tiny_model(heads__reaction_pooling="attention", heads__dropout=0.0).train()
    pv = pixel_values()
    loss = model.reaction_loss(pv, torch.tensor([0, 5]))
    loss.backward()
    assert model.reaction_head.probe.grad.abs().sum() > 0
    assert model.projector.query_tokens.grad.abs().sum() > 0
    assert _round_trip(model, pv, tmp_path).config.heads.reaction_pooling == "attention"


def test_llm_input_reads_frame_order_and_ignores_padding(tmp_path):
    # Without a temporal embedding and with mean pooling, the Q-Former outputs are a set of frames:
    # reversing the clip cannot change the logits.  The LLM's states at the frame tokens have read the
    # frames in order, so the same head on them must see the reversal (a motion is an order of poses).
    pv = pixel_values(batch=2, frames=4)
    flipped = pv.flip(1)
    common = {"heads__reaction_pooling": "mean", "heads__dropout": 0.0, "projector__temporal_embedding": False}
    queries = tiny_model(**common).eval()
    torch.testing.assert_close(queries.classify_reaction(flipped), queries.classify_reaction(pv))
    model = tiny_model(**common, heads__reaction_input="llm").eval()
    assert model.reaction_head.norm.normalized_shape == (model.config.llm.width,)
    assert not torch.allclose(model.classify_reaction(flipped), model.classify_reaction(pv), atol=1e-4)

    # Padded frames (last, as the loaders pad) change nothing: clip 0 cut to 2 frames == padded + masked.
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    noisy = pv.clone()
    noisy[0, 2:] = 50.0 * torch.randn(2, *pv.shape[2:])
    torch.testing.assert_close(model.classify_reaction(noisy, mask)[:1], model.classify_reaction(pv[:1, :2]),
                               atol=1e-5, rtol=1e-4)

    # The loss trains the LLM as well as the projector, and the choice is saved with the weights.
    model.train()
    model.reaction_loss(pv, torch.tensor([0, 5])).backward()
    assert model.llm.get_input_embeddings().weight.grad is None  # frame tokens only: no token was embedded
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.llm.named_parameters() if "lora" in n)
    assert model.projector.query_tokens.grad.abs().sum() > 0
    assert _round_trip(model, pv, tmp_path).config.heads.reaction_input == "llm"
    with pytest.raises(ConfigError, match="reaction_input"):
        tiny_config(heads__reaction_input="text")


def test_llm_query_reads_learned_tokens_after_the_last_real_frame(tmp_path):
    # heads.reaction_input: llm_query appends N learned tokens after the frame tokens and pools the LLM's
    # states there.  Hand check: the logits equal the head run on the LLM's last states at those tokens of
    # the sequence [frames, readers] built by hand.
    model = tiny_model(heads__reaction_input="llm_query", heads__reaction_query_tokens=3,
                       heads__reaction_pooling="attention", heads__dropout=0.0).eval()
    head = model.reaction_head
    assert head.reader.shape == (1, 3, model.config.llm.width)
    pv = pixel_values(batch=2, frames=4)
    visual, _, _ = model.encode_frames(pv)
    seq = torch.cat([visual, head.reader.expand(2, -1, -1)], dim=1)  # [B, T*Q + 3, D_lm]
    states = model.llm(inputs_embeds=seq, output_hidden_states=True).hidden_states[-1][:, -3:]
    torch.testing.assert_close(model.classify_reaction(pv), head(states[:, None]))
    # The readers come after every frame, so they see the frame order.
    assert not torch.allclose(model.classify_reaction(pv.flip(1)), model.classify_reaction(pv), atol=1e-4)

    # Padded frames (last) change nothing: the readers follow clip 0's last real frame.
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    noisy = pv.clone()
    noisy[0, 2:] = 50.0 * torch.randn(2, *pv.shape[2:])
    batched = model.classify_reaction(noisy, mask)
    torch.testing.assert_close(batched[:1], model.classify_reaction(pv[:1, :2]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched[1:], model.classify_reaction(pv[1:]), atol=1e-5, rtol=1e-4)

    # The loss trains the readers, the LLM and the projector; readers are saved and loaded strictly.
    model.train()
    model.reaction_loss(pv, torch.tensor([0, 5])).backward()
    assert head.reader.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.llm.named_parameters() if "lora" in n)
    assert model.projector.query_tokens.grad.abs().sum() > 0
    back = _round_trip(model, pv, tmp_path)
    torch.testing.assert_close(back.reaction_head.reader, head.reader)
    # Other inputs have no readers, so their checkpoints keep their keys.
    assert tiny_model(heads__reaction_input="llm").reaction_head.reader is None
    with pytest.raises(ConfigError, match="reaction_query_tokens"):
        tiny_config(heads__reaction_input="llm_query", heads__reaction_query_tokens=0)
