"""`gifqa index` and `gifqa search` end to end, with a tiny random CLIP saved to disk."""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model extra is not installed (pip install -e '.[model]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")

import gifqa.cli.main as cli_main  # noqa: E402
from gifqa.media import load_video  # noqa: E402
from gifqa.retrieval.encoders import CLIPEncoder  # noqa: E402
from gifqa.retrieval.index import clip_vector  # noqa: E402
from tests.retrieval_helpers import save_tiny_clip, write_gif  # noqa: E402


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(autouse=True)
def offline_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GIFQA_CACHE", str(tmp_path / "cache"))


def colour_gif(path, rgb, n=4):
    frames = np.zeros((n, 24, 24, 3), np.uint8)
    frames[:] = rgb
    frames[:, :4, :4] = np.arange(n)[:, None, None, None] * 40  # distinct frames
    write_gif(path, frames)


def make_gifs(folder):
    folder.mkdir()
    colour_gif(folder / "red.gif", (230, 20, 20))
    colour_gif(folder / "green.gif", (20, 230, 20))
    colour_gif(folder / "blue.gif", (20, 20, 230))
    (folder / "broken.gif").write_bytes(b"GIF89a\x01\x00\x01\x00 this is not a gif")
    return folder


def run_cli(capsys, *argv):
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_then_search(tmp_path, clip_dir, capsys):
    gifs = make_gifs(tmp_path / "gifs")
    idx = tmp_path / "idx"
    code, out, err = run_cli(capsys, "index", str(gifs), "-o", str(idx), "--model", str(clip_dir), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["clips"] == 3 and len(summary["added"]) == 3 and summary["kind"] == "flat"
    assert [s["path"].rsplit("/", 1)[-1] for s in summary["skipped"]] == ["broken.gif"]
    assert "gifqa: skipped" in err and "broken.gif" in err

    code, out, err = run_cli(capsys, "search", "a red box", "--index", str(idx), "-k", "10", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    # The ranking is the cosine between the text and each clip's mean frame embedding.
    enc = CLIPEncoder.from_pretrained(str(clip_dir), device="cpu")
    q = enc.encode_text(["a red box"])[0]
    expected = {}
    for name in ("red", "green", "blue"):
        v = load_video(gifs / f"{name}.gif")
        expected[name] = float(clip_vector(enc.encode_frames(v.frames)) @ q)
    order = sorted(expected, key=expected.get, reverse=True)
    assert [h["path"].rsplit("/", 1)[-1] for h in hits] == [f"{n}.gif" for n in order]
    for h in hits:
        assert h["score"] == pytest.approx(expected[h["path"].rsplit("/", 1)[-1][:-4]], abs=1e-4)

    code, out, err = run_cli(capsys, "search", "a red box", "--index", str(idx), "-k", "2")
    assert code == 0 and len(out.strip().splitlines()) == 2


def test_index_is_incremental(tmp_path, clip_dir, capsys):
    gifs = make_gifs(tmp_path / "gifs")
    idx = tmp_path / "idx"
    assert run_cli(capsys, "index", str(gifs), "-o", str(idx), "--model", str(clip_dir))[0] == 0
    colour_gif(gifs / "white.gif", (250, 250, 250))
    code, out, err = run_cli(capsys, "index", str(gifs), "-o", str(idx), "--json")
    assert code == 0, err
    s = json.loads(out)
    assert [p.rsplit("/", 1)[-1] for p in s["added"]] == ["white.gif"]
    assert s["unchanged"] == 3 and s["clips"] == 4


def test_errors_are_one_line_exit_1(tmp_path, clip_dir, capsys):
    code, out, err = run_cli(capsys, "search", "x", "--index", str(tmp_path))
    assert code == 1 and err.startswith("gifqa: error:") and "not a gifqa index" in err
    assert len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(capsys, "index", str(tmp_path / "empty"), "-o", str(tmp_path / "i"),
                             "--model", str(clip_dir))
    assert code == 1 and "no media files found" in err
    gifs = make_gifs(tmp_path / "gifs")
    code, out, err = run_cli(capsys, "index", str(gifs), "-o", str(tmp_path / "i2"), "--model",
                             str(tmp_path / "no-such-model"))
    assert code == 1 and "cannot load CLIP model" in err


def test_help_lists_examples(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main.main(["index", "--help"])
    assert e.value.code == 0
    assert "gifqa index ~/gifs -o" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli_main.main(["search"])  # missing text and --index
    assert e.value.code == 2
