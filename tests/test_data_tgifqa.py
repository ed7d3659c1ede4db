"""TGIF-QA readers: exact row counts of the real files, malformed input, validation split, media."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gifqa.data import (
    FrameQARecord,
    attach_media,
    by_vid_id,
    load_tgifqa,
    read_annotation_file,
    read_frameqa_answer_vocab,
    write_frameqa_file,
)
from gifqa.errors import DataError
from tests.shared_data import requires_shared, shared

TGIFQA = shared("tgif-qa")

# Row counts from ../shared/data/tgif-qa/README.md (the oracle).
EXPECTED_ROWS = {
    ("action", "test"): 2274,
    ("transition", "test"): 6232,
    ("frameqa", "test"): 13691,
    ("count", "test"): 3554,
    ("action", "train_full"): 20471,
    ("count", "train_full"): 26839,
    ("action", "total"): 22749,
    ("count", "total"): 30397,
}


@requires_shared("tgif-qa")
@pytest.mark.parametrize("task,split", sorted(EXPECTED_ROWS))
def test_real_file_row_counts(task, split):
    records = load_tgifqa(task, split, TGIFQA)
    assert len(records) == EXPECTED_ROWS[(task, split)]
    assert len(by_vid_id(records)) == len(records)  # vid_id is a key
    assert all(r.task == task for r in records)


@requires_shared("tgif-qa")
def test_real_frameqa_types_and_answers():
    records = load_tgifqa("frameqa", "test", TGIFQA)
    types = Counter(r.answer_type for r in records)
    assert types == {"object": 5586, "number": 3148, "color": 3904, "location": 1053}
    assert len({r.answer for r in records}) == 933
    first = records[0]
    assert isinstance(first, FrameQARecord)
    assert (first.vid_id, first.gif_name, first.answer) == ("FRAMEQA1159", "tumblr_no73q2fm0I1uuf348o1_250", "cookie")
    assert first.description == "a chocolate cookie is being placed in a white ice cream cone ."
    vocab = read_frameqa_answer_vocab(TGIFQA / "frameqa_answer_vocab.tsv")
    assert len(vocab) == 1746 and {r.answer for r in records} <= set(vocab)


@requires_shared("tgif-qa")
def test_real_count_and_action_values():
    counts = Counter(r.answer for r in load_tgifqa("count", "test", TGIFQA))
    assert counts == {0: 918, 2: 914, 3: 582, 4: 394, 5: 222, 6: 161, 7: 85, 8: 73, 9: 41, 10: 164}
    action = load_tgifqa("action", "test", TGIFQA)[0]
    assert action.vid_id == "ACTION4" and len(action.options) == 5
    assert action.answer == "flap wings" and action.answer_index == 4


@requires_shared("tgif-qa")
def test_validation_split_is_seeded_disjoint_and_complete():
    full = load_tgifqa("count", "train_full", TGIFQA)
    train = load_tgifqa("count", "train", TGIFQA)
    val = load_tgifqa("count", "val", TGIFQA)
    assert len(train) + len(val) == len(full)
    assert {r.vid_id for r in train} | {r.vid_id for r in val} == {r.vid_id for r in full}
    train_gifs, val_gifs = {r.gif_name for r in train}, {r.gif_name for r in val}
    assert not train_gifs & val_gifs
    n_gifs = len(train_gifs | val_gifs)
    assert len(val_gifs) == round(0.1 * n_gifs)
    # Same seed -> same split; another seed -> another split.
    assert [r.vid_id for r in load_tgifqa("count", "val", TGIFQA)] == [r.vid_id for r in val]
    other = load_tgifqa("count", "val", TGIFQA, seed=1)
    assert {r.gif_name for r in other} != val_gifs
    # No GIF of the test split leaks into train or val.
    test_gifs = {r.gif_name for r in load_tgifqa("count", "test", TGIFQA)}
    assert not test_gifs & (train_gifs | val_gifs)


@requires_shared("tgif-qa")
@pytest.mark.parametrize("task", ["frameqa", "transition"])
def test_missing_official_train_files_are_named(task):
    with pytest.raises(DataError, match=rf"Train_{task}_question.csv: file not found.*YunseokJANG"):
        load_tgifqa(task, "train", TGIFQA)


# ---- malformed input ---------------------------------------------------------------------------

ACTION_HEADER = "gif_name\tquestion\ta1\ta2\ta3\ta4\ta5\tanswer\tvid_id\tkey"
COUNT_HEADER = "gif_name\tquestion\tanswer\tvid_id\tkey"
FRAMEQA_HEADER = "gif_name\tquestion\tanswer\ttype\tvid_id\tkey\tdescription"


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_small_valid_files_parse(tmp_path):
    path = _write(tmp_path, "Test_action_question.csv", [ACTION_HEADER, "g1\tWhat?\ta\tb\tc\td\te\t2\tACTION1\t7"])
    (record,) = read_annotation_file(path, "action")
    assert record.answer == "c" and record.key == 7
    path = _write(tmp_path, "Test_count_question.csv", [COUNT_HEADER, "g1\tHow many?\t4\tCOUNT1\t7"])
    assert read_annotation_file(path, "count")[0].answer == 4


@pytest.mark.parametrize(
    "task,header,row,problem",
    [
        ("action", ACTION_HEADER, "g1\tWhat?\ta\tb\tc\td\te\t5\tACTION1\t7", r"'answer' must be in \[0, 4\], found 5"),
        ("action", ACTION_HEADER, "g1\tWhat?\ta\tb\tc\td\te\tx\tACTION1\t7", r"'answer' must be an integer"),
        ("action", ACTION_HEADER, "g1\tWhat?\ta\tb\tc\td\t2\tACTION1\t7", r"expected 10 tab-separated columns.*found 9"),
        ("count", COUNT_HEADER, "g1\tHow many?\tthree\tCOUNT1\t7", r"'answer' must be an integer, found 'three'"),
        ("count", COUNT_HEADER, "g1\tHow many?\t-1\tCOUNT1\t7", r"'answer' must be in"),
        ("frameqa", FRAMEQA_HEADER, "g1\twhat ?\tdog\t9\tF1\t7\ta dog .", r"'type' must be in \[0, 4\], found 9"),
        ("frameqa", FRAMEQA_HEADER, "g1\twhat ?\tdog\tcolor\tF1\t7\ta dog .", r"'type' must be an integer"),
        ("frameqa", FRAMEQA_HEADER, "g1\twhat ?\t\t0\tF1\t7\ta dog .", r"'answer' is empty"),
        ("count", COUNT_HEADER, "", r"blank line"),
    ],
)
def test_malformed_rows_fail_with_line_number(tmp_path, task, header, row, problem):
    good = {
        "action": "g0\tWhat?\ta\tb\tc\td\te\t0\tACTION0\t1",
        "count": "g0\tHow many?\t2\tCOUNT0\t1",
        "frameqa": "g0\twhat ?\tcat\t0\tF0\t1\ta cat .",
    }[task]
    path = _write(tmp_path, f"Test_{task}_question.csv", [header, good, row, good.replace("0\t1", "0\t2")])
    with pytest.raises(DataError, match=problem) as info:
        read_annotation_file(path, task)
    assert info.value.line == 3
    assert f"{path}:3:" in str(info.value)


def test_wrong_header_and_duplicate_vid_id(tmp_path):
    path = _write(tmp_path, "x.csv", [COUNT_HEADER, "g1\tq\t2\tC1\t1"])
    with pytest.raises(DataError, match="header is") as info:
        read_annotation_file(path, "action")
    assert info.value.line == 1
    path = _write(tmp_path, "y.csv", [COUNT_HEADER, "g1\tq\t2\tC1\t1", "g2\tq\t3\tC1\t2"])
    with pytest.raises(DataError, match="repeats the one on line 2") as info:
        read_annotation_file(path, "count")
    assert info.value.line == 3


def test_frameqa_writer_round_trips_through_the_reader(tmp_path):
    rows = [
        FrameQARecord("GEN0", 0, "g1", "what is the man holding ?", "ball", 0, "a man is holding a ball ."),
        FrameQARecord("GEN1", 1, "g2", "what is the woman doing ?", "dancing", 4, "a woman is dancing ."),
    ]
    path = tmp_path / "Train_frameqa_question.csv"
    write_frameqa_file(rows, path)
    assert path.read_bytes().count(b"\r\n") == 3
    assert read_annotation_file(path, "frameqa") == rows
    assert load_tgifqa("frameqa", "train_full", tmp_path) == rows
    assert rows[1].answer_type == "verb"


def test_attach_media_reports_missing(tmp_path):
    gifs = tmp_path / "gifs"
    gifs.mkdir()
    (gifs / "g1.gif").write_bytes(b"GIF89a")
    (gifs / "g2.mp4").write_bytes(b"\x00")
    (gifs / "g2.gif").write_bytes(b"GIF89a")  # .gif preferred over .mp4
    (gifs / "notes.txt").write_text("x")
    path = _write(
        tmp_path,
        "Test_count_question.csv",
        [COUNT_HEADER, "g1\tq\t2\tC1\t1", "g2\tq\t3\tC2\t2", "g3\tq\t4\tC3\t3", "g3\tq\t5\tC4\t3"],
    )
    records = read_annotation_file(path, "count")
    report = attach_media(records, gifs)
    assert [(r.vid_id, p.name) for r, p in report.present] == [("C1", "g1.gif"), ("C2", "g2.gif")]
    assert report.missing_ids == ["g3"] and report.missing_records == 2
    assert "2 records (1 GIFs) have no media file: g3" in report.summary()
    with pytest.raises(DataError, match="missing media"):
        attach_media(records, gifs, require_all=True)
    with pytest.raises(DataError, match="GIF directory not found"):
        attach_media(records, tmp_path / "nope")
