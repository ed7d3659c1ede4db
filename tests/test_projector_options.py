"""Projector options: the decorrelation loss and the patch position embedding (against query collapse and for
place), query windows (locality), temporal difference (motion); and the by-shapes tables of scripts/frameqa_by_actors.py."""

from __future__ import annotations

import pytest
import torch

from gifqa.errors import ConfigError
from gifqa.model.projector import query_decorrelation
from tests.model_helpers import pixel_values, tiny_config, tiny_model


def _enc(model):
    return model.build_text_inputs(["Question: what is he doing? Answer:", "Question: what color? Answer:"],
                                   ["dancing", "red"])


def test_decorrelation_is_one_in_lockstep_and_small_for_independent_queries():
    g = torch.Generator().manual_seed(0)
    lockstep = torch.randn(4, 8, 1, 32, generator=g).expand(4, 8, 5, 32) + torch.randn(1, 1, 5, 32, generator=g)
    assert query_decorrelation(lockstep).item() == pytest.approx(1.0, abs=1e-5)  # per-query offsets do not count
    independent = torch.randn(64, 8, 5, 32, generator=g)
    assert query_decorrelation(independent).item() < 0.05
    # padded frames (frame_mask False) are left out
    mixed = independent.clone()
    mixed[:, 4:] = lockstep[:1, :1].expand(64, 4, 5, 32)
    mask = torch.zeros(64, 8, dtype=torch.bool)
    mask[:, :4] = True
    assert query_decorrelation(mixed, mask).item() < 0.05
    assert query_decorrelation(torch.randn(1, 1, 4, 8)).item() == 0.0  # one frame: nothing to centre on


def test_decorrelation_weight_adds_to_the_loss_in_training_only():
    pv = pixel_values()
    torch.manual_seed(0)
    model = tiny_model(projector__decorrelation_weight=2.0, mvm__weight=0.0).train()
    out = model(pv, **_enc(model))
    assert out.loss_decorrelation is not None and out.loss_decorrelation.item() > 0
    assert torch.allclose(out.loss, out.loss_ce + 2.0 * out.loss_decorrelation)
    out.loss.backward()
    assert model.projector.query_tokens.grad.abs().sum() > 0
    model.eval()
    assert model(pv, **_enc(model)).loss_decorrelation is None
    with pytest.raises(ConfigError, match="decorrelation_weight"):
        tiny_config(projector__decorrelation_weight=-1.0)


def test_patch_position_embedding_starts_at_zero_and_trains():
    pv = pixel_values()
    torch.manual_seed(0)
    plain = tiny_model(mvm__weight=0.0).eval()
    torch.manual_seed(0)
    model = tiny_model(mvm__weight=0.0, projector__patch_position_embedding=True).eval()
    n_tokens = model.config.vision.num_tokens
    assert model.projector.patch_position.shape == (n_tokens, model.config.vision.width)
    # zero at init: the same outputs as without it
    assert torch.allclose(plain.encode_frames(pv)[0], model.encode_frames(pv)[0], atol=1e-6)
    model.train()
    model(pv, **_enc(model)).loss.backward()
    assert model.projector.patch_position.grad.abs().sum() > 0
    groups = {g["name"] for g in model.trainable_parameter_groups({"default": 1e-3})
              if any(p is model.projector.patch_position for p in g["params"])}
    assert groups == {"projection"}


def test_patch_position_std_starts_the_embedding_random():
    """A from-scratch Q-Former learns place only from a non-zero start (report.md, gifqa-shapes)."""
    torch.manual_seed(0)
    model = tiny_model(projector__patch_position_embedding=True, projector__patch_position_std=1.0)
    pos = model.projector.patch_position
    assert 0.8 < pos.std().item() < 1.2 and pos.abs().min() > 0
    torch.manual_seed(0)
    zero = tiny_model(projector__patch_position_embedding=True)
    assert torch.count_nonzero(zero.projector.patch_position) == 0
    with pytest.raises(ConfigError, match="patch_position_std must be >= 0"):
        tiny_config(projector__patch_position_embedding=True, projector__patch_position_std=-1.0)
    with pytest.raises(ConfigError, match="patch_position_embedding is false"):
        tiny_config(projector__patch_position_std=1.0)


def test_temporal_difference_starts_as_a_no_op_and_reads_only_change(tmp_path):
    """projector.temporal_difference: zero at init (the same tokens as without it), then each frame's
    tokens gain a function of how its queries changed since the previous frame: nothing for a still clip,
    nothing for frame 0; it trains, in the projection group, and a checkpoint keeps it (strict load)."""
    from gifqa.model.modeling import GifQAModel

    torch.manual_seed(0)
    plain = tiny_model(mvm__weight=0.0).eval()
    torch.manual_seed(0)
    model = tiny_model(mvm__weight=0.0, projector__temporal_difference=True).eval()
    pv = pixel_values()  # [B, T, 3, S, S], frames differ
    assert torch.allclose(plain.encode_frames(pv)[0], model.encode_frames(pv)[0], atol=1e-6)
    model.train()
    model(pv, **_enc(model)).loss.backward()
    assert model.projector.difference_projection.weight.grad.abs().sum() > 0
    groups = {g["name"] for g in model.trainable_parameter_groups({"default": 1e-3})
              if any(p is model.projector.difference_projection.weight for p in g["params"])}
    assert groups == {"projection"}
    model.eval()
    with torch.no_grad():
        model.projector.difference_projection.weight.normal_()
        model.projector.difference_projection.bias.normal_()
    q = model.config.projector.num_query_tokens
    moving, base = model.encode_frames(pv)[0], plain.encode_frames(pv)[0]
    assert torch.allclose(moving[:, :q], base[:, :q] + model.projector.difference_projection.bias, atol=1e-5)  # frame 0
    assert not torch.allclose(moving[:, q:], base[:, q:] + model.projector.difference_projection.bias, atol=1e-3)
    still = pv[:, :1].expand_as(pv).contiguous()  # every frame the first: no change, only the bias
    assert torch.allclose(model.encode_frames(still)[0], plain.encode_frames(still)[0] + model.projector.difference_projection.bias,
                          atol=1e-5)
    model.save_pretrained(tmp_path / "ckpt")
    back = GifQAModel.from_pretrained(tmp_path / "ckpt").eval()
    assert back.config.projector.temporal_difference
    assert torch.allclose(back.encode_frames(pv)[0], moving, atol=1e-6)


def test_query_windows_keep_each_query_inside_its_window():
    from gifqa.model.projector import query_window_mask

    mask = query_window_mask(8, 2, 17)  # 4x4 patches, 2x2 windows of 3x3, two queries each
    grids = mask[:, 1:].reshape(8, 4, 4)
    assert not mask[:, 0].any() and mask.sum(1).tolist() == [9] * 8
    assert grids[0, :3, :3].all() and not grids[0, 3].any() and not grids[0, :, 3].any()
    assert torch.equal(grids[0], grids[1]) and grids[7, 1:, 1:].all()
    assert grids.any(0).all()  # every patch is read by some query
    with pytest.raises(ConfigError, match="multiple of query_windows"):
        tiny_config(projector__num_query_tokens=6, projector__query_windows=2)
    with pytest.raises(ConfigError, match="square patch grid"):
        tiny_model(projector__num_query_tokens=25, projector__query_windows=5)

    model = tiny_model(projector__num_query_tokens=4, projector__query_windows=2, projector__question_aware=True).eval()
    proj = model.projector
    proj.qformer.set_attn_implementation("eager")
    proj.record_attentions = True
    enc = _enc(model)
    model.encode_frames(pixel_values(), None, enc["input_ids"], enc["attention_mask"])
    for att in proj.cross_attentions:  # [B*T, H, Q, N]
        assert att.shape[2] == 4
        outside = att.masked_select(~proj.window_mask[None, None].expand_as(att))
        assert outside.abs().max() == 0
        torch.testing.assert_close(att.sum(-1), torch.ones_like(att.sum(-1)))
    assert "projector.window_mask" not in model.state_dict()  # derived from the config, not saved


def _script(name):
    import importlib
    import sys

    from tests.shared_data import REPO

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "scripts"))


def test_diagnose_projector_reports_collapse_measures(tmp_path, capsys):
    import json

    from tests.media_helpers import moving_square_frames, write_gif

    torch.manual_seed(0)
    tiny_model().save_pretrained(tmp_path / "ck")
    (tmp_path / "gifs").mkdir()
    for i in range(2):
        write_gif(tmp_path / "gifs" / f"c{i}.gif", moving_square_frames(6 + i))
    diagnose = _script("diagnose_projector")
    for extra in ([], ["--init"]):
        assert diagnose.main(["--model", str(tmp_path / "ck"), "--gifs", str(tmp_path / "gifs"), *extra]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["clips"] == 2 and out["frames"] > 2
        assert -1.0 <= out["query_cosine"] <= 1.0
        layers = out["cross_attention"]
        assert layers and all(0 <= v["entropy"] <= out["uniform_entropy"] + 1e-3 and 0 <= v["cls_mass"] <= 1
                              and 0 < v["same_argmax"] <= 1 for v in layers.values())
    assert diagnose.main(["--model", str(tmp_path / "ck"), "--gifs", str(tmp_path / "nothing")]) == 1


def test_frameqa_by_actors_splits_accuracy_by_shapes_on_screen(tmp_path):
    import json

    ann = tmp_path / "Test_frameqa_question.csv"
    ann.write_text("gif_name\tquestion\tanswer\ttype\tvid_id\tkey\tdescription\n"
                   "g0\twhat color is the circle ?\tred\t2\tF1\t0\ta red circle nods .\n"
                   "g1\twhat color is the circle ?\tblue\t2\tF2\t1\ta blue circle nods while a green star spins .\n"
                   "g2\twhat color is the star ?\tgreen\t2\tF3\t2\ta blue circle nods while a green star spins .\n")
    pred = tmp_path / "predictions.jsonl"
    pred.write_text("".join(json.dumps({"vid_id": v, "prediction": p}) + "\n"
                            for v, p in [("F1", "red"), ("F2", "blue"), ("F3", "blue")]))
    table = _script("frameqa_by_actors").table(pred, ann)
    assert "| color | 0.67 (n=3) | 1.00 (n=1) | 0.50 (n=2) |" in table


def test_task_table_splits_other_tasks_by_shapes_on_screen(tmp_path):
    import json

    desc = tmp_path / "descriptions.tsv"
    desc.write_text("g0.gif\ta red circle nods once and then spins twice .\n"
                    "g1.gif\ta blue circle nods once and then grows twice while a green star spins .\n")
    ann = tmp_path / "Test_transition_question.csv"
    ann.write_text("gif_name\tquestion\ta1\ta2\ta3\ta4\ta5\tanswer\tvid_id\tkey\n"
                   "g0\tWhat does the red circle do after it nods ?\tnod\tspin\tgrow\tblink\tshake\t1\tT1\t0\n"
                   "g1\tWhat does the blue circle do before it grows ?\tnod\tspin\tgrow\tblink\tshake\t0\tT2\t1\n"
                   "g1\tWhat does the green star do ?\tnod\tspin\tgrow\tblink\tshake\t1\tT3\t2\n")
    pred = tmp_path / "predictions.jsonl"
    pred.write_text("".join(json.dumps({"vid_id": v, "prediction": p}) + "\n"
                            for v, p in [("T1", 1), ("T2", 2), ("T3", 1)]))
    script = _script("frameqa_by_actors")
    table = script.task_table(pred, ann, desc).splitlines()
    assert table[2:] == ["| transition | 0.67 (n=3) | 1.00 (n=1) | 0.50 (n=2) |",
                         "| transition, before questions | 0.00 (n=1) |  | 0.00 (n=1) |",
                         "| transition, after questions | 1.00 (n=1) | 1.00 (n=1) |  |"]
    count = tmp_path / "Test_count_question.csv"
    count.write_text("gif_name\tquestion\tanswer\tvid_id\tkey\ng0\tq\t3\tC1\t0\ng1\tq\t2\tC2\t1\n")
    pred.write_text("".join(json.dumps({"vid_id": v, "prediction": p}) + "\n" for v, p in [("C1", 1), ("C2", 2)]))
    table = script.task_table(pred, count, desc)
    assert table.startswith("| MSE |") and "| count | 2.00 (n=2) | 4.00 (n=1) | 0.00 (n=1) |" in table
