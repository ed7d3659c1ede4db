"""T5 backend with a tiny T5 built from T5Config and a sentencepiece vocabulary trained in the test."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers", reason="transformers is not installed (pip install -e '.[model]')")
pytest.importorskip("sentencepiece")

from gifqa.errors import ModelNotFoundError  # noqa: E402
from gifqa.qagen.backends import QGItem  # noqa: E402
from gifqa.qagen.backends.t5 import DEFAULT_PROMPT, T5Backend, T5Config, build_prompt, clean_output  # noqa: E402
from gifqa.qagen.candidates import Candidate  # noqa: E402
from tests.data_helpers import tiny_t5_dir  # noqa: E402


@pytest.fixture()
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_prompt_format_matches_the_model_card():
    assert DEFAULT_PROMPT == "answer: {answer}  context: {context} </s>"
    assert build_prompt(DEFAULT_PROMPT, "ball", "a man is holding a ball .") == (
        "answer: ball  context: a man is holding a ball . </s>"
    )
    assert clean_output("question: What is the man holding?") == "What is the man holding?"


def test_tiny_t5_loads_through_from_pretrained_and_generates(tmp_path, offline):
    folder = tiny_t5_dir(tmp_path)
    backend = T5Backend.from_pretrained(T5Config(model=str(folder), batch_size=2, max_new_tokens=5, num_beams=2, device="cpu"))
    items = [
        QGItem("a man is holding a red ball .", Candidate("red", "color", "red", 4, 5, 4)),
        QGItem("two dogs are running in a park .", Candidate("two", "number", "two", 0, 1, 0)),
        QGItem("a woman dancing on a stage .", Candidate("woman", "living", "woman", 1, 2, 1)),
    ]
    assert backend.prompts(items)[0] == "answer: red  context: a man is holding a red ball . </s>"
    seen = []
    real = backend.tokenizer.__class__.__call__

    def spy(self, texts, *args, **kwargs):
        seen.extend(texts)
        return real(self, texts, *args, **kwargs)

    backend.tokenizer.__class__.__call__ = spy
    try:
        out = backend.generate(items)
    finally:
        backend.tokenizer.__class__.__call__ = real
    assert seen == backend.prompts(items)  # what reaches the model, in two batches
    assert len(out) == 3 and all(q is None or isinstance(q, str) for q in out)


def test_t5_through_the_pipeline(tmp_path, offline):
    pytest.importorskip("spacy")
    from gifqa.qagen.candidates import load_spacy
    from gifqa.qagen.pipeline import GenConfig, generate_qa

    try:
        nlp = load_spacy()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    backend = T5Backend.from_pretrained(T5Config(model=str(tiny_t5_dir(tmp_path)), max_new_tokens=4, num_beams=1))
    src = tmp_path / "in.tsv"
    src.write_text("g1\ta man is holding a red ball .\n")
    out = tmp_path / "out.jsonl"
    summary = generate_qa(src, out, backend, nlp, GenConfig(), progress=False)
    assert summary.backend == "t5" and summary.candidates > 0
    assert summary.kept + sum(summary.filtered.values()) == summary.candidates
    for line in out.read_text().splitlines():
        assert json.loads(line)["backend"] == "t5"


def test_missing_weights_raise_model_not_found(tmp_path, offline):
    with pytest.raises(ModelNotFoundError, match="cannot load question-generation model"):
        T5Backend.from_pretrained(T5Config(model="no-such-org/no-such-model"))
