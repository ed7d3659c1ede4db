"""`gifqa eval` end to end: tiny model on generated shapes GIFs, baselines, coverage, task snapshots."""

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from gifqa.data.tgifqa import load_tgifqa
from gifqa.evaluation.tasks import get_tasks, load_tasks
from gifqa.model import prompts
from gifqa.shapes import generate_dataset
from tests.shared_data import REPO, requires_shared, shared


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    generate_dataset(out, n_train=6, n_val=2, n_test=4, n_compositional=2, seed=5)
    return out


def gifqa(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "gifqa", *map(str, args)], capture_output=True, text=True, env=env)


def validate_results(results: dict, task_names):
    assert results["schema"] == 1 and set(results["tasks"]) == set(task_names)
    assert {"python", "gifqa", "torch"} <= set(results["versions"])
    for name, r in results["tasks"].items():
        assert r["version"] >= 1 and r["split"] in ("test", "val", "train")
        cov = r["coverage"]
        assert 0 <= cov["n_with_media"] <= cov["n_records"] and cov["n_predicted"] <= cov["n_records"]
        m = r["metrics"]
        assert m["n"] == cov["n_records"]
        if name.endswith("count"):
            assert m["mse"] >= 0 and m["mse_unclamped"] >= 0
        else:
            assert 0.0 <= m["accuracy"] <= 1.0


def test_eval_tiny_model_end_to_end(shapes, tmp_path):
    gif = shapes / "gifs" / "shapes_test_000003.gif"
    gif.unlink()  # one GIF missing: coverage must say so, its questions count as wrong
    run = tmp_path / "run"
    r = gifqa("eval", "--model", "tiny", "--tasks", "tgif-qa", "--annotations", shapes / "test",
              "--gif-dir", shapes / "gifs", "--out", run, "--frames", "4")
    assert r.returncode == 0, r.stderr
    results = json.loads((run / "results.json").read_text())
    validate_results(results, [t.name for t in get_tasks("tgif-qa")])
    action = results["tasks"]["tgif-qa/action"]
    assert action["coverage"] == {**action["coverage"], "n_records": 4, "n_with_media": 3, "n_predicted": 3}
    assert action["coverage"]["missing_gifs"] == ["shapes_test_000003"]
    assert action["metrics"]["n_missing"] == 1
    assert results["config"]["frames"] == 4 and len(results["config"]["model_sha256"]) == 64
    assert results["config"]["count_decode"] == "mean"  # the default, recorded
    preds = [json.loads(x) for x in (run / "tgif-qa_action" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 3 and all(0 <= p["prediction"] <= 4 and len(p["scores"]) == 5 for p in preds)
    # argmax of the recorded scores is the prediction (MC by likelihood, not text parsing)
    assert all(p["prediction"] == max(range(5), key=lambda i: p["scores"][i]) for p in preds)
    counts = [json.loads(x)["prediction"] for x in (run / "tgif-qa_count" / "predictions.jsonl").read_text().splitlines()]
    assert all(isinstance(c, int) and 0 <= c <= 10 for c in counts)
    assert "tgif-qa/frameqa" in (run / "results.md").read_text()
    # refuses to overwrite
    again = gifqa("eval", "--model", "tiny", "--tasks", "tgif-qa/action", "--annotations", shapes / "test",
                  "--gif-dir", shapes / "gifs", "--out", run)
    assert again.returncode == 1 and "exists" in again.stderr


def test_prior_baseline_on_shapes_by_hand(shapes, tmp_path):
    run = tmp_path / "prior"
    r = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif-qa/count,tgif-qa/frameqa",
              "--annotations", shapes / "test", "--train-annotations", shapes / "train", "--out", run)
    assert r.returncode == 0, r.stderr
    res = json.loads((run / "results.json").read_text())
    train_counts = [x.answer for x in load_tgifqa("count", "train_full", shapes / "train")]
    mode = Counter(train_counts).most_common(1)[0][0]
    mode = next(v for v in train_counts if train_counts.count(v) == train_counts.count(mode))  # first-seen tie-break
    test_counts = [x.answer for x in load_tgifqa("count", "test", shapes / "test")]
    expect = sum((max(1, min(10, mode)) - g) ** 2 for g in test_counts) / len(test_counts)
    assert res["tasks"]["tgif-qa/count"]["metrics"]["mse"] == pytest.approx(expect)
    # FrameQA prior is per question type: "how many shapes" gets the most frequent number word
    preds = [json.loads(x) for x in (run / "tgif-qa_frameqa" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 16  # baselines need no media: every record is predicted


@requires_shared("tgif-qa")
def test_random_and_prior_on_official_action(tmp_path):
    ann = shared("tgif-qa")
    prior = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif-qa/action", "--annotations", ann,
                  "--out", tmp_path / "p")
    assert prior.returncode == 0, prior.stderr
    res = json.loads((tmp_path / "p" / "results.json").read_text())["tasks"]["tgif-qa/action"]
    train = [r.answer_index for r in load_tgifqa("action", "train_full", ann)]
    test = [r.answer_index for r in load_tgifqa("action", "test", ann)]
    mode = Counter(train).most_common(1)[0][0]
    assert res["metrics"]["accuracy"] == pytest.approx(sum(1 for t in test if t == mode) / len(test))
    assert res["coverage"]["n_with_media"] == 0  # no GIF pixels in ../shared: coverage says so
    gifqa("eval", "--model", "baseline:random", "--tasks", "tgif-qa/action", "--annotations", ann, "--out", tmp_path / "r")
    acc = json.loads((tmp_path / "r" / "results.json").read_text())["tasks"]["tgif-qa/action"]["metrics"]["accuracy"]
    assert 0.15 < acc < 0.25  # 2,274 uniform guesses among 5 options


def test_prior_needs_train_file(tmp_path, shapes):
    r = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif-qa/action", "--annotations", shapes / "test", "--out", tmp_path / "x")
    assert r.returncode == 1 and "needs the training file" in r.stderr


# Snapshot of every task's full prompt for one question: a change here needs a version bump.
SNAPSHOT = {
    "tgif-qa/action": (1, "Question: What does the man do 3 times ? Answer:"),
    "tgif-qa/transition": (1, "Question: What does the man do 3 times ? Answer:"),
    "tgif-qa/frameqa": (1, "Question: What does the man do 3 times ? Answer:"),
    "tgif-qa/count": (2, "Question: What does the man do 3 times ? Answer:"),  # v2: mean decoding
    "tgif/caption": (1, "A short description of the GIF:"),  # model.caption's prompt; no question
    "reactiongif/reaction": (1, None),  # the reaction head reads no text
}


def test_task_prompts_snapshot():
    class Rec:
        question = "What does the man do 3 times ?"

    tasks = load_tasks()
    assert set(tasks) == set(SNAPSHOT)
    for name, (version, prompt) in SNAPSHOT.items():
        spec = tasks[name]
        assert spec.version == version
        if spec.output == "caption":
            assert spec.render(Rec()) == "" and prompts.CAPTION_PROMPT == prompt, name
        elif spec.output == "reaction":
            assert spec.render(Rec()) == "" and prompt is None, name
        else:
            assert prompts.question_prompt(spec.render(Rec())) == prompt, name


def test_unknown_task_is_a_usage_error(tmp_path):
    r = gifqa("eval", "--model", "baseline:random", "--tasks", "tgif-qa/nope", "--annotations", tmp_path, "--out", tmp_path / "o")
    assert r.returncode == 1 and "unknown task" in r.stderr
