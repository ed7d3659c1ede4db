"""Frozen-feature cache (gifqa/training/features.py) and DataLoader workers in training."""

import json

import numpy as np
import pytest
import torch

from gifqa.errors import DataError
from tests.training_helpers import train, train_rows, trained_tensors


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """The tiny recipe without cache and without workers: the reference of this module."""
    run = tmp_path_factory.mktemp("plain") / "run"
    train(run)
    return run


def _same_training(a, b):
    la, lb = train_rows(a), train_rows(b)
    assert len(la) == len(lb) == 4
    for ra, rb in zip(la, lb):
        keys = {k for k in ra if k.startswith("loss")}
        assert keys == {k for k in rb if k.startswith("loss")}, (ra, rb)
        for k in keys:
            assert ra[k] == pytest.approx(rb[k], rel=1e-5, abs=1e-6), (ra["step"], k)
    ta, tb = trained_tensors(a), trained_tensors(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        torch.testing.assert_close(ta[k], tb[k], rtol=1e-4, atol=1e-6, msg=k)


def test_feature_cache_gives_the_same_training_and_is_reused(plain_run, tmp_path):
    cache = tmp_path / "cache"
    first = tmp_path / "first"
    r = train(first, "--data.feature_cache", cache)
    info = json.loads((first / "feature_cache.json").read_text())
    assert info["clips"] == 8 and info["computed"] == 8 and info["reused"] == 0, info
    assert "encoding 8 clips" in r.stderr
    _same_training(plain_run, first)  # same seed -> same losses and parameters as decoding every step

    shards = sorted(p.name for p in (cache / info["key"]).glob("shard-*"))
    assert len(shards) == 2  # one .safetensors + its .json
    second = tmp_path / "second"  # a new run (its GIFs regenerated under its own dir: same bytes)
    r = train(second, "--data.feature_cache", cache)
    info2 = json.loads((second / "feature_cache.json").read_text())
    assert info2["key"] == info["key"] and info2["computed"] == 0 and info2["reused"] == 8, info2
    assert "encoding" not in r.stderr
    assert sorted(p.name for p in (cache / info["key"]).glob("shard-*")) == shards  # nothing rewritten
    _same_training(plain_run, second)


def test_dataloader_workers_give_the_same_training(plain_run, tmp_path):
    run = tmp_path / "workers"
    train(run, "--data.num_workers", "2")  # two worker processes decode inside __getitem__
    _same_training(plain_run, run)


# in-process unit tests of the cache (tiny model, synthetic GIFs) -------------------------


@pytest.fixture(scope="module")
def tiny_model():
    from gifqa.model import GifQAModel

    return GifQAModel.from_preset("tiny").eval()


@pytest.fixture
def gifs(tmp_path):
    from PIL import Image

    paths = []
    rng = np.random.default_rng(0)
    for i in range(3):
        frames = [Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)) for _ in range(5)]
        p = tmp_path / f"clip{i}.gif"
        frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
        paths.append(p)
    return paths


def test_cached_features_equal_the_vision_tower_and_feed_the_same_forward(tiny_model, gifs, tmp_path):
    from gifqa.media import load_video
    from gifqa.training.features import build_feature_cache, file_sha256, precomputed_features

    cache, stats = build_feature_cache(tiny_model, gifs, tmp_path / "c", 4, log=False)
    assert stats == {"clips": 3, "reused": 0, "computed": 3}
    pixels = torch.stack([tiny_model.preprocess_frames(load_video(p, 4).frames) for p in gifs])  # [B, T, 3, S, S]
    feats = torch.stack([cache.get(file_sha256(p)) for p in gifs])  # [B, T, N, D_v]
    with torch.no_grad():
        expected = tiny_model.vision(pixels.flatten(0, 1)).view(feats.shape)
        torch.testing.assert_close(feats, expected)
        text = tiny_model.build_text_inputs(["what is it ?"] * 3, ["a ball"] * 3)
        out_pixels = tiny_model(pixels, **text)
        with precomputed_features(tiny_model):
            out_feats = tiny_model(feats, **text)
            react = tiny_model.classify_reaction(feats)
        torch.testing.assert_close(out_feats.logits, out_pixels.logits)
        torch.testing.assert_close(react, tiny_model.classify_reaction(pixels))
    assert "encode_frames" not in vars(tiny_model)  # the model is left as it was

    # a second pre-pass reuses everything; another frame count is another key
    _, again = build_feature_cache(tiny_model, gifs, tmp_path / "c", 4, log=False)
    assert again == {"clips": 3, "reused": 3, "computed": 0}
    other, stats8 = build_feature_cache(tiny_model, gifs, tmp_path / "c", 2, log=False)
    assert stats8["computed"] == 3 and other.dir != cache.dir


def test_cache_key_follows_the_tower_weights_and_ignores_half_written_shards(tiny_model, gifs, tmp_path):
    from gifqa.model import GifQAModel
    from gifqa.model.config import GifQAConfig
    from gifqa.training.features import FeatureCache, build_feature_cache, cache_key

    other_seed = GifQAModel(GifQAConfig.from_dict({**tiny_model.config.to_dict(), "seed": 1}))
    assert cache_key(tiny_model, 4)[0] != cache_key(other_seed, 4)[0]  # a different random tower
    assert cache_key(tiny_model, 4)[0] == cache_key(GifQAModel.from_preset("tiny"), 4)[0]

    cache, _ = build_feature_cache(tiny_model, gifs[:1], tmp_path / "c", 4, log=False)
    # a shard whose .json was never written (killed mid-write) does not count
    (cache.dir / "shard-009-deadbeef.safetensors").write_bytes(b"partial")
    fresh = FeatureCache(tmp_path / "c", cache.key).refresh()
    assert len(fresh) == 1
    with pytest.raises(DataError, match="no cached features"):
        fresh.get("0" * 64, "missing.gif")


def test_two_ranks_split_the_pre_pass(tiny_model, gifs, tmp_path):
    from gifqa.training.features import build_feature_cache

    _, s0 = build_feature_cache(tiny_model, gifs, tmp_path / "c", 4, rank=0, world=2, log=False)
    cache, s1 = build_feature_cache(tiny_model, gifs, tmp_path / "c", 4, rank=1, world=2, log=False)
    assert s0["computed"] + s1["computed"] == 3 and s0["computed"] and s1["computed"]
    assert len(cache.refresh()) == 3 and len(list(cache.dir.glob("shard-*.safetensors"))) == 2


def test_pre_pass_decodes_in_worker_processes_to_the_same_features(tiny_model, gifs, tmp_path, monkeypatch):
    from gifqa import workers
    from gifqa.training.features import build_feature_cache, file_sha256

    monkeypatch.setattr(workers, "POOL_MIN_ITEMS", 2)  # a pool even for three clips
    one, _ = build_feature_cache(tiny_model, gifs, tmp_path / "one", 4, log=False, workers=1)
    two, stats = build_feature_cache(tiny_model, gifs, tmp_path / "two", 4, log=False, workers=2)
    assert stats["computed"] == 3
    for p in gifs:
        assert torch.equal(one.get(file_sha256(p)), two.get(file_sha256(p)))
