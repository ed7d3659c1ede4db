"""Every hostile file ends in a clear gifqa error, within 5 s and 1 GiB, in a subprocess.

Each file runs twice in a fresh interpreter whose address space is capped at 1 GiB
(RLIMIT_AS): once through the library (`load_video` must raise MediaError) and once through
the CLI (`gifqa inspect`: exit code 1, one stderr line starting `gifqa: error:` that names
the file, no traceback).  Wall time and peak RSS are measured per process (os.wait4).
"""

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from tests.shared_data import REPO, requires_shared, shared

BAD = shared("bad")
FILES = sorted(p for p in [*BAD.glob("*.gif"), *BAD.glob("wild/*.gif")]) if BAD.exists() else []
pytestmark = requires_shared("bad")

MEMORY_CAP = 2**30  # bytes of address space
TIME_CAP_S = 5.0

LIBRARY_PROBE = """
import sys
from gifqa.errors import MediaError
from gifqa.media import load_video
try:
    load_video(sys.argv[1])
except MediaError as exc:
    print(type(exc).__name__, exc)
    sys.exit(0)
print("decoded without an error")
sys.exit(3)
"""


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_capped(args):
    """Run ``args`` under the memory cap; return (exit code, stdout, stderr, seconds, peak RSS bytes)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdout=out, stderr=err, preexec_fn=_limit, env=env, cwd=REPO)
        watchdog = threading.Timer(TIME_CAP_S * 4, proc.kill)  # a hang must not hang the suite
        watchdog.start()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone
        watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read().decode(), err.read().decode(), elapsed, usage.ru_maxrss * 1024


def test_there_are_hostile_files():
    assert len(FILES) >= 33


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_library_raises_media_error(path):
    code, out, err, elapsed, peak = run_capped([sys.executable, "-c", LIBRARY_PROBE, str(path)])
    assert code == 0, f"expected a MediaError; exit {code}; stdout {out!r}; stderr {err[-500:]!r}"
    assert path.name in out
    assert elapsed < TIME_CAP_S, f"took {elapsed:.1f} s"
    assert peak < MEMORY_CAP, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_cli_one_line_error(path):
    code, out, err, elapsed, peak = run_capped([sys.executable, "-m", "gifqa", "inspect", str(path)])
    assert code == 1, f"exit {code}; stderr {err[-500:]!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gifqa: error: ") and path.name in lines[0], err
    assert "Traceback" not in err and out == ""
    assert elapsed < TIME_CAP_S, f"took {elapsed:.1f} s"
    assert peak < MEMORY_CAP, f"peak RSS {peak / 2**20:.0f} MiB"


def test_peak_memory_of_the_frame_bomb_is_small():
    # 10,000 frames of 500x500 would be 7.5 GB as RGB; the frame cap stops it at the parse.
    code, out, _, _, peak = run_capped([sys.executable, "-c", LIBRARY_PROBE, str(BAD / "bomb_10000_frames.gif")])
    assert code == 0 and "MediaLimitError" in out
    assert peak < 256 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"
