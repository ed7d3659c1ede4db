"""``gifqa eval``: run a model (or a baseline) on declared tasks and write results files.

For each task: read the official annotation file of the split, pair records with media in
the GIF directory (records without media are reported as coverage and count as wrong: the
denominator never shrinks silently), predict, write ``<task>/predictions.jsonl``, score with
the pure metrics, and finally write ``results.json`` (metrics, coverage, config, package
versions, model fingerprint) and a ``results.md`` table.

Under ``accelerate launch`` each process takes every WORLD_SIZE-th record (by rank); rank 0
merges the per-rank prediction files in record order, so no example is lost or repeated.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

from gifqa.errors import ConfigError, MediaError
from gifqa.evaluation.scoring import score
from gifqa.evaluation.tasks import TaskSpec

RESULTS_SCHEMA_VERSION = 1


def _rank_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _barrier(world: int) -> None:
    if world > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("gifqa", "torch", "transformers", "peft", "accelerate", "numpy", "pillow", "av"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def evaluate(
    predictor,
    tasks: list[TaskSpec],
    *,
    annotations_dir,
    gif_dir,
    out_dir,
    split: str = "test",
    limit: int | None = None,
    batch_size: int = 8,
    config: dict | None = None,
    progress: bool = True,
    rank: int | None = None,
    world: int | None = None,
) -> dict:
    """Run ``predictor`` on ``tasks``; returns the results dict (also written to ``out_dir``).

    ``rank`` / ``world`` default to the launcher's RANK / WORLD_SIZE; pass 0 / 1 to evaluate in
    one process of a multi-process job (as the training loop does on its main process).
    """
    from gifqa.data.common import attach_media
    from gifqa.data.tgifqa import load_tgifqa

    env_rank, env_world = _rank_world()
    rank = env_rank if rank is None else rank
    world = env_world if world is None else world
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {"schema": RESULTS_SCHEMA_VERSION, "tasks": {}, "config": config or {}, "versions": package_versions()}
    for spec in tasks:
        if spec.dataset != "tgif-qa":
            raise ConfigError(f"task {spec.name}: dataset {spec.dataset!r} has no reader in the harness yet")
        records = load_tgifqa(spec.task, split, annotations_dir)
        if limit is not None:
            records = records[:limit]
        media = attach_media(records, gif_dir) if gif_dir is not None else None
        paths = {r.vid_id: p for r, p in media.present} if media else {}
        mine = [r for i, r in enumerate(records) if i % world == rank]
        t0 = time.monotonic()
        preds, errors = _predict(predictor, spec, mine, paths, batch_size, progress and rank == 0)
        task_dir = out / spec.name.replace("/", "_")
        task_dir.mkdir(exist_ok=True)
        part = task_dir / (f"predictions.rank{rank}.jsonl" if world > 1 else "predictions.jsonl")
        _write_jsonl(part, [p for p in preds])
        _write_jsonl(task_dir / (f"media_errors.rank{rank}.jsonl" if world > 1 else "media_errors.jsonl"), errors)
        _barrier(world)
        if rank != 0:
            continue
        if world > 1:
            preds = _merge_ranks(task_dir, "predictions", world, records)
            errors = _merge_ranks(task_dir, "media_errors", world, None)
            _write_jsonl(task_dir / "predictions.jsonl", preds)
            _write_jsonl(task_dir / "media_errors.jsonl", errors)
        metrics = score(spec.task, {p["vid_id"]: p["prediction"] for p in preds}, records)
        n_media = len(paths)
        results["tasks"][spec.name] = {
            "task": spec.name,
            "version": spec.version,
            "split": split,
            "metrics": metrics,
            "coverage": {
                "n_records": len(records),
                "n_with_media": n_media,
                "share_with_media": n_media / len(records) if records else float("nan"),
                "n_media_errors": len(errors),
                "n_predicted": len(preds),
                "missing_gifs": (media.missing_ids[:20] if media else []),
            },
            "seconds": round(time.monotonic() - t0, 3),
            "spec": asdict(spec),
        }
    if rank == 0:
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        (out / "results.md").write_text(results_markdown(results))
    _barrier(world)
    return results


def _predict(predictor, spec: TaskSpec, records, paths, batch_size, progress):
    preds, errors = [], []
    bar = _bar(len(records), spec.name, progress)
    if hasattr(predictor, "for_task"):
        predictor.for_task(spec.task)
    todo = []
    for r in records:
        path = paths.get(r.vid_id)
        if predictor.needs_media and path is None:
            bar.update(1)
            continue  # no media: reported in coverage, scored as missing
        todo.append((r, path))
    if spec.output == "text":
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            ok, answers = _guard(errors, batch, lambda b: predictor.text(
                [p for _, p in b], [spec.render(r) for r, _ in b], spec.max_new_tokens,
                types=[r.answer_type for r, _ in b]))
            for (r, _), a in zip(ok, answers):
                preds.append({"vid_id": r.vid_id, "prediction": a, "gif_name": r.gif_name})
            bar.update(len(batch))
    else:
        for r, path in todo:
            ok, out = _guard(errors, [(r, path)], lambda b: [_one(predictor, spec, b[0][0], b[0][1])])
            if ok:
                pred, extra = out[0]
                preds.append({"vid_id": r.vid_id, "prediction": pred, "gif_name": r.gif_name, **extra})
            bar.update(1)
    bar.close()
    return preds, errors


def _one(predictor, spec, record, path):
    if spec.output == "choice":
        idx, scores = predictor.choice(path, spec.render(record), list(record.options))
        return idx, ({"scores": scores} if scores else {})
    return predictor.count(path, spec.render(record)), {}


def _guard(errors, batch, fn):
    """Run ``fn(batch)``; a media error drops the batch's items into ``errors`` (one by one)."""
    try:
        return batch, fn(batch)
    except MediaError:
        if len(batch) > 1:
            ok, answers = [], []
            for item in batch:
                sub_ok, sub = _guard(errors, [item], fn)
                ok += sub_ok
                answers += sub
            return ok, answers
        r, path = batch[0]
        try:
            fn(batch)
        except MediaError as exc:
            errors.append({"vid_id": r.vid_id, "gif_name": r.gif_name, "error": str(exc)})
        return [], []


def _merge_ranks(task_dir: Path, stem: str, world: int, records):
    rows = []
    for r in range(world):
        part = task_dir / f"{stem}.rank{r}.jsonl"
        rows += [json.loads(line) for line in part.read_text().splitlines() if line.strip()]
        part.unlink()
    if records is not None:  # back to record order; a vid_id predicted twice is a bug, not data
        order = {rec.vid_id: i for i, rec in enumerate(records)}
        seen = set()
        for row in rows:
            if row["vid_id"] in seen:
                raise RuntimeError(f"{row['vid_id']} was predicted by two processes")
            seen.add(row["vid_id"])
        rows.sort(key=lambda row: order[row["vid_id"]])
    return rows


def _write_jsonl(path: Path, rows) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    os.replace(tmp, path)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _bar(total, desc, enabled):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, disable=not sys.stderr.isatty())


def results_markdown(results: dict) -> str:
    lines = [
        "| task | version | records | with media | accuracy | MSE (clamped) | MSE (unclamped) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["tasks"].items():
        m, c = r["metrics"], r["coverage"]
        acc = f"{m['accuracy']:.4f}" if "accuracy" in m else "-"
        mse = f"{m['mse']:.4f}" if "mse" in m else "-"
        mse_raw = f"{m['mse_unclamped']:.4f}" if "mse_unclamped" in m else "-"
        lines.append(
            f"| {name} | {r['version']} | {c['n_records']} | {c['n_with_media']} ({100 * c['share_with_media']:.1f} %) "
            f"| {acc} | {mse} | {mse_raw} |"
        )
        if "accuracy_by_type" in m:
            by = ", ".join(f"{k} {v:.4f}" for k, v in m["accuracy_by_type"].items())
            lines.append(f"| {name} by type | | | | {by} | | |")
    return "\n".join(lines) + "\n"
