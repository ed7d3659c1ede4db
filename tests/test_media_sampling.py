"""Frame selection: hand-computed cases for uniform-by-time, every-n and all."""

import numpy as np
import pytest

from gifqa.media.sampling import browser_duration_ms, select_indices, timeline, uniform_by_time


def test_browser_delay_rule():
    # 0 and 1 cs (0 and 10 ms) play as 100 ms in browsers; 2 cs is kept.
    assert [browser_duration_ms(d) for d in (0, 10, 20, 70)] == [100, 100, 20, 70]


def test_timeline_starts_are_cumulative():
    starts, durs = timeline([100, 50, 200])
    assert starts.tolist() == [0, 100, 150]
    assert durs.tolist() == [100, 50, 200]


def test_uniform_by_time_equal_delays_matches_index_midpoints():
    starts, durs = timeline([100] * 10)
    # 4 slices of 250 ms, midpoints 125, 375, 625, 875 ms -> frames 1, 3, 6, 8.
    assert uniform_by_time(starts, durs, 4).tolist() == [1, 3, 6, 8]


def test_uniform_by_time_follows_time_not_index():
    # Frame 0 is shown for 900 ms, frames 1..9 for 100 ms each: 1800 ms in all.  Index
    # sampling would spread over frames 1..9; time sampling gives frame 0 half the samples.
    starts, durs = timeline([900] + [100] * 9)
    idx = uniform_by_time(starts, durs, 4)  # midpoints 225, 675, 1125, 1575
    assert idx.tolist() == [0, 0, 3, 7]


def test_uniform_returns_exactly_k_even_for_short_clips():
    starts, durs = timeline([100, 100])
    # midpoints 20, 60, 100, 140, 180 ms; at 100 ms frame 1 has just started
    assert uniform_by_time(starts, durs, 5).tolist() == [0, 0, 1, 1, 1]


def test_uniform_all_zero_durations_falls_back_to_indices():
    idx = uniform_by_time([0, 0, 0, 0], [0, 0, 0, 0], 2)
    assert idx.tolist() == [1, 3]


def test_uniform_rejects_nonpositive_k():
    with pytest.raises(ValueError):
        uniform_by_time([0], [100], 0)


def test_select_indices_strategies():
    starts, durs = timeline([100] * 10)
    assert select_indices(starts, durs, max_frames=None).tolist() == list(range(10))
    assert select_indices(starts, durs, max_frames=None, sampling="all").tolist() == list(range(10))
    assert select_indices(starts, durs, max_frames=None, sampling="every_n", step=3).tolist() == [0, 3, 6, 9]
    # every 2nd frame (0,2,4,6,8), then 2 of those uniform by time -> 2 and 6
    assert select_indices(starts, durs, max_frames=2, sampling="every_n", step=2).tolist() == [2, 6]
    with pytest.raises(ValueError, match="more than max_frames"):
        select_indices(starts, durs, max_frames=3, sampling="all")
    with pytest.raises(ValueError, match="unknown sampling"):
        select_indices(starts, durs, max_frames=3, sampling="random")


def test_indices_are_in_time_order():
    rng = np.random.default_rng(0)
    starts, durs = timeline(rng.integers(20, 500, size=50))
    for k in (1, 3, 8, 16, 64):
        idx = uniform_by_time(starts, durs, k)
        assert len(idx) == k and np.all(np.diff(idx) >= 0)


def test_uniform_by_time_of_a_sub_clip_counts_from_its_first_frame():
    # frames picked from the middle of a longer clip start at 1000 ms, not 0
    assert uniform_by_time([1000, 1100], [100, 100], 4).tolist() == [0, 0, 1, 1]
