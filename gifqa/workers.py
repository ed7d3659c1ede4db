"""An ordered map over a forked process pool, for the CPU-bound per-file loops of data preparation
(rendering the shapes world, decoding its GIFs for step 1 and for the feature cache).

Fork, not spawn: spawned workers re-import the caller's main module, so a plain script calling
this at its top level (no ``if __name__ == "__main__"``) would hang.  Fork is safe on Linux only
(macOS's system libraries are not fork-safe, and Windows has no fork); elsewhere, and for short
lists where a pool's start-up would dominate, the map runs in this process.  Results come back in
the order of the items, so what a caller builds from them does not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

POOL_MIN_ITEMS = 64  # fewer items than this are mapped in the calling process


def can_fork() -> bool:
    """Whether a forked process pool is safe here (Linux)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _one_thread() -> None:
    # Each worker is one of several processes sharing the CPUs: torch (when the caller has loaded it)
    # keeps to one intra-op thread, so it never enters a thread pool copied from the parent by fork.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _run_chunk(job):
    fn, chunk = job
    return [fn(x) for x in chunk]


def _pooled(pool, fn: Callable, items: list, workers: int, chunksize: int) -> Iterator:
    # At most 2 chunks per worker are in flight: results are held until the caller takes them, and a
    # caller slower than the workers (the feature cache runs a model on each batch) must not pile up
    # every decoded clip in memory, as Pool.imap would.
    chunks = iter([items[i : i + chunksize] for i in range(0, len(items), chunksize)])
    pending = deque(pool.apply_async(_run_chunk, ((fn, c),)) for c in islice(chunks, 2 * workers))
    while pending:
        done = pending.popleft().get()  # re-raises a worker's exception here
        nxt = next(chunks, None)
        if nxt is not None:
            pending.append(pool.apply_async(_run_chunk, ((fn, nxt),)))
        yield from done


@contextmanager
def ordered_map(fn: Callable, items: Iterable, workers: int | None = None, *, chunksize: int = 16,
                min_items: int | None = None) -> Iterator[Iterator]:
    """``with ordered_map(fn, items) as results:`` iterate ``fn(item)`` in the items' order, computed by
    ``workers`` forked processes (default ``default_workers()``) or, where a pool is not used, lazily in
    this process (also when there are fewer than ``min_items``, default ``POOL_MIN_ITEMS``, items).
    ``fn`` must be a module-level function; the pool is closed on leaving the block."""
    items = list(items)
    min_items = POOL_MIN_ITEMS if min_items is None else min_items
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers < 2 or len(items) < min_items or not can_fork():
        yield map(fn, items)
        return
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread)
    try:
        yield _pooled(pool, fn, items, workers, chunksize)
    finally:
        pool.terminate()
        pool.join()
