"""projector.question_aware: InstructBLIP's instruction-aware Q-Former (the prompt joins the queries)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[model]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")

from gifqa.errors import ConfigError  # noqa: E402
from gifqa.model import GifQAModel  # noqa: E402
from gifqa.model.config import GifQAConfig  # noqa: E402
from tests.model_helpers import pixel_values, tiny_config  # noqa: E402

PROMPTS = ["Question: what is the cat doing ? Answer:", "Question: what color is the dog ? Answer:"]


def _model(aware: bool = True) -> GifQAModel:
    return GifQAModel(tiny_config(projector__question_aware=aware)).eval()


def _prompt_ids(model, texts):
    enc = model.build_text_inputs(texts)
    return enc["input_ids"], enc["attention_mask"]


def test_frame_tokens_depend_on_the_question_only_when_question_aware():
    pv = pixel_values(batch=1)
    a, b = (_prompt_ids(_model(), [p]) for p in PROMPTS)
    aware = _model()
    with torch.no_grad():
        ta = aware.encode_frames(pv, None, *a)[0]
        tb = aware.encode_frames(pv, None, *b)[0]
        t0 = aware.encode_frames(pv)[0]  # no prompt: the queries alone (the reaction head's path)
    assert not torch.allclose(ta, tb) and not torch.allclose(ta, t0)
    plain = _model(aware=False)
    with torch.no_grad():
        torch.testing.assert_close(plain.encode_frames(pv, None, *a)[0], plain.encode_frames(pv, None, *b)[0])
    # Padding after the prompt changes nothing: only masked-in tokens are read.
    ids, mask = a
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=ids.dtype)], 1), torch.cat([mask, torch.zeros(1, 3, dtype=mask.dtype)], 1)
    with torch.no_grad():
        torch.testing.assert_close(aware.encode_frames(pv, None, *padded)[0], ta)


def test_the_answer_never_reaches_the_qformer():
    """In training the input holds prompt + answer; the frame tokens must not see the answer,
    or the LLM could read it off them."""
    model = _model()
    seen = []
    inner = model.projector.forward
    model.projector.forward = lambda f, t, ids=None, mask=None: (seen.append((ids, mask)), inner(f, t, ids, mask))[1]
    pv = pixel_values()
    for answers in (["sleeping", "brown"], ["running", "white"]):
        model(pv, **model.build_text_inputs(PROMPTS, answers))
    (ids1, m1), (ids2, m2) = seen
    prompts_only = [ids[i][m[i].bool()].tolist() for ids, m in ((ids1, m1), (ids2, m2)) for i in range(2)]
    want = [model.tokenizer(p)["input_ids"] for p in PROMPTS]
    assert prompts_only == want * 2


def test_scoring_generation_and_training_read_the_same_prompt():
    model = _model()
    seen = []
    inner = model.projector.forward
    model.projector.forward = lambda f, t, ids=None, mask=None: (seen.append(ids[0][mask[0].bool()].tolist()), inner(f, t, ids, mask))[1]
    pv = pixel_values(batch=1)
    model.score_options(pv, "what is the cat doing ?", ["sleeping", "running around"])
    model.generate(pv, ["what is the cat doing ?"], max_new_tokens=2)
    model(pv, **model.build_text_inputs(PROMPTS[:1], ["sleeping"]))
    assert seen[0] == seen[1] == seen[2] == model.tokenizer(PROMPTS[0])["input_ids"]


def test_question_aware_checkpoint_round_trip(tmp_path):
    model = _model()
    with torch.no_grad():  # make the text path matter
        model.projector.qformer.embeddings.word_embeddings.weight.normal_()
    model.save_pretrained(tmp_path / "ck")
    back = GifQAModel.from_pretrained(str(tmp_path / "ck")).eval()
    assert back.config.projector.question_aware
    pv = pixel_values(batch=1)
    enc = model.build_text_inputs(PROMPTS[:1], ["sleeping"])
    with torch.no_grad():
        torch.testing.assert_close(back(pv, **enc).logits, model(pv, **enc).logits)


def test_cached_features_path_passes_the_prompt_too():
    from gifqa.training.features import encode_from_features

    model = _model()
    pv = pixel_values(batch=1)
    ids, mask = _prompt_ids(model, PROMPTS[:1])
    with torch.no_grad():
        feats = model.vision(pv.flatten(0, 1)).view(1, pv.shape[1], -1, model.config.vision.width)
        torch.testing.assert_close(encode_from_features(model)(feats, None, ids, mask)[0],
                                   model.encode_frames(pv, None, ids, mask)[0])


def test_ask_memo_keys_on_the_prompt_for_a_question_aware_model():
    from gifqa.ask import _FrameTokenMemo

    model = _model()
    pv = pixel_values(batch=1)
    a, b = (_prompt_ids(model, [p]) for p in PROMPTS)
    with torch.no_grad():
        want_a, want_b = (model.encode_frames(pv.clone(), None, *x)[0] for x in (a, b))  # no memo yet
    memo = _FrameTokenMemo(model, size=8)
    tower_calls = []
    model.vision.register_forward_hook(lambda *_: tower_calls.append(1))
    with torch.no_grad():
        ta = model.encode_frames(pv, None, *a)[0]
        tb = model.encode_frames(pv, None, *b)[0]
        ta2 = model.encode_frames(pv, None, *a)[0]
    assert not torch.allclose(ta, tb) and ta2 is ta and memo.hits == 1
    # the tower ran once for the clip: a new question reruns the projector only, with the same result
    assert len(tower_calls) == 1
    torch.testing.assert_close(ta, want_a)
    torch.testing.assert_close(tb, want_b)


def test_question_aware_config_is_validated():
    data = tiny_config().to_dict()
    with pytest.raises(ConfigError, match="init_from"):
        GifQAConfig.from_dict({**data, "projector": {**data["projector"], "question_aware": True,
                                                     "init_from": "Salesforce/blip2-opt-2.7b"}})
    cfg = GifQAConfig.from_dict({**data, "projector": {**data["projector"], "question_aware": True},
                                 "llm": {**data["llm"], "hf_config": {k: v for k, v in data["llm"]["hf_config"].items()
                                                                      if k != "vocab_size"}}})
    with pytest.raises(ConfigError, match="vocab_size"):
        cfg.qformer_hf_config()
    hf = tiny_config(projector__question_aware=True).qformer_hf_config()
    assert hf["vocab_size"] == data["llm"]["hf_config"]["vocab_size"]
    assert hf["max_position_embeddings"] == data["llm"]["max_text_tokens"]


def test_text_columns_masked_in_every_row_are_dropped_and_change_nothing():
    """The Q-Former runs once per frame, so the answer and padding columns (masked for every clip) are
    cut before it; the queries' outputs equal those of the uncut input."""
    from gifqa.model.modeling import prompt_mask

    model = _model()
    prompts = ["Question: what is it ? Answer:", "Question: what color is the big dog over there ? Answer:"]
    enc = model.build_text_inputs(prompts, ["a cat sleeping on a mat", "brown"])
    pmask = prompt_mask(enc["attention_mask"], enc["labels"])
    assert pmask.shape[1] > int(pmask.sum(1).max())  # the longest answer runs past the longest prompt
    seen = []
    model.projector.qformer.register_forward_pre_hook(lambda m, a, kw: seen.append(kw["input_ids"] is not None and kw["input_ids"].shape[1]), with_kwargs=True)
    pv = pixel_values()
    p = model.projector
    with torch.no_grad():
        feats = model.frame_features(pv)  # [B, T, N, D_v]
        got = p.queries(feats.flatten(0, 1), feats.shape[1], enc["input_ids"], pmask)  # [B, T, Q, D_q]
        assert seen == [int(pmask.sum(1).max())]
        # The uncut reference, through the same Q-Former.
        bt, t = feats.shape[0] * feats.shape[1], feats.shape[1]
        enc_states = feats.flatten(0, 1)
        if p.patch_position is not None:
            enc_states = enc_states + p.patch_position[: enc_states.shape[1]]
        mask = torch.cat([torch.ones(bt, p.num_query_tokens, dtype=torch.long), pmask.repeat_interleave(t, 0)], 1)
        ref = p.qformer(input_ids=enc["input_ids"].repeat_interleave(t, 0), attention_mask=mask,
                        query_embeds=p.query_tokens.expand(bt, -1, -1), encoder_hidden_states=enc_states,
                        encoder_attention_mask=torch.ones(enc_states.shape[:2], dtype=torch.long))
        ref = ref.last_hidden_state[:, : p.num_query_tokens].reshape(got.shape)
    torch.testing.assert_close(got, ref)
    # A batch with no prompt at all (every column masked) runs the queries alone, as without text.
    with torch.no_grad():
        torch.testing.assert_close(p.queries(feats.flatten(0, 1), t, enc["input_ids"], torch.zeros_like(pmask)),
                                   p.queries(feats.flatten(0, 1), t))
