"""`gifqa score` on the official test files: perfect, constant and broken prediction files."""

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from gifqa.data.tgifqa import load_tgifqa
from gifqa.errors import DataError
from gifqa.evaluation.scoring import read_predictions, score_file
from tests.shared_data import REPO, requires_shared, shared

ANN = shared("tgif-qa")


def write_preds(path, pairs):
    with open(path, "w") as fh:
        for vid, pred in pairs:
            fh.write(json.dumps({"vid_id": vid, "prediction": pred}) + "\n")
    return path


@requires_shared("tgif-qa")
@pytest.mark.parametrize("task", ["action", "transition", "frameqa"])
def test_perfect_predictions_score_one(tmp_path, task):
    records = load_tgifqa(task, "test", ANN)
    answer = (lambda r: r.answer_index) if task != "frameqa" else (lambda r: r.answer)
    result = score_file(task, write_preds(tmp_path / "p.jsonl", [(r.vid_id, answer(r)) for r in records]), ANN)
    assert result["accuracy"] == 1.0 and result["n_missing"] == 0
    assert result["n"] == {"action": 2274, "transition": 6232, "frameqa": 13691}[task]
    if task == "frameqa":
        assert result["accuracy_by_type"] == {"object": 1.0, "number": 1.0, "color": 1.0, "location": 1.0}


@requires_shared("tgif-qa")
def test_count_perfect_hits_clamp_floor_and_constant_by_hand(tmp_path):
    records = load_tgifqa("count", "test", ANN)
    perfect = score_file("count", write_preds(tmp_path / "p.jsonl", [(r.vid_id, r.answer) for r in records]), ANN)
    # README: 918 of the 3,554 test answers are 0, and the clamp makes each cost 1.
    assert perfect["mse"] == pytest.approx(918 / 3554) == perfect["mse_floor"]
    assert perfect["mse_unclamped"] == 0.0
    # Constant 2, by hand from the README's answer counts:
    # 4*918 + 0*914 + 1*582 + 4*394 + 9*222 + 16*161 + 25*85 + 36*73 + 49*41 + 64*164 = 27662
    const = score_file("count", write_preds(tmp_path / "c.jsonl", [(r.vid_id, 2) for r in records]), ANN)
    assert const["mse"] == pytest.approx(27662 / 3554)


@requires_shared("tgif-qa")
def test_constant_option_accuracy_equals_share(tmp_path):
    records = load_tgifqa("action", "test", ANN)
    share = Counter(r.answer_index for r in records)[0] / len(records)
    result = score_file("action", write_preds(tmp_path / "p.jsonl", [(r.vid_id, 0) for r in records]), ANN)
    assert result["accuracy"] == pytest.approx(share)


@requires_shared("tgif-qa")
def test_missing_duplicate_unknown_reported(tmp_path):
    records = load_tgifqa("action", "test", ANN)
    pairs = [(r.vid_id, r.answer_index) for r in records[:-10]]  # 10 missing
    pairs += [(records[0].vid_id, (records[0].answer_index + 1) % 5), ("NOT_A_VID", 1)]
    result = score_file("action", write_preds(tmp_path / "p.jsonl", pairs), ANN)
    assert result["n_missing"] == 10 and result["n_duplicate"] == 1 and result["n_unknown"] == 1
    assert result["accuracy"] == pytest.approx((len(records) - 10) / len(records))  # first prediction kept
    assert result["unknown"] == ["NOT_A_VID"]


def test_bad_predictions_file_names_the_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"vid_id": "A1", "prediction": 1}\nnot json\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: not JSON"):
        read_predictions(p)
    p.write_text('{"vid": "A1"}\n')
    with pytest.raises(DataError, match=r":1: each line needs"):
        read_predictions(p)


@requires_shared("tgif-qa")
def test_cli_json_schema(tmp_path):
    records = load_tgifqa("frameqa", "test", ANN)[:100]
    path = write_preds(tmp_path / "p.jsonl", [(r.vid_id, r.answer) for r in records])
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(
        [sys.executable, "-m", "gifqa", "score", "--task", "frameqa", "--predictions", str(path), "--annotations", str(ANN), "--json"],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"task", "n", "n_missing", "accuracy", "accuracy_by_type"} <= set(out)
    assert out["n"] == 13691 and out["n_missing"] == 13591
    r = subprocess.run(
        [sys.executable, "-m", "gifqa", "score", "--task", "count", "--predictions", str(tmp_path / "nope.jsonl"), "--annotations", str(ANN)],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 1 and r.stderr.startswith("gifqa: error:") and "nope.jsonl" in r.stderr
