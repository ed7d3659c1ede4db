"""What every benchmark ends with: a Markdown table on stdout and its results as JSON.

Imported by the ``benchmarks/bench_*.py`` scripts (run as ``python benchmarks/bench_x.py``, so this
folder is on ``sys.path``).
"""

from __future__ import annotations

import json
from pathlib import Path


def print_table(header: list[str], rows: list[list], align: list[str] | None = None) -> None:
    """A Markdown table: ``header`` cells, one row per list of already formatted cells."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(align or ["---"] * len(header)) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def save_json(path, payload: dict) -> None:
    """Write the results file (folders created) that report.md's tables are read from."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2))
