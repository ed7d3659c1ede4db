"""Caption metrics (coco-caption) and ReactionGIF metrics: hand-computed cases, readers, `gifqa score`."""

import json
import math
import os
import subprocess
import sys

import pytest

from gifqa.evaluation.captions import caption_scores, load_caption_items, read_caption_predictions
from gifqa.evaluation.reactions import label_tables, load_reaction_items, macro_f1, micro_f1_sets, reaction_scores
from tests.shared_data import REPO, requires_java, requires_shared, shared

pytest.importorskip("pycocoevalcap", reason="caption metrics need pycocoevalcap (pip install -e '.[eval]')")


def gifqa(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "gifqa", *map(str, args)], capture_output=True, text=True, env=env)


# ------------------------------------------------------------------------------------------
# captions


def test_bleu_and_rouge_of_a_known_pair():
    # hyp "the cat sat on mat" (5 tokens) vs ref "the cat sat on the mat" (6 tokens):
    # unigram precision 5/5, bigram 3/4 ("on mat" is not in the ref), brevity penalty exp(1 - 6/5);
    # LCS 5 -> P = 1, R = 5/6, ROUGE-L F with beta 1.2 = (1 + b^2) P R / (R + b^2 P).
    s = caption_scores({"x": "the cat sat on mat"}, {"x": ["the cat sat on the mat"]}, meteor=False, tokenize=False)
    bp = math.exp(1 - 6 / 5)
    assert s["bleu_1"] == pytest.approx(bp, rel=1e-6)
    assert s["bleu_2"] == pytest.approx(bp * math.sqrt(3 / 4), rel=1e-6)
    b2, p, r = 1.2**2, 1.0, 5 / 6
    assert s["rouge_l"] == pytest.approx((1 + b2) * p * r / (r + b2 * p), rel=1e-6)
    # one clip: every n-gram occurs in all (one) reference sets -> IDF 0 -> CIDEr 0 by definition
    assert s["cider"] == 0.0 and s["meteor"] is None


@requires_java
def test_perfect_captions_full_pipeline_and_missing():
    refs = {
        "g1": ["A red circle spins.", "a circle turns around"],
        "g2": ["the blue square bounces twice ."],
        "g3": ["a green triangle nods"],
    }
    # case and punctuation differ from the first reference: the PTB tokenizer removes both
    perfect = {"g1": "a red circle spins", "g2": "The blue square bounces twice", "g3": "a green triangle nods."}
    s = caption_scores(perfect, refs)
    for k in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l"):
        assert s[k] == pytest.approx(1.0, abs=1e-6), k
    assert s["cider"] > 1.0 and s["n"] == 3 and s["n_missing"] == 0
    # two captions missing: scored as empty captions (0 on every per-clip metric), never dropped
    partial = caption_scores({"g1": perfect["g1"], "unknown": "x"}, refs)
    assert partial["n_missing"] == 2
    assert partial["per_clip"]["g2"] == {"bleu_4": 0.0, "meteor": 0.0, "rouge_l": 0.0, "cider": 0.0}
    assert partial["rouge_l"] == pytest.approx(1 / 3)
    assert partial["per_clip"]["g1"]["cider"] == pytest.approx(s["per_clip"]["g1"]["cider"])


def test_caption_items_and_prediction_files(tmp_path):
    refs = tmp_path / "refs.tsv"
    refs.write_text("https://x/a/tumblr_1.gif\tone\nhttps://x/a/tumblr_1.gif\ttwo\ntumblr_2\tthree\n")
    ids = tmp_path / "test.txt"
    ids.write_text("https://x/a/tumblr_2.gif\n")
    assert [(c.vid_id, c.references) for c in load_caption_items(refs)] == [("tumblr_1", ("one", "two")),
                                                                           ("tumblr_2", ("three",))]
    assert [c.vid_id for c in load_caption_items(refs, ids)] == ["tumblr_2"]
    ids.write_text("tumblr_3\n")
    from gifqa.errors import DataError

    with pytest.raises(DataError, match="no reference caption"):
        load_caption_items(refs, ids)
    tsv = tmp_path / "pred.tsv"
    tsv.write_text("https://x/a/tumblr_1.gif\tfirst\nhttps://x/a/tumblr_1.gif\tsecond\n")
    assert read_caption_predictions(tsv) == ({"tumblr_1": "first"}, ["tumblr_1"])


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    from gifqa.shapes import generate_dataset

    out = tmp_path_factory.mktemp("shapes")
    generate_dataset(out, n_train=6, n_val=2, n_test=4, n_compositional=2, seed=5)
    return out


@requires_java
def test_score_cli_caption_on_shapes_descriptions(shapes, tmp_path):
    refs = shapes / "descriptions.tsv"
    test_ids = tmp_path / "test_ids.txt"
    test_ids.write_text("".join(f"shapes_test_{i:06d}.gif\n" for i in range(4)))
    items = load_caption_items(refs, test_ids)
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"vid_id": c.vid_id, "prediction": c.references[0]}) + "\n" for c in items))
    r = gifqa("score", "--task", "caption", "--predictions", preds, "--references", refs, "--caption-ids", test_ids, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["n"] == 4 and res["n_missing"] == 0 and res["bleu_4"] == pytest.approx(1.0, abs=1e-6)
    assert res["cider"] > 0 and res["meteor"] == pytest.approx(1.0)
    # a constant caption for every clip scores what the pure function says
    preds.write_text("".join(json.dumps({"vid_id": c.vid_id, "prediction": "a red circle spins ."}) + "\n" for c in items))
    r = gifqa("score", "--task", "caption", "--predictions", preds, "--references", refs, "--caption-ids", test_ids, "--json")
    expect = caption_scores({c.vid_id: "a red circle spins ." for c in items}, {c.vid_id: c.references for c in items})
    got = json.loads(r.stdout)
    assert all(got[k] == pytest.approx(expect[k]) for k in ("bleu_1", "bleu_4", "meteor", "rouge_l", "cider"))
    missing = gifqa("score", "--task", "caption", "--predictions", preds)
    assert missing.returncode == 1 and "--references" in missing.stderr


# ------------------------------------------------------------------------------------------
# reactions

MAPPING = {"yes": frozenset({"joy", "approval"}), "no": frozenset({"disapproval"}), "hug": frozenset({"love", "caring"}),
           "ok": frozenset({"approval"})}
POSITIVE = frozenset({"yes", "hug", "ok"})


def test_reaction_metrics_by_hand():
    gold = {"a": "yes", "b": "yes", "c": "no", "d": "hug"}
    preds = {"a": "yes", "b": "no", "c": "no"}  # d missing
    s = reaction_scores(preds, gold, positive=POSITIVE, mapping=MAPPING)
    assert s["n"] == 4 and s["n_missing"] == 1
    assert s["accuracy"] == pytest.approx(2 / 4)
    # F1 per label: yes (tp 1, fn 1) 2/3; no (tp 1, fp 1) 2/3; hug (fn 1) 0 -> mean 4/9
    assert s["macro_f1"] == pytest.approx(4 / 9)
    # sentiment: a pos=pos, b neg!=pos, c neg=neg, d missing -> 2/4
    assert s["sentiment_accuracy"] == pytest.approx(2 / 4)
    # emotions: a tp 2; b fp 1 (disapproval) fn 2; c tp 1; d fn 2 -> 2*3 / (2*3 + 1 + 4)
    assert s["emotion_micro_f1"] == pytest.approx(6 / 11)
    # a prediction's own sentiment / emotions override the label's
    s2 = reaction_scores(preds, gold, positive=POSITIVE, mapping=MAPPING,
                         sentiments={"b": "positive"}, emotions={"b": frozenset({"joy"})})
    assert s2["sentiment_accuracy"] == pytest.approx(3 / 4)
    assert s2["emotion_micro_f1"] == pytest.approx(2 * 4 / (2 * 4 + 0 + 3))  # tp 4, fp 0, fn 1 (b) + 2 (d)


def test_macro_f1_counts_predicted_only_labels_and_ties():
    # "ok" is only predicted: it joins the average with F1 0 (scikit-learn's macro rule)
    assert macro_f1({"a": "ok", "b": "yes"}, {"a": "yes", "b": "yes"}) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1({"a": "yes"}, {"a": "yes"}) == 1.0
    assert micro_f1_sets({}, {"a": frozenset()}) != micro_f1_sets({}, {"a": frozenset()})  # nan: nothing to score


def test_shipped_label_tables_match_the_data_module():
    from gifqa.data.reactiongif import LABELS, POSITIVE_LABELS

    labels, positive, mapping = label_tables()
    assert sorted(labels) == sorted(LABELS) and positive == POSITIVE_LABELS
    assert set(mapping) == set(LABELS)
    # upstream's shrug row is all zeros: a correct "shrug" earns no emotion true positive
    assert [x for x in LABELS if not mapping[x]] == ["shrug"]


@requires_shared("reactiongif")
def test_shipped_mapping_equals_upstream_csv():
    from gifqa.data.reactiongif import read_goemotions_mapping

    upstream = read_goemotions_mapping(shared("reactiongif") / "Reactions2GoEmotions.csv")
    assert {k: frozenset(v) for k, v in upstream.items()} == label_tables()[2]


def test_reaction_items_shapes_layout(shapes):
    test = load_reaction_items(shapes / "reactions.jsonl", "test")
    train = load_reaction_items(shapes / "reactions.jsonl", "train")
    assert [x.vid_id for x in test] == [f"shapes_test_{i:06d}" for i in range(4)] and len(train) == 6
    assert all(x.gif_name == x.vid_id and x.split == "test" for x in test)


@requires_shared("reactiongif")
def test_reaction_items_reactiongif_layout():
    path = shared("reactiongif") / "ReactionGIF.ids.json"
    test = load_reaction_items(path, "test")
    train = load_reaction_items(path, "train")
    assert len(test) + len(train) == 29710
    assert 0.05 < len(test) / 29710 < 0.15  # 10 % of the eliciting tweets, with all their replies
    assert not {x.vid_id for x in test} & {x.vid_id for x in train}


def test_score_cli_reaction(shapes, tmp_path):
    gold = {x.vid_id: x.label for x in load_reaction_items(shapes / "reactions.jsonl", "test")}
    first = next(iter(gold))
    preds = tmp_path / "r.jsonl"
    preds.write_text(json.dumps({"vid_id": first, "prediction": gold[first]}) + "\n"
                     + json.dumps({"vid_id": "nope", "prediction": "yes"}) + "\n")
    r = gifqa("score", "--task", "reaction", "--predictions", preds, "--reactions", shapes / "reactions.jsonl", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["n"] == 4 and res["n_missing"] == 3 and res["n_unknown"] == 1 and res["unknown"] == ["nope"]
    assert res["accuracy"] == pytest.approx(1 / 4)
    assert "unknown vid_id" in r.stderr


@requires_shared("tgif")
def test_cvpr16_results_file_reads_as_one_caption_per_test_gif():
    """TGIF's released baseline captions parse as predictions for exactly the official test list
    (its references, tgif-v1.0.tsv, are not in ../shared, so it cannot be scored here)."""
    from gifqa.data.tgif import read_split_list

    preds, dups = read_caption_predictions(shared("tgif") / "results-lstm-cnn-finetune-cvpr16.tsv")
    test = read_split_list(shared("tgif") / "splits" / "test.txt")
    assert not dups and set(preds) == set(test) and len(test) == 11360
