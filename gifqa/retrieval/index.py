"""A persistent text-to-GIF search index over a collection of clips.

Each clip is one vector: the mean of the unit-length CLIP embeddings of up to
``max_frames`` frames taken uniformly by time, renormalised (the same pooling as a
CLIP-Cut window, over the whole clip).  Text queries are CLIP text embeddings, so a score
is the cosine similarity between the query and the clip's mean frame.

On disk, an index is a directory:

* ``index.json``  - manifest: format version, model id, width, frame sampling, index kind;
* ``meta.jsonl``  - one JSON object per row: ``path``, ``sha256`` (of the file bytes),
  ``n_frames`` (frames in the source), ``stale`` (a later version of the file replaced it);
* ``vectors.npy`` - float32 ``[N, D]``, the rows (kept so the FAISS index can be rebuilt);
* ``index.faiss`` - the FAISS index over those rows (row id = line number in meta.jsonl).

Index kind: exact search (``IndexFlatIP``) while the collection has at most
``flat_max_vectors`` rows (default :data:`FLAT_MAX_VECTORS`); above that an IVF-Flat index
(inner product, ``nlist = 4 * sqrt(N)`` k-means cells, ``nprobe`` cells searched), retrained
from ``vectors.npy`` whenever the collection has grown 4x since it was last trained.  The
threshold and ``nprobe`` come from ``benchmarks/bench_search.py`` (report.md, "CLIP-Cut and
search").  Adding is incremental: a file whose (path, sha256) is already indexed is skipped
without decoding; a file whose bytes changed gets a new row and its old row turns stale
(stale rows are never returned).  Every file is written atomically (temp + rename), the
manifest last.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from gifqa.errors import ConfigError, DataError, MediaError
from gifqa.retrieval import faiss_backend
from gifqa.retrieval.encoders import FrameTextEncoder, l2_normalize

FORMAT = "gifqa-collection-index"
FORMAT_VERSION = 1
FLAT_MAX_VECTORS = 100_000  # rows up to which search is exact (see module doc)
DEFAULT_NPROBE = 64  # IVF cells searched per query
DEFAULT_MAX_FRAMES = 16  # frames per clip pooled into its vector
RETRAIN_GROWTH = 4  # retrain IVF when rows exceed this multiple of the rows it was trained on
MEDIA_EXTENSIONS = (".gif", ".mp4", ".webm", ".mov", ".mkv", ".avi")


def ivf_nlist(n_vectors: int) -> int:
    """IVF cells for ``n_vectors`` rows: 4 * sqrt(N), the FAISS wiki's rule of thumb
    (``Guidelines to choose an index``: 4*sqrt(N) to 16*sqrt(N))."""
    return max(1, min(int(4 * math.sqrt(n_vectors)), n_vectors // 39 or 1))


@dataclass
class Manifest:
    model_id: str  # encoder that made the vectors; queries must use the same one
    dim: int  # vector width D
    max_frames: int = DEFAULT_MAX_FRAMES  # frames per clip, uniform by time, pooled into its vector
    kind: str = "flat"  # "flat" (exact) or "ivf" (approximate)
    flat_max_vectors: int = FLAT_MAX_VECTORS  # switch to IVF above this many rows
    nprobe: int = DEFAULT_NPROBE  # IVF cells searched per query
    nlist: int = 0  # IVF cells (0 while flat)
    trained_on: int = 0  # rows the IVF quantiser was trained on (0 while flat)
    count: int = 0  # rows, stale ones included
    format: str = FORMAT
    version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, data: dict, where: str) -> "Manifest":
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (written by a newer gifqa?)")
        m = cls(**data)
        if m.format != FORMAT or m.version != FORMAT_VERSION:
            raise ConfigError(f"{where}: not a gifqa collection index v{FORMAT_VERSION} ({m.format} v{m.version})")
        return m


@dataclass
class Entry:
    path: str  # as given when indexed (absolute)
    sha256: str  # hex digest of the file's bytes
    n_frames: int  # frames in the source file
    stale: bool = False  # replaced by a newer version of the same path


@dataclass
class SearchHit:
    rank: int  # 1 = best
    score: float  # cosine similarity between the query and the clip vector
    path: str
    sha256: str
    n_frames: int
    row: int  # row id in the index


def _atomic_write(path: Path, write: Callable) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class CollectionIndex:
    """Vectors + metadata + a FAISS index, in memory; :meth:`save` writes the directory."""

    def __init__(self, directory: str | os.PathLike, manifest: Manifest, entries=None, vectors=None, faiss_index=None):
        self.dir = Path(directory)
        self.manifest = manifest
        self.entries: list[Entry] = list(entries or [])
        self._vectors = np.zeros((0, manifest.dim), np.float32) if vectors is None else vectors
        self._pending: list[np.ndarray] = []
        self._faiss = faiss_index if faiss_index is not None else faiss_backend.flat_ip(manifest.dim)
        self._search_index = None
        self._live = {(e.path, e.sha256) for e in self.entries if not e.stale}
        self._row_of_path = {e.path: i for i, e in enumerate(self.entries) if not e.stale}

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def create(cls, directory, model_id: str, dim: int, *, max_frames: int = DEFAULT_MAX_FRAMES,
               flat_max_vectors: int = FLAT_MAX_VECTORS, nprobe: int = DEFAULT_NPROBE) -> "CollectionIndex":
        if max_frames <= 0 or flat_max_vectors < 0 or nprobe <= 0:
            raise ConfigError("max_frames and nprobe must be positive, flat_max_vectors non-negative")
        return cls(directory, Manifest(model_id=model_id, dim=int(dim), max_frames=int(max_frames),
                                       flat_max_vectors=int(flat_max_vectors), nprobe=int(nprobe)))

    @staticmethod
    def exists(directory) -> bool:
        return (Path(directory) / "index.json").is_file()

    @classmethod
    def open(cls, directory) -> "CollectionIndex":
        d = Path(directory)
        mpath = d / "index.json"
        if not mpath.is_file():
            raise DataError(d, "not a gifqa index (no index.json); build one with `gifqa index DIR -o INDEX_DIR`")
        try:
            manifest = Manifest.from_dict(json.loads(mpath.read_text()), str(mpath))
        except json.JSONDecodeError as exc:
            raise DataError(mpath, f"invalid JSON: {exc}") from exc
        entries = []
        meta = d / "meta.jsonl"
        with open(meta, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entries.append(Entry(**json.loads(line)))
                except (json.JSONDecodeError, TypeError) as exc:
                    raise DataError(meta, f"bad metadata row: {exc}", line_no) from exc
        vectors = np.load(d / "vectors.npy", allow_pickle=False)
        index = faiss_backend.import_faiss().read_index(str(d / "index.faiss"))
        n = manifest.count
        if not (len(entries) == len(vectors) == index.ntotal == n) or vectors.shape[1] != manifest.dim:
            raise DataError(d, f"index files disagree: {n} in manifest, {len(entries)} metadata rows, "
                               f"{len(vectors)} vectors, {index.ntotal} in index.faiss; rebuild the index")
        return cls(d, manifest, entries, vectors, index)

    # -- contents -----------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(not e.stale for e in self.entries)

    @property
    def vectors(self) -> np.ndarray:
        if self._pending:
            self._vectors = np.concatenate([self._vectors, *self._pending])
            self._pending = []
        return self._vectors

    def contains(self, path: str, sha256: str) -> bool:
        return (str(path), sha256) in self._live

    def add(self, path: str, sha256: str, n_frames: int, vector: np.ndarray) -> str:
        """Add one clip; returns "added", "replaced" (path re-indexed with new bytes) or "unchanged"."""
        path = str(path)
        if self.contains(path, sha256):
            return "unchanged"
        vec = l2_normalize(faiss_backend.as_float32_rows(vector, self.manifest.dim))
        status = "added"
        old = self._row_of_path.get(path)
        if old is not None:
            self.entries[old].stale = True
            self._live.discard((path, self.entries[old].sha256))
            status = "replaced"
        row = len(self.entries)
        self.entries.append(Entry(path, sha256, int(n_frames)))
        self._live.add((path, sha256))
        self._row_of_path[path] = row
        self._pending.append(vec)
        self.manifest.count = len(self.entries)
        self._add_to_faiss(vec)
        return status

    def _add_to_faiss(self, vec: np.ndarray) -> None:
        m = self.manifest
        n = len(self.entries)
        self._search_index = None
        if m.kind == "flat" and n > m.flat_max_vectors:
            self._rebuild_ivf()
        elif m.kind == "ivf" and n > RETRAIN_GROWTH * m.trained_on:
            self._rebuild_ivf()
        else:
            self._faiss.add(vec)

    def _rebuild_ivf(self) -> None:
        vectors = self.vectors
        m = self.manifest
        m.nlist = ivf_nlist(len(vectors))
        index = faiss_backend.ivf_ip(vectors, m.nlist, m.nprobe)
        index.add(vectors)
        self._faiss, m.kind, m.trained_on = index, "ivf", len(vectors)

    # -- searching ----------------------------------------------------------------------
    def search_vectors(self, queries: np.ndarray, k: int) -> list[list[SearchHit]]:
        """Top-``k`` live clips for each query vector (unit-normalised here), best first."""
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        queries = l2_normalize(faiss_backend.as_float32_rows(queries, self.manifest.dim))
        if self._search_index is None:
            self._search_index = faiss_backend.for_search(self._faiss)
        if hasattr(self._search_index, "nprobe"):
            self._search_index.nprobe = self.manifest.nprobe
        n_stale = len(self.entries) - len(self)
        scores, ids = faiss_backend.search(self._search_index, queries, k + n_stale)
        out = []
        for srow, irow in zip(scores, ids):
            hits = []
            for s, i in zip(srow, irow):
                if i < 0 or self.entries[i].stale:  # -1: IVF probed fewer than k rows
                    continue
                e = self.entries[i]
                hits.append(SearchHit(len(hits) + 1, float(s), e.path, e.sha256, e.n_frames, int(i)))
                if len(hits) == k:
                    break
            out.append(hits)
        return out

    def search_text(self, encoder: FrameTextEncoder, text: str, k: int = 10) -> list[SearchHit]:
        self.check_encoder(encoder)
        return self.search_vectors(encoder.encode_text([text]), k)[0]

    def check_encoder(self, encoder: FrameTextEncoder) -> None:
        if encoder.model_id != self.manifest.model_id or encoder.dim != self.manifest.dim:
            raise ConfigError(
                f"index {self.dir} was built with {self.manifest.model_id!r} (D={self.manifest.dim}) but the encoder "
                f"is {encoder.model_id!r} (D={encoder.dim}); embeddings of different models are not comparable: "
                "use the index's model or build a new index"
            )

    # -- saving -------------------------------------------------------------------------
    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        faiss = faiss_backend.import_faiss()
        vectors = self.vectors
        _atomic_write(self.dir / "vectors.npy", lambda f: np.save(f, vectors, allow_pickle=False))
        meta = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in self.entries).encode("utf-8")
        _atomic_write(self.dir / "meta.jsonl", lambda f: f.write(meta))
        blob = faiss.serialize_index(self._faiss)
        _atomic_write(self.dir / "index.faiss", lambda f: f.write(blob.tobytes()))
        manifest = json.dumps(asdict(self.manifest), indent=2).encode("utf-8")
        _atomic_write(self.dir / "index.json", lambda f: f.write(manifest))


# -- building from files ---------------------------------------------------------------
@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def collect_media_paths(inputs: Sequence[str | os.PathLike], extensions: Iterable[str] = MEDIA_EXTENSIONS):
    """Expand the ``gifqa index`` arguments into (files, problems).

    A directory contributes its media files (recursively, sorted, by extension); a ``.txt``
    or ``.lst`` file is a list of paths, one a line (blank lines and ``#`` comments
    ignored, relative paths taken from the list's folder); any other file is itself.
    Inputs that do not exist become ``(path, "not found")`` problems.
    """
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if p.is_dir():
            files += sorted(str(f.resolve()) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in exts)
        elif p.is_file() and p.suffix.lower() in (".txt", ".lst"):
            for line in p.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    q = Path(line).expanduser()
                    q = q if q.is_absolute() else p.parent / q
                    (files.append(str(q.resolve())) if q.is_file() else problems.append((str(q), "not found")))
        elif p.is_file():
            files.append(str(p.resolve()))
        else:
            problems.append((str(p), "not found"))
    seen = set()
    unique = [f for f in files if not (f in seen or seen.add(f))]
    return unique, problems


def clip_vector(frame_embeddings: np.ndarray) -> np.ndarray:
    """One unit vector per clip: mean of its unit frame embeddings, renormalised."""
    return l2_normalize(l2_normalize(frame_embeddings).mean(axis=0, keepdims=True))[0]


def index_files(
    index: CollectionIndex,
    paths: Sequence[str],
    encoder: FrameTextEncoder,
    *,
    load: Callable | None = None,
    cache=None,
    on_file: Callable[[str, str], None] | None = None,
) -> IndexReport:
    """Embed and add every file; files that fail to decode are skipped and reported.

    ``load`` is ``gifqa.media.load_video`` unless given; it is called as
    ``load(path, max_frames=..., sampling="uniform")`` and must raise
    :class:`gifqa.errors.MediaError` for unreadable media.  ``on_file(path, status)`` is
    called after each file (progress).
    """
    from gifqa.retrieval.sampling import frame_embeddings

    index.check_encoder(encoder)
    if load is None:
        from gifqa.media import load_video as load
    report = IndexReport()
    for path in paths:
        path = str(path)
        try:
            sha = file_sha256(path)
        except OSError as exc:
            report.skipped.append((path, f"cannot read: {exc.strerror or exc}"))
            status = "skipped"
        else:
            if index.contains(path, sha):
                report.unchanged.append(path)
                status = "unchanged"
            else:
                try:
                    video = load(path, max_frames=index.manifest.max_frames, sampling="uniform")
                except MediaError as exc:
                    report.skipped.append((path, exc.problem + (f" ({exc.hint})" if exc.hint else "")))
                    status = "skipped"
                else:
                    if not getattr(video, "sha256", ""):
                        video.sha256 = sha
                    vec = clip_vector(frame_embeddings(video, encoder, cache))
                    n_frames = int(getattr(video, "n_source_frames", len(video.frames)))
                    status = index.add(path, sha, n_frames, vec)
                    (report.added if status == "added" else report.replaced).append(path)
        if on_file is not None:
            on_file(path, status)
    return report
