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


@pytest.fixture
def cli(capsys, monkeypatch):
    """The gifqa CLI in this process (imports paid once), hub offline: ``cli(*argv)`` -> an object with
    ``returncode``, ``stdout`` and ``stderr`` (bytes, as from a subprocess)."""
    import types

    from gifqa.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def run(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=captured.out.encode(), stderr=captured.err.encode())

    return run
