"""Which frames to take from a clip: uniform by time, all frames, every n-th frame.

Frame times follow what browsers show, not the raw numbers in the file: a GIF delay of 0
or 1 centisecond plays as 100 ms in Chrome, Firefox and Safari (they clamp delays of 10 ms
or less), so a frame's duration here is ``100 if delay_ms <= 10 else delay_ms``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

BROWSER_MIN_DELAY_MS = 10  # delays at or below this are shown for ...
BROWSER_DEFAULT_DELAY_MS = 100  # ... this long by browsers
SAMPLING_STRATEGIES = ("uniform", "all", "every_n")


def browser_duration_ms(delay_ms: int) -> int:
    """How long a browser shows a GIF frame whose delay is ``delay_ms``."""
    return BROWSER_DEFAULT_DELAY_MS if delay_ms <= BROWSER_MIN_DELAY_MS else int(delay_ms)


def timeline(durations_ms: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Start times and durations (int64 ms) of frames shown one after another."""
    durations = np.asarray(durations_ms, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(durations)[:-1]]).astype(np.int64)
    return starts, durations


def uniform_by_time(starts_ms: Sequence[int], durations_ms: Sequence[int], k: int) -> np.ndarray:
    """Indices of the frames on screen at the midpoints of ``k`` equal slices of the clip.

    Returns exactly ``k`` indices in time order (for any clip with at least one frame).  A
    frame shown longer than one slice is picked once per slice it covers, so the result can
    repeat an index: that is what sampling a clip at a fixed rate means (a 2-s still frame
    really fills half of a 4-s clip).  ``k <= 0`` is an error.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    starts = np.asarray(starts_ms, dtype=np.float64)
    durations = np.asarray(durations_ms, dtype=np.float64)
    if starts.size == 0:
        raise ValueError("a clip needs at least one frame")
    t0 = starts[0]  # a sub-clip (frames picked from a longer clip) need not start at 0
    total = float(starts[-1] + durations[-1] - t0)
    if total <= 0:  # every duration is 0 (videos without timing): fall back to frame indices
        starts, t0, total = np.arange(starts.size, dtype=np.float64), 0.0, float(starts.size)
    midpoints = t0 + (np.arange(k, dtype=np.float64) + 0.5) * total / k
    # The frame on screen at time t is the last one that starts at or before t.
    idx = np.searchsorted(starts, midpoints, side="right") - 1
    return np.clip(idx, 0, starts.size - 1).astype(np.int64)


def every_nth(n_frames: int, step: int) -> np.ndarray:
    """Indices 0, step, 2*step, ... below ``n_frames``."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return np.arange(0, n_frames, step, dtype=np.int64)


def select_indices(
    starts_ms: Sequence[int],
    durations_ms: Sequence[int],
    *,
    max_frames: int | None,
    sampling: str = "uniform",
    step: int = 1,
) -> np.ndarray:
    """The source-frame indices to decode, in time order, for a sampling strategy.

    - ``uniform``: ``max_frames`` frames uniform by time (all frames when ``max_frames`` is None);
    - ``all``: every frame (``max_frames``, if set, must not be exceeded: an error, not a cut);
    - ``every_n``: every ``step``-th frame, then at most ``max_frames`` of those, uniform by time.
    """
    n = len(starts_ms)
    if sampling == "uniform":
        if max_frames is None:
            return np.arange(n, dtype=np.int64)
        return uniform_by_time(starts_ms, durations_ms, max_frames)
    if sampling == "all":
        if max_frames is not None and n > max_frames:
            raise ValueError(f"sampling='all' would return {n} frames, more than max_frames={max_frames}")
        return np.arange(n, dtype=np.int64)
    if sampling == "every_n":
        idx = every_nth(n, step)
        if max_frames is not None and idx.size > max_frames:
            starts = np.asarray(starts_ms)[idx]
            durations = np.diff(np.append(starts, starts_ms[-1] + durations_ms[-1]))
            idx = idx[uniform_by_time(starts, durations, max_frames)]
        return idx
    raise ValueError(f"unknown sampling {sampling!r}; choose one of {', '.join(SAMPLING_STRATEGIES)}")
