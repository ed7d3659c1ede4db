"""``gifqa data check``: what each dataset folder holds, what is missing, what is malformed.

Each file is read with the real reader; a malformed file becomes a *problem* (the DataError
message, with its line) instead of stopping the check, so one run lists everything.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gifqa.data import reactiongif, tgif, tgifqa
from gifqa.data.common import index_media
from gifqa.errors import DataError

MISSING_LIST_LIMIT = 5  # missing-media ids listed per file in the text report (JSON has them all)


@dataclass
class FileCheck:
    path: str
    rows: int | None = None  # data rows read; None when absent or malformed
    present: bool = True
    problem: str | None = None  # the DataError message for a malformed file
    detail: dict = field(default_factory=dict)  # per-file counts (types, labels, ...)
    media_present: int | None = None  # records with a media file (only with a GIF folder)
    missing_media_records: int | None = None
    missing_media: list[str] = field(default_factory=list)  # GIF ids with no file


@dataclass
class DatasetCheck:
    name: str
    root: str
    files: list[FileCheck] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f.problem for f in self.files if f.problem]

    def to_dict(self) -> dict:
        return {"name": self.name, "root": self.root, "files": [asdict(f) for f in self.files]}


def _media(check: FileCheck, records, media: dict[str, Path] | None, key) -> None:
    if media is None:
        return
    present = [r for r in records if key(r) in media]
    missing = sorted({key(r) for r in records if key(r) not in media})
    check.media_present = len(present)
    check.missing_media_records = len(records) - len(present)
    check.missing_media = missing


def _read(result: DatasetCheck, path: Path, read):
    """Add ``path``'s FileCheck to ``result``; return ``(check, read(path))``, or ``(check, None)``
    when the file is absent or malformed (recorded on the check, so the run goes on)."""
    fc = FileCheck(str(path))
    result.files.append(fc)
    if not path.is_file():
        fc.present = False
        return fc, None
    try:
        return fc, read(path)
    except DataError as exc:
        fc.problem = str(exc)
        return fc, None


def check_tgifqa(root: Path, media: dict[str, Path] | None) -> DatasetCheck:
    result = DatasetCheck("tgif-qa", str(root))
    for (task, split), path in tgifqa.annotation_files(root).items():
        fc, records = _read(result, path, lambda p: tgifqa.read_annotation_file(p, task))
        if records is None:
            continue
        fc.rows = len(records)
        fc.detail["gifs"] = len({r.gif_name for r in records})
        if task == "frameqa":
            counts: dict[str, int] = {}
            for r in records:
                counts[r.answer_type] = counts.get(r.answer_type, 0) + 1
            fc.detail["types"] = counts
        _media(fc, records, media, lambda r: r.gif_name)
    vocab = root / "frameqa_answer_vocab.tsv"
    if vocab.is_file():
        fc, words = _read(result, vocab, tgifqa.read_frameqa_answer_vocab)
        fc.rows = None if words is None else len(words)
    return result


def check_tgif(root: Path, media: dict[str, Path] | None) -> DatasetCheck:
    result = DatasetCheck("tgif", str(root))
    desc = root / tgif.DESCRIPTIONS_FILE
    paths = [desc] + [root / "splits" / f"{s}.txt" for s in tgif.SPLIT_NAMES]
    for path in paths:
        if path == desc:
            fc, rows = _read(result, path, tgif.read_descriptions)
            if rows is not None:
                fc.rows = len(rows)
                fc.detail["gifs"] = len({d.gif_id for d in rows})
                _media(fc, rows, media, lambda d: d.gif_id)
        else:
            fc, ids = _read(result, path, tgif.read_split_list)
            if ids is not None:
                fc.rows = len(ids)
                fc.detail["official_size"] = tgif.OFFICIAL_SPLIT_SIZES[path.stem]
                _media(fc, ids, media, lambda g: g)
    return result


def check_reactiongif(root: Path, media: dict[str, Path] | None, hydrated: Path | None = None) -> DatasetCheck:
    result = DatasetCheck("reactiongif", str(root))
    ids = root / "ReactionGIF.ids.json"
    fc, mapping = _read(result, root / "Reactions2GoEmotions.csv", reactiongif.read_goemotions_mapping)
    fc.rows = None if mapping is None else len(mapping)
    for path in [ids] + ([hydrated] if hydrated else []):
        fc, records = _read(result, path, lambda p: reactiongif.read_reactiongif(p, require_text=p == hydrated))
        if records is None:
            continue
        fc.rows = len(records)
        fc.detail["labels"] = len({r.label for r in records})
        fc.detail["positive"] = sum(r.sentiment == "positive" for r in records)
        fc.detail["with_text"] = sum(bool(r.text) for r in records)
        if path == hydrated:  # the ids file has no GIFs to look for
            _media(fc, records, media, lambda r: r.media_id)
    return result


def check_datasets(
    *,
    tgif_qa: str | os.PathLike | None = None,
    tgif_dir: str | os.PathLike | None = None,
    reactiongif_dir: str | os.PathLike | None = None,
    reactiongif_hydrated: str | os.PathLike | None = None,
    gif_dir: str | os.PathLike | None = None,
) -> list[DatasetCheck]:
    """Check the given dataset folders (skip ``None``); with ``gif_dir`` also count missing media."""
    media = index_media(gif_dir) if gif_dir is not None else None
    out: list[DatasetCheck] = []
    for name, root, fn in (("tgif-qa", tgif_qa, check_tgifqa), ("tgif", tgif_dir, check_tgif)):
        if root is None:
            continue
        root = Path(root)
        if not root.is_dir():
            out.append(DatasetCheck(name, str(root), [FileCheck(str(root), present=False, problem="folder not found")]))
            continue
        out.append(fn(root, media))
    if reactiongif_dir is not None:
        root = Path(reactiongif_dir)
        hyd = Path(reactiongif_hydrated) if reactiongif_hydrated else None
        if not root.is_dir():
            out.append(DatasetCheck("reactiongif", str(root), [FileCheck(str(root), present=False, problem="folder not found")]))
        else:
            out.append(check_reactiongif(root, media, hyd))
    return out


def format_report(checks: list[DatasetCheck]) -> str:
    lines: list[str] = []
    for ds in checks:
        lines.append(f"{ds.name}  ({ds.root})")
        for fc in ds.files:
            name = os.path.basename(fc.path) or fc.path
            if not fc.present:
                lines.append(f"  {name:34s} MISSING" + (f": {fc.problem}" if fc.problem else ""))
                continue
            if fc.problem:
                lines.append(f"  {name:34s} PROBLEM: {fc.problem}")
                continue
            extra = "  ".join(f"{k}={v}" for k, v in fc.detail.items())
            lines.append(f"  {name:34s} {fc.rows:>7,d} rows  {extra}".rstrip())
            if fc.missing_media_records is not None:
                shown = ", ".join(fc.missing_media[:MISSING_LIST_LIMIT])
                more = len(fc.missing_media) - MISSING_LIST_LIMIT
                lines.append(
                    f"  {'':34s} media: {fc.media_present:,d} present, {fc.missing_media_records:,d} records "
                    f"({len(fc.missing_media):,d} GIFs) missing" + (f": {shown}" if shown else "")
                    + (f" and {more} more" if more > 0 else "")
                )
    n_missing = sum(not f.present for ds in checks for f in ds.files)
    n_problems = sum(len(ds.problems) for ds in checks)
    lines.append(f"{n_missing} files missing, {n_problems} malformed")
    return "\n".join(lines)
