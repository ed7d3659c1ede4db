"""gifqa.workers.ordered_map: the forked pool that renders the shapes world and decodes clips for
step 1 and the feature cache (their own tests check that the pool changes none of their output)."""

from __future__ import annotations

import os
import pickle

import pytest

from gifqa import workers
from gifqa.errors import DataError, MediaError, MediaLimitError, TruncatedMediaError


def _square(x):
    return x * x


def _pid(_):
    return os.getpid()


def _fail_at_40(x):
    if x == 40:
        raise TruncatedMediaError(f"clip{x}.gif", "ends early", frames_complete=3, hint="pass allow_truncated")
    return x


def test_results_come_back_in_order_from_other_processes():
    with workers.ordered_map(_square, range(100), 2, min_items=10) as out:
        assert list(out) == [x * x for x in range(100)]
    if not workers.can_fork():
        pytest.skip("no forked pool on this platform: the map runs in this process")
    with workers.ordered_map(_pid, range(40), 2, min_items=10, chunksize=1) as out:
        assert os.getpid() not in set(out)


@pytest.mark.parametrize("n, n_workers", [(5, 2), (100, 1)])
def test_short_lists_and_one_worker_run_in_this_process(n, n_workers):
    with workers.ordered_map(_pid, range(n), n_workers, min_items=10) as out:
        assert set(out) == {os.getpid()}


def test_an_error_in_a_worker_arrives_whole():
    with pytest.raises(TruncatedMediaError) as err:
        with workers.ordered_map(_fail_at_40, range(64), 2, min_items=10) as out:
            list(out)
    assert err.value.path == "clip40.gif" and err.value.frames_complete == 3
    assert str(err.value) == "clip40.gif: ends early (pass allow_truncated)"


@pytest.mark.parametrize("error", [
    MediaError(None, "not a GIF", "convert it"), MediaLimitError("a.gif", "over 512 frames"),
    TruncatedMediaError("b.gif", "ends early", frames_complete=2), DataError("q.csv", "no answer column", line=3),
])
def test_errors_pickle_with_their_fields(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error) and vars(back) == vars(error)
