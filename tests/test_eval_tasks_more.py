"""`gifqa eval` beyond TGIF-QA QA: captioning, reactions, the zero-shot CLIP baseline, and two processes."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from gifqa.data.reactiongif import LABELS
from gifqa.data.tgifqa import load_tgifqa
from gifqa.evaluation.predictors import COUNT_TEMPLATE, FRAMEQA_TEMPLATES, ClipZeroShot
from gifqa.evaluation.reactions import load_reaction_items
from gifqa.evaluation.tasks import load_tasks
from gifqa.shapes import generate_dataset
from tests.retrieval_helpers import StubEncoder, save_tiny_clip, unit
from tests.shared_data import REPO, requires_java

pytest.importorskip("pycocoevalcap", reason="caption metrics need pycocoevalcap (pip install -e '.[eval]')")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    generate_dataset(out, n_train=6, n_val=2, n_test=4, n_compositional=2, seed=5)
    (out / "test_ids.txt").write_text("".join(f"shapes_test_{i:06d}.gif\n" for i in range(4)))
    return out


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


def gifqa(*args, cache=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    if cache is not None:
        env["GIFQA_CACHE"] = str(cache)
    return subprocess.run([sys.executable, "-m", "gifqa", *map(str, args)], capture_output=True, text=True, env=env)


def rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def caption_reaction_args(shapes):
    return ["--references", shapes / "descriptions.tsv", "--caption-ids", shapes / "test_ids.txt",
            "--reactions", shapes / "reactions.jsonl"]


@requires_java
def test_tiny_model_captions_and_reactions(shapes, tmp_path):
    from gifqa.evaluation.captions import caption_scores, load_caption_items

    run = tmp_path / "run"
    r = gifqa("eval", "--model", "tiny", "--tasks", "tgif/caption,reactiongif", *caption_reaction_args(shapes),
              "--gif-dir", shapes / "gifs", "--out", run, "--frames", "4", "--batch-size", "3")
    assert r.returncode == 0, r.stderr
    res = json.loads((run / "results.json").read_text())
    assert set(res["tasks"]) == {"tgif/caption", "reactiongif/reaction"}
    cap = res["tasks"]["tgif/caption"]
    assert cap["coverage"]["n_records"] == 4 and cap["coverage"]["n_predicted"] == 4 and cap["metrics"]["n_missing"] == 0
    # the results are the pure metric of the predictions file (nothing else feeds them)
    preds = {p["vid_id"]: p["prediction"] for p in rows(run / "tgif_caption" / "predictions.jsonl")}
    items = load_caption_items(shapes / "descriptions.tsv", shapes / "test_ids.txt")
    expect = caption_scores(preds, {c.vid_id: c.references for c in items})
    for k in ("bleu_1", "bleu_4", "meteor", "rouge_l", "cider"):
        assert cap["metrics"][k] == pytest.approx(expect[k]), k
    react = rows(run / "reactiongif_reaction" / "predictions.jsonl")
    assert [p["vid_id"] for p in react] == [f"shapes_test_{i:06d}" for i in range(4)]
    for p in react:
        assert p["prediction"] in LABELS and 0.0 <= p["p_positive"] <= 1.0
        assert p["sentiment"] == ("positive" if p["p_positive"] >= 0.5 else "negative")
    m = res["tasks"]["reactiongif/reaction"]["metrics"]
    assert {"accuracy", "macro_f1", "sentiment_accuracy", "emotion_micro_f1"} <= set(m)
    md = (run / "results.md").read_text()
    assert "CIDEr" in md and "macro-F1" in md


@requires_java
def test_prior_and_random_baselines_for_captions_and_reactions(shapes, tmp_path):
    run = tmp_path / "prior"
    r = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif/caption,reactiongif/reaction",
              *caption_reaction_args(shapes), "--out", run)
    assert r.returncode == 0, r.stderr
    res = json.loads((run / "results.json").read_text())["tasks"]
    train = [x.label for x in load_reaction_items(shapes / "reactions.jsonl", "train")]
    counts = Counter(train)
    mode = next(x for x in train if counts[x] == max(counts.values()))  # ties: first seen
    test = [x.label for x in load_reaction_items(shapes / "reactions.jsonl", "test")]
    assert res["reactiongif/reaction"]["metrics"]["accuracy"] == pytest.approx(sum(t == mode for t in test) / len(test))
    # the caption prior is one caption of a GIF that is not evaluated, for every clip
    caps = {p["prediction"] for p in rows(run / "tgif_caption" / "predictions.jsonl")}
    test_caps = {line.split("\t")[1] for line in (shapes / "descriptions.tsv").read_text().splitlines()
                 if line.startswith("shapes_test_0")}
    assert len(caps) == 1 and not caps & test_caps
    rnd = gifqa("eval", "--model", "baseline:random", "--tasks", "reactiongif", "--reactions", shapes / "reactions.jsonl",
                "--out", tmp_path / "rnd")
    assert rnd.returncode == 0, rnd.stderr
    assert all(p["prediction"] in LABELS for p in rows(tmp_path / "rnd" / "reactiongif_reaction" / "predictions.jsonl"))
    # captions without --caption-ids: every referenced GIF is evaluated, nothing left to draw a prior from
    bad = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif/caption", "--references",
                shapes / "descriptions.tsv", "--out", tmp_path / "bad")
    assert bad.returncode == 1 and "--caption-ids" in bad.stderr
    nosrc = gifqa("eval", "--model", "baseline:random", "--tasks", "reactiongif", "--out", tmp_path / "x")
    assert nosrc.returncode == 1 and "--reactions" in nosrc.stderr


class FixedClip(ClipZeroShot):
    """The clip embedding is given; text embeddings come from a stub encoder."""

    def __init__(self, clip_vec, encoder, **kw):
        super().__init__(encoder, **kw)
        self.vec = unit(clip_vec)

    def clip_embedding(self, path):
        return self.vec


def test_clip_zero_shot_ranks_by_cosine():
    options = ["nod head", "shake head", "spin", "jump", "wave"]
    table = {o: unit([1.0, 0.0, 0.0]) for o in options}
    table["spin"] = unit([0.2, 1.0, 0.0])  # the one option pointing at the clip
    vocab = {"color": ["red", "blue"], "object": ["cat"]}
    table[FRAMEQA_TEMPLATES["color"].format(answer="red")] = unit([1.0, 0.0, 0.0])
    table[FRAMEQA_TEMPLATES["color"].format(answer="blue")] = unit([0.0, 1.0, 0.1])
    q = "how many times does the circle spin ?"
    for n in range(11):
        table[COUNT_TEMPLATE.format(question=q, n=n)] = unit([1.0, 0.0, 1.0 if n == 7 else 0.0])
    enc = StubEncoder({0: [1.0, 0.0, 0.0]}, table)
    p = FixedClip([0.0, 1.0, 0.5], enc, vocabulary=vocab)
    idx, scores = p.choice("clip", "what does the square do ?", options)
    assert idx == 2 and len(scores) == 5 and scores[2] == max(scores)
    # FrameQA: only the question type's vocabulary, in its template
    assert p.text(["clip"], ["what colour is the square ?"], 8, types=["color"]) == ["blue"]
    assert p.count("clip", q) == 7
    calls = enc.text_calls
    p.choice("clip", "again", options)  # text embeddings are reused
    assert enc.text_calls == calls


@requires_java
def test_clip_baseline_end_to_end(shapes, clip_dir, tmp_path):
    run = tmp_path / "clip"
    cache = tmp_path / "cache"
    r = gifqa("eval", "--model", "baseline:clip", "--clip-model", clip_dir, "--tasks",
              "tgif-qa,tgif/caption,reactiongif", "--annotations", shapes / "test", "--train-annotations",
              shapes / "train", *caption_reaction_args(shapes), "--gif-dir", shapes / "gifs", "--frames", "4",
              "--out", run, cache=cache)
    assert r.returncode == 0, r.stderr
    res = json.loads((run / "results.json").read_text())
    assert set(res["tasks"]) == set(load_tasks()) and res["config"]["clip_model"] == str(clip_dir)
    for p in rows(run / "tgif-qa_action" / "predictions.jsonl"):
        assert p["prediction"] == int(np.argmax(p["scores"])) and len(p["scores"]) == 5
    vocab = {}
    for x in load_tgifqa("frameqa", "train_full", shapes / "train"):
        vocab.setdefault(x.answer_type, set()).add(x.answer)
    gold = {x.vid_id: x.answer_type for x in load_tgifqa("frameqa", "test", shapes / "test")}
    for p in rows(run / "tgif-qa_frameqa" / "predictions.jsonl"):
        assert p["prediction"] in vocab[gold[p["vid_id"]]]
    assert all(0 <= p["prediction"] <= 10 for p in rows(run / "tgif-qa_count" / "predictions.jsonl"))
    assert all(p["prediction"] in LABELS for p in rows(run / "reactiongif_reaction" / "predictions.jsonl"))
    # frame embeddings were cached on disk (keyed by file content): one entry per test GIF
    assert len(list((cache / "embeddings").rglob("*.npy"))) == 4
    no_model = gifqa("eval", "--model", "baseline:clip", "--tasks", "reactiongif", "--reactions",
                     shapes / "reactions.jsonl", "--gif-dir", shapes / "gifs", "--out", tmp_path / "n")
    assert no_model.returncode == 1 and "--clip-model" in no_model.stderr


@pytest.mark.skipif(shutil.which("accelerate") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "accelerate")),
                    reason="accelerate launcher not installed")
def test_two_processes_equal_one(shapes, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` (2 gloo CPU processes without CUDA):
    every record predicted exactly once, in record order, with the single-process metrics."""
    tasks = "tgif-qa/action,tgif-qa/count,tgif-qa/frameqa,reactiongif"
    common = ["eval", "--model", "tiny", "--tasks", tasks, "--annotations", shapes / "test", "--reactions",
              shapes / "reactions.jsonl", "--gif-dir", shapes / "gifs", "--frames", "4", "--quiet"]
    one = gifqa(*common, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    launcher = os.path.join(os.path.dirname(sys.executable), "accelerate")
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    two = subprocess.run([launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
                          "-m", "gifqa", *map(str, common), "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    r1 = json.loads((tmp_path / "one" / "results.json").read_text())["tasks"]
    r2 = json.loads((tmp_path / "two" / "results.json").read_text())["tasks"]
    assert set(r1) == set(r2)
    for name in r1:
        folder = name.replace("/", "_")
        p1 = rows(tmp_path / "one" / folder / "predictions.jsonl")
        p2 = rows(tmp_path / "two" / folder / "predictions.jsonl")
        ids = [p["vid_id"] for p in p2]
        assert len(ids) == len(set(ids)) == r1[name]["coverage"]["n_records"]  # none lost, none twice
        assert [p["vid_id"] for p in p1] == ids and [p["prediction"] for p in p1] == [p["prediction"] for p in p2]
        assert r1[name]["metrics"] == r2[name]["metrics"], name
        assert not list((tmp_path / "two" / folder).glob("*.rank*.jsonl"))  # per-rank parts merged away


def test_random_frameqa_needs_a_vocabulary(shapes, tmp_path):
    vocab = tmp_path / "vocab.tsv"
    vocab.write_text("index\tanswer\n0\tred\n1\tcircle\n")
    r = gifqa("eval", "--model", "baseline:random", "--tasks", "tgif-qa/frameqa", "--annotations", shapes / "test",
              "--answer-vocab", vocab, "--out", tmp_path / "v")
    assert r.returncode == 0, r.stderr
    preds = rows(tmp_path / "v" / "tgif-qa_frameqa" / "predictions.jsonl")
    assert len(preds) == 16 and {p["prediction"] for p in preds} <= {"red", "circle"}
    none = gifqa("eval", "--model", "baseline:random", "--tasks", "tgif-qa/frameqa", "--annotations", shapes / "test",
                 "--out", tmp_path / "n")
    assert none.returncode == 1 and "--answer-vocab" in none.stderr


def test_compositional_captions_and_reactions_from_the_generated_lists(shapes, tmp_path):
    """make-shapes writes each split's GIF list; --reactions-split picks reactions.jsonl's compositional lines."""
    ids = (shapes / "test_compositional" / "gif_ids.txt").read_text().split()
    assert ids == ["shapes_test_compositional_000000.gif", "shapes_test_compositional_000001.gif"]
    r = gifqa("eval", "--model", "baseline:prior", "--tasks", "tgif/caption,reactiongif", "--references",
              shapes / "descriptions.tsv", "--caption-ids", shapes / "test_compositional" / "gif_ids.txt",
              "--reactions", shapes / "reactions.jsonl", "--reactions-split", "test_compositional", "--out", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "c" / "results.json").read_text())
    assert res["tasks"]["reactiongif/reaction"]["metrics"]["n"] == 2 and res["tasks"]["tgif/caption"]["metrics"]["n"] == 2
    assert res["config"]["reactions_split"] == res["tasks"]["reactiongif/reaction"]["split"] == "test_compositional"
    assert {p["vid_id"] for p in rows(tmp_path / "c" / "reactiongif_reaction" / "predictions.jsonl")} == {
        "shapes_test_compositional_000000", "shapes_test_compositional_000001"}
