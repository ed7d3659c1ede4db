"""`gifqa inspect` and the CLI contract: stdout/stderr, --json, exit codes, instant --help."""

import json
import os
import subprocess
import sys

from tests.media_helpers import moving_square_frames, write_gif
from tests.shared_data import REPO


def gifqa(*args, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "gifqa", *map(str, args)], capture_output=True, text=True, env=env, **kw)


def test_inspect_human(tmp_path):
    path = write_gif(tmp_path / "a.gif", moving_square_frames(4), durations_ms=[0, 50, 50, 200], loop=2)
    r = gifqa("inspect", path)
    assert r.returncode == 0 and r.stderr == ""
    assert "frames    4" in r.stdout and "32x32" in r.stdout and "2 time(s) more" in r.stdout
    assert "duration  400 ms" in r.stdout  # 100 (0 cs -> browser default) + 50 + 50 + 200


def test_inspect_json(tmp_path):
    path = write_gif(tmp_path / "a.gif", moving_square_frames(3), durations_ms=70)
    r = gifqa("inspect", path, "--json")
    info = json.loads(r.stdout)
    assert info["format"] == "gif" and info["n_frames"] == 3 and info["frame_durations_ms"] == [70, 70, 70]
    assert info["loop_count"] == 0 and info["verified"] is True and len(info["sha256"]) == 64


def test_bad_file_one_line_exit_1(tmp_path):
    bad = tmp_path / "bad.gif"
    bad.write_bytes(b"GIF89a\x10\x00")
    r = gifqa("inspect", bad)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("gifqa: error: ") and "bad.gif" in r.stderr
    r = gifqa("inspect", bad, "--debug")
    assert r.returncode == 1 and "Traceback" in r.stderr
    r = gifqa("--debug", "inspect", bad)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_several_files_report_each_and_fail(tmp_path):
    good = write_gif(tmp_path / "g.gif", moving_square_frames(2))
    missing = tmp_path / "missing.gif"
    r = gifqa("inspect", good, missing, "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["n_frames"] == 2
    assert "missing.gif: no such file" in r.stderr


def test_caps_from_flags(tmp_path):
    path = write_gif(tmp_path / "a.gif", moving_square_frames(3))
    r = gifqa("inspect", path, "--max-pixels", "100")
    assert r.returncode == 1 and "--max-pixels" in r.stderr


def test_truncated_flag(tmp_path):
    path = write_gif(tmp_path / "a.gif", moving_square_frames(6))
    cut = tmp_path / "cut.gif"
    cut.write_bytes(path.read_bytes()[:-40])
    assert gifqa("inspect", cut).returncode == 1
    r = gifqa("inspect", cut, "--allow-truncated", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["truncated"] is True


def test_usage_errors_exit_2():
    assert gifqa().returncode == 2
    assert gifqa("inspect").returncode == 2
    assert gifqa("no-such-command").returncode == 2


def test_help_lists_examples_and_imports_nothing_heavy():
    r = gifqa("--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "inspect" in r.stdout
    assert "examples:" in gifqa("inspect", "--help").stdout
    code = "import sys; from gifqa.cli.main import build_parser; build_parser(); print(sorted(m for m in ('torch','transformers','numpy','PIL','av') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_python_m_and_console_script_agree(tmp_path):
    path = write_gif(tmp_path / "a.gif", moving_square_frames(2))
    script = os.path.join(os.path.dirname(sys.executable), "gifqa")
    if os.path.exists(script):
        r = subprocess.run([script, "inspect", str(path), "--json"], capture_output=True, text=True)
        assert r.returncode == 0 and json.loads(r.stdout)["n_frames"] == 2
    assert gifqa("--version").stdout.startswith("gifqa ")
