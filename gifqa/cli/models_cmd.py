"""``gifqa models``: the presets and the local checkpoints a model name can refer to."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "models"
HELP = "list the model presets and the local checkpoints"
EPILOG = """examples:
  gifqa models
  gifqa models --dir runs/shapes/checkpoints --json
"""


def add_arguments(parser) -> None:
    parser.add_argument("--dir", action="append", default=[], metavar="DIR",
                        help="also list checkpoints under DIR (default: checkpoints/ of the repo and ./checkpoints)")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from gifqa.ask import DEFAULT_MODEL
    from gifqa.inference import preset_uses_hub
    from gifqa.model.presets import list_presets, load_preset

    rows = []
    for name in list_presets():
        cfg = load_preset(name)
        rows.append({"name": name, "kind": "preset", "hub": preset_uses_hub(name), "default": name == DEFAULT_MODEL,
                     "description": cfg.description.split(". ")[0].strip().rstrip(".")})
    roots = [Path(__file__).resolve().parents[2] / "checkpoints", Path("checkpoints"), *map(Path, args.dir)]
    seen = set()
    for root in roots:
        if not root.is_dir():
            continue
        for cfg_file in sorted(root.glob("*/config.json")):
            d = cfg_file.parent.resolve()
            if d in seen:
                continue
            seen.add(d)
            rows.append({"name": str(d), "kind": "checkpoint", "hub": False, "default": False,
                         "description": _card_line(d)})
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        flags = ("default; " if r["default"] else "") + ("downloads from the hub once" if r["hub"] else "offline")
        print(f"{r['name']}\n    {r['kind']} ({flags}): {r['description']}")
    return 0


def _card_line(d: Path) -> str:
    card = d / "README.md"
    if card.exists():
        for line in card.read_text().splitlines():
            if line.strip() and not line.startswith(("#", "---")) and ":" not in line[:20]:
                return line.strip()[:120]
    return "gifqa checkpoint"
