"""`gifqa ask`, `caption`, `react`, `models` through the CLI on the tiny model."""

import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading

import pytest
from PIL import Image

from tests.media_helpers import moving_square_frames, write_gif, write_video
from tests.shared_data import REPO

ENV = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")


def gifqa(*args, stdin=None, env_extra=None):
    """A fresh process: for stdin, the environment, exit codes as the shell sees them."""
    return subprocess.run([sys.executable, "-m", "gifqa", *map(str, args)], capture_output=True,
                          env={**ENV, **(env_extra or {})}, input=stdin, timeout=300)


def out(r):
    return r.stdout.decode()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return write_gif(d / "square.gif", moving_square_frames(12), durations_ms=[50] * 6 + [150] * 6)


def test_ask_json_schema_and_keyframes(cli, clip, tmp_path):
    sheet = tmp_path / "k.png"
    r = cli("ask", clip, "what color is the square?", "--model", "tiny", "--json", "--frames", "4",
              "--keyframes-out", sheet)
    assert r.returncode == 0, r.stderr.decode()
    res = json.loads(out(r))
    assert set(res) == {"answer", "keyframes", "timestamps_ms", "model", "timing_ms", "kind"}
    assert isinstance(res["answer"], str) and res["model"] == "tiny" and res["kind"] == "open"
    # frames start at 0, 50, ..., 250 (50 ms each), then 300, 450, ..., 1050 (150 ms each);
    # 4 frames uniform by time over 1200 ms: midpoints 150, 450, 750, 1050 ms -> frames 3, 7, 9, 11
    assert res["keyframes"] == [3, 7, 9, 11]
    assert res["timestamps_ms"] == [150, 450, 750, 1050]
    assert set(res["timing_ms"]) == {"decode", "retrieval", "vision", "projector", "generation", "total"}
    assert all(v >= 0 for v in res["timing_ms"].values())
    with Image.open(sheet) as im:
        assert im.size == (4 * 160 + 3 * 4, 160 + 18)  # four square 160-px tiles with label strips, side by side


def test_ask_plain_prints_only_the_answer(cli, clip):
    r = cli("ask", clip, "what is it?", "--model", "tiny")
    assert r.returncode == 0 and out(r).count("\n") == 1


def test_multiple_choice_and_count(cli, clip):
    r = cli("ask", clip, "what does the square do?", "--model", "tiny", "--options", "slide", "spin", "grow", "--json")
    res = json.loads(out(r))
    assert res["kind"] == "choice" and set(res["scores"]) == {"slide", "spin", "grow"}
    assert res["answer"] == max(res["scores"], key=res["scores"].get)
    r = cli("ask", clip, "How many times does it move?", "--model", "tiny", "--json")
    res = json.loads(out(r))
    assert res["kind"] == "count" and isinstance(res["answer"], int) and 0 <= res["answer"] <= 10
    # a FrameQA number question ("how many ... are there") answers with a word, by generation
    r = cli("ask", clip, "how many squares are there ?", "--model", "tiny", "--json", "--max-new-tokens", "2")
    assert json.loads(out(r))["kind"] == "open"


def test_caption_react_models(cli, clip):
    r = cli("caption", clip, "--model", "tiny", "--json")
    assert r.returncode == 0 and json.loads(out(r))["kind"] == "caption"
    r = cli("react", clip, "--model", "tiny", "--top", "3", "--json")
    res = json.loads(out(r))
    assert len(res["reactions"]) == 3 and res["reactions"][0]["label"] == res["answer"]
    assert abs(res["sentiment"]["positive"] + res["sentiment"]["negative"] - 1) < 1e-5
    r = cli("models", "--json")
    names = {m["name"] for m in json.loads(out(r))}
    assert {"tiny", "blip2-opt-2.7b-zeroshot"} <= names


def test_mp4_input_and_stdin(cli, clip, tmp_path):
    mp4 = write_video(tmp_path / "c.mp4", moving_square_frames(8, size=64, square=16))
    assert cli("ask", mp4, "what is it?", "--model", "tiny").returncode == 0
    r = gifqa("ask", "-", "what is it?", "--model", "tiny", "--json", stdin=clip.read_bytes())
    assert r.returncode == 0 and json.loads(out(r))["keyframes"]


def test_url_input_from_loopback_server(cli, clip, tmp_path):
    (tmp_path / "a.gif").write_bytes(clip.read_bytes())
    (tmp_path / "page.gif").write_text("<!DOCTYPE html><html>not found</html>")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        try:
            r = cli("ask", f"{base}/a.gif", "what is it?", "--model", "tiny", "--json")
            assert r.returncode == 0, r.stderr.decode()
            r = cli("ask", f"{base}/page.gif", "what is it?", "--model", "tiny")
            assert r.returncode == 1 and b"HTML page" in r.stderr
            r = cli("ask", f"{base}/missing.gif", "what is it?", "--model", "tiny")
            assert r.returncode == 1 and b"HTTP 404" in r.stderr
            r = cli("ask", f"{base}/a.gif", "what is it?", "--model", "tiny", "--max-file-mb", "0.0001")
            assert r.returncode == 1 and b"cap" in r.stderr
        finally:
            httpd.shutdown()


def test_url_download_times_out(cli, clip):
    release = threading.Event()

    class Stall(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            release.wait(10)  # never answers before the client gives up

        def log_message(self, *a):
            """Silence the request log (it would go to the test's stderr)."""

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Stall) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            r = cli("ask", f"http://127.0.0.1:{httpd.server_address[1]}/a.gif", "q", "--model", "tiny",
                    "--download-timeout", "0.5")
        finally:
            release.set()
            httpd.shutdown()
    err = r.stderr.decode()
    assert r.returncode == 1 and "timed out" in err and err.count("\n") == 1


def test_batch_writes_as_it_goes_and_resumes(cli, clip, tmp_path):
    bad = tmp_path / "bad.gif"
    bad.write_bytes(b"GIF89a garbage")
    questions = tmp_path / "q.jsonl"
    lines = [{"gif": str(clip), "question": f"question {i}?", "id": i} for i in range(4)]
    lines.insert(2, {"gif": str(bad), "question": "broken?"})
    questions.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    answers = tmp_path / "a.jsonl"
    # an interrupted earlier run: two answers and half of a third line
    first = cli("ask", "--batch", questions, "--out", answers, "--model", "tiny")
    assert first.returncode == 1 and b"1 of 5 questions" in first.stderr  # the bad GIF is reported, not fatal
    rows = [json.loads(x) for x in answers.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5] and "error" in rows[2] and "bad.gif" in rows[2]["error"]
    kept = answers.read_text().splitlines()[:2]
    answers.write_text("\n".join(kept) + "\n" + kept[1][:17])  # killed while writing line 3
    again = cli("ask", "--batch", questions, "--out", answers, "--model", "tiny")
    assert b"resuming: 2 answered" in again.stderr
    rows = [json.loads(x) for x in answers.read_text().splitlines()]
    assert sorted(r["line"] for r in rows) == [1, 2, 3, 4, 5]  # no gap, no duplicate
    assert all(r["answer"] is not None for r in rows if "error" not in r)


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["ask", "{clip}", "q", "--model", "no-such-model"], 1, b"not a checkpoint directory, a preset"),
        (["ask", "{clip}", "q", "--model", "/nonexistent/dir/x"], 1, b"no such checkpoint"),
        (["ask", "{clip}", "q", "--offline"], 1, b"Offline choices"),
        (["ask", "{missing}", "q", "--model", "tiny"], 1, b"no such file"),
        (["ask", "{clip}", "q", "--model", "tiny", "--frames", "99"], 1, b"more than this model takes"),
        (["ask", "{clip}"], 2, b"required"),
        (["ask", "{clip}", "q", "--sampling", "random"], 2, b"invalid choice"),
    ],
)
def test_error_paths(cli, clip, tmp_path, args, code, text):
    args = [a.format(clip=clip, missing=tmp_path / "missing.gif") for a in args]
    # --offline must act before the hub libraries are imported: only a fresh process shows that.
    r = gifqa(*args) if "--offline" in args else cli(*args)
    assert r.returncode == code, r.stderr.decode()
    assert text in r.stderr and b"Traceback" not in r.stderr
    if code == 1:
        assert r.stderr.decode().strip().count("\n") == 0 and r.stderr.startswith(b"gifqa: error:")


def test_missing_checkpoint_file(cli, tmp_path, clip):
    ckpt = tmp_path / "ckpt"
    code = "from gifqa.model import GifQAModel; GifQAModel.from_preset('tiny').save_pretrained(r'%s')" % ckpt
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True)
    (ckpt / "gifqa_modules.safetensors").unlink()
    r = cli("ask", clip, "q", "--model", ckpt)
    assert r.returncode == 1 and b"missing" in r.stderr and b"Traceback" not in r.stderr


def _commands():
    import importlib

    from gifqa.cli.main import COMMAND_MODULES

    return [importlib.import_module(m).NAME for m in COMMAND_MODULES]


HELP_PROBE = """
import sys
from gifqa.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted(m for m in ("torch", "transformers", "faiss", "av", "numpy", "PIL", "huggingface_hub", "spacy")
               if m in sys.modules)
print("HEAVY:", ",".join(heavy))
"""


@pytest.mark.parametrize("cmd", [[]] + [[c] for c in _commands()])
def test_help_has_examples_and_imports_nothing_heavy(cmd):
    # --help must stay instant: the parser may import only the standard library (speed itself is
    # measured in benchmarks/bench_cli_help.py, not here).
    r = subprocess.run([sys.executable, "-c", HELP_PROBE, *cmd, "--help"], capture_output=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    text = r.stdout.decode()
    assert "examples:" in text or not cmd  # the top-level help lists the commands
    assert text.rstrip().endswith("HEAVY:"), text.splitlines()[-1]


def test_offline_flag_reaches_the_hub_library_before_import(tmp_path, clip):
    env = {k: v for k, v in ENV.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty hub cache: the default model is not there
    probe = ("import sys; from gifqa.cli.main import main; code = main(sys.argv[1:]); "
             "import huggingface_hub.constants as c; print('HUB_OFFLINE', c.HF_HUB_OFFLINE); sys.exit(code)")
    r = subprocess.run([sys.executable, "-c", probe, "ask", str(clip), "what is it?", "--offline"],
                       capture_output=True, env=env, timeout=300)
    err = r.stderr.decode()
    assert r.returncode == 1 and "HUB_OFFLINE True" in r.stdout.decode()
    assert err.startswith("gifqa: error: model blip2-opt-2.7b-zeroshot") and err.count("\n") == 1
    assert "hub access is off" in err and "--model checkpoints/gifqa-shapes" in err and "Traceback" not in err


def test_webm_input(cli, tmp_path):
    webm = write_video(tmp_path / "c.webm", moving_square_frames(8, size=64, square=16), codec="libvpx-vp9")
    r = cli("ask", webm, "what is it?", "--model", "tiny", "--json", "--frames", "4")
    assert r.returncode == 0, r.stderr.decode()
    assert len(json.loads(out(r))["keyframes"]) == 4


def test_sampling_all(cli, clip, tmp_path):
    short = write_gif(tmp_path / "short.gif", moving_square_frames(5))
    r = cli("ask", short, "what is it?", "--model", "tiny", "--sampling", "all", "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(out(r))["keyframes"] == [0, 1, 2, 3, 4]
    r = cli("ask", clip, "what is it?", "--model", "tiny", "--sampling", "all")  # 12 frames > max_frames 8
    assert r.returncode == 1 and b"takes at most 8" in r.stderr


def test_device_and_precision_flags(cli, clip):
    import torch

    r = cli("ask", clip, "what is it?", "--model", "tiny", "--device", "cpu", "--dtype", "bfloat16", "--json")
    assert r.returncode == 0, r.stderr.decode()
    r = cli("caption", clip, "--model", "tiny", "--device", "cpu", "--dtype", "float32")
    assert r.returncode == 0, r.stderr.decode()
    r = cli("ask", clip, "q", "--model", "tiny", "--device", "tpu")
    assert r.returncode == 1 and b"--device" in r.stderr and b"Traceback" not in r.stderr
    if not torch.cuda.is_available():
        r = cli("ask", clip, "q", "--model", "tiny", "--device", "cuda")
        assert r.returncode == 1 and b"no CUDA device" in r.stderr
    r = cli("ask", clip, "q", "--model", "tiny", "--dtype", "float64")
    assert r.returncode == 2


def test_out_of_memory_is_one_line(cli, clip, monkeypatch):
    import torch

    from gifqa.ask import Answerer

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(Answerer, "ask", oom)
    r = cli("ask", clip, "q", "--model", "tiny")
    err = r.stderr.decode()
    assert r.returncode == 1 and "out of memory" in err and "--frames" in err and err.count("\n") == 1

    def host_oom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(Answerer, "caption", host_oom)
    r = cli("caption", clip, "--model", "tiny")
    assert r.returncode == 1 and b"out of memory" in r.stderr and b"Traceback" not in r.stderr


def test_models_lists_local_checkpoints(cli, tmp_path, clip):
    from gifqa.model import GifQAModel

    GifQAModel.from_preset("tiny").save_pretrained(tmp_path / "runs" / "my-ckpt")
    r = cli("models", "--dir", tmp_path / "runs", "--json")
    rows = json.loads(out(r))
    mine = [m for m in rows if m["name"] == str((tmp_path / "runs" / "my-ckpt").resolve())]
    assert len(mine) == 1 and mine[0]["kind"] == "checkpoint" and not mine[0]["hub"]
    assert [m["name"] for m in rows if m["default"]] == ["blip2-opt-2.7b-zeroshot"]
    r = cli("models", "--dir", tmp_path / "runs")
    assert "my-ckpt" in out(r) and "default" in out(r)
    # and the listed name works as --model
    assert cli("caption", clip, "--model", mine[0]["name"]).returncode == 0


def test_caption_and_react_json_schema(cli, clip):
    r = cli("caption", clip, "--model", "tiny", "--json", "--frames", "4")
    res = json.loads(out(r))
    assert set(res) == {"answer", "keyframes", "timestamps_ms", "model", "timing_ms", "kind"}
    assert res["keyframes"] == [3, 7, 9, 11] and isinstance(res["answer"], str)
    r = cli("react", clip, "--model", "tiny", "--json")
    res = json.loads(out(r))
    assert set(res) == {"answer", "keyframes", "timestamps_ms", "model", "timing_ms", "kind", "reactions",
                        "sentiment"}
    assert res["kind"] == "reaction" and len(res["reactions"]) == 5
    scores = [x["score"] for x in res["reactions"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= x <= 1 for x in scores)
    r = cli("react", clip, "--model", "tiny")
    assert out(r).splitlines()[-1].startswith("sentiment")


def test_not_a_gif_is_one_line_exit_1(cli, tmp_path):
    txt = tmp_path / "notes.gif"
    txt.write_text("hello, this is not an image\n")
    r = cli("ask", txt, "q", "--model", "tiny")
    err = r.stderr.decode()
    assert r.returncode == 1 and err.startswith("gifqa: error:") and err.count("\n") == 1 and "notes.gif" in err
