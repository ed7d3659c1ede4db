"""Rule-based question generation on the real spaCy parse."""

from __future__ import annotations

import pytest

pytest.importorskip("spacy")

from gifqa.qagen.backends import QGItem  # noqa: E402
from gifqa.qagen.backends.offline import OfflineBackend  # noqa: E402
from gifqa.qagen.candidates import extract_candidates  # noqa: E402


def _questions(nlp, sentence):
    doc = nlp(sentence)
    cands = extract_candidates(doc)
    qs = OfflineBackend().generate([QGItem(sentence, c, doc) for c in cands])
    return {(c.category, c.answer): q for c, q in zip(cands, qs)}


def test_object_living_verb_colour_questions(nlp):
    q = _questions(nlp, "a man is holding a red ball .")
    assert q[("noun", "red ball")] == "What is the man holding?"
    assert q[("living", "man")] == "Who is holding the red ball?"
    assert q[("verb", "holding")] == "What is the man doing?"
    assert q[("color", "red")] == "What color is the ball?"


def test_where_how_many_and_do_support(nlp):
    q = _questions(nlp, "two dogs are running in a park .")
    assert q[("prep_phrase", "in a park")] == "Where are two dogs running?"
    assert q[("number", "two")] == "How many dogs are running in the park?"
    q = _questions(nlp, "a man puts a cigarette into his mouth and smiles .")
    assert q[("noun", "cigarette")] == "What does the man put into his mouth?"
    assert q[("verb", "puts")] == "What does the man do?"


def test_fragment_sentence_gets_a_copula(nlp):
    q = _questions(nlp, "a woman dancing on a stage .")
    assert q[("living", "woman")] == "Who is dancing on the stage?"
    assert q[("prep_phrase", "on a stage")] == "Where is the woman dancing?"


def test_no_question_for_phrase_inside_subject(nlp):
    q = _questions(nlp, "two men with black coats are exiting a room .")
    assert q[("noun", "black coats")] is None
    assert q[("color", "black")] == "What color are the coats?"


def test_backend_needs_the_parse():
    from gifqa.qagen.candidates import Candidate

    with pytest.raises(ValueError, match="spaCy Doc"):
        OfflineBackend().generate([QGItem("a cat .", Candidate("cat", "living", "cat", 1, 2, 1))])
