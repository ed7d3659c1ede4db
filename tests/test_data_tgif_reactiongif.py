"""TGIF descriptions/split lists, ReactionGIF, and `gifqa data check`."""

from __future__ import annotations

import json

import pytest

from gifqa.data.reactiongif import (
    LABELS,
    POSITIVE_LABELS,
    read_goemotions_mapping,
    read_reactiongif,
    split_reactiongif,
)
from gifqa.data.tgif import gif_id_from_url, load_tgif, read_descriptions, read_split_list
from gifqa.data.common import attach_media
from gifqa.errors import DataError
from tests.data_helpers import run_cli
from tests.shared_data import requires_shared, shared

URL = "https://38.media.tumblr.com/9f6c25cc350f12aa74a7dc386a5c4985/tumblr_mevmyaKtDf1rgvhr8o1_500.gif"


def test_gif_id_from_url():
    assert gif_id_from_url(URL) == "tumblr_mevmyaKtDf1rgvhr8o1_500"
    assert gif_id_from_url("tumblr_abc_250") == "tumblr_abc_250"


@requires_shared("tgif")
def test_real_tgif_splits_and_results_file():
    data = load_tgif(shared("tgif"))
    assert {k: len(v) for k, v in data.splits.items()} == {"val": 10708, "test": 11360}
    assert sorted(p.name for p in data.missing_files) == ["tgif-v1.0.tsv", "train.txt"]
    assert data.descriptions is None
    results = read_descriptions(shared("tgif") / "results-lstm-cnn-finetune-cvpr16.tsv")
    assert len(results) == 11360
    assert {d.gif_id for d in results} == set(data.splits["test"])


def test_descriptions_file_format_and_errors(tmp_path):
    path = tmp_path / "tgif-v1.0.tsv"
    path.write_text(f"{URL}\ta man is glaring, and someone with sunglasses appears.\nplain_id\ta cat sleeps .\n")
    rows = read_descriptions(path)
    assert [(d.gif_id, d.url is not None, d.line) for d in rows] == [
        ("tumblr_mevmyaKtDf1rgvhr8o1_500", True, 1),
        ("plain_id", False, 2),
    ]
    path.write_text(f"{URL}\tok .\n{URL} no tab here\n")
    with pytest.raises(DataError, match="expected 2 tab-separated columns") as info:
        read_descriptions(path)
    assert info.value.line == 2
    path.write_text(f"{URL}\t \n")
    with pytest.raises(DataError, match="'sentence' is empty"):
        read_descriptions(path)


def test_split_lists_overlap_and_repeats(tmp_path):
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "val.txt").write_text("http://x/a.gif\nhttp://x/b.gif\n")
    (tmp_path / "splits" / "test.txt").write_text("http://x/c.gif\nhttp://x/c.gif\n")
    with pytest.raises(DataError, match="repeats line 1") as info:
        read_split_list(tmp_path / "splits" / "test.txt")
    assert info.value.line == 2
    (tmp_path / "splits" / "test.txt").write_text("http://x/c.gif\nhttp://x/a.gif\n")
    with pytest.raises(DataError, match="'a' is also in the val split"):
        load_tgif(tmp_path)


@requires_shared("reactiongif")
def test_real_reactiongif_counts():
    records = read_reactiongif(shared("reactiongif") / "ReactionGIF.ids.json")
    assert len(records) == 29710
    assert len({r.original_id for r in records}) == 21407
    assert {r.label for r in records} == set(LABELS) and len(LABELS) == 43 and len(POSITIVE_LABELS) == 20
    assert sum(r.sentiment == "positive" for r in records) == 17326
    assert sum(r.label == "applause" for r in records) == 3141
    mapping = read_goemotions_mapping(shared("reactiongif") / "Reactions2GoEmotions.csv")
    assert len(mapping) == 43 and mapping["shrug"] == ()
    train, test = split_reactiongif(records)
    assert len(train) + len(test) == len(records)
    assert not {r.original_id for r in train} & {r.original_id for r in test}
    assert split_reactiongif(records)[1] == test  # seeded


def _rg_line(**kw):
    base = {"idx": 1, "original_id": "11", "reply_id": "12", "label": "hug"}
    base.update(kw)
    return json.dumps(base)


@pytest.mark.parametrize(
    "line,problem",
    [
        (_rg_line(label="hugs"), "unknown label 'hugs'"),
        (_rg_line(reply_id=12), "'reply_id' must be a tweet id"),
        ('{"idx": 1,', "not JSON"),
        (json.dumps({"idx": 1, "original_id": "1", "label": "hug"}), "missing field 'reply_id'"),
    ],
)
def test_reactiongif_malformed(tmp_path, line, problem):
    path = tmp_path / "r.json"
    path.write_text(_rg_line(reply_id="99") + "\n" + line + "\n")
    with pytest.raises(DataError, match=problem) as info:
        read_reactiongif(path)
    assert info.value.line == 2


def test_hydrated_reactiongif_media(tmp_path):
    gifs = tmp_path / "gifs"
    gifs.mkdir()
    (gifs / "12.mp4").write_bytes(b"\x00")
    (gifs / "custom.gif").write_bytes(b"GIF89a")
    path = tmp_path / "ReactionGIF.json"
    path.write_text(
        "\n".join(
            [
                _rg_line(text="so happy today"),
                _rg_line(idx=2, reply_id="13", text="what", gif_path="custom.gif"),
                _rg_line(idx=3, reply_id="14", text="no gif"),
            ]
        )
        + "\n"
    )
    records = read_reactiongif(path, require_text=True)
    report = attach_media(records, gifs, key=lambda r: r.media_id)
    assert [p.name for _, p in report.present] == ["12.mp4", "custom.gif"]
    assert report.missing_ids == ["14"]
    path.write_text(_rg_line() + "\n")
    with pytest.raises(DataError, match="not a hydrated file"):
        read_reactiongif(path, require_text=True)


@requires_shared("tgif-qa")
def test_data_check_command_on_shared(monkeypatch, capsys):
    root = shared("tgif-qa").parent
    assert run_cli(monkeypatch, "gifqa.cli.data_cmd", ["data", "check", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Test_frameqa_question.csv" in out and "13,691 rows" in out
    assert "Train_frameqa_question.csv" in out and "MISSING" in out
    assert "ReactionGIF.ids.json" in out and "29,710 rows" in out


def test_data_check_command_reports_problems_and_media(monkeypatch, capsys, tmp_path):
    qa = tmp_path / "tgif-qa"
    qa.mkdir()
    (qa / "Test_count_question.csv").write_bytes(
        b"gif_name\tquestion\tanswer\tvid_id\tkey\r\ng1\tq\t2\tC1\t1\r\ng2\tq\t3\tC2\t2\r\n"
    )
    (qa / "Test_action_question.csv").write_bytes(b"gif_name\tquestion\r\n")
    gifs = tmp_path / "gifs"
    gifs.mkdir()
    (gifs / "g1.gif").write_bytes(b"GIF89a")
    argv = ["data", "check", "--tgif-qa", str(qa), "--gif-dir", str(gifs), "--json"]
    assert run_cli(monkeypatch, "gifqa.cli.data_cmd", argv) == 1
    (report,) = json.loads(capsys.readouterr().out)
    files = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    count = files["Test_count_question.csv"]
    assert (count["rows"], count["media_present"], count["missing_media"]) == (2, 1, ["g2"])
    assert "header is" in files["Test_action_question.csv"]["problem"]
    assert files["Train_frameqa_question.csv"]["present"] is False
    assert run_cli(monkeypatch, "gifqa.cli.data_cmd", ["data", "check"]) == 1
    assert "no dataset folder given" in capsys.readouterr().err


def test_read_jsonl_names_file_and_line(tmp_path):
    from gifqa.data.common import read_jsonl

    good = tmp_path / "ok.jsonl"
    good.write_text('{"a": 1, "b": 2}\n\n{"a": 3, "b": 4}\n')
    assert [(n, o["a"]) for n, o in read_jsonl(good, ("a", "b"))] == [(1, 1), (3, 3)]
    for body, problem in (('{"a": 1}\n[1]\n', ":2: each line needs"), ('{"a": 1}\n{"a": \n', ":2: not JSON")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(body)
        with pytest.raises(DataError, match="bad.jsonl" + problem):
            list(read_jsonl(bad, ("a",)))
    with pytest.raises(DataError, match="file not found"):
        list(read_jsonl(tmp_path / "absent.jsonl"))
