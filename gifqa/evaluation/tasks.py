"""Evaluation tasks are declarations in package data (``gifqa/evaluation/task_specs/*.json``).

A task says how a record becomes a prompt, what kind of output is expected and how it is
scored.  Bump ``version`` whenever the prompt or the metric changes: results files record it,
and the snapshot test in tests/test_eval_tasks.py fails until the version is bumped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources

from gifqa.errors import ConfigError

OUTPUTS = ("choice", "text", "count", "caption", "reaction")
METRICS = ("accuracy", "frameqa_accuracy", "count_mse", "coco_caption", "reaction")
DATASETS = ("tgif-qa", "tgif", "reactiongif")


@dataclass(frozen=True)
class TaskSpec:
    name: str  # e.g. "tgif-qa/action"
    version: int  # bumped when prompt or metric changes
    dataset: str  # "tgif-qa" (question files), "tgif" (descriptions), "reactiongif" (reaction labels)
    task: str  # the dataset's task name ("action", ...)
    output: str  # "choice" (option index), "text" (generated string), "count" (integer),
    # "caption" (generated description), "reaction" (one of the 43 ReactionGIF labels)
    prompt: str  # format string over the record's fields, e.g. "{question}"
    metric: str
    doc: str = ""
    max_new_tokens: int = 16  # generation budget for "text" and "caption" outputs (tokens)

    def render(self, record) -> str:
        return self.prompt.format(question=getattr(record, "question", ""))


def load_tasks() -> dict[str, TaskSpec]:
    """Every declared task by name."""
    known = {f.name for f in fields(TaskSpec)}
    out: dict[str, TaskSpec] = {}
    for entry in resources.files("gifqa.evaluation").joinpath("task_specs").iterdir():
        if not entry.name.endswith(".json"):
            continue
        for raw in json.loads(entry.read_text()):
            unknown = set(raw) - known
            if unknown:
                raise ConfigError(f"task file {entry.name}: unknown keys {sorted(unknown)}")
            spec = TaskSpec(**raw)
            if spec.output not in OUTPUTS or spec.metric not in METRICS or spec.dataset not in DATASETS:
                raise ConfigError(
                    f"task {spec.name}: output must be one of {OUTPUTS}, metric one of {METRICS}, dataset one of {DATASETS}"
                )
            out[spec.name] = spec
    return out


def get_tasks(names: str | list[str]) -> list[TaskSpec]:
    """Resolve ``"tgif-qa/action,tgif-qa/count"`` (or ``"tgif-qa"`` for all four) to specs."""
    all_tasks = load_tasks()
    wanted = names.split(",") if isinstance(names, str) else list(names)
    out = []
    for n in (w.strip() for w in wanted if w.strip()):
        if n in all_tasks:
            out.append(all_tasks[n])
        elif any(t.startswith(n + "/") for t in all_tasks):
            out.extend(all_tasks[t] for t in sorted(all_tasks) if t.startswith(n + "/"))
        else:
            raise ConfigError(f"unknown task {n!r}; known: {', '.join(sorted(all_tasks))}")
    return out
