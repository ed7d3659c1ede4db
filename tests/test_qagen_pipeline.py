"""gen-qa pipeline: end to end, seeded, resumable, FrameQA layout, CLI fall-back."""

from __future__ import annotations

import json

import pytest

from gifqa.errors import ConfigError

pytest.importorskip("spacy")

from gifqa.data import load_tgifqa, read_annotation_file  # noqa: E402
from gifqa.qagen.backends.offline import OfflineBackend  # noqa: E402
from gifqa.qagen.pipeline import GenConfig, generate_qa  # noqa: E402
from tests.data_helpers import run_cli  # noqa: E402
from tests.shared_data import requires_shared, shared  # noqa: E402

SENTENCES = [
    "a man is holding a red ball .",
    "two dogs are running in a park .",
    "a woman dancing on a stage .",
    "a black cat jumps onto a table .",
    "three girls are laughing at a joke .",
    "a man puts a cigarette into his mouth and smiles .",
    "a white car is driving down a street .",
    "a boy in a blue shirt is riding a bike on a road .",
    "a man is holding a red ball .",
]


@pytest.fixture()
def input_tsv(tmp_path):
    path = tmp_path / "in.tsv"
    lines = [f"https://x.media.tumblr.com/h/tumblr_g{i % 8}_250.gif\t{s}" for i, s in enumerate(SENTENCES)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_end_to_end_jsonl(nlp, input_tsv, tmp_path):
    out = tmp_path / "out.jsonl"
    summary = generate_qa(input_tsv, out, OfflineBackend(), nlp, GenConfig(batch_size=4), progress=False)
    rows = _rows(out)
    assert summary.sentences == len(SENTENCES) and summary.kept == len(rows) > 20
    assert sum(summary.filtered.values()) + summary.kept == summary.candidates
    assert summary.filtered["duplicate"] >= 1  # line 9 repeats line 1 for the same GIF (g0)
    assert {r["category"] for r in rows} == {"living", "noun", "verb", "prep_phrase", "color", "number"}
    for r in rows:
        assert set(r) >= {"gif_id", "question", "answer", "category", "sentence"}
        assert r["question"].endswith("?") and r["answer"].lower() not in r["question"].lower().split()
    assert {"gif_id": "tumblr_g0_250", "question": "What color is the ball?", "answer": "red"}.items() <= next(
        r for r in rows if r["category"] == "color"
    ).items()
    assert all(len([r for r in rows if r["source_line"] == i + 1]) <= 5 for i in range(len(SENTENCES)))


def test_seeded_selection(nlp, input_tsv, tmp_path):
    def run(name, seed, batch):
        out = tmp_path / name
        generate_qa(input_tsv, out, OfflineBackend(), nlp, GenConfig(seed=seed, batch_size=batch, max_per_sentence=2),
                    progress=False)  # fmt: skip
        return [(r["source_line"], r["answer"]) for r in _rows(out)]

    a = run("a.jsonl", 0, 3)
    assert a == run("b.jsonl", 0, 7)  # batch size does not change the result
    assert a != run("c.jsonl", 5, 3)


def test_interrupted_run_resumes_without_duplicates_or_gaps(nlp, input_tsv, tmp_path):
    full = tmp_path / "full.jsonl"
    generate_qa(input_tsv, full, OfflineBackend(), nlp, GenConfig(batch_size=2), progress=False)
    part = tmp_path / "part.jsonl"
    first = generate_qa(input_tsv, part, OfflineBackend(), nlp, GenConfig(batch_size=2), stop_after=4, progress=False)
    assert first.sentences == 4
    # simulate a crash in the middle of the next batch: a half-written row after the checkpoint
    with open(part, "a") as handle:
        handle.write('{"gif_id": "tumblr_g4_250", "question": "Who is laugh')
    second = generate_qa(input_tsv, part, OfflineBackend(), nlp, GenConfig(batch_size=2), progress=False)
    assert second.resumed_from == 4 and second.sentences == len(SENTENCES)
    assert part.read_text() == full.read_text()
    assert second.kept == len(_rows(full))
    # a finished job is not redone
    again = generate_qa(input_tsv, part, OfflineBackend(), nlp, GenConfig(batch_size=2), progress=False)
    assert again.sentences == len(SENTENCES) and part.read_text() == full.read_text()
    # other settings: refuse, unless asked to start again
    with pytest.raises(ConfigError, match="another input or other settings"):
        generate_qa(input_tsv, part, OfflineBackend(), nlp, GenConfig(batch_size=2, seed=9), progress=False)
    generate_qa(input_tsv, part, OfflineBackend(), nlp, GenConfig(batch_size=2, seed=9), overwrite=True, progress=False)


def test_existing_output_without_state_is_not_clobbered(nlp, input_tsv, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    with pytest.raises(ConfigError, match="no state file"):
        generate_qa(input_tsv, out, OfflineBackend(), nlp, progress=False)
    assert out.read_text() == "precious\n"


def test_frameqa_layout_loads_with_the_tgifqa_reader(nlp, input_tsv, tmp_path):
    out_dir = tmp_path / "gen"
    out_dir.mkdir()
    out = out_dir / "Train_frameqa_question.csv"
    summary = generate_qa(input_tsv, out, OfflineBackend(), nlp, GenConfig(format="frameqa"), progress=False)
    records = read_annotation_file(out, "frameqa")
    assert len(records) == summary.kept
    assert {r.answer_type for r in records} == {"object", "number", "color", "location", "verb"}
    assert all(" " not in r.answer for r in records)  # the head word, as in TGIF-QA
    assert len(load_tgifqa("frameqa", "train", out_dir)) + len(load_tgifqa("frameqa", "val", out_dir)) == len(records)


def test_cli_falls_back_to_offline_and_says_so(nlp, input_tsv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "cli.jsonl"
    code = run_cli(monkeypatch, "gifqa.cli.genqa_cmd", ["gen-qa", str(input_tsv), "-o", str(out), "--no-progress", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert "falling back to the offline rule-based backend" in captured.err
    summary = json.loads(captured.out)
    assert summary["backend"] == "offline" and summary["kept"] == len(_rows(out))
    # --backend t5 without weights is an error, not a silent fall-back
    code = run_cli(monkeypatch, "gifqa.cli.genqa_cmd",
                   ["gen-qa", str(input_tsv), "-o", str(tmp_path / "t5.jsonl"), "--backend", "t5"])  # fmt: skip
    assert code == 1 and "cannot load question-generation model" in capsys.readouterr().err


@requires_shared("tgif-qa")
def test_cli_on_real_frameqa_descriptions(nlp, tmp_path, monkeypatch, capsys):
    out = tmp_path / "fq.jsonl"
    argv = ["gen-qa", str(shared("tgif-qa") / "Test_frameqa_question.csv"), "-o", str(out),
            "--backend", "offline", "--limit", "100", "--no-progress"]  # fmt: skip
    assert run_cli(monkeypatch, "gifqa.cli.genqa_cmd", argv) == 0
    rows = _rows(out)
    assert len({r["source_line"] for r in rows}) > 80 and len(rows) > 300
    assert "100 sentences" in capsys.readouterr().err
