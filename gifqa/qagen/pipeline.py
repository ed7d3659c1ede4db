"""The ``gifqa gen-qa`` run: read descriptions, parse, pick candidates, ask, filter, write.

Seeded: the candidates kept per sentence (``max_per_sentence``) are drawn with a generator
seeded by (``seed``, GIF id, source line), so the output does not depend on batch size or on
where a run was interrupted.

Resumable: after each batch the output is flushed and fsynced, then a state file
``OUT.state.json`` records the byte size of the output, the number of input sentences done and
the counters.  A rerun with the same input and settings truncates the output to that size (a
batch cut off half-way is dropped), rebuilds the duplicate set from the kept rows and continues
with the next sentence: no duplicates, no gaps.  A different input or different settings is an
error unless ``overwrite`` is set.

Output formats: ``jsonl`` (one object a line: gif_id, question, answer, answer_head, category,
sentence, source_line, backend) or ``frameqa`` (the TGIF-QA FrameQA columns, TAB/CRLF, so
``gifqa.data.read_annotation_file(path, "frameqa")`` loads it; answer = the head word).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from gifqa.data.tgif import Description, read_descriptions
from gifqa.data.tgifqa import COLUMNS, FRAMEQA_TYPE_IDS, read_annotation_file
from gifqa.errors import ConfigError, DataError
from gifqa.qagen.backends import QGItem
from gifqa.qagen.candidates import CATEGORIES, Candidate, extract_candidates
from gifqa.qagen.filters import REASONS, FilterConfig, check_question, normalise

FORMATS = ("jsonl", "frameqa")

# answer category -> FrameQA type name (type ids in gifqa.data.tgifqa.FRAMEQA_TYPES)
CATEGORY_TO_FRAMEQA_TYPE = {
    "living": "object",
    "noun": "object",
    "number": "number",
    "color": "color",
    "prep_phrase": "location",
    "verb": "verb",
}


@dataclass
class GenConfig:
    seed: int = 0  # seeds the choice of candidates per sentence
    max_per_sentence: int = 5  # questions asked per sentence at most (0 = every candidate)
    categories: tuple[str, ...] = CATEGORIES  # answer categories to ask about
    batch_size: int = 64  # sentences per batch (parse, generate, write, checkpoint)
    format: str = "jsonl"  # "jsonl" or "frameqa"
    filters: FilterConfig = field(default_factory=FilterConfig)

    def validate(self) -> None:
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ConfigError(f"unknown categories {unknown}; expected some of {', '.join(CATEGORIES)}")
        if self.format not in FORMATS:
            raise ConfigError(f"unknown format {self.format!r}; expected one of {', '.join(FORMATS)}")
        if self.batch_size < 1 or self.max_per_sentence < 0:
            raise ConfigError("batch_size must be >= 1 and max_per_sentence >= 0")


@dataclass
class Summary:
    sentences: int = 0  # input sentences processed (over all runs of a resumed job)
    candidates: int = 0  # candidates asked about
    kept: int = 0
    kept_per_category: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CATEGORIES})
    filtered: dict[str, int] = field(default_factory=lambda: {r: 0 for r in REASONS})
    backend: str = ""
    resumed_from: int = 0  # sentences already done when this run started
    seconds: float = 0.0  # wall time of this run

    def format(self) -> str:
        per_cat = ", ".join(f"{k} {v}" for k, v in self.kept_per_category.items() if v)
        filt = ", ".join(f"{k} {v}" for k, v in self.filtered.items() if v) or "none"
        resumed = f" (resumed after {self.resumed_from})" if self.resumed_from else ""
        return (
            f"{self.sentences} sentences{resumed}, {self.candidates} candidates asked, {self.kept} questions kept "
            f"[{per_cat}]; filtered: {filt}; backend {self.backend}; {self.seconds:.1f} s"
        )


def read_input(path: str | os.PathLike) -> list[Description]:
    """Sentences to generate from: a TGIF-QA FrameQA file (its distinct gif/description pairs) or id<TAB>sentence."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "input file not found")
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline().rstrip("\r\n")
    if first.split("\t") == list(COLUMNS["frameqa"]):
        seen: set[tuple[str, str]] = set()
        out: list[Description] = []
        for i, r in enumerate(read_annotation_file(path, "frameqa")):
            if (r.gif_name, r.description) not in seen:
                seen.add((r.gif_name, r.description))
                out.append(Description(r.gif_name, r.description, None, i + 2))
        return out
    return read_descriptions(path)


def select_candidates(cands: list[Candidate], config: GenConfig, gif_id: str, line: int) -> list[Candidate]:
    """Up to ``max_per_sentence`` candidates, spread over the categories, seeded per sentence."""
    cands = [c for c in cands if c.category in config.categories]
    if not config.max_per_sentence or len(cands) <= config.max_per_sentence:
        return cands
    rng = random.Random(f"{config.seed}:{gif_id}:{line}")
    by_cat: dict[str, list[Candidate]] = {}
    for c in cands:
        by_cat.setdefault(c.category, []).append(c)
    order = sorted(by_cat)
    rng.shuffle(order)
    for pool in by_cat.values():
        rng.shuffle(pool)
    picked: list[Candidate] = []
    while len(picked) < config.max_per_sentence:  # round-robin over categories
        for cat in order:
            if by_cat[cat] and len(picked) < config.max_per_sentence:
                picked.append(by_cat[cat].pop())
    picked.sort(key=lambda c: (c.start, c.category))
    return picked


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _row_frameqa(rec: dict, index: int) -> str:
    type_id = FRAMEQA_TYPE_IDS[CATEGORY_TO_FRAMEQA_TYPE[rec["category"]]]
    fields = [rec["gif_id"], rec["question"], rec["answer_head"], str(type_id), f"GEN{index}", str(rec["source_line"]), rec["sentence"]]
    return "\t".join(" ".join(f.split()) for f in fields) + "\r\n"


def _seen_from_output(path: Path, fmt: str) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if fmt == "jsonl":
                obj = json.loads(line)
                seen.add((obj["gif_id"], normalise(obj["question"])))
            elif number > 1:
                fields = line.rstrip("\r\n").split("\t")
                seen.add((fields[0], normalise(fields[1])))
    return seen


def generate_qa(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    backend: Any,
    nlp: Any,
    config: GenConfig | None = None,
    *,
    overwrite: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> Summary:
    """Run the pipeline; returns the summary (also stored in the state file).

    ``stop_after`` ends the run after that many input sentences in total (as an interruption
    would; the state is saved and a rerun continues).
    """
    config = config or GenConfig()
    config.validate()
    input_path, output_path = Path(input_path), Path(output_path)
    state_path = output_path.with_name(output_path.name + ".state.json")
    sentences = read_input(input_path)
    identity = {
        "input": str(input_path.resolve()),
        "input_sha256": _file_digest(input_path),
        "backend": backend.name,
        "config": json.loads(json.dumps(asdict(config))),
    }
    summary = Summary(backend=backend.name)
    done, size = 0, 0
    if overwrite:
        for p in (output_path, state_path):
            if p.exists():
                p.unlink()
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("identity") != identity:
            raise ConfigError(
                f"{output_path} was started with another input or other settings (see {state_path}); "
                "pass --overwrite to start again"
            )
        done, size = state["done"], state["bytes"]
        s = state["summary"]
        summary.sentences, summary.candidates, summary.kept = s["sentences"], s["candidates"], s["kept"]
        summary.kept_per_category.update(s["kept_per_category"])
        summary.filtered.update(s["filtered"])
        summary.resumed_from = done
        if not output_path.exists() or output_path.stat().st_size < size:
            raise DataError(output_path, f"shorter than the {size} bytes its state file records; pass --overwrite")
        with open(output_path, "r+b") as handle:
            handle.truncate(size)  # drop a batch that was cut off after the last checkpoint
        if done >= len(sentences):
            log(f"{output_path}: already complete ({done} sentences)")
            return summary
        log(f"resuming {output_path} after {done} of {len(sentences)} sentences")
    elif output_path.exists():
        raise ConfigError(f"{output_path} exists and has no state file; pass --overwrite to replace it")

    seen = _seen_from_output(output_path, config.format) if done else set()
    start_time = time.monotonic()
    end = len(sentences) if stop_after is None else min(len(sentences), stop_after)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(sentences), initial=done, unit="sent", file=sys.stderr, desc="gen-qa")
    with open(output_path, "a", encoding="utf-8", newline="") as out:
        if config.format == "frameqa" and done == 0:
            out.write("\t".join(COLUMNS["frameqa"]) + "\r\n")
        while done < end:
            batch = sentences[done : min(done + config.batch_size, end)]
            docs = list(nlp.pipe([d.sentence for d in batch]))
            items: list[tuple[Description, QGItem]] = []
            for desc, doc in zip(batch, docs):
                for cand in select_candidates(extract_candidates(doc), config, desc.gif_id, desc.line):
                    items.append((desc, QGItem(desc.sentence, cand, doc)))
            questions = backend.generate([it for _, it in items]) if items else []
            for (desc, item), question in zip(items, questions):
                cand = item.candidate
                summary.candidates += 1
                reason = check_question(question, cand.answer, desc.gif_id, seen, config.filters)
                if reason:
                    summary.filtered[reason] += 1
                    continue
                rec = {
                    "gif_id": desc.gif_id,
                    "question": question,
                    "answer": cand.answer,
                    "answer_head": cand.head,
                    "category": cand.category,
                    "sentence": desc.sentence,
                    "source_line": desc.line,
                    "backend": backend.name,
                }
                if config.format == "jsonl":
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                else:
                    out.write(_row_frameqa(rec, summary.kept))
                summary.kept += 1
                summary.kept_per_category[cand.category] += 1
            done += len(batch)
            summary.sentences = done
            out.flush()
            os.fsync(out.fileno())
            summary.seconds = time.monotonic() - start_time
            _save_state(state_path, identity, done, out.tell(), summary)
            if bar is not None:
                bar.update(len(batch))
    if bar is not None:
        bar.close()
    summary.seconds = time.monotonic() - start_time
    return summary


def _save_state(path: Path, identity: dict, done: int, size: int, summary: Summary) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"identity": identity, "done": done, "bytes": size, "summary": asdict(summary)}, indent=1))
    os.replace(tmp, path)  # atomic: a crash leaves the old state or the new one
