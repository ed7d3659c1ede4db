"""gifqa.ask.Answerer in-process: frame tokens reused per clip, same answers as a fresh model."""

import pytest

torch = pytest.importorskip("torch", reason="the model extra is not installed (pip install -e '.[model]')")

from gifqa.ask import Answerer  # noqa: E402
from tests.media_helpers import moving_square_frames, write_gif  # noqa: E402


@pytest.fixture(scope="module")
def gif(tmp_path_factory):
    return write_gif(tmp_path_factory.mktemp("g") / "sq.gif", moving_square_frames(10))


def test_second_question_reuses_frame_tokens_and_matches_a_fresh_run(gif):
    a = Answerer.load("tiny", device="cpu", frames=4)
    first = a.ask(str(gif), "what is it?")
    assert first.timing_ms["vision"] > 0 and first.timing_ms["projector"] > 0
    second = a.ask(str(gif), "what does the square do?", options=["slide", "spin", "grow"])
    third = a.ask(str(gif), "how many times does it move?")
    # vision tower and Q-Former ran once for the clip; later questions paid for the LLM only
    assert a.frame_tokens.hits == 2
    for r in (second, third):
        assert r.timing_ms["vision"] < 1.0 and r.timing_ms["projector"] == 0.0 and r.timing_ms["decode"] == 0.0
    fresh = Answerer.load("tiny", device="cpu", frames=4)
    ref = fresh.ask(str(gif), "what does the square do?", options=["slide", "spin", "grow"])
    assert ref.answer == second.answer
    assert ref.scores == pytest.approx(second.scores, abs=1e-4)
    assert fresh.ask(str(gif), "how many times does it move?").answer == third.answer
    caption = a.caption(str(gif))  # same clip tensor: memo hit
    assert a.frame_tokens.hits == 3 and caption.answer == fresh.caption(str(gif)).answer


def test_other_clips_are_encoded(gif, tmp_path):
    other = write_gif(tmp_path / "o.gif", moving_square_frames(6, square=12))
    a = Answerer.load("tiny", device="cpu", frames=4)
    a.ask(str(gif), "what is it?")
    r = a.ask(str(other), "what is it?")
    assert a.frame_tokens.hits == 0 and r.timing_ms["projector"] > 0
