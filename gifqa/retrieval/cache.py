"""Frame-embedding cache, keyed by (file content hash, model id, frame sampling).

Asking several questions about one GIF must not re-encode its frames: the frame embeddings
depend only on the file's bytes, the encoder weights and which frames were decoded at what
size, so that triple is the key.  Two layers: a bounded in-memory LRU (same process) and
``.npy`` files under a cache directory (across runs): ``$GIFQA_CACHE`` if set, otherwise
``~/.cache/gifqa``; embeddings live in its ``embeddings/`` subfolder.  Files are written
atomically (temp file + rename), read with ``allow_pickle=False``, and a file that does
not load is treated as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

CACHE_ENV = "GIFQA_CACHE"


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gifqa"


def cache_key(content_sha256: str, model_id: str, sampling: str) -> str:
    """Hex key of one (content, model, sampling) triple; fields are length-prefixed so no
    two triples can collide by concatenation."""
    h = hashlib.sha256()
    for part in (content_sha256, model_id, sampling):
        b = str(part).encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


class EmbeddingCache:
    """In-memory LRU over an optional on-disk store.

    ``cache_dir=None`` uses :func:`default_cache_dir`; ``cache_dir=False`` keeps the cache
    in memory only.  ``max_memory_items`` bounds the in-memory layer (entries, not bytes).
    """

    def __init__(self, cache_dir: str | os.PathLike | None | bool = None, max_memory_items: int = 256):
        if cache_dir is False:
            self.dir = None
        else:
            self.dir = (Path(cache_dir) if cache_dir not in (None, True) else default_cache_dir()) / "embeddings"
        self.max_memory_items = int(max_memory_items)
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0  # lookups answered from memory or disk
        self.misses = 0  # lookups that had to compute

    def _path(self, key: str) -> Path:
        assert self.dir is not None
        return self.dir / key[:2] / f"{key}.npy"

    def get(self, content_sha256: str, model_id: str, sampling: str) -> np.ndarray | None:
        key = cache_key(content_sha256, model_id, sampling)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if self.dir is not None:
            path = self._path(key)
            if path.is_file():
                try:
                    arr = np.load(path, allow_pickle=False)
                except (OSError, ValueError):
                    return None  # unreadable (partial write by an old version, disk error): recompute
                self._remember(key, arr)
                return arr
        return None

    def put(self, content_sha256: str, model_id: str, sampling: str, embeddings: np.ndarray) -> None:
        key = cache_key(content_sha256, model_id, sampling)
        arr = np.ascontiguousarray(embeddings, dtype=np.float32)
        self._remember(key, arr)
        if self.dir is not None:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, arr, allow_pickle=False)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def get_or_compute(
        self, content_sha256: str, model_id: str, sampling: str, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        arr = self.get(content_sha256, model_id, sampling)
        if arr is not None:
            self.hits += 1
            return arr
        self.misses += 1
        arr = np.asarray(compute(), dtype=np.float32)
        self.put(content_sha256, model_id, sampling, arr)
        return arr

    def _remember(self, key: str, arr: np.ndarray) -> None:
        if self.max_memory_items <= 0:
            return
        self._memory[key] = arr
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_memory_items:
            self._memory.popitem(last=False)
