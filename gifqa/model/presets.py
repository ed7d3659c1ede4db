"""Named model presets shipped as package data (``gifqa/presets/<name>.json``).

Files whose name starts with ``_`` in that folder are data the presets use (the tiny tokenizer,
the ReactionGIF label table), not presets.
"""

from __future__ import annotations

import json
from importlib import resources

from gifqa.errors import ConfigError, ModelNotFoundError
from gifqa.model.config import GifQAConfig

_PACKAGE = "gifqa.presets"


def _folder():
    return resources.files(_PACKAGE)


def list_presets() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(
        p.name[: -len(".json")]
        for p in _folder().iterdir()
        if p.name.endswith(".json") and not p.name.startswith("_")
    )


def load_preset(name: str) -> GifQAConfig:
    """The config of preset ``name``; ModelNotFoundError lists the known names."""
    names = list_presets()
    if name not in names:
        raise ModelNotFoundError(f"no preset named {name!r} (known presets: {', '.join(names)})")
    text = (_folder() / f"{name}.json").read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:  # a broken file in the package itself
        raise ConfigError(f"preset {name}: invalid JSON ({e})") from None
    return GifQAConfig.from_dict(data)


def package_data_path(filename: str):
    """Path (a Traversable) of a data file shipped beside the presets."""
    return _folder() / filename
