"""Masked video modelling (ST-LLM) on the tiny preset."""

from __future__ import annotations

import math

import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.model.config import MVMConfig
from gifqa.model.modeling import causal_lm_loss
from gifqa.model.mvm import keep_mask, mvm_loss, sample_rate
from tests.model_helpers import pixel_values, tiny_model


def _enc(model):
    return model.build_text_inputs(["Question: what is he doing? Answer:", "Question: what color? Answer:"],
                                   ["dancing", "red"])


def test_rate_is_clipped_normal():
    cfg = MVMConfig()
    g = torch.Generator().manual_seed(0)
    rates = [sample_rate(cfg, g) for _ in range(4000)]
    assert min(rates) >= 0.1 and max(rates) <= 0.7
    assert abs(sum(rates) / len(rates) - 0.5) < 0.01
    wide = MVMConfig(rate_std=1.0)
    rates = [sample_rate(wide, g) for _ in range(2000)]
    assert min(rates) == 0.1 and max(rates) == 0.7  # clipping happens


def test_keep_mask_drops_exactly_floor_rate_L_of_valid_tokens():
    valid = torch.ones(3, 20, dtype=torch.bool)
    valid[2, 12:] = False  # a clip with fewer frames
    kept = keep_mask(valid, 0.37, torch.Generator().manual_seed(0))
    assert kept.sum(1).tolist() == [20 - math.floor(0.37 * 20)] * 2 + [12 - math.floor(0.37 * 12)]
    assert not (kept & ~valid).any()


def test_masked_sequence_is_shorter_and_target_has_no_grad():
    torch.manual_seed(0)
    model = tiny_model().train()
    pv = pixel_values()
    out = model(pv, **_enc(model))
    trace = out.mvm
    assert trace is not None and out.loss_mvm is not None
    t, q = 3, model.config.projector.num_query_tokens
    n_drop = math.floor(trace["rate"] * t * q)
    masked, full = trace["masked_inputs_embeds"], trace["full_inputs_embeds"]
    assert full.shape[1] - masked.shape[1] == n_drop > 0
    assert (~trace["kept"]).sum(1).tolist() == [n_drop, n_drop]
    # the masked input is the full one with the dropped visual tokens removed, not zeroed
    b = 0
    kept_idx = trace["kept"][b].nonzero().squeeze(1)
    assert torch.allclose(masked[b, : kept_idx.numel()], full[b, kept_idx].detach())
    assert torch.allclose(masked[b, kept_idx.numel():], full[b, t * q :][: masked.shape[1] - kept_idx.numel()])
    # target: computed without grad; prediction path: with grad
    assert not trace["target"].requires_grad and trace["target"].grad_fn is None
    assert masked.requires_grad
    out.loss.backward()
    assert model.mvm_decoder.linear.weight.grad is not None
    assert model.projector.qformer.layernorm.weight.grad.abs().sum() > 0
    assert torch.allclose(out.loss, out.loss_ce + out.loss_mvm)


def test_mvm_loss_is_two_minus_two_cos():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[3.0, 0.0], [0.0, -1.0]])
    assert torch.allclose(mvm_loss(a, b), torch.tensor((0.0 + 4.0) / 2))


def test_weight_zero_gives_plain_cross_entropy():
    torch.manual_seed(0)
    model = tiny_model(mvm__weight=0.0).train()
    pv = pixel_values()
    enc = _enc(model)
    torch.manual_seed(5)  # same dropout draws in the Q-Former for both computations
    out = model(pv, **enc)
    assert out.loss_mvm is None and out.mvm is None
    # plain CE computed by hand: frame tokens then text, same LLM, no masking
    torch.manual_seed(5)
    visual, _, _ = model.encode_frames(pv)
    text = model.llm.get_input_embeddings()(enc["input_ids"])
    mask = enc["attention_mask"]
    # all rows have their real tokens first (right padding), so concatenation then a mask suffices
    embeds = torch.cat([visual, text], 1)
    attn = torch.cat([torch.ones(visual.shape[:2], dtype=torch.long), mask], 1)
    labels = torch.cat([torch.full(visual.shape[:2], -100), enc["labels"]], 1)
    logits = model.llm(inputs_embeds=embeds, attention_mask=attn).logits
    assert torch.allclose(out.loss, causal_lm_loss(logits, labels), atol=1e-5)


def test_weight_scales_the_mvm_term():
    pv = pixel_values()
    losses = {}
    for w in (1.0, 3.0):
        torch.manual_seed(0)
        model = tiny_model(mvm__weight=w).train()
        torch.manual_seed(1)
        out = model(pv, **_enc(model))
        losses[w] = out
    assert torch.allclose(losses[1.0].loss_mvm, losses[3.0].loss_mvm)
    assert torch.allclose(losses[3.0].loss, losses[3.0].loss_ce + 3 * losses[3.0].loss_mvm)


def test_mvm_never_runs_in_eval():
    model = tiny_model().eval()
    out = model(pixel_values(), **_enc(model))
    assert out.mvm is None and out.loss_mvm is None


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def _mvm_leaves_grads_unchanged(model, out) -> tuple[bool, bool]:
    """Whether adding loss_mvm leaves the projector's / the LLM's gradients as loss_ce alone gives them."""
    def same(params):
        return all(torch.allclose(a, b, atol=1e-7) for a, b in zip(_grads(out.loss, params), _grads(out.loss_ce, params))
                   if a is not None)
    return (same([p for p in model.projector.parameters() if p.requires_grad]),
            same([p for p in model.llm.parameters() if p.requires_grad]))


def test_projector_grad_false_keeps_mvm_out_of_the_projector():
    pv = pixel_values()
    for projector_grad in (True, False):
        torch.manual_seed(0)
        model = tiny_model(mvm__projector_grad=projector_grad).train()
        torch.manual_seed(1)
        out = model(pv, **_enc(model))
        assert out.loss_mvm is not None and out.loss_mvm.item() > 0
        same_proj, same_llm = _mvm_leaves_grads_unchanged(model, out)
        # MVM always trains the LLM (its LoRA here); it reaches the projector only with projector_grad
        assert not same_llm
        assert same_proj is (not projector_grad)
        assert torch.allclose(out.loss, out.loss_ce + out.loss_mvm)


def test_task_input_full_reads_the_full_sequence_and_mvm_predicts_its_states():
    pv = pixel_values()
    torch.manual_seed(0)
    model = tiny_model(mvm__task_input="full").train()
    enc = _enc(model)
    torch.manual_seed(5)  # same dropout draws in the Q-Former for both computations
    out = model(pv, **enc)
    trace = out.mvm
    assert trace is not None and out.loss_mvm is not None and out.loss_mvm.item() > 0
    assert torch.allclose(out.loss, out.loss_ce + out.loss_mvm)
    assert not trace["target"].requires_grad
    assert trace["full_inputs_embeds"].shape[1] > trace["masked_inputs_embeds"].shape[1]
    # its task loss is the plain cross-entropy on the full sequence (weight 0 skips MVM altogether)
    plain = tiny_model(mvm__weight=0.0).train()
    plain.load_state_dict(model.state_dict(), strict=False)
    torch.manual_seed(5)
    ref = plain(pv, **enc)
    assert torch.allclose(out.loss_ce, ref.loss_ce, atol=1e-5)
    # the ST-LLM order reads the masked sequence: a different task loss on the same weights
    masked = tiny_model().train()
    masked.load_state_dict(model.state_dict())
    torch.manual_seed(5)
    assert not torch.allclose(masked(pv, **enc).loss_ce, ref.loss_ce, atol=1e-4)


def test_task_input_full_masked_pass_skips_the_text_without_changing_mvm():
    """The masked pass holds only the kept frame tokens: the LM is causal and they come first, so the
    text after them cannot change MVM's states, and the loss equals the one of a pass with the text."""
    from gifqa.model.modeling import assemble
    from gifqa.model.mvm import mvm_loss

    torch.manual_seed(0)
    model = tiny_model(mvm__task_input="full").train()
    enc = _enc(model)
    out = model(pixel_values(), **enc)
    trace = out.mvm
    kept = trace["kept"]
    assert trace["masked_inputs_embeds"].shape[1] == int(kept.sum(1).max())
    n_vis = kept.shape[1]
    visual = trace["full_inputs_embeds"][:, :n_vis].detach()  # frame tokens first, all valid here
    text = model.llm.get_input_embeddings()(enc["input_ids"])
    with_text = assemble(visual, kept, text, enc["attention_mask"], enc["labels"], "right")
    assert with_text.embeds.shape[1] > trace["masked_inputs_embeds"].shape[1]
    states = model.llm(inputs_embeds=with_text.embeds, attention_mask=with_text.mask,
                       output_hidden_states=True).hidden_states[-1]
    b_idx, v_idx = kept.nonzero(as_tuple=True)
    ref = mvm_loss(model.mvm_decoder(states[b_idx, with_text.visual_positions[b_idx, v_idx]].float()), trace["target"])
    assert torch.allclose(out.loss_mvm, ref, atol=1e-5)


def test_task_input_full_keeps_mvm_out_of_the_projector_when_asked():
    pv = pixel_values()
    for projector_grad in (True, False):
        torch.manual_seed(0)
        model = tiny_model(mvm__task_input="full", mvm__projector_grad=projector_grad).train()
        torch.manual_seed(1)
        out = model(pv, **_enc(model))
        same_proj, same_llm = _mvm_leaves_grads_unchanged(model, out)
        assert not same_llm
        assert same_proj is (not projector_grad)


def test_task_input_is_validated():
    with pytest.raises(ConfigError, match="mvm.task_input"):
        MVMConfig(task_input="both").validate()


def test_batch_share_runs_the_masked_pass_on_a_share_of_the_clips_only():
    """mvm.batch_share 0.5: the task loss is unchanged, and MVM's targets are those of the chosen clips
    under the same masks as with every clip."""
    pv = pixel_values(batch=4)
    prompts, answers = ["Question: what is he doing? Answer:"] * 4, ["dancing", "red", "two", "jumping"]
    torch.manual_seed(0)
    half = tiny_model(mvm__task_input="full", mvm__batch_share=0.5).train()
    every = tiny_model(mvm__task_input="full").train()
    every.load_state_dict(half.state_dict())
    enc = half.build_text_inputs(prompts, answers)
    torch.manual_seed(3)
    out = half(pv, **enc)
    torch.manual_seed(3)
    ref = every(pv, **enc)
    rows = out.mvm["rows"]
    assert rows.tolist() == sorted(rows.tolist()) and len(rows) == 2 and ref.mvm["rows"] is None
    assert out.mvm["masked_inputs_embeds"].shape[0] == 2
    torch.testing.assert_close(out.loss_ce, ref.loss_ce)
    assert torch.equal(out.mvm["kept"], ref.mvm["kept"][rows])
    b_idx = ref.mvm["kept"].nonzero(as_tuple=True)[0]
    torch.testing.assert_close(out.mvm["target"], ref.mvm["target"][torch.isin(b_idx, rows)])
    assert out.loss_mvm.item() > 0 and torch.allclose(out.loss, out.loss_ce + out.loss_mvm)
    out.loss.backward()
    assert half.mvm_decoder.linear.weight.grad is not None


@pytest.mark.parametrize("share, task_input", [(0.0, "full"), (1.5, "full"), (0.5, "masked")])
def test_batch_share_is_checked(share, task_input):
    with pytest.raises(ConfigError, match="batch_share"):
        MVMConfig(batch_share=share, task_input=task_input).validate()
