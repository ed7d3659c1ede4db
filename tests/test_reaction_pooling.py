"""The reaction head's pooling: the mean (default, what shipped checkpoints hold) and attention
pooling with a learned probe (heads.reaction_pooling: attention)."""

from __future__ import annotations

import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.model.heads import ReactionHead
from tests.model_helpers import pixel_values, tiny_config, tiny_model


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
    model.eval()
    model.save_pretrained(tmp_path / "ck")
    from gifqa.model import GifQAModel

    back = GifQAModel.from_pretrained(str(tmp_path / "ck")).eval()
    assert back.config.heads.reaction_pooling == "attention"
    torch.testing.assert_close(back.classify_reaction(pv), model.classify_reaction(pv))
