"""TGIF descriptions and split lists (Li et al., CVPR 2016; github.com/raingo/TGIF-Release, ``data/``).

- ``tgif-v1.0.tsv``: ``url<TAB>sentence`` per line, no header; a URL repeats once per sentence
  (1 sentence per train/val GIF, 3 per test GIF).
- ``splits/{train,val,test}.txt``: one GIF URL a line.

The GIF id (TGIF-QA's ``gif_name``) is the URL's file name without ``.gif``.  The description
reader also accepts a bare id in the first column, so any ``id<TAB>sentence`` file works as
input to ``gifqa gen-qa``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gifqa.data.common import read_tsv, require_text
from gifqa.errors import DataError

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
DESCRIPTIONS_FILE = "tgif-v1.0.tsv"
# Official sizes (project page): train 80,000 / val 10,708 / test 11,360 GIFs; 125,782 sentences.
OFFICIAL_SPLIT_SIZES = {"train": 80_000, "val": 10_708, "test": 11_360}
UPSTREAM = "https://github.com/raingo/TGIF-Release/tree/master/data"


@dataclass(frozen=True)
class Description:
    gif_id: str  # URL file name without .gif, or the bare id of an id<TAB>sentence file
    sentence: str
    url: str | None  # None when the first column was a bare id
    line: int  # 1-based line in the source file


def gif_id_from_url(url: str) -> str:
    """``https://.../tumblr_xxx_250.gif`` -> ``tumblr_xxx_250``; a bare id is returned unchanged."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    name = name.split("?", 1)[0]
    for ext in (".gif", ".mp4", ".webm"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def read_descriptions(path: str | os.PathLike) -> list[Description]:
    """Read a ``url-or-id<TAB>sentence`` file (no header) such as ``tgif-v1.0.tsv``."""
    path = Path(path)
    out: list[Description] = []
    for line, (first, sentence) in read_tsv(path, ("url", "sentence"), header=False):
        first = require_text(path, line, "url", first)
        sentence = require_text(path, line, "sentence", sentence)
        gif_id = gif_id_from_url(first)
        if not gif_id or any(c.isspace() for c in gif_id):
            raise DataError(path, f"cannot take a GIF id from {first!r}", line)
        url = first if "/" in first else None
        out.append(Description(gif_id, sentence, url, line))
    return out


def read_split_list(path: str | os.PathLike) -> list[str]:
    """GIF ids of a split file (one URL a line), in file order; repeated ids are an error."""
    path = Path(path)
    ids: list[str] = []
    seen: dict[str, int] = {}
    for line, (url,) in read_tsv(path, ("url",), header=False):
        gif_id = gif_id_from_url(require_text(path, line, "url", url))
        if gif_id in seen:
            raise DataError(path, f"GIF {gif_id!r} repeats line {seen[gif_id]}", line)
        seen[gif_id] = line
        ids.append(gif_id)
    return ids


@dataclass
class TGIFData:
    """What a TGIF folder holds: descriptions (if present), split id lists, and the files that are absent."""

    root: Path
    descriptions: list[Description] | None = None
    splits: dict[str, list[str]] = field(default_factory=dict)
    missing_files: list[Path] = field(default_factory=list)

    def split_of(self) -> dict[str, str]:
        """gif_id -> split name, over the split lists that were found."""
        return {gif_id: name for name, ids in self.splits.items() for gif_id in ids}


def load_tgif(root: str | os.PathLike) -> TGIFData:
    """Read whatever of ``tgif-v1.0.tsv`` and ``splits/*.txt`` exists under ``root``.

    Absent files are listed in ``missing_files`` (never an exception: the partial copies
    people have are still useful); a split list that overlaps another is a DataError.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "TGIF folder not found")
    data = TGIFData(root)
    desc_path = root / DESCRIPTIONS_FILE
    if desc_path.is_file():
        data.descriptions = read_descriptions(desc_path)
    else:
        data.missing_files.append(desc_path)
    owner: dict[str, str] = {}
    for name in SPLIT_NAMES:
        path = root / "splits" / f"{name}.txt"
        if not path.is_file():
            data.missing_files.append(path)
            continue
        ids = read_split_list(path)
        for gif_id in ids:
            if gif_id in owner:
                raise DataError(path, f"GIF {gif_id!r} is also in the {owner[gif_id]} split")
            owner[gif_id] = name
        data.splits[name] = ids
    return data
