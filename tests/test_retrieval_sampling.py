"""select_keyframes strategies and the embedding cache, with a stub encoder that counts calls."""

import numpy as np
import pytest

from gifqa.errors import ConfigError
from gifqa.retrieval.cache import EmbeddingCache, cache_key, default_cache_dir
from gifqa.retrieval.sampling import (
    KEYFRAME_STRATEGIES,
    build_query,
    content_key,
    select_keyframes,
    uniform_by_time,
)
from tests.retrieval_helpers import FakeVideo, StubEncoder, tagged_frames, unit

D = 4
E = np.eye(D, dtype=np.float32)


def make_encoder(**kw):
    # tags 0..2 point away from everything, tag 10 is "cat", tag 20 is "dog"
    frame_table = {0: E[3], 1: unit([0, 0, 1, 1]), 2: unit([0, 0.2, 0, 1]), 10: E[0], 20: E[1]}
    text_table = {"where is the cat?": E[0], "where is the dog?": E[1],
                  "where is the cat? a dog runs": unit([0.2, 1, 0, 0])}
    return StubEncoder(frame_table, text_table, **kw)


def clip_video(sha="a" * 64):
    # 12 frames (4 windows); cat in frames 9-11 (window 3), dog in frames 1 (window 0) and 6-8 (window 2)
    tags = [0, 20, 0, 1, 2, 1, 20, 20, 20, 10, 10, 10]
    n = len(tags)
    return FakeVideo(tagged_frames(tags), np.arange(n) * 100, np.full(n, 100), sha256=sha)


def test_clipcut_finds_the_right_window_and_sorts_by_time(tmp_path):
    enc = make_encoder()
    v = clip_video()
    cache = EmbeddingCache(tmp_path)
    assert list(select_keyframes(v, "where is the cat?", 1, "clipcut", enc, cache=cache)) == [9]
    got = select_keyframes(v, "where is the dog?", 2, "clipcut", enc, cache=cache)
    # dog windows: window 2 (3 dog frames) ranks above window 0 (1 dog frame);
    # window 0 is represented by its dog frame 1; output ascending.
    assert list(got) == [1, 6]


def test_description_joins_the_query():
    assert build_query(" where is the cat? ", "a dog runs") == "where is the cat? a dog runs"
    assert build_query("q", "  ") == "q"
    enc = make_encoder()
    got = select_keyframes(clip_video(), "where is the cat?", 1, "clipcut", enc, description="a dog runs",
                           cache=EmbeddingCache(False))
    assert list(got) == [6]  # the description pulls the query towards the dog


def test_repeated_questions_encode_frames_once(tmp_path):
    enc = make_encoder()
    cache = EmbeddingCache(tmp_path)
    v = clip_video()
    for q in ["where is the cat?", "where is the dog?", "where is the cat?"]:
        select_keyframes(v, q, 2, "clipcut", enc, cache=cache)
    assert enc.frame_calls == 1 and enc.frames_encoded == 12
    assert enc.text_calls == 3
    assert cache.misses == 1 and cache.hits == 2
    # A new process (fresh memory layer) reads the disk layer: still no frame encoding.
    cache2 = EmbeddingCache(tmp_path)
    select_keyframes(v, "where is the dog?", 2, "clipcut", enc, cache=cache2)
    assert enc.frame_calls == 1 and cache2.hits == 1
    assert len(list((tmp_path / "embeddings").rglob("*.npy"))) == 1


def test_cache_key_separates_content_model_and_sampling(tmp_path):
    cache = EmbeddingCache(tmp_path)
    v = clip_video(sha="a" * 64)
    enc = make_encoder()
    select_keyframes(v, "where is the cat?", 1, "clipcut", enc, cache=cache)
    select_keyframes(clip_video(sha="b" * 64), "where is the cat?", 1, "clipcut", enc, cache=cache)  # other file
    assert enc.frame_calls == 2
    other_model = make_encoder(model_id="stub-clip-v2")
    select_keyframes(v, "where is the cat?", 1, "clipcut", other_model, cache=cache)
    assert other_model.frame_calls == 1
    sub = FakeVideo(v.frames[::2], v.timestamps_ms[::2], v.durations_ms[::2] * 2, sha256=v.sha256,
                    frame_indices=np.arange(0, 12, 2))  # same file, other frame sampling
    select_keyframes(sub, "where is the cat?", 1, "clipcut", enc, cache=cache)
    assert enc.frame_calls == 3
    assert content_key(v)[1] != content_key(sub)[1]
    assert cache_key("ab", "c", "d") != cache_key("a", "bc", "d")


def test_bare_arrays_are_cached_by_pixels():
    enc = make_encoder()
    cache = EmbeddingCache(False)
    frames = clip_video().frames
    select_keyframes(frames, "where is the cat?", 2, "clipcut", enc, cache=cache)
    select_keyframes(frames.copy(), "where is the dog?", 2, "clipcut", enc, cache=cache)
    assert enc.frame_calls == 1
    frames2 = frames.copy()
    frames2[0] = 1
    select_keyframes(frames2, "where is the dog?", 2, "clipcut", enc, cache=cache)
    assert enc.frame_calls == 2


def test_corrupt_cache_file_is_recomputed(tmp_path):
    enc = make_encoder()
    v = clip_video()
    select_keyframes(v, "where is the cat?", 1, "clipcut", enc, cache=EmbeddingCache(tmp_path))
    (f,) = (tmp_path / "embeddings").rglob("*.npy")
    f.write_bytes(b"not numpy")
    assert list(select_keyframes(v, "where is the cat?", 1, "clipcut", enc, cache=EmbeddingCache(tmp_path))) == [9]
    assert enc.frame_calls == 2


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GIFQA_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GIFQA_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "gifqa")


def test_uniform_is_by_time_not_by_index():
    # Frame 0 is shown for 700 ms, frames 1-3 for 100 ms each: 4 slices of 250 ms with
    # midpoints 125, 375, 625, 875 ms -> frames 0, 0, 0 and 2 (on screen 800-900 ms).
    v = FakeVideo(tagged_frames([0, 1, 2, 3]), np.array([0, 700, 800, 900]), np.array([700, 100, 100, 100]))
    assert list(select_keyframes(v, "", 4, "uniform")) == [0, 0, 0, 2]
    # Bare arrays: equal durations -> evenly spaced indices.
    assert list(select_keyframes(tagged_frames(range(12)), "", 4, "uniform")) == [1, 4, 7, 10]
    # Fewer frames than k: repeats in time order, never out of range.
    assert list(uniform_by_time([0, 100], [100, 100], 4)) == [0, 0, 1, 1]


def test_all_returns_every_frame_and_no_encoder_needed():
    assert list(select_keyframes(tagged_frames(range(5)), "q", 2, "all")) == [0, 1, 2, 3, 4]


def test_strategy_errors():
    assert KEYFRAME_STRATEGIES == ("clipcut", "uniform", "all")
    with pytest.raises(ConfigError, match="unknown keyframe strategy"):
        select_keyframes(tagged_frames([0]), "q", 1, "random")
    with pytest.raises(ConfigError, match="needs an encoder"):
        select_keyframes(tagged_frames([0]), "q", 1, "clipcut")
    with pytest.raises(ValueError):
        select_keyframes(tagged_frames([0]), "q", 0, "uniform")


def test_clipcut_normalises_encoder_output():
    # The stub returns a huge-norm frame pointing away from the query; it must not win.
    enc = make_encoder(scale={1: 1000.0})
    got = select_keyframes(clip_video(), "where is the cat?", 1, "clipcut", enc, cache=EmbeddingCache(False))
    assert list(got) == [9]
