"""One FAISS code path for CPU and GPU.

Both the ``faiss-cpu`` and the ``faiss-gpu-cu12`` wheels install the ``faiss`` module; the
GPU build also has ``StandardGpuResources``.  Indexes are built and stored on the CPU (the
only form ``faiss.write_index`` accepts) and copied to the GPU for searching when the
module has GPU support and sees a device.  Every index here uses the inner-product metric
on L2-normalised vectors, so scores are cosine similarities (the seed code used
``IndexFlatL2`` on unnormalised CLIP features, which ranks by feature norm as much as by
direction).
"""

from __future__ import annotations

import threading

import numpy as np

from gifqa.errors import ConfigError

_gpu_resources = None
_lock = threading.Lock()


def import_faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "FAISS is not installed: pip install 'gifqa[cpu]' (faiss-cpu) or 'gifqa[gpu]' (faiss-gpu-cu12)"
        ) from exc
    return faiss


def gpu_available() -> bool:
    """True when the installed faiss has GPU support and sees at least one CUDA device."""
    faiss = import_faiss()
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def _resources():
    global _gpu_resources
    with _lock:
        if _gpu_resources is None:
            _gpu_resources = import_faiss().StandardGpuResources()
        return _gpu_resources


def as_float32_rows(x: np.ndarray, dim: int | None = None) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"expected float32 [N, {dim or 'D'}] vectors, got shape {x.shape}")
    return x


def flat_ip(dim: int):
    """An exact inner-product index (on the CPU; see :func:`for_search`)."""
    return import_faiss().IndexFlatIP(int(dim))


IVF_TRAIN_PER_CELL = 64  # training points per k-means cell (FAISS warns below 39)
IVF_KMEANS_ITERS = 10  # k-means iterations (FAISS default 25; 10 loses little, trains 2.5x faster)


def ivf_ip(vectors: np.ndarray, nlist: int, nprobe: int, seed: int = 0):
    """An IVF-Flat inner-product index trained (k-means, ``nlist`` cells) on ``vectors``.

    IVF (Jegou et al., "Product quantization for nearest neighbor search", TPAMI 2011; here
    without quantisation) rather than HNSW because it runs on both the CPU and the GPU
    builds of FAISS.  The index is trained but empty: ``add`` the vectors afterwards.
    """
    faiss = import_faiss()
    vectors = as_float32_rows(vectors)
    dim = vectors.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, int(nlist), faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)  # k-means initialisation, for reproducible indexes
    index.cp.niter = IVF_KMEANS_ITERS
    n_train = min(len(vectors), IVF_TRAIN_PER_CELL * int(nlist))
    rng = np.random.default_rng(seed)
    train = vectors if n_train == len(vectors) else vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
    index.train(train)
    index.nprobe = int(nprobe)
    return index


def for_search(index):
    """``index`` itself on a CPU-only install, a GPU copy when CUDA is usable."""
    if gpu_available():
        faiss = import_faiss()
        return faiss.index_cpu_to_gpu(_resources(), 0, index)
    return index


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores float32 ``[N, k']``, ids int64 ``[N, k']``) with ``k' = min(k, ntotal)``.

    FAISS pads with id -1 when fewer than ``k`` vectors are reachable; ``k`` is capped at
    the index size here and any remaining -1 (an IVF probe that found too few) is dropped
    by the callers, never used as an index.
    """
    queries = as_float32_rows(queries, index.d)
    k = min(int(k), int(index.ntotal))
    if k <= 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    scores, ids = index.search(queries, k)
    return scores, ids.astype(np.int64, copy=False)
