"""Where the shared, third-party test data lives, and a skip marker for when it is absent.

The data is never copied into the repository (licences): it sits beside the checkout in
``../shared/data`` (override with the environment variable GIFQA_SHARED_DATA).
"""

from __future__ import annotations

import shutil
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GIFQA_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(subdir: str) -> Path:
    return SHARED_DATA / subdir


def requires_shared(subdir: str):
    """Skip marker: the test needs ``../shared/data/<subdir>``."""
    path = SHARED_DATA / subdir
    return pytest.mark.skipif(
        not path.exists(), reason=f"{path} not found: the shared test data is absent (set GIFQA_SHARED_DATA)"
    )


# coco-caption's METEOR and PTB tokenizer run Java (gifqa.evaluation.captions says so at run time).
requires_java = pytest.mark.skipif(shutil.which("java") is None,
                                   reason="caption metrics need Java (METEOR, PTB tokenizer): install a JRE")
