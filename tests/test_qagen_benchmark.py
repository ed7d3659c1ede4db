"""eval/qagen_benchmark.py on the first rows of the real FrameQA test file."""

from __future__ import annotations

import importlib.util
import json

import pytest

from gifqa.errors import ModelNotFoundError
from tests.shared_data import REPO, requires_shared, shared

pytest.importorskip("spacy")


def _load_script():
    spec = importlib.util.spec_from_file_location("qagen_benchmark", REPO / "eval" / "qagen_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_match_uses_answer_or_head():
    from gifqa.qagen.candidates import Candidate

    bench = _load_script()
    cands = [Candidate("in a machine", "prep_phrase", "machine", 5, 8, 7), Candidate("machine", "noun", "machine", 7, 8, 7)]
    assert bench.match(cands, "Machine", "location") == (True, True, cands[0])
    assert bench.match(cands, "machine", "object")[2] is cands[1]
    assert bench.match(cands, "box", "object") == (False, False, None)


@requires_shared("tgif-qa")
def test_benchmark_runs_on_real_rows(tmp_path, capsys):
    bench = _load_script()
    try:
        code = bench.main(["--annotations", str(shared("tgif-qa")), "--limit", "60", "--out", str(tmp_path / "r.json")])
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    assert code == 0
    results = json.loads((tmp_path / "r.json").read_text())
    overall = results["per_type"]["all"]
    assert overall["rows"] == 60 and 0.5 < overall["candidate_recall"] <= 1.0
    assert 0.0 < overall["rouge_l"] <= 1.0 and overall["questions_scored"] > 0
    assert "| object |" in capsys.readouterr().out
