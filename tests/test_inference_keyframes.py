"""CLIP-Cut in the model path: gifqa.inference.KeyframeSelector, shared by `gifqa ask` (Answerer)
and the evaluation harness (ClipLoader); defaults from the model config's keyframes section."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the model extra is not installed (pip install -e '.[model]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")

from gifqa.errors import ConfigError, GifqaError  # noqa: E402
from gifqa.inference import ClipLoader, KeyframeSelector, clip_model_path  # noqa: E402
from gifqa.media import load_video  # noqa: E402
from gifqa.model.config import KeyframesConfig  # noqa: E402
from gifqa.retrieval import sampling as retrieval_sampling  # noqa: E402
from gifqa.retrieval.cache import EmbeddingCache  # noqa: E402
from gifqa.retrieval.encoders import CLIPEncoder  # noqa: E402
from gifqa.retrieval.sampling import select_keyframes  # noqa: E402
from tests.retrieval_helpers import StubEncoder, tagged_frames, tiny_clip, tiny_tokenizer, unit, write_gif  # noqa: E402

E0, E1, E2, E3 = np.eye(4, dtype=np.float32)
TAGS = [10 * (i + 1) for i in range(12)]  # frame i is grey level 10*(i+1)


def stub_encoder():
    """12 frames in windows [0-2] [3-5] [6-8] [9-11]; the ball question matches frames 4 and 9
    (window 3 better than window 1), the cat question matches frame 1."""
    table = {t: E1 for t in TAGS}
    table[TAGS[4]] = unit(E0 + 0.2 * E1)  # best frame of window 1
    table[TAGS[5]] = unit(0.5 * E0 + E1)  # matches less: not window 1's representative
    table[TAGS[9]] = E0  # window 3 ranks first
    table[TAGS[10]] = unit(E0 + E3)
    table[TAGS[1]] = unit(E2 + 0.1 * E1)
    return StubEncoder(table, {"where is the ball?": E0, "where is the cat?": E2})


@pytest.fixture(scope="module")
def tagged_gif(tmp_path_factory):
    path = tmp_path_factory.mktemp("gifs") / "tagged.gif"
    write_gif(path, tagged_frames(TAGS, size=16), duration_ms=100)
    return path


def test_clipcut_picks_the_matching_frames_in_time_order(tagged_gif):
    enc = stub_encoder()
    sel = KeyframeSelector("clipcut", 2, max_frames=8, encoder=enc, cache=EmbeddingCache(False))
    kf = sel.select(str(tagged_gif), "where is the ball?")
    # Window 3 (frames 9-11) scores above window 1 (3-5); each is represented by its best frame;
    # the result is in time order, not similarity order.
    assert kf.frame_indices == [4, 9]
    assert kf.timestamps_ms == [400, 900]
    assert [int(f[0, 0, 0]) for f in kf.frames] == [TAGS[4], TAGS[9]]  # the pixels are those frames
    assert kf.retrieval_ms > 0 and kf.decode_ms > 0
    # A second question about the same file: decoded clip and frame embeddings are reused.
    kf2 = sel.select(str(tagged_gif), "where is the cat?")
    assert kf2.decode_ms == 0.0 and enc.frame_calls == 1 and enc.text_calls == 2
    assert kf2.frame_indices[0] == 1 and kf2.frame_indices == sorted(kf2.frame_indices)
    # Uniform on the same clip picks by time, whatever the question.
    uni = KeyframeSelector("uniform", 2, max_frames=8).select(str(tagged_gif), "where is the ball?")
    assert uni.frame_indices == [3, 9] and uni.retrieval_ms == 0.0


def test_clipcut_on_bytes_and_short_clips_pads_in_time_order(tagged_gif):
    enc = stub_encoder()
    sel = KeyframeSelector("clipcut", 8, max_frames=8, encoder=enc, cache=EmbeddingCache(False))
    kf = sel.select(tagged_gif.read_bytes(), "where is the ball?", name="upload.gif")
    assert len(kf.frame_indices) == 8 and kf.frame_indices == sorted(kf.frame_indices)
    assert {4, 9} <= set(kf.frame_indices) and len(set(kf.frame_indices)) == 8
    short = tagged_gif.parent / "short.gif"
    write_gif(short, tagged_frames(TAGS[:3], size=16))
    kf = sel.select(str(short), "where is the cat?")
    assert kf.frame_indices == [0, 0, 0, 1, 1, 1, 2, 2]  # fewer frames than k: stretched, never -1


def test_clipcut_needs_a_question_unless_told_to_fall_back(tagged_gif):
    sel = KeyframeSelector("clipcut", 2, max_frames=8, encoder=stub_encoder(), cache=EmbeddingCache(False))
    with pytest.raises(GifqaError, match="question"):
        sel.select(str(tagged_gif))
    assert sel.select(str(tagged_gif), no_question="uniform").frame_indices == [3, 9]


def test_selector_validation():
    with pytest.raises(ConfigError, match="--clip-model"):
        KeyframeSelector("clipcut", 4, max_frames=8)
    with pytest.raises(ConfigError, match="more than this model takes"):
        KeyframeSelector("uniform", 9, max_frames=8)
    with pytest.raises(ConfigError, match="unknown keyframe sampling"):
        KeyframeSelector("random", 4, max_frames=8)


def test_clip_model_path_is_relative_to_the_checkpoint(tmp_path):
    (tmp_path / "clip").mkdir()
    assert clip_model_path("clip", tmp_path) == str((tmp_path / "clip").resolve())
    assert clip_model_path("./other", tmp_path) == str((tmp_path / "other").resolve())
    assert clip_model_path("openai/clip-vit-base-patch32", tmp_path) == "openai/clip-vit-base-patch32"
    assert clip_model_path("/abs/clip", tmp_path) == "/abs/clip"
    assert clip_model_path(None, tmp_path) is None


# -- a tiny checkpoint whose config names a tiny CLIP saved beside it -------------------------------

@pytest.fixture(scope="module")
def clipcut_ckpt(tmp_path_factory):
    from gifqa.model import GifQAModel

    d = tmp_path_factory.mktemp("ckpt") / "clipcut-tiny"
    model = GifQAModel.from_preset("tiny")
    model.config.keyframes = KeyframesConfig(strategy="clipcut", frames=4, clip_model="clip")
    model.save_pretrained(d)
    tok = tiny_tokenizer()
    tiny_clip(tok, context=32).save_pretrained(d / "clip")
    tok.save_pretrained(d / "clip")
    return d


@pytest.fixture(scope="module")
def long_gif(tmp_path_factory):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (15, 24, 24, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("gifs") / "noise.gif"
    write_gif(path, frames, duration_ms=80)
    return path


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """The process-wide embedding cache, on disk under tmp."""
    monkeypatch.setenv("GIFQA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(retrieval_sampling, "_default_cache", None)
    return tmp_path / "cache"


def expected_clipcut(ckpt, gif, question, k):
    enc = CLIPEncoder.from_pretrained(str(ckpt / "clip"), device="cpu")
    video = load_video(gif, sampling="all")
    idx = select_keyframes(video, question, k, "clipcut", enc, cache=EmbeddingCache(False))
    return video.frame_indices[idx].tolist()


def test_config_defaults_and_overrides(clipcut_ckpt):
    from gifqa.inference import resolve_model

    model = resolve_model(str(clipcut_ckpt))
    assert model.checkpoint_dir == clipcut_ckpt.resolve()
    sel = KeyframeSelector.for_model(model)
    assert (sel.strategy, sel.frames, sel.clip_model) == ("clipcut", 4, str((clipcut_ckpt / "clip").resolve()))
    sel = KeyframeSelector.for_model(model, strategy="uniform", frames=6)
    assert (sel.strategy, sel.frames) == ("uniform", 6)
    tiny = resolve_model("tiny")
    sel = KeyframeSelector.for_model(tiny)
    assert (sel.strategy, sel.frames, sel.clip_model) == ("uniform", 8, None)


def test_cli_ask_clipcut_from_config_end_to_end(clipcut_ckpt, long_gif, fresh_cache, tmp_path):
    from tests.test_cli_ask import gifqa

    q = "what is the red box doing"
    r = gifqa("ask", long_gif, q, "--model", clipcut_ckpt, "--json", "--keyframes-out", tmp_path / "k.png",
              env_extra={"GIFQA_CACHE": str(fresh_cache)})
    assert r.returncode == 0, r.stderr.decode()
    res = json.loads(r.stdout)
    assert res["keyframes"] == expected_clipcut(clipcut_ckpt, long_gif, q, 4)
    assert res["keyframes"] == sorted(res["keyframes"]) and len(res["keyframes"]) == 4
    assert res["timestamps_ms"] == [80 * i for i in res["keyframes"]]
    assert res["timing_ms"]["retrieval"] > 0
    assert list(fresh_cache.rglob("*.npy")), "frame embeddings go to the on-disk cache"
    # Flags override the config: uniform by time, and the frame count.
    r = gifqa("ask", long_gif, q, "--model", clipcut_ckpt, "--json", "--sampling", "uniform", "--frames", "3",
              env_extra={"GIFQA_CACHE": str(fresh_cache)})
    res = json.loads(r.stdout)
    assert res["keyframes"] == load_video(long_gif, 3).frame_indices.tolist() and res["timing_ms"]["retrieval"] == 0


def test_cli_clipcut_flags_on_a_model_without_clip(cli, clipcut_ckpt, long_gif, fresh_cache):
    q = "how does the box move"
    r = cli("ask", long_gif, q, "--model", "tiny", "--sampling", "clipcut")
    err = r.stderr.decode()
    assert r.returncode == 1 and "--clip-model" in err and err.count("\n") == 1 and "Traceback" not in err
    r = cli("ask", long_gif, "what is shown", "--model", "tiny", "--sampling", "clipcut", "--frames", "5",
            "--clip-model", clipcut_ckpt / "clip", "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout)["keyframes"] == expected_clipcut(clipcut_ckpt, long_gif, "what is shown", 5)
    r = cli("ask", long_gif, q, "--model", "tiny", "--sampling", "clipcut", "--clip-model", "/nonexistent/clip")
    assert r.returncode == 1 and b"cannot load CLIP model" in r.stderr and b"Traceback" not in r.stderr


def test_cli_batch_and_caption_with_clipcut_config(cli, clipcut_ckpt, long_gif, fresh_cache, tmp_path):
    questions = tmp_path / "q.jsonl"
    qs = ["what is the red box doing", "what is the dog doing", "what is the red box doing"]
    questions.write_text("".join(json.dumps({"gif": str(long_gif), "question": q}) + "\n" for q in qs))
    r = cli("ask", "--batch", questions, "--out", tmp_path / "a.jsonl", "--model", clipcut_ckpt)
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert rows[0]["timing_ms"]["decode"] > 0
    assert rows[1]["timing_ms"]["decode"] == 0  # same GIF: decoded once
    assert rows[2]["keyframes"] == rows[0]["keyframes"] and rows[2]["timing_ms"]["retrieval"] == 0  # same question
    # Captions have no question: uniform sampling even though the config says clipcut.
    r = cli("caption", long_gif, "--model", clipcut_ckpt, "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout)["keyframes"] == load_video(long_gif, 4).frame_indices.tolist()


# -- the evaluation harness --------------------------------------------------------------------------

def test_clip_loader_uses_the_same_selector(clipcut_ckpt, long_gif, fresh_cache):
    from gifqa.inference import resolve_model

    model = resolve_model(str(clipcut_ckpt))
    loader = ClipLoader(model)
    assert (loader.sampling, loader.frames) == ("clipcut", 4)
    q = "what is the red box doing"
    pixels = loader(long_gif, q)
    video = load_video(long_gif, sampling="all")
    want = expected_clipcut(clipcut_ckpt, long_gif, q, 4)
    torch.testing.assert_close(pixels, model.preprocess_frames(video.frames[want]))
    with pytest.raises(GifqaError, match="question"):
        loader(long_gif)
    assert ClipLoader(model, sampling="uniform", frames=2).frames == 2


def test_eval_harness_with_clipcut(clipcut_ckpt, tmp_path, fresh_cache):
    from gifqa.shapes import generate_dataset
    from tests.test_cli_ask import gifqa

    shapes = tmp_path / "shapes"
    generate_dataset(shapes, n_train=2, n_val=0, n_test=2, n_compositional=0, seed=7)
    run = tmp_path / "run"
    r = gifqa("eval", "--model", clipcut_ckpt, "--tasks", "tgif-qa/action,tgif-qa/count,tgif-qa/frameqa",
              "--annotations", shapes / "test", "--gif-dir", shapes / "gifs", "--out", run, "--limit", "2",
              env_extra={"GIFQA_CACHE": str(fresh_cache)})
    assert r.returncode == 0, r.stderr.decode()
    results = json.loads((run / "results.json").read_text())
    assert results["config"]["sampling"] == "clipcut" and results["config"]["frames"] == 4
    assert results["config"]["clip_model"] == str((clipcut_ckpt / "clip").resolve())
    for task in ("action", "count", "frameqa"):
        preds = (run / f"tgif-qa_{task}" / "predictions.jsonl").read_text().splitlines()
        assert len(preds) == 2  # --limit 2: both records predicted, none dropped
        assert all(json.loads(p)["prediction"] is not None for p in preds)
    assert list(fresh_cache.rglob("*.npy"))  # frames were scored by the CLIP
    # and the flag overrides the config
    r = gifqa("eval", "--model", clipcut_ckpt, "--tasks", "tgif-qa/count", "--annotations", shapes / "test",
              "--gif-dir", shapes / "gifs", "--out", tmp_path / "run2", "--limit", "1", "--sampling", "uniform",
              "--frames", "2")
    assert r.returncode == 0, r.stderr.decode()
    cfg = json.loads((tmp_path / "run2" / "results.json").read_text())["config"]
    assert (cfg["sampling"], cfg["frames"]) == ("uniform", 2)
