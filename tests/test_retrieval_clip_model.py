"""The real CLIPModel path, with a tiny random CLIP built from CLIPConfig (no download)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the model extra is not installed (pip install -e '.[model]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")

from gifqa.retrieval.clipcut import clipcut_select  # noqa: E402
from gifqa.retrieval.encoders import CLIP_MEAN, CLIP_STD, CLIPEncoder, FrameTextEncoder, TextTruncatedWarning  # noqa: E402
from gifqa.retrieval.cache import EmbeddingCache  # noqa: E402
from gifqa.retrieval.sampling import select_keyframes  # noqa: E402
from tests.retrieval_helpers import tiny_clip, tiny_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    tok = tiny_tokenizer()
    return CLIPEncoder(tiny_clip(tok), tok, "tiny-random-clip", device="cpu", batch_size=4)


def random_frames(n, h=40, w=56, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def test_is_a_frame_text_encoder(encoder):
    assert isinstance(encoder, FrameTextEncoder)
    assert encoder.dim == 16 and encoder.max_text_tokens == 16


def test_frame_and_text_embeddings_are_unit_rows(encoder):
    f = encoder.encode_frames(random_frames(10))  # 10 frames, batch 4: three forward passes
    t = encoder.encode_text(["a cat jumps", "what is the dog doing"])
    assert f.shape == (10, 16) and f.dtype == np.float32
    assert t.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5)
    # Batching does not change results.
    np.testing.assert_allclose(encoder.encode_frames(random_frames(10)[7:8]), f[7:8], atol=1e-5)
    assert not np.allclose(f[0], f[1])


def test_preprocess_keeps_rgb_order(encoder):
    # Seed bug: BGR->RGB applied twice.  A pure red frame must light up channel 0 only.
    red = np.zeros((1, 20, 30, 3), np.uint8)
    red[..., 0] = 255
    px = encoder.preprocess(red).numpy()
    assert px.shape == (1, 3, 32, 32)
    np.testing.assert_allclose(px[0, 0], (1 - CLIP_MEAN[0]) / CLIP_STD[0], atol=1e-4)
    np.testing.assert_allclose(px[0, 2], (0 - CLIP_MEAN[2]) / CLIP_STD[2], atol=1e-4)
    rgb = encoder.encode_frames(red)
    bgr = encoder.encode_frames(red[..., ::-1].copy())
    assert not np.allclose(rgb, bgr, atol=1e-3)


def test_preprocess_matches_clip_image_processor(encoder):
    from transformers import CLIPImageProcessor

    frames = random_frames(2, 48, 80, seed=3)
    # smooth images so resampling-kernel details (PIL vs torch bicubic) barely matter
    frames = np.repeat(np.repeat(frames[:, ::8, ::8], 8, axis=1), 8, axis=2)
    proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    ref = proc(images=list(frames), return_tensors="np")["pixel_values"]
    ours = encoder.preprocess(frames).numpy()
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).mean() < 0.1  # values span about [-1.8, 2.1]
    # same channel order: per-channel means agree closely
    np.testing.assert_allclose(ours.mean(axis=(2, 3)), ref.mean(axis=(2, 3)), atol=0.05)


def test_long_text_truncated_with_warning(encoder):
    long = " ".join(["the cat jumps over the red box"] * 10)
    with pytest.warns(TextTruncatedWarning, match="truncated"):
        e = encoder.encode_text([long, "a cat"])
    assert e.shape == (2, 16) and np.isfinite(e).all()
    # The truncated text equals its first 16 tokens' embedding.
    ids = encoder.tokenizer(long)["input_ids"]
    short = encoder.tokenizer.decode(ids[1:15])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e_short = encoder.encode_text([short])
    np.testing.assert_allclose(e[0], e_short[0], atol=1e-5)


def test_clipcut_end_to_end_with_real_model(encoder):
    frames = random_frames(11, seed=5)
    got = select_keyframes(frames, "what is the dog doing", 3, "clipcut", encoder, cache=EmbeddingCache(False))
    ref = clipcut_select(encoder.encode_frames(frames), encoder.encode_text(["what is the dog doing"])[0], 3)
    np.testing.assert_array_equal(got, ref.indices)
    assert list(got) == sorted(got) and len(set(got.tolist())) == 3


def test_from_pretrained_round_trip_offline(encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder.model.save_pretrained(tmp_path)
    encoder.tokenizer.save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(
        '{"crop_size": {"height": 32, "width": 32}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}'
    )
    loaded = CLIPEncoder.from_pretrained(str(tmp_path), device="cpu")
    assert loaded.model_id == str(tmp_path) and loaded.image_size == 32
    np.testing.assert_allclose(loaded._mean.flatten().numpy(), 0.5)
    t = ["a cat jumps"]
    np.testing.assert_allclose(loaded.encode_text(t), encoder.encode_text(t), atol=1e-5)


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    from gifqa.errors import ModelNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="cannot load CLIP model"):
        CLIPEncoder.from_pretrained(str(tmp_path / "nope"))
