"""Training recipes: typed config read from YAML, overridable from the command line.

    cfg = load_recipe("scripts/configs/tiny.yaml", ["--output_dir", "runs/a", "--optim.max_steps", "4"])

Unknown keys are errors.  The resolved config is written into the run directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gifqa.errors import ConfigError
from gifqa.typed_config import apply_override, from_dict, to_dict

QA_TASKS = ("action", "transition", "frameqa", "count")
ALL_TASKS = QA_TASKS + ("caption", "reaction", "synthetic")
LR_GROUPS = ("default", "lora", "llm", "vision", "qformer", "projection", "heads", "mvm")  # GifQAModel.trainable_parameter_groups


@dataclass
class ModelSpec:
    preset: str | None = "tiny"  # a preset name (gifqa models), or None when init_from is set
    init_from: str | None = None  # a gifqa checkpoint dir / hub id to continue from
    pretrained: bool = False  # with a preset: load the backbones' pretrained weights (downloads)
    overrides: dict[str, Any] = field(default_factory=dict)  # nested model-config changes, e.g. {"mvm": {"weight": 0}}


@dataclass
class SourceSpec:
    kind: str  # "shapes" (generated into the run dir), "tgif-qa" (annotation folder), "synthetic-qa" (gen-qa JSONL)
    tasks: list[str] = field(default_factory=lambda: list(QA_TASKS))  # which of ALL_TASKS to draw from this source
    weight: float = 1.0  # sampling weight of the source (split evenly over its tasks unless task_weights says)
    task_weights: dict[str, float] = field(default_factory=dict)  # per-task weights inside the source
    annotations: str | None = None  # folder with Train_*_question.csv (tgif-qa kind)
    gif_dir: str | None = None  # folder with <gif_name>.gif
    path: str | None = None  # JSONL file (synthetic-qa kind)
    descriptions: str | None = None  # TGIF-layout descriptions file for captions
    reactions: str | None = None  # JSONL {gif_name, label} for the reaction head
    split: str = "train"  # annotation split to train on
    generate: dict[str, Any] = field(default_factory=dict)  # shapes kind: kwargs of gifqa.shapes.generate_dataset
    world_root: str | None = None  # shapes kind: the world is generated (once) under <world_root>/data/<name of the generator arguments>, where scripts/train_clip.py (data.world_root) finds it too; None = the run dir


@dataclass
class DataSpec:
    frames: int = 8  # frames per clip given to the model
    sources: list[SourceSpec] = field(default_factory=list)
    num_workers: int = 0  # DataLoader workers (each opens media inside __getitem__)
    feature_cache: str | None = None  # dir of the frozen-feature cache (gifqa/training/features.py); None = decode + encode every step
    clip_cache: int = 256  # decoded clips kept in memory per process (LRU); the whole small shapes set fits


@dataclass
class OptimSpec:
    lr: dict[str, float] = field(default_factory=lambda: {"default": 1e-4})  # per group: lora, qformer, projection, heads, mvm, default
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    batch_size: int = 4  # clips per process per micro-step
    grad_accum: int = 1  # micro-steps per optimizer step
    max_steps: int = 100  # optimizer steps
    warmup_steps: int = 10  # linear warm-up, then cosine decay to 0
    max_grad_norm: float = 1.0  # gradient clipping (L2 norm); 0 disables
    fused: bool = True  # torch's fused AdamW: one kernel over all parameters, not a loop of small ops per tensor (same update)


@dataclass
class EvalSpec:
    every: int = 0  # evaluate every N optimizer steps (0: only at the end if tasks are set)
    annotations: str | None = None  # folder with Test_*_question.csv of the validation split; None = a shapes source's val split
    gif_dir: str | None = None  # folder with the validation GIFs (with annotations)
    tasks: list[str] = field(default_factory=list)  # e.g. ["tgif-qa/action"]
    limit: int | None = None  # records per task
    metric: str = "accuracy"  # metric that picks the best checkpoint (mean over tasks; mse is negated)
    split: str = "test"  # annotation split read from eval.annotations: "test" (Test_*.csv; the shapes val folder) or "val" (held out of TGIF-QA train)


@dataclass
class GroundingSpec:
    weight: float = 0.0  # weight of the grounding loss (gifqa/training/grounding.py: the first queries' cross-attention on the patches of the shape a question names; shapes sources only); 0 = off
    queries: int = 1  # how many of each frame's queries (the first ones) are supervised; the rest stay free
    pose_weight: float = 0.0  # weight of the pose loss (gifqa/training/grounding.py: a linear head, training only, on each frame's first query regresses the named shape's pose); 0 = off
    progress_weight: float = 0.0  # weight of the progress loss (gifqa/training/grounding.py: a linear head, training only, on the LM's state at each frame token regresses how many times the named shape has done each action so far); 0 = off
    main_progress_weight: float = 0.0  # weight of the progress loss on reaction batches (gifqa/training/grounding.py: the progress head regresses the main shape's repetitions so far from the LM's states at the frame tokens); 0 = off
    identity_weight: float = 0.0  # weight of the identity loss (gifqa/training/grounding.py: a linear head, training only, on each frame's first query classifies the named shape's colour and kind); 0 = off
    progress_layer: int = -2  # which of the LM's hidden_states the progress head reads (-2: the input of its last layer, which the answer tokens attend to)


@dataclass
class TrainConfig:
    output_dir: str = "runs/default"  # the run directory (never overwritten unless resuming)
    seed: int = 0
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    eval: EvalSpec = field(default_factory=EvalSpec)
    grounding: GroundingSpec = field(default_factory=GroundingSpec)
    precision: str = "no"  # "no" (float32), "bf16", "fp16"
    gradient_checkpointing: bool = False  # for the LLM
    log_every: int = 1  # optimizer steps between log lines
    save_state_every: int = 0  # accelerator.save_state every N steps for resuming (0: at the end only)
    report_to: list[str] = field(default_factory=list)  # "tensorboard" / "wandb": only when asked
    resume: bool = False  # continue the run in output_dir from its last saved state
    stop_after_steps: int = 0  # stop (state saved, as if preempted) after this many steps of this invocation; 0 = run to max_steps

    def validate(self) -> "TrainConfig":
        if self.precision not in ("no", "bf16", "fp16"):
            raise ConfigError(f"precision must be no, bf16 or fp16, got {self.precision!r}")
        if not self.data.sources:
            raise ConfigError("data.sources is empty: name at least one source")
        for i, s in enumerate(self.data.sources):
            if s.kind not in ("shapes", "tgif-qa", "synthetic-qa"):
                raise ConfigError(f"data.sources[{i}].kind must be shapes, tgif-qa or synthetic-qa, got {s.kind!r}")
            if s.world_root is not None and s.kind != "shapes":
                raise ConfigError(f"data.sources[{i}].world_root is for kind: shapes only (this source is {s.kind!r})")
            bad = set(s.tasks) - set(ALL_TASKS)
            if bad:
                raise ConfigError(f"data.sources[{i}].tasks: unknown {sorted(bad)}; known {list(ALL_TASKS)}")
        bad = set(self.optim.lr) - set(LR_GROUPS)
        if bad:
            raise ConfigError(f"optim.lr: unknown group(s) {sorted(bad)}; known {list(LR_GROUPS)}")
        if self.eval.split not in ("test", "val", "train", "train_full", "total"):
            raise ConfigError(f"eval.split must be test, val, train, train_full or total, got {self.eval.split!r}")
        g = self.grounding
        weights = {"weight": g.weight, "pose_weight": g.pose_weight, "progress_weight": g.progress_weight,
                   "main_progress_weight": g.main_progress_weight, "identity_weight": g.identity_weight}
        if min(weights.values()) < 0 or g.queries < 1:
            raise ConfigError(f"grounding.{', '.join(weights)} must be >= 0 and grounding.queries >= 1")
        if any(weights.values()) and not any(s.kind == "shapes" for s in self.data.sources):
            raise ConfigError(f"grounding.{', '.join(weights)} > 0 needs a shapes source: only the shapes world knows "
                              "where a named shape is and how it moves")
        if self.optim.max_steps < 1 or self.optim.batch_size < 1 or self.optim.grad_accum < 1:
            raise ConfigError("optim.max_steps, batch_size and grad_accum must be >= 1")
        return self

    def to_dict(self) -> dict:
        return to_dict(self)


def _parse_value(text: str):
    """Command-line values: 4 -> int, 1e-4 -> float (YAML 1.1 alone reads that as a string),
    otherwise YAML: true -> bool, [a, b] -> list, {k: v} -> mapping."""
    import yaml

    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def load_recipe(path, argv: list[str] | None = None) -> TrainConfig:
    """Read a YAML recipe and apply ``--dotted.key value`` overrides (``--output_dir DIR`` too)."""
    return from_dict(TrainConfig, read_recipe(path, argv), "recipe").validate()


def read_recipe(path, argv: list[str] | None = None) -> dict:
    """A YAML recipe as plain data with ``--dotted.key value`` (or ``--key=value``) overrides applied."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such recipe (see scripts/configs/)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc})") from None
    argv = list(argv or [])
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}: overrides look like --optim.max_steps 10")
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(argv):
                raise ConfigError(f"{arg} needs a value")
            key, value = arg[2:], argv[i + 1]
            i += 2
        apply_override(data, key, _parse_value(value))
    return data


def save_resolved(cfg: TrainConfig, run_dir: Path) -> None:
    (run_dir / "config.resolved.json").write_text(json.dumps(cfg.to_dict(), indent=1) + "\n")
