"""CLIP-Cut windowing, ranking, time order, ties and short clips, on hand-built embeddings."""

import numpy as np
import pytest

from gifqa.retrieval.clipcut import clipcut_select, rank_windows, window_bounds, window_embeddings
from gifqa.retrieval.encoders import l2_normalize
from tests.retrieval_helpers import unit

D = 4
E = np.eye(D, dtype=np.float32)


def test_window_bounds_groups_threes_and_keeps_leftovers():
    assert window_bounds(7) == [(0, 3), (3, 6), (6, 7)]
    assert window_bounds(6) == [(0, 3), (3, 6)]
    assert window_bounds(2) == [(0, 2)]


def test_window_embedding_is_renormalised_mean_of_normalised_frames():
    frames = np.stack([10 * E[0], E[1], E[1]])  # the large first row must not dominate
    w = window_embeddings(frames)
    assert w.shape == (1, D)
    expected = unit(E[0] + 2 * E[1])
    np.testing.assert_allclose(w[0], expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, atol=1e-6)


def test_top_windows_returned_in_time_order_not_similarity_order():
    # 12 frames = 4 windows.  Query matches window 3 best, then window 0, then 2, then 1.
    q = E[0]
    frames = np.stack(
        [unit([0.8, 0.6, 0, 0])] * 3      # window 0: cos 0.8
        + [unit([0.1, 0, 1, 0])] * 3      # window 1: cos ~0.1
        + [unit([0.5, 0, 0, 0.866])] * 3  # window 2: cos 0.5
        + [unit([1.0, 0.05, 0, 0])] * 3   # window 3: cos ~1
    )
    sel = clipcut_select(frames, q, k=2)
    np.testing.assert_array_equal(sel.window_order, [3, 0, 2, 1])
    assert sel.window_scores[0] > sel.window_scores[1] > sel.window_scores[2]
    # Windows 3 and 0 chosen; returned ascending even though window 3 ranked first.
    assert list(sel.indices) == sorted(sel.indices)
    assert sel.indices[0] in (0, 1, 2) and sel.indices[1] in (9, 10, 11)


def test_representative_is_best_matching_frame_in_window():
    q = E[0]
    frames = np.stack([E[1], unit([0.9, 0.1, 0, 0]), unit([1, 0, 0, 0]),   # window 0: best frame 2
                       E[2], E[2], E[3]])                                   # window 1
    sel = clipcut_select(frames, q, k=1)
    assert list(sel.indices) == [2]


def test_ties_go_to_earlier_window_and_earlier_frame():
    q = E[0]
    same = unit([1, 1, 0, 0])
    frames = np.stack([E[1]] * 3 + [same] * 3 + [same] * 3 + [E[2]] * 3)
    sel = clipcut_select(frames, q, k=1)
    np.testing.assert_array_equal(sel.window_order[:2], [1, 2])
    assert list(sel.indices) == [3]  # window 1, its first frame (all three tie)


def test_cosine_not_l2_or_raw_inner_product():
    # Seed bug: IndexFlatL2 on unnormalised features.  Frame A points almost at the query
    # but has a large norm; frame B is unit length but 25 degrees off.  Under L2 distance B
    # is nearer; under raw inner product A wins by norm.  Cosine must pick A for direction.
    q = E[0]
    a = 5.0 * unit([0.99, 0.141, 0, 0])
    b = unit([0.9, 0, 0.436, 0])
    assert np.linalg.norm(b - q) < np.linalg.norm(a - q)
    frames = np.stack([b, b, b, a, a, a])
    sel = clipcut_select(frames, q, k=1)
    assert sel.window_order[0] == 1 and list(sel.indices) == [3]
    # And a big-norm frame pointing the wrong way must not win on norm.
    frames = np.stack([E[0]] * 3 + [100 * unit([0.5, 0.866, 0, 0])] * 3)
    assert list(clipcut_select(frames, q, k=1).indices) == [0]


def test_fewer_windows_than_k_fills_with_best_remaining_frames():
    # 5 frames = 2 windows, k = 4: both representatives + 2 best other frames, distinct, sorted.
    q = E[0]
    cos = [0.1, 0.9, 0.2, 0.8, 0.7]
    frames = np.stack([unit([c, np.sqrt(1 - c * c), 0, 0]) for c in cos])
    sel = clipcut_select(frames, q, k=4)
    # representatives: window 0 -> frame 1, window 1 -> frame 3; then frames 4 (0.7), 2 (0.2)
    assert list(sel.indices) == [1, 2, 3, 4]
    assert len(set(sel.indices)) == 4


def test_fewer_frames_than_k_pads_by_stretching_never_minus_one():
    q = E[0]
    frames = np.stack([E[0], E[1]])
    sel = clipcut_select(frames, q, k=5)
    assert list(sel.indices) == [0, 0, 0, 1, 1]  # floor(j * 2 / 5)
    assert (sel.indices >= 0).all()
    assert list(clipcut_select(frames, q, k=5, pad=False).indices) == [0, 1]
    one = clipcut_select(E[:1], q, k=3)
    assert list(one.indices) == [0, 0, 0]


def test_exact_k_frames_returns_each_once():
    frames = np.stack([E[i % D] for i in range(4)])
    assert list(clipcut_select(frames, E[0], k=4).indices) == [0, 1, 2, 3]


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        clipcut_select(np.zeros((0, D), np.float32), E[0], k=2)
    with pytest.raises(ValueError):
        clipcut_select(E, E[0], k=0)
    with pytest.raises(ValueError):
        clipcut_select(E, np.ones(D + 1, np.float32), k=1)


def test_rank_windows_ranks_all_with_scores():
    w = l2_normalize(np.stack([E[1], E[0], unit([1, 1, 0, 0])]))
    ids, scores = rank_windows(w, E[0])
    np.testing.assert_array_equal(ids, [1, 2, 0])
    np.testing.assert_allclose(scores, [1.0, 0.70710677, 0.0], atol=1e-6)


def test_random_clips_invariants():
    rng = np.random.default_rng(0)
    for t in range(1, 40):
        for k in (1, 4, 8):
            frames = rng.normal(size=(t, 8)).astype(np.float32)
            q = rng.normal(size=8).astype(np.float32)
            idx = clipcut_select(frames, q, k=k).indices
            assert len(idx) == k
            assert (np.diff(idx) >= 0).all() and idx.min() >= 0 and idx.max() < t
            if t >= k:
                assert len(set(idx.tolist())) == k
