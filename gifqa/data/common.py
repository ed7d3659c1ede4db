"""Helpers shared by the dataset readers: strict TSV reading, media lookup, seeded splits.

Every reader validates as it parses and raises :class:`gifqa.errors.DataError` naming the
file and the 1-based line of the first malformed row, so a truncated download or a file in
the wrong format fails at load time instead of shrinking a training set without a word.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generic, Iterable, Iterator, Sequence, TypeVar

from gifqa.errors import DataError

T = TypeVar("T")

# Extensions tried, in this order, when looking up the media file of a GIF id.  TGIF is
# distributed as .gif; several mirrors (and the MP4 archives used by video-LLM projects)
# re-encode it to .mp4.
MEDIA_EXTENSIONS: tuple[str, ...] = (".gif", ".mp4", ".webm")


def read_tsv(
    path: str | os.PathLike,
    columns: Sequence[str],
    *,
    header: bool = True,
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each data row of a TAB-separated file.

    ``line_number`` is 1-based and counts the header.  CRLF and LF endings are both accepted
    (the TGIF-QA files use CRLF).  With ``header=True`` the first line must equal ``columns``;
    every row must have exactly ``len(columns)`` fields.  Blank lines are errors except at the
    very end of the file (a trailing newline).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    n_columns = len(columns)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    if not lines:
        raise DataError(path, "file is empty", 1)
    start = 0
    if header:
        found = lines[0].rstrip("\r").split("\t")
        if found != list(columns):
            raise DataError(
                path,
                f"header is {found!r}, expected {list(columns)!r} (is this the right file for this reader?)",
                1,
            )
        start = 1
    for index in range(start, len(lines)):
        line = lines[index].rstrip("\r")
        number = index + 1
        if not line.strip():
            raise DataError(path, "blank line inside the file", number)
        fields = line.split("\t")
        if len(fields) != n_columns:
            raise DataError(
                path, f"expected {n_columns} tab-separated columns ({', '.join(columns)}), found {len(fields)}", number
            )
        yield number, fields


def read_jsonl(path: str | os.PathLike, keys: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file.

    Every line must be a JSON object holding ``keys``; the first that is not raises
    :class:`DataError` with the file and its 1-based line, as the TSV readers do.
    """
    import json

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"not JSON ({exc.msg})", line_no) from None
            if not isinstance(obj, dict) or not set(keys) <= set(obj):
                want = "{" + ", ".join(f'"{k}"' for k in keys) + "}"
                raise DataError(path, f"each line needs a JSON object with {want}", line_no)
            yield line_no, obj


def parse_int(path: Path, line: int, column: str, value: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """``int(value)`` or a DataError naming the column; optional inclusive range check."""
    try:
        number = int(value)
    except ValueError:
        raise DataError(path, f"column {column!r} must be an integer, found {value!r}", line) from None
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise DataError(path, f"column {column!r} must be in [{lo}, {hi}], found {number}", line)
    return number


def require_text(path: Path, line: int, column: str, value: str) -> str:
    """Strip ``value``; an empty field is a DataError."""
    value = value.strip()
    if not value:
        raise DataError(path, f"column {column!r} is empty", line)
    return value


# ---------------------------------------------------------------------------------------------
# media lookup


def index_media(gif_dir: str | os.PathLike, extensions: Sequence[str] = MEDIA_EXTENSIONS) -> dict[str, Path]:
    """Map each media file's stem (the GIF id) to its path, for the files directly in ``gif_dir``.

    When one id exists with several extensions the first in ``extensions`` wins.
    """
    gif_dir = Path(gif_dir)
    if not gif_dir.is_dir():
        raise DataError(gif_dir, "GIF directory not found (pass the folder that holds <gif_id>.gif files)")
    rank = {ext: i for i, ext in enumerate(extensions)}
    found: dict[str, tuple[int, Path]] = {}
    with os.scandir(gif_dir) as entries:
        for entry in entries:
            stem, ext = os.path.splitext(entry.name)
            ext = ext.lower()
            if ext not in rank or not entry.is_file():
                continue
            if stem not in found or rank[ext] < found[stem][0]:
                found[stem] = (rank[ext], Path(entry.path))
    return {stem: path for stem, (_, path) in found.items()}


@dataclass
class MediaReport(Generic[T]):
    """Records split by whether their media file exists.

    ``present`` holds ``(record, path)`` pairs in the input order; ``missing_ids`` the distinct
    GIF ids with no file, sorted; ``missing_records`` how many records those ids account for.
    Callers decide what to do with the missing ones, but they always see them.
    """

    present: list[tuple[T, Path]] = field(default_factory=list)
    missing_ids: list[str] = field(default_factory=list)
    missing_records: int = 0

    @property
    def n_present(self) -> int:
        return len(self.present)

    def summary(self, limit: int = 5) -> str:
        shown = ", ".join(self.missing_ids[:limit])
        more = f" and {len(self.missing_ids) - limit} more" if len(self.missing_ids) > limit else ""
        if not self.missing_ids:
            return f"{self.n_present} records, all media present"
        return (
            f"{self.n_present} records with media; {self.missing_records} records "
            f"({len(self.missing_ids)} GIFs) have no media file: {shown}{more}"
        )


def attach_media(
    records: Iterable[T],
    gif_dir: str | os.PathLike,
    *,
    key: Callable[[T], str] = lambda r: r.gif_name,  # type: ignore[attr-defined]
    extensions: Sequence[str] = MEDIA_EXTENSIONS,
    require_all: bool = False,
) -> MediaReport[T]:
    """Pair each record with ``gif_dir/<key(record)><ext>``; report the records with no file.

    With ``require_all=True`` any missing media raises DataError (count and the first ids).
    """
    media = index_media(gif_dir, extensions)
    report: MediaReport[T] = MediaReport()
    missing: set[str] = set()
    for record in records:
        gif_id = key(record)
        path = media.get(gif_id)
        if path is None:
            missing.add(gif_id)
            report.missing_records += 1
        else:
            report.present.append((record, path))
    report.missing_ids = sorted(missing)
    if require_all and missing:
        raise DataError(gif_dir, "missing media: " + report.summary())
    return report


# ---------------------------------------------------------------------------------------------
# splits


def split_ids(ids: Iterable[str], fraction: float, seed: int) -> set[str]:
    """Pick ``round(fraction * n)`` of the distinct ``ids`` with a seeded shuffle; returns the picked set.

    The ids are sorted before shuffling, so the result depends only on the set of ids, the
    fraction and the seed (not on file order or Python's hash seed).
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    unique = sorted(set(ids))
    random.Random(seed).shuffle(unique)
    return set(unique[: round(fraction * len(unique))])
