"""CLIP-Cut: pick the k frames of a clip that best match a text query.

Algorithm (the seed design of GIF-QA, made precise):

1. Every frame and the query are embedded with a CLIP model and L2-normalised, so an inner
   product is a cosine similarity.
2. Frames are grouped into non-overlapping windows of ``window`` (default 3) consecutive
   frames: ``[0, 1, 2], [3, 4, 5], ...``; the last window holds the 1 or 2 leftover frames
   when ``T`` is not a multiple of 3.  A window's embedding is the mean of its frames'
   normalised embeddings, renormalised.
3. Windows are ranked by inner product with the query in a FAISS ``IndexFlatIP`` (exact).
   Ties go to the earlier window.
4. Each of the top ``k`` windows is represented by **its frame most similar to the query**
   (ties: the earlier frame), so the chosen frame is the one that matched, not an arbitrary
   neighbour of it.
5. The chosen frame indices are returned **in time order** (ascending), never in similarity
   order: the downstream model reads them as a sequence.

Fewer windows than ``k`` (short clips), deterministic and never a -1 index:

* ``ceil(T/3) < k <= T``: every window contributes its representative, and the remaining
  ``k - ceil(T/3)`` slots go to the best-matching frames not yet chosen (query similarity,
  ties to the earlier frame).  Result: ``k`` distinct frames.
* ``T < k``: all ``T`` frames are taken; with ``pad=True`` (default) they are stretched to
  ``k`` slots, slot ``j`` holding frame ``floor(j * T / k)`` (every frame at least once,
  repeats adjacent, time order kept), so batches keep a fixed frame count.  With
  ``pad=False`` the ``T`` frames are returned as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gifqa.retrieval import faiss_backend
from gifqa.retrieval.encoders import l2_normalize

DEFAULT_WINDOW = 3  # frames per CLIP-Cut window


def window_bounds(n_frames: int, window: int = DEFAULT_WINDOW) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges of the non-overlapping windows (last one may be short)."""
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    return [(s, min(s + window, n_frames)) for s in range(0, n_frames, window)]


def window_embeddings(frame_embeddings: np.ndarray, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """``[T, D]`` frame embeddings -> ``[ceil(T/window), D]`` window embeddings (unit rows)."""
    frames = l2_normalize(frame_embeddings)
    means = [frames[s:e].mean(axis=0) for s, e in window_bounds(len(frames), window)]
    return l2_normalize(np.stack(means)) if means else np.zeros((0, frames.shape[1]), np.float32)


@dataclass
class KeyframeSelection:
    """What CLIP-Cut chose and why (``indices`` is what callers usually want)."""

    indices: np.ndarray  # int64 [k] (or [T] with pad=False and T < k): frame indices, ascending
    window_order: np.ndarray  # int64 [W]: window ids, best first
    window_scores: np.ndarray  # float32 [W]: cosine(window, query), in window_order
    frame_scores: np.ndarray  # float32 [T]: cosine(frame, query), by frame index


def rank_windows(window_embs: np.ndarray, query_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window id ranked by inner product with the query (FAISS flat IP), ties to the earlier."""
    window_embs = l2_normalize(window_embs)
    query = l2_normalize(np.asarray(query_emb, np.float32).reshape(1, -1))
    index = faiss_backend.flat_ip(window_embs.shape[1])
    index.add(window_embs)
    scores, ids = faiss_backend.search(index, query, len(window_embs))
    scores, ids = scores[0], ids[0]
    keep = ids >= 0
    scores, ids = scores[keep], ids[keep]
    # FAISS does not promise an order among equal scores; make it the window order.
    order = np.lexsort((ids, -scores))
    return ids[order].astype(np.int64), scores[order].astype(np.float32)


def clipcut_select(
    frame_embeddings: np.ndarray,
    query_embedding: np.ndarray,
    k: int,
    *,
    window: int = DEFAULT_WINDOW,
    pad: bool = True,
) -> KeyframeSelection:
    """CLIP-Cut on precomputed embeddings: ``[T, D]`` frames, ``[D]`` (or ``[1, D]``) query."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    frames = l2_normalize(frame_embeddings)
    if frames.ndim != 2 or len(frames) == 0:
        raise ValueError(f"need frame embeddings [T>0, D], got shape {np.shape(frame_embeddings)}")
    query = l2_normalize(np.asarray(query_embedding, np.float32).reshape(-1))
    if query.shape[0] != frames.shape[1]:
        raise ValueError(f"query has width {query.shape[0]}, frames have {frames.shape[1]}")
    n_frames = len(frames)
    frame_scores = (frames @ query).astype(np.float32)  # [T]

    bounds = window_bounds(n_frames, window)
    order, scores = rank_windows(window_embeddings(frames, window), query)

    def representative(w: int) -> int:
        s, e = bounds[w]
        return s + int(np.argmax(frame_scores[s:e]))  # argmax takes the first of equal maxima

    if n_frames < k:
        chosen = np.arange(n_frames, dtype=np.int64)
        if pad:
            chosen = (np.arange(k, dtype=np.int64) * n_frames) // k
        return KeyframeSelection(chosen, order, scores, frame_scores)

    picked = [representative(int(w)) for w in order[:k]]
    if len(picked) < k:  # fewer windows than k: fill with the best remaining frames
        taken = set(picked)
        by_score = np.lexsort((np.arange(n_frames), -frame_scores))
        for f in by_score:
            if len(picked) == k:
                break
            if int(f) not in taken:
                picked.append(int(f))
                taken.add(int(f))
    return KeyframeSelection(np.sort(np.asarray(picked, dtype=np.int64)), order, scores, frame_scores)
