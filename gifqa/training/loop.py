"""The training loop: one explicit function, Accelerate does the distributed plumbing.

    from gifqa.training import train
    train(load_recipe("scripts/configs/tiny.yaml", ["--output_dir", "runs/tiny"]))

Runs unchanged as one process, under ``accelerate launch --num_processes N`` (DDP) and with
the shipped Accelerate configs (scripts/accelerate/).  Run directory:

    config.resolved.json  environment.json  data_report.json  metrics.jsonl
    checkpoints/last  checkpoints/best   (inference checkpoints, written atomically; best.json: its step)
    eval/step_<k>/results.json           (periodic validation through the evaluation harness)
    feature_cache.json                   (with data.feature_cache: clips reused / computed)
    state/step_<k>  state/latest.json    (accelerator.save_state, for --resume true)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from gifqa.errors import ConfigError
from gifqa.training.config import TrainConfig, save_resolved


class TrainStep(nn.Module):
    """Wraps the model so that every kind of batch goes through ``forward`` (what DDP syncs).

    With ``features`` (cached vision-tower outputs [B, T, N, D_v]) the vision tower is skipped:
    the model's own forward runs with ``encode_frames`` reading the features (projector onwards).
    The training-only terms of gifqa.training.grounding (``spec``: a GroundingSpec), each on when its
    weight is > 0 and the batch has its targets:
    - ``grounding`` (target masks [B, T, N]): the Q-Former's cross-attention is recorded and the
      grounding loss joins the model's;
    - ``pose`` (targets [B, T, POSE_SIZE], NaN = none): ``pose_head`` reads each frame's first
      Q-Former query;
    - ``progress`` (targets [B, T, PROGRESS_SIZE], NaN = none): ``progress_head`` reads the LM's
      states at the frame tokens (``spec.progress_layer``);
    - ``identity`` (targets [B, T, 2], NaN = none): ``identity_head`` classifies the named shape's
      colour and kind from each frame's first Q-Former query;
    - on reaction batches, ``progress`` (the main shape's, ``spec.main_progress_weight``): the progress
      head reads the LM's states at the frame tokens of the reaction pass, logged as "main_progress".
    The heads are not part of the model and are never saved.
    Returns (loss, parts): parts maps "ce", "mvm" and each term that ran ("grounding", "pose",
    "progress", "identity", "main_progress") to its value, detached and unweighted; ``weights`` gives each term's weight.
    """

    def __init__(self, model, spec=None):
        from gifqa.training.config import GroundingSpec
        from gifqa.training.grounding import POSE_SIZE, PROGRESS_SIZE, identity_classes

        super().__init__()
        self.model = model
        self.spec = spec or GroundingSpec()
        self.weights = {"grounding": self.spec.weight, "pose": self.spec.pose_weight, "progress": self.spec.progress_weight,
                        "identity": self.spec.identity_weight, "main_progress": self.spec.main_progress_weight}
        if self.spec.pose_weight > 0:
            self.pose_head = nn.Linear(model.config.projector.width, POSE_SIZE)
        if self.spec.progress_weight > 0 or self.spec.main_progress_weight > 0:
            self.progress_head = nn.Linear(model.config.llm.width, PROGRESS_SIZE)
        if self.spec.identity_weight > 0:
            self.identity_head = nn.Linear(model.config.projector.width, sum(identity_classes()))

    def forward(self, pixel_values=None, input_ids=None, attention_mask=None, labels=None, reaction_labels=None,
                features=None, grounding=None, pose=None, progress=None, identity=None):
        targets = {"grounding": grounding, "pose": pose, "progress": progress, "identity": identity}
        if features is not None:
            from gifqa.training.features import precomputed_features

            with precomputed_features(self.model):
                return self._step(features, input_ids, attention_mask, labels, reaction_labels, targets)
        return self._step(pixel_values, input_ids, attention_mask, labels, reaction_labels, targets)

    def _step(self, clips, input_ids, attention_mask, labels, reaction_labels, targets):
        from gifqa.training.grounding import grounding_loss, identity_classes, identity_loss, masked_mse

        if reaction_labels is not None:
            return self._reaction_step(clips, reaction_labels, targets["progress"])
        on = {k: targets[k] is not None and w > 0 for k, w in self.weights.items() if k in targets}
        projector = self.model.projector
        projector.record_attentions = on["grounding"]
        seen: list[torch.Tensor] = []  # the projector's queries [B, T, Q, D_q], for the pose and identity heads
        hook = (projector.register_forward_hook(lambda _m, _args, output: seen.append(output[1]))
                if on["pose"] or on["identity"] else None)
        try:
            out = self.model(clips, input_ids, attention_mask=attention_mask, labels=labels,
                             frame_states_layer=self.spec.progress_layer if on["progress"] else None)
            attentions = projector.cross_attentions if projector.record_attentions else None
        finally:
            projector.record_attentions, projector.cross_attentions = False, None
            if hook is not None:
                hook.remove()
        terms = {}
        if on["grounding"]:
            terms["grounding"] = grounding_loss(attentions, targets["grounding"], self.spec.queries)
        if on["pose"]:
            # first query of each frame [B, T, D_q] -> [B, T, POSE_SIZE]
            terms["pose"] = masked_mse(self.pose_head(seen[0][:, :, 0]), targets["pose"])
        if on["identity"]:
            # first query of each frame [B, T, D_q] -> colour and kind logits [B, T, C + S]
            terms["identity"] = identity_loss(self.identity_head(seen[0][:, :, 0]), targets["identity"],
                                              identity_classes()[0])
        if on["progress"]:
            terms["progress"] = self._progress_error(out.frame_states, targets["progress"], out.frame_states_kept)
        loss = out.loss
        parts = {"ce": out.loss_ce.detach(),
                 "mvm": out.loss_mvm.detach() if out.loss_mvm is not None else torch.zeros((), device=loss.device)}
        for name, value in terms.items():
            if value is not None:  # None: no target in this batch (say, the named shape never on screen)
                loss = loss + self.weights[name] * value
                parts[name] = value.detach()
        return loss, parts

    def _progress_error(self, states, progress, kept=None):
        """The progress head's squared error: LM states at the frame tokens [B, T*Q, D_lm] against per-frame
        targets [B, T, P] (NaN = none); every frame token reads its frame's target, none where ``kept``
        [B, T*Q] (MVM's) dropped it."""
        from gifqa.training.grounding import masked_mse

        per_token = progress.repeat_interleave(self.model.config.projector.num_query_tokens, dim=1)  # [B, T*Q, P]
        if kept is not None:
            per_token = per_token.masked_fill(~kept[..., None], float("nan"))
        return masked_mse(self.progress_head(states), per_token)

    def _reaction_step(self, clips, reaction_labels, progress):
        """The reaction head's loss (+ main_progress_weight x the progress head's squared error on the
        main shape, read off the LM's states at the frame tokens of the same pass)."""
        on = progress is not None and self.weights["main_progress"] > 0
        if on and self.model.config.heads.reaction_input != "llm":
            raise ConfigError("grounding.main_progress_weight needs the reaction head on the LM's states at the "
                              "frame tokens (heads.reaction_input: llm)")
        seen: list[torch.Tensor] = []  # the LM's hidden_states[progress_layer] [B, T*Q, D_lm]
        layer = self.spec.progress_layer
        hook = (self.model.llm.register_forward_hook(lambda _m, _args, output: seen.append(output.hidden_states[layer]))
                if on else None)
        try:
            loss = self.model.reaction_loss(clips, reaction_labels)
        finally:
            if hook is not None:
                hook.remove()
        parts = {"ce": loss.detach(), "mvm": torch.zeros((), device=loss.device)}
        if on:
            term = self._progress_error(seen[0], progress.to(seen[0].device))
            if term is not None:
                loss = loss + self.weights["main_progress"] * term
                parts["main_progress"] = term.detach()
        return loss, parts


def build_model(cfg: TrainConfig):
    from gifqa.model import GifQAModel
    from gifqa.model.config import GifQAConfig
    from gifqa.model.presets import load_preset

    spec = cfg.model
    if spec.init_from:
        if spec.overrides:
            raise ConfigError("model.overrides apply to presets; a checkpoint keeps its own config")
        return GifQAModel.from_pretrained(spec.init_from)
    if not spec.preset:
        raise ConfigError("model: give a preset or init_from")
    data = _deep_merge(load_preset(spec.preset).to_dict(), spec.overrides)
    return GifQAModel.from_config(GifQAConfig.from_dict(data), pretrained=spec.pretrained)


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def lr_lambda(warmup_steps: int, max_steps: int):
    """Linear warm-up to the full rate, then cosine decay to 0 (per optimizer step)."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def _environment() -> dict:
    from gifqa.evaluation.harness import package_versions

    env = {"versions": package_versions(), "argv": sys.argv}
    try:
        repo = Path(__file__).resolve().parents[2]
        env["git_commit"] = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                           text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        env["git_commit"] = None
    return env


def export_checkpoint(model, run_dir: Path, name: str) -> Path:
    """Write an inference checkpoint atomically: a temp dir, then a rename over the old one."""
    final = run_dir / "checkpoints" / name
    tmp = final.with_name(f".{name}.tmp")
    old = final.with_name(f".{name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def train(cfg: TrainConfig) -> Path:
    """Train as ``cfg`` says; returns the run directory."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    from gifqa.training.data import ConcatExamples, MixtureSampler, StepBatches, build_streams, collate, log_report

    run_dir = Path(cfg.output_dir)
    # 1. Accelerate: device, processes, precision.  The reaction head is unused in QA steps
    #    (and vice versa), hence find_unused_parameters.
    accelerator = Accelerator(
        mixed_precision=cfg.precision,
        cpu=not torch.cuda.is_available(),
        log_with=cfg.report_to or None,
        project_dir=str(run_dir),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    main = accelerator.is_main_process
    # 2. The run directory is never overwritten unless resuming.
    latest = run_dir / "state" / "latest.json"
    if main:
        if run_dir.exists() and any(run_dir.iterdir()) and not cfg.resume:
            raise ConfigError(f"{run_dir} exists and is not empty; choose a new --output_dir or pass --resume true")
        if cfg.resume and not latest.exists():
            raise ConfigError(f"{run_dir}: nothing to resume (no state/latest.json)")
        run_dir.mkdir(parents=True, exist_ok=True)
        save_resolved(cfg, run_dir)
        _write_json_atomic(run_dir / "environment.json", _environment())
    accelerator.wait_for_everyone()

    # 3. Model: the same seeded init on every process.
    set_seed(cfg.seed)
    model = build_model(cfg)
    grid = None
    if cfg.grounding.weight:
        # The grounding loss reads the Q-Former's cross-attention weights, which only the eager
        # attention returns; the model's config and checkpoints do not change.
        model.projector.qformer.set_attn_implementation("eager")
    ground, pose, progress = cfg.grounding.weight > 0, cfg.grounding.pose_weight > 0, cfg.grounding.progress_weight > 0
    identity, main_progress = cfg.grounding.identity_weight > 0, cfg.grounding.main_progress_weight > 0
    if ground or pose or progress or identity or main_progress:  # the per-frame targets come with the grounding ones (the same named shape)
        grid = math.isqrt(model.config.vision.num_tokens - 1)
    if cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable()
    frames = cfg.data.frames
    if frames > model.config.projector.max_frames:
        raise ConfigError(f"data.frames={frames} exceeds the model's projector.max_frames={model.config.projector.max_frames}")

    # 4. Data: the main process generates / checks it first, the others then read it.
    labels = model.reaction_head.labels if model.reaction_head is not None else None
    if main:
        streams, report = build_streams(cfg.data, run_dir, labels, grounding_grid=grid, grounding=ground, pose=pose,
                                       progress=progress, identity=identity, main_progress=main_progress)
        _write_json_atomic(run_dir / "data_report.json", report)
        log_report(report)
    accelerator.wait_for_everyone()
    if not main:
        streams, _ = build_streams(cfg.data, run_dir, labels, grounding_grid=grid, grounding=ground, pose=pose,
                                       progress=progress, identity=identity, main_progress=main_progress)
    if cfg.data.feature_cache and model.config.vision.train:
        raise ConfigError("data.feature_cache needs a frozen vision tower, but the model has vision.train: true")
    features = _feature_cache(cfg, accelerator, model, streams, run_dir) if cfg.data.feature_cache else None
    dataset = ConcatExamples(streams, frames, model.config.vision, features=features, cache_size=cfg.data.clip_cache)
    sampler = MixtureSampler(streams, cfg.optim.batch_size, cfg.seed, accelerator.process_index)

    # 5. Optimizer with per-module learning rates; warm-up + cosine schedule per optimizer step.
    groups = model.trainable_parameter_groups(cfg.optim.lr, cfg.optim.weight_decay)
    step_module = TrainStep(model, cfg.grounding)
    for head in ("pose_head", "progress_head", "identity_head"):  # training-only heads train at the default rate; not part of the model
        if hasattr(step_module, head):
            groups.append({"name": head, "params": list(getattr(step_module, head).parameters()),
                           "lr": cfg.optim.lr.get("default", max(cfg.optim.lr.values())), "weight_decay": cfg.optim.weight_decay})
    optimizer = torch.optim.AdamW(groups, betas=tuple(cfg.optim.betas), fused=cfg.optim.fused or None)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg.optim.warmup_steps, cfg.optim.max_steps))
    step_module, optimizer = accelerator.prepare(step_module, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    tokenizer = model.tokenizer
    term_weights = accelerator.unwrap_model(step_module).weights  # the training-only terms' weights

    # 6. Resume: parameters, optimizer, scheduler and RNG states; batches follow from the step.
    start = 0
    if cfg.resume:
        state = json.loads(latest.read_text())
        accelerator.load_state(str(run_dir / "state" / state["dir"]))
        start = int(state["step"])
    if main and cfg.report_to:
        accelerator.init_trackers("gifqa", config=cfg.to_dict())

    # 7. The loop.  One optimizer step = grad_accum micro-steps; DDP syncs on the last one.
    best = None
    metrics_path = run_dir / "metrics.jsonl"
    t_last = time.monotonic()
    samples = 0
    bar = _progress(cfg.optim.max_steps, start, main)
    # Batches come from a DataLoader over the seeded (step, micro) order; its workers (if any)
    # decode media inside __getitem__.  Not passed to accelerator.prepare: the sampler already
    # gives each process its own batches.
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=StepBatches(sampler, start, cfg.optim.max_steps, cfg.optim.grad_accum),
        collate_fn=collate, num_workers=cfg.data.num_workers)
    batches = iter(loader)
    step_module.train()
    for step in range(start, cfg.optim.max_steps):
        sums: dict[str, list[float]] = {}
        for micro in range(cfg.optim.grad_accum):
            # Every random draw of this micro-step (MVM masking rate, dropout) is seeded by
            # its position, so a resumed run repeats the uninterrupted one exactly.
            torch.manual_seed(hash((cfg.seed, step, micro, accelerator.process_index)) % 2**31)
            batch = next(batches)
            inputs = _inputs(batch, model, tokenizer, accelerator.device)
            sync = micro == cfg.optim.grad_accum - 1
            ctx = accelerator.no_sync(step_module) if not sync and accelerator.num_processes > 1 else _nullcontext()
            with ctx:
                with accelerator.autocast():
                    loss, parts = step_module(**inputs)
                accelerator.backward(loss / cfg.optim.grad_accum)
            # Per task: the model's loss (LM + MVM); the training-only terms are logged on their own.
            extra = sum(w * float(parts[k]) for k, w in term_weights.items() if k in parts)
            sums.setdefault(batch["task"], []).append(float(loss.detach()) - extra)
            for name, value in parts.items():
                sums.setdefault(name, []).append(float(value))
            samples += len(batch["examples"])
        if cfg.optim.max_grad_norm > 0:
            accelerator.clip_grad_norm_(step_module.parameters(), cfg.optim.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        bar.update(1)

        # 8. Logs: losses averaged over processes, per task; JSON lines on the main process.
        if done % cfg.log_every == 0 or done == cfg.optim.max_steps:
            logged = _gather_losses(accelerator, sums)
            now = time.monotonic()
            record = {"step": done, "lr": scheduler.get_last_lr(), **logged,
                      "samples_per_s": samples * accelerator.num_processes / max(1e-9, now - t_last)}
            t_last, samples = now, 0
            if main:
                with open(metrics_path, "a") as fh:
                    fh.write(json.dumps(record) + "\n")
                if cfg.report_to:
                    accelerator.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=done)

        # 9. Periodic evaluation on the validation split; keep the best checkpoint.
        if cfg.eval.tasks and cfg.eval.every and done % cfg.eval.every == 0 and done < cfg.optim.max_steps:
            best = _evaluate_and_export(cfg, accelerator, model, run_dir, done, best)
        if cfg.save_state_every and done % cfg.save_state_every == 0:
            _save_state(accelerator, run_dir, done)
        if cfg.stop_after_steps and done - start >= cfg.stop_after_steps and done < cfg.optim.max_steps:
            # A time-boxed job (or a test of resuming): save where we are and stop.
            _save_state(accelerator, run_dir, done)
            _write_rank_report(accelerator, step_module, run_dir, done, start)
            bar.close()
            accelerator.end_training()
            return run_dir
    bar.close()

    # 10. The end: last (and best) inference checkpoints, and a resumable state.
    accelerator.wait_for_everyone()
    if cfg.eval.tasks:
        best = _evaluate_and_export(cfg, accelerator, model, run_dir, cfg.optim.max_steps, best)
    if main:
        export_checkpoint(accelerator.unwrap_model(step_module).model, run_dir, "last")
    _save_state(accelerator, run_dir, cfg.optim.max_steps)
    _write_rank_report(accelerator, step_module, run_dir, cfg.optim.max_steps, start)
    accelerator.end_training()
    return run_dir


def _write_rank_report(accelerator, step_module, run_dir: Path, step: int, start: int) -> None:
    """Per process: steps taken and a checksum of the trained parameters (DDP must keep them equal)."""
    total = torch.zeros((), dtype=torch.float64)
    for p in step_module.parameters():
        if p.requires_grad:
            total += p.detach().double().cpu().abs().sum() + p.detach().double().cpu().sum() * 1e-3
    folder = run_dir / "ranks"
    folder.mkdir(exist_ok=True)
    _write_json_atomic(folder / f"rank{accelerator.process_index}.json", {
        "rank": accelerator.process_index, "world": accelerator.num_processes, "steps_taken": step - start,
        "step": step, "param_checksum": float(total),
    })


def _inputs(batch, model, tokenizer, device) -> dict:
    key = "features" if "features" in batch else "pixel_values"
    clips = {key: batch[key].to(device)}
    examples = batch["examples"]
    if batch["task"] == "reaction":
        out = {**clips, "reaction_labels": torch.tensor([e.label for e in examples], device=device)}
        if any(e.progress for e in examples):  # set only when grounding.main_progress_weight > 0 (build_streams)
            from gifqa.training.grounding import PROGRESS_SIZE, frame_targets

            out["progress"] = frame_targets([e.progress for e in examples], batch[key].shape[1], PROGRESS_SIZE).to(device)
        return out
    text = model.build_text_inputs([e.prompt for e in examples], [e.answer for e in examples])
    out = {**clips, **{k: v.to(device) for k, v in text.items()}}
    if any(e.grounding for e in examples):  # set only when training.grounding is on (build_streams)
        from gifqa.training.grounding import target_masks

        frames = batch[key].shape[1]
        out["grounding"] = target_masks([e.grounding for e in examples], frames, model.config.vision.num_tokens).to(device)
    from gifqa.training.grounding import IDENTITY_SIZE, POSE_SIZE, PROGRESS_SIZE, frame_targets

    for name, size in (("pose", POSE_SIZE), ("progress", PROGRESS_SIZE), ("identity", IDENTITY_SIZE)):  # set only when their weight > 0 (build_streams)
        rows = [getattr(e, name) for e in examples]
        if any(rows):
            out[name] = frame_targets(rows, batch[key].shape[1], size).to(device)
    return out


def _feature_cache(cfg, accelerator, model, streams, run_dir: Path):
    """The frozen-feature pre-pass: every process encodes its share of the clips not yet cached,
    then all read the whole cache.  Counts go to feature_cache.json in the run directory."""
    from gifqa.training.features import build_feature_cache
    from gifqa.workers import default_workers

    model.vision.to(accelerator.device)
    model.projector.to(accelerator.device)  # model.device (where features go) is the projector's
    paths = [e.gif_path for s in streams for e in s.examples]
    cache, stats = build_feature_cache(
        model, paths, cfg.data.feature_cache, cfg.data.frames, precision=cfg.precision,
        rank=accelerator.process_index, world=accelerator.num_processes, autocast=accelerator.autocast,
        log=True, workers=max(1, default_workers() // accelerator.num_processes))  # the CPUs shared by the processes
    local = torch.tensor([stats["clips"], stats["reused"], stats["computed"]], device=accelerator.device)
    total = accelerator.reduce(local, reduction="sum").tolist()
    accelerator.wait_for_everyone()
    cache.refresh()
    if accelerator.is_main_process:
        _write_json_atomic(run_dir / "feature_cache.json", {
            "dir": str(cache.dir), "key": cache.key, "clips": int(total[0]), "reused": int(total[1]),
            "computed": int(total[2]), "cached_total": len(cache)})
        print(f"feature cache: {int(total[0])} clips, {int(total[1])} reused, {int(total[2])} computed", file=sys.stderr)
    return cache


def _gather_losses(accelerator, sums: dict[str, list[float]]) -> dict:
    """Mean loss per key over micro-steps and processes (each process may have drawn other tasks)."""
    keys = sorted({"action", "transition", "frameqa", "count", "caption", "reaction", "synthetic", "ce", "mvm", "grounding", "pose", "progress", "identity", "main_progress"})
    local = torch.tensor([[sum(sums.get(k, [])), len(sums.get(k, []))] for k in keys], device=accelerator.device)
    total = accelerator.reduce(local, reduction="sum")
    out = {}
    for k, (s, n) in zip(keys, total.tolist()):
        if n:
            out[f"loss_{k}"] = s / n
    task_keys = [k for k in keys if k not in ("ce", "mvm", "grounding", "pose", "progress", "identity", "main_progress") and f"loss_{k}" in out]
    out["loss"] = sum(out[f"loss_{k}"] for k in task_keys) / max(1, len(task_keys))
    return out


def _save_state(accelerator, run_dir: Path, step: int) -> None:
    name = f"step_{step}"
    accelerator.save_state(str(run_dir / "state" / name))
    if accelerator.is_main_process:
        _write_json_atomic(run_dir / "state" / "latest.json", {"step": step, "dir": name})
    accelerator.wait_for_everyone()


def _evaluate_and_export(cfg, accelerator, model, run_dir, step, best):
    """Validation through the evaluation harness (main process); export 'best' when it improves."""
    if accelerator.is_main_process:
        from gifqa.evaluation.harness import evaluate
        from gifqa.evaluation.predictors import ModelPredictor
        from gifqa.evaluation.tasks import get_tasks
        from gifqa.inference import ClipLoader

        annotations, gif_dir = _eval_dirs(cfg, run_dir)
        model.eval()
        results = evaluate(
            ModelPredictor(model, ClipLoader(model, frames=cfg.data.frames)), get_tasks(cfg.eval.tasks),
            annotations_dir=annotations, gif_dir=gif_dir, out_dir=run_dir / "eval" / f"step_{step}",
            split=cfg.eval.split, limit=cfg.eval.limit, progress=False, rank=0, world=1,
        )
        model.train()
        values = []
        for r in results["tasks"].values():
            m = r["metrics"]
            values.append(m["accuracy"] if "accuracy" in m else -m["mse"])
        score = sum(values) / len(values)
        with open(run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"step": step, "eval": {k: v["metrics"] for k, v in results["tasks"].items()},
                                 "eval_score": score}) + "\n")
        if best is None or score > best:
            best = score
            export_checkpoint(model, run_dir, "best")
            _write_json_atomic(run_dir / "checkpoints" / "best.json", {"step": step, "eval_score": score})
    accelerator.wait_for_everyone()
    return best


def _eval_dirs(cfg, run_dir: Path) -> tuple[str, str]:
    """The validation split: eval.annotations / eval.gif_dir, or (both unset) the generated
    ``val`` split of the first ``shapes`` source."""
    if cfg.eval.annotations:
        if not cfg.eval.gif_dir:
            raise ConfigError("eval.gif_dir is needed with eval.annotations")
        return cfg.eval.annotations, cfg.eval.gif_dir
    from gifqa.training.data import prepare_shapes

    for source in cfg.data.sources:
        if source.kind == "shapes":
            train_split = prepare_shapes(source, run_dir)
            root = Path(train_split.annotations).parent
            return str(root / "val"), train_split.gif_dir
    raise ConfigError("eval.tasks is set but eval.annotations is not (and no shapes source has a val split)")


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _progress(total: int, start: int, enabled: bool):
    from gifqa.evaluation.harness import _bar

    bar = _bar(total, "train", enabled)
    bar.update(start)
    return bar
