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
    """Wait for every process.  torch.distributed directly: Accelerate's PartialState reports
    DistributedType.NO (so ``wait_for_everyone`` returns at once) for ``--multi_gpu`` runs on a
    machine without CUDA, although the launcher started several processes."""
    if world <= 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState()  # initialises the process group from the launcher's environment
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    dist.barrier()


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("gifqa", "torch", "transformers", "peft", "accelerate", "numpy", "pillow", "av"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def load_task_records(spec: TaskSpec, split: str, *, annotations_dir=None, references=None, caption_ids=None,
                      reactions=None, reactions_split: str | None = None) -> list:
    """The records of one task: each has ``vid_id`` (keys predictions) and ``gif_name`` (the media stem)."""
    if spec.dataset == "tgif-qa":
        from gifqa.data.tgifqa import load_tgifqa

        if annotations_dir is None:
            raise ConfigError(f"task {spec.name} needs --annotations (the folder with the *_question.csv files)")
        return load_tgifqa(spec.task, split, annotations_dir)
    if spec.dataset == "tgif":
        from gifqa.evaluation.captions import load_caption_items

        if references is None:
            raise ConfigError(f"task {spec.name} needs --references (a url-or-id<TAB>sentence file such as tgif-v1.0.tsv)")
        return load_caption_items(references, caption_ids)
    if spec.dataset == "reactiongif":
        from gifqa.evaluation.reactions import load_reaction_items

        if reactions is None:
            raise ConfigError(f"task {spec.name} needs --reactions (a reactions JSON Lines file)")
        return load_reaction_items(reactions, reactions_split or split)
    raise ConfigError(f"task {spec.name}: dataset {spec.dataset!r} has no reader in the harness")


def score_task(spec: TaskSpec, preds: list[dict], records) -> dict:
    """Metrics of one task from its prediction rows (``{"vid_id", "prediction", ...}``)."""
    by_id = {p["vid_id"]: p["prediction"] for p in preds}
    if spec.dataset == "tgif-qa":
        return score(spec.task, by_id, records)
    known = {r.vid_id for r in records}
    common = {"task": spec.task, "n_predicted": sum(1 for r in records if r.vid_id in by_id),
              "n_unknown": sum(1 for v in by_id if v not in known)}
    if spec.dataset == "tgif":
        from gifqa.evaluation.captions import caption_scores

        out = caption_scores(by_id, {r.vid_id: r.references for r in records})
        out.pop("per_clip")
        return {**common, **out}
    from gifqa.evaluation.reactions import reaction_scores

    sentiments = {p["vid_id"]: p["sentiment"] for p in preds if "sentiment" in p}
    emotions = {p["vid_id"]: frozenset(p["emotions"]) for p in preds if "emotions" in p}
    out = reaction_scores(by_id, {r.vid_id: r.label for r in records}, sentiments=sentiments, emotions=emotions)
    return {**common, **out}


def evaluate(
    predictor,
    tasks: list[TaskSpec],
    *,
    annotations_dir=None,
    gif_dir,
    out_dir,
    split: str = "test",
    limit: int | None = None,
    batch_size: int = 8,
    config: dict | None = None,
    progress: bool = True,
    rank: int | None = None,
    world: int | None = None,
    references=None,
    caption_ids=None,
    reactions=None,
    reactions_split: str | None = None,
) -> dict:
    """Run ``predictor`` on ``tasks``; returns the results dict (also written to ``out_dir``).

    ``rank`` / ``world`` default to the launcher's RANK / WORLD_SIZE; pass 0 / 1 to evaluate in
    one process of a multi-process job (as the training loop does on its main process).
    Sources: ``annotations_dir`` (TGIF-QA tasks), ``references`` + ``caption_ids`` (captioning),
    ``reactions`` (ReactionGIF; ``reactions_split`` picks its lines, default ``split``: gifqa-shapes'
    reactions.jsonl also has ``test_compositional``); a task whose source is not given is a ConfigError.
    """
    from gifqa.data.common import attach_media

    env_rank, env_world = _rank_world()
    rank = env_rank if rank is None else rank
    world = env_world if world is None else world
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {"schema": RESULTS_SCHEMA_VERSION, "tasks": {}, "config": config or {}, "versions": package_versions()}
    for spec in tasks:
        records = load_task_records(spec, split, annotations_dir=annotations_dir, references=references,
                                    caption_ids=caption_ids, reactions=reactions, reactions_split=reactions_split)
        if limit is not None:
            records = records[:limit]
        media = attach_media(records, gif_dir) if gif_dir is not None else None
        paths = {r.vid_id: p for r, p in media.present} if media else {}
        # Whole GIFs per process (all questions of one clip on one rank: its decoded frames are
        # reused from the clip cache), GIFs dealt round-robin in first-appearance order.
        gif_slot = {g: i for i, g in enumerate(dict.fromkeys(r.gif_name for r in records))}
        mine = [r for r in records if gif_slot[r.gif_name] % world == rank]
        t0 = time.monotonic()
        preds, errors = _predict(predictor, spec, mine, paths, batch_size, progress and rank == 0)
        task_dir = out / spec.name.replace("/", "_")
        task_dir.mkdir(exist_ok=True)
        part = task_dir / (f"predictions.rank{rank}.jsonl" if world > 1 else "predictions.jsonl")
        _write_jsonl(part, preds)
        _write_jsonl(task_dir / (f"media_errors.rank{rank}.jsonl" if world > 1 else "media_errors.jsonl"), errors)
        _barrier(world)
        if rank != 0:
            continue
        if world > 1:
            preds = _merge_ranks(task_dir, "predictions", world, records)
            errors = _merge_ranks(task_dir, "media_errors", world, None)
            _write_jsonl(task_dir / "predictions.jsonl", preds)
            _write_jsonl(task_dir / "media_errors.jsonl", errors)
        metrics = score_task(spec, preds, records)
        n_media = len(paths)
        results["tasks"][spec.name] = {
            "task": spec.name,
            "version": spec.version,
            "split": (reactions_split or split) if spec.dataset == "reactiongif" else split,
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
    # Questions about the same GIF next to each other (the clip cache then decodes each once);
    # the rows go back to record order below.
    order = {r.vid_id: i for i, r in enumerate(records)}
    todo.sort(key=lambda item: (item[0].gif_name, order[item[0].vid_id]))
    if spec.output in ("text", "caption", "reaction"):
        for i in range(0, len(todo), batch_size):
            batch = todo[i : i + batch_size]
            ok, answers = _guard(errors, batch, lambda b: _batched(predictor, spec, b))
            for (r, _), (pred, extra) in zip(ok, answers):
                preds.append({"vid_id": r.vid_id, "prediction": pred, "gif_name": r.gif_name, **extra})
            bar.update(len(batch))
    else:
        for r, path in todo:
            ok, out = _guard(errors, [(r, path)], lambda b: [_one(predictor, spec, b[0][0], b[0][1])])
            if ok:
                pred, extra = out[0]
                preds.append({"vid_id": r.vid_id, "prediction": pred, "gif_name": r.gif_name, **extra})
            bar.update(1)
    bar.close()
    preds.sort(key=lambda p: order[p["vid_id"]])
    return preds, errors


def _batched(predictor, spec, batch):
    paths = [p for _, p in batch]
    if spec.output == "text":
        answers = predictor.text(paths, [spec.render(r) for r, _ in batch], spec.max_new_tokens,
                                 types=[r.answer_type for r, _ in batch])
        return [(a, {}) for a in answers]
    if spec.output == "caption":
        return [(c, {}) for c in predictor.caption(paths, spec.max_new_tokens)]
    out = []
    for row in predictor.reaction(paths):
        row = dict(row)
        out.append((row.pop("label"), row))
    return out


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
    qa = {n: r for n, r in results["tasks"].items() if "mse" in r["metrics"] or "accuracy_by_type" in r["metrics"]
          or r["spec"]["dataset"] == "tgif-qa"}
    lines = []
    if qa:
        lines += [
            "| task | version | records | with media | accuracy | MSE (clamped) | MSE (unclamped) |",
            "|---|---|---|---|---|---|---|",
        ]
    for name, r in qa.items():
        m, c = r["metrics"], r["coverage"]
        acc = f"{m['accuracy']:.4f}" if "accuracy" in m else "-"
        mse = f"{m['mse']:.4f}" if "mse" in m else "-"
        mse_raw = f"{m['mse_unclamped']:.4f}" if "mse_unclamped" in m else "-"
        lines.append(f"| {name} | {r['version']} | {c['n_records']} | {_media(c)} | {acc} | {mse} | {mse_raw} |")
        if "accuracy_by_type" in m:
            by = ", ".join(f"{k} {v:.4f}" for k, v in m["accuracy_by_type"].items())
            lines.append(f"| {name} by type | | | | {by} | | |")
    for name, r in results["tasks"].items():
        if name in qa:
            continue
        m, c = r["metrics"], r["coverage"]
        if lines:
            lines.append("")
        if r["spec"]["dataset"] == "tgif":
            keys = ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider"]
            heads = ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]
        else:
            keys = ["accuracy", "macro_f1", "sentiment_accuracy", "emotion_micro_f1"]
            heads = ["accuracy (43)", "macro-F1", "sentiment acc.", "emotion micro-F1"]
        lines.append("| task | version | records | with media | " + " | ".join(heads) + " |")
        lines.append("|---" * (4 + len(heads)) + "|")
        vals = " | ".join("-" if m.get(k) is None else f"{m[k]:.4f}" for k in keys)
        lines.append(f"| {name} | {r['version']} | {c['n_records']} | {_media(c)} | {vals} |")
    return "\n".join(lines) + "\n"


def _media(c: dict) -> str:
    return f"{c['n_with_media']} ({100 * c['share_with_media']:.1f} %)"
