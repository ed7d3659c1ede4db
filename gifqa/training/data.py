"""The training mixture: sources -> task streams -> batches of one task each.

Every (source, task) pair is a *stream* of examples with a sampling weight.  Each micro-step
draws a stream by weight and a batch from it, from an RNG seeded by (seed, step, micro-step,
rank): data-parallel processes see different batches, and a resumed run sees exactly the
batches the uninterrupted run would have seen.  One task per batch keeps the per-task losses
separate and lets reaction batches use the classification head.

Media is decoded in ``__getitem__`` (DataLoader workers open their own files: no decoder
handle is shared across workers), with a small per-process cache of decoded clips.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gifqa.data.common import read_jsonl
from gifqa.errors import ConfigError, DataError
from gifqa.training.config import QA_TASKS, DataSpec, SourceSpec


@dataclass(frozen=True)
class Example:
    task: str  # action | transition | frameqa | count | caption | reaction | synthetic
    gif_path: str
    prompt: str  # model prompt (already templated); "" for reaction
    answer: str  # target text; "" for reaction
    label: int = -1  # reaction label index; -1 otherwise
    grounding: tuple[int, ...] = ()  # per sampled frame, a bit mask of the patches the named shape covers (gifqa.training.grounding); () = none
    pose: tuple[tuple[float, ...], ...] = ()  # per sampled frame, the named shape's pose (gifqa.training.grounding.pose_vector); () = none
    progress: tuple[tuple[float, ...], ...] = ()  # per sampled frame, the named shape's repetitions so far per action (gifqa.training.grounding.progress_vector); () = none
    identity: tuple[tuple[float, ...], ...] = ()  # per sampled frame, the named shape's colour and kind indices (gifqa.training.grounding.identity_vector); () = none


@dataclass
class Stream:
    name: str  # "<source index>:<kind>/<task>"
    task: str
    examples: list[Example]
    weight: float


def _qa_examples(task: str, annotations, gif_dir, split: str, report: dict, name: str) -> list[Example]:
    from gifqa.data.common import attach_media
    from gifqa.data.tgifqa import load_tgifqa
    from gifqa.model import prompts

    records = load_tgifqa(task, split, annotations)
    media = attach_media(records, gif_dir)
    report[name] = {"records": len(records), "with_media": media.n_present, "missing_gifs": media.missing_ids[:50],
                    "missing_records": media.missing_records}
    out = []
    for r, path in media.present:
        if task in ("action", "transition"):
            answer = r.options[r.answer_index]
        else:
            answer = str(r.answer)
        out.append(Example(task, str(path), prompts.question_prompt(r.question), answer))
    return out


def _caption_examples(descriptions, gif_dir, report, name, only: set[str] | None) -> list[Example]:
    from gifqa.data.common import index_media
    from gifqa.data.tgif import read_descriptions
    from gifqa.model import prompts

    media = index_media(gif_dir)
    rows = [d for d in read_descriptions(descriptions) if only is None or d.gif_id in only]
    present = [d for d in rows if d.gif_id in media]
    report[name] = {"records": len(rows), "with_media": len(present)}
    return [Example("caption", str(media[d.gif_id]), prompts.CAPTION_PROMPT, d.sentence) for d in present]


def _reaction_examples(reactions, gif_dir, labels: list[str], split: str, report, name) -> list[Example]:
    from gifqa.data.common import index_media

    media = index_media(gif_dir)
    index = {label: i for i, label in enumerate(labels)}
    out, missing = [], 0
    for line_no, row in read_jsonl(reactions, ("gif_name", "label")):
        if row.get("split", split) != split:
            continue
        if row["label"] not in index:
            raise DataError(reactions, f"unknown reaction label {row['label']!r}", line_no)
        path = media.get(row["gif_name"])
        if path is None:
            missing += 1
            continue
        out.append(Example("reaction", str(path), "", "", index[row["label"]]))
    report[name] = {"records": len(out) + missing, "with_media": len(out)}
    return out


def _synthetic_examples(path, gif_dir, report, name) -> list[Example]:
    from gifqa.data.common import index_media
    from gifqa.model import prompts

    media = index_media(gif_dir)
    out, missing = [], 0
    for _, row in read_jsonl(path, ("gif_id", "question", "answer")):  # gifqa gen-qa --format jsonl rows
        gif, q, a = row["gif_id"], row["question"], row["answer"]
        if gif not in media:
            missing += 1
            continue
        out.append(Example("synthetic", str(media[gif]), prompts.question_prompt(q), str(a)))
    report[name] = {"records": len(out) + missing, "with_media": len(out)}
    return out


SHAPES_DEFAULTS = {"n_train": 32, "n_val": 8, "n_test": 0, "n_compositional": 0, "seed": 0, "size_px": 64}


def shapes_world_dir(run_dir: Path, generate: dict) -> Path:
    """Where the shapes world of these generator arguments lives under ``run_dir`` (named by them)."""
    params = {**SHAPES_DEFAULTS, **generate}
    return Path(run_dir) / "data" / ("shapes-" + "-".join(f"{k}{v}" for k, v in sorted(params.items())))


def prepare_shapes(source: SourceSpec, run_dir: Path) -> SourceSpec:
    """Generate the shapes world for a ``shapes`` source (once; under its ``world_root`` or the run
    dir) and point the source at it."""
    from gifqa.shapes import generate_dataset

    root = shapes_world_dir(Path(source.world_root) if source.world_root else run_dir, source.generate)
    if not (root / "manifest.json").exists():
        generate_dataset(root, **{**SHAPES_DEFAULTS, **source.generate})
    return SourceSpec(
        kind="tgif-qa", tasks=source.tasks, weight=source.weight, task_weights=source.task_weights,
        annotations=str(root / "train"), gif_dir=str(root / "gifs"), descriptions=str(root / "descriptions.tsv"),
        reactions=str(root / "reactions.jsonl"), split="train_full",
    )


def build_streams(spec: DataSpec, run_dir: Path, reaction_labels: list[str] | None,
                  grounding_grid: int | None = None, *, grounding: bool = True,
                  pose: bool = False, progress: bool = False, identity: bool = False,
                  main_progress: bool = False) -> tuple[list[Stream], dict]:
    """All streams of the mixture and a report of what each holds (written to data_report.json).

    ``grounding_grid`` (the tower's patches a side): attach targets to the questions of shapes sources
    (gifqa.training.grounding): with ``grounding``, the named shape's patches (``Example.grounding``),
    with ``pose``, its pose per frame (``Example.pose``), with ``progress``, its repetitions so far
    (``Example.progress``), with ``identity``, its colour and kind (``Example.identity``); with
    ``main_progress``, reaction examples get the main shape's repetitions so far (``Example.progress``)."""
    streams: list[Stream] = []
    report: dict = {}
    for i, source in enumerate(spec.sources):
        bits = None
        if source.kind == "shapes":
            source = prepare_shapes(source, run_dir)
            bits = _grounding_targets(source, spec.frames, grounding_grid) if grounding_grid else None
        tasks = list(source.tasks)
        weights = {t: source.task_weights.get(t, 1.0) for t in tasks}
        total = sum(weights.values()) or 1.0
        for task in tasks:
            name = f"{i}:{spec.sources[i].kind}/{task}"
            if task in QA_TASKS:
                _need(source, ("annotations", "gif_dir"), name)
                examples = _qa_examples(task, source.annotations, source.gif_dir, source.split, report, name)
                if bits is not None:  # the prompt template adds no colour or shape word
                    examples = [dataclasses.replace(
                        e, grounding=bits(e.gif_path, e.prompt) if grounding else (),
                        pose=bits.pose(e.gif_path, e.prompt) if pose else (),
                        progress=bits.progress(e.gif_path, e.prompt) if progress else (),
                        identity=bits.identity(e.gif_path, e.prompt) if identity else ()) for e in examples]
                    report[name]["grounded"] = sum(1 for e in examples if e.grounding or e.pose or e.progress or e.identity)
            elif task == "caption":
                _need(source, ("descriptions", "gif_dir"), name)
                # Only GIFs of this source's training annotations: a description file covers
                # every split, and captions of test GIFs must not leak into training.
                examples = _caption_examples(source.descriptions, source.gif_dir, report, name, _gif_ids(source))
            elif task == "reaction":
                _need(source, ("reactions", "gif_dir"), name)
                if not reaction_labels:
                    raise ConfigError(f"{name}: the model has no reaction head (heads.reaction: true)")
                split = "train" if source.split in ("train", "train_full") else source.split
                examples = _reaction_examples(source.reactions, source.gif_dir, reaction_labels, split, report, name)
                if bits is not None and main_progress:
                    examples = [dataclasses.replace(e, progress=bits.main_progress(e.gif_path)) for e in examples]
            else:
                _need(source, ("path", "gif_dir"), name)
                examples = _synthetic_examples(source.path, source.gif_dir, report, name)
            if not examples:
                raise DataError(source.annotations or source.path or name, f"{name}: no examples with media")
            streams.append(Stream(name, task, examples, source.weight * weights[task] / total))
    return streams, report


def _grounding_targets(source: SourceSpec, frames: int, grid: int):
    """gifqa.training.grounding.TargetBits for a prepared shapes source (its world's manifest gives the
    seed and size the scenes are re-drawn with)."""
    import json

    from gifqa.training.grounding import TargetBits

    manifest = json.loads((Path(source.annotations).parent / "manifest.json").read_text())
    return TargetBits(frames, grid, manifest["seed"], manifest["size_px"])


def _gif_ids(source: SourceSpec) -> set[str]:
    from gifqa.data.tgifqa import load_tgifqa

    ids: set[str] = set()
    for task in QA_TASKS:
        try:
            ids.update(r.gif_name for r in load_tgifqa(task, source.split, source.annotations))
        except DataError:
            continue  # that task's file is absent
    if not ids:
        raise DataError(source.annotations, "no training annotation file to tell which GIFs may be captioned")
    return ids


def _need(source: SourceSpec, fields, name):
    missing = [f for f in fields if not getattr(source, f)]
    if missing:
        raise ConfigError(f"{name}: the source needs {', '.join(missing)}")


class MixtureSampler:
    """Batches of indices into ``ConcatExamples``: one stream per batch, seeded by (seed, step, micro, rank)."""

    def __init__(self, streams: list[Stream], batch_size: int, seed: int, rank: int):
        self.streams = streams
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        w = np.asarray([s.weight for s in streams], dtype=np.float64)
        self.p = w / w.sum()
        self.offsets = np.cumsum([0] + [len(s.examples) for s in streams])

    def batch(self, step: int, micro: int) -> list[int]:
        rng = np.random.default_rng([self.seed, step, micro, self.rank])
        k = int(rng.choice(len(self.streams), p=self.p))
        n = len(self.streams[k].examples)
        idx = rng.choice(n, size=self.batch_size, replace=n < self.batch_size)
        return [int(self.offsets[k] + i) for i in idx]


class StepBatches(torch.utils.data.Sampler):
    """The mixture's batches in training order, from ``start`` on: (step, micro) for every
    optimizer step and micro-step, as a DataLoader ``batch_sampler`` (workers keep the order)."""

    def __init__(self, sampler: MixtureSampler, start: int, max_steps: int, grad_accum: int):
        self.sampler, self.start, self.max_steps, self.grad_accum = sampler, start, max_steps, grad_accum

    def __iter__(self):
        for step in range(self.start, self.max_steps):
            for micro in range(self.grad_accum):
                yield self.sampler.batch(step, micro)

    def __len__(self) -> int:
        return (self.max_steps - self.start) * self.grad_accum


class ConcatExamples(torch.utils.data.Dataset):
    """Examples of every stream; ``__getitem__`` decodes the clip (cached per process), or reads
    its vision features from the frozen-feature cache when one is given."""

    def __init__(self, streams: list[Stream], frames: int, vision_config, cache_size: int = 256, limits=None,
                 features=None):
        self.examples = [e for s in streams for e in s.examples]
        self.frames = frames
        self.vision_config = vision_config
        self.limits = limits
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size
        self.features = features  # gifqa.training.features.FeatureCache or None

    def __len__(self) -> int:
        return len(self.examples)

    def clip(self, path: str) -> torch.Tensor:
        from gifqa.media import load_video
        from gifqa.model.vision import preprocess_frames

        if path in self.cache:
            self.cache.move_to_end(path)
            return self.cache[path]
        video = load_video(path, self.frames, limits=self.limits)
        pixels = preprocess_frames(video.frames, self.vision_config)
        self.cache[path] = pixels
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return pixels

    def __getitem__(self, i: int) -> dict:
        e = self.examples[i]
        if self.features is not None:
            from gifqa.training.features import file_sha256

            return {"features": self.features.get(file_sha256(e.gif_path), e.gif_path), "example": e}
        return {"pixel_values": self.clip(e.gif_path), "example": e}


def collate(items: list[dict]) -> dict:
    """-> {"pixel_values" [B, T, 3, S, S] or "features" [B, T, N, D_v], "examples", "task"}."""
    examples = [it["example"] for it in items]
    tasks = {e.task for e in examples}
    if len(tasks) != 1:
        raise RuntimeError(f"a batch mixes tasks {sorted(tasks)}; the sampler draws one stream per batch")
    key = "features" if "features" in items[0] else "pixel_values"
    return {key: torch.stack([it[key] for it in items]), "examples": examples, "task": tasks.pop()}


def log_report(report: dict) -> None:
    for name, r in report.items():
        missing = r.get("records", 0) - r.get("with_media", 0)
        note = f", {missing} without media" if missing else ""
        print(f"data: {name}: {r.get('with_media')} examples{note}", file=sys.stderr)
