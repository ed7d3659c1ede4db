"""Every hostile file ends in a clear gifqa error, within 5 s and 1 GiB, in a subprocess.

Each file runs twice in a fresh interpreter whose address space is capped at 1 GiB
(RLIMIT_AS): once through the library (`load_video` must raise MediaError) and once through
the CLI (`gifqa inspect`: exit code 1, one stderr line starting `gifqa: error:` that names
the file, no traceback).  Wall time and peak RSS are measured per process (os.wait4).
"""

import json
import os
import subprocess
import sys
import tempfile

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


# The child is started by a small wrapper interpreter, not straight from pytest: on Linux a
# process inherits its parent's RSS high-water mark through fork and exec (the kernel folds the
# old address space's peak into ru_maxrss), so a child forked from a pytest that has loaded
# torch would "peak" at pytest's size.  The wrapper is small, caps the address space, runs the
# command and reports the command's own rusage.
WRAPPER = """
import json, os, resource, subprocess, sys, time
report, cap, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
t0 = time.monotonic()
proc = subprocess.Popen(args)
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.monotonic() - t0
with open(report, "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": elapsed, "maxrss_kib": usage.ru_maxrss}, f)
"""


def run_capped(args):
    """Run ``args`` under the memory cap; return (exit code, stdout, stderr, seconds, peak RSS bytes)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report = os.path.join(tmp, "report.json")
        proc = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, report, str(MEMORY_CAP), *args], stdout=out, stderr=err, env=env, cwd=REPO
        )
        try:
            proc.wait(timeout=TIME_CAP_S * 4)  # a hang must not hang the suite
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"{args[-1]} ran past {TIME_CAP_S * 4:.0f} s")
        out.seek(0)
        err.seek(0)
        with open(report) as f:
            r = json.load(f)
        return r["code"], out.read().decode(), err.read().decode(), r["seconds"], r["maxrss_kib"] * 1024


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
