"""Fixtures shared by several test modules."""

import pytest


@pytest.fixture(scope="session")
def nlp():
    """The small English spaCy pipeline (skips, with the reason, where neither package is installed)."""
    pytest.importorskip("spacy", reason="spaCy is not installed (pip install -e '.[qagen]')")
    from gifqa.errors import ModelNotFoundError
    from gifqa.qagen.candidates import load_spacy

    try:
        return load_spacy()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
