"""Build nested dataclasses from plain data (JSON / YAML), strictly.

Unknown keys, wrong nesting and values of the wrong scalar type raise ConfigError naming the
dotted path (``optim.lr.qformer``), so a typo never falls back to a default in silence.
Supports nested dataclasses, ``list[Dataclass]``, ``dict[str, X]``, ``Optional`` and scalars.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from gifqa.errors import ConfigError


def from_dict(cls, data: Any, where: str = "config"):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    return cls(**{k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()})


def _convert(hint, value, where: str):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {options}")
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {k: _convert(args[1], v, f"{where}.{k}") for k, v in value.items()} if args else value
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    if hint is float and not isinstance(value, float):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return value


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)


def apply_override(data: dict, dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``dotted == "a.b"`` (creating mappings on the way); a number
    indexes an existing list (``data.sources.0.task_weights.reaction``: the first source's)."""
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        if isinstance(node, list):
            node = node[_list_index(node, k, dotted)]
            continue
        child = node.get(k, {})
        if not isinstance(child, (dict, list)):
            raise ConfigError(f"--{dotted}: {k} is not a section")
        node = node.setdefault(k, child)
        if isinstance(node, list) and not node:
            raise ConfigError(f"--{dotted}: {k} is an empty list")
    if isinstance(node, list):
        node[_list_index(node, keys[-1], dotted)] = value
    else:
        node[keys[-1]] = value


def _list_index(items: list, key: str, dotted: str) -> int:
    if not key.isdigit() or int(key) >= len(items):
        raise ConfigError(f"--{dotted}: {key!r} is not an index of a list of {len(items)} (0..{len(items) - 1})")
    return int(key)
