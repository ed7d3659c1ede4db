"""Contrastive training of a small CLIP on GIF frames and their captions.

The objective is CLIP's symmetric InfoNCE (Radford et al. 2021, "Learning Transferable Visual
Models From Natural Language Supervision", Fig. 3): in a batch of B (clip, caption) pairs the
matching pair is the positive and the other B - 1 captions (clips) the negatives, with a learned
temperature.  A clip's embedding is the mean of its frames' L2-normalised image embeddings,
re-normalised: the parameter-free "meanP" pooling of CLIP4Clip (Luo et al. 2021), which keeps
the tower a plain per-frame image encoder, as CLIP-Cut and the gifqa vision tower use it.

Optionally (``patch_supervision``) the tower's last-layer patch tokens are also trained to say which
shape and colour cover their patch (the world's ground truth, ``gifqa.shapes.patches``), through two
linear heads used only in training: dense supervision of what each token shows, as segmentation
labels supervise a dense encoder.  CLIP's loss trains only the pooled class token, so its patch tokens
need not hold what covers them, and on the shapes world they hold little of it (report.md,
gifqa-shapes: a linear probe reads a patch's shape from them 0.58 of the time); a Q-Former can only
bind a colour or an action to a named shape if some token says where that shape is.  With
``patch_pose`` a third linear head regresses, from each covered patch's token, how the covering shape
stands in the frame (its centre relative to the patch, its radius, its heading;
``gifqa.shapes.patches.patch_poses``): counting how often a shape hops, grows or spins needs tokens that
say how it stands in each frame, and contrastive training on whole captions keeps little of that
(report.md, gifqa-shapes: probes of the tower for counting).

The vision tower's architecture and pixel statistics come from a gifqa model preset, so the
trained tower drops into that model unchanged (``vision.hub_id`` = the output directory).  The
output directory is a regular transformers ``CLIPModel`` folder (config, safetensors, tokenizer,
``preprocessor_config.json``) that ``CLIPEncoder.from_pretrained`` loads for CLIP-Cut.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gifqa.errors import ConfigError, DataError
from gifqa.typed_config import from_dict, to_dict
from gifqa.workers import ordered_map

log = logging.getLogger(__name__)

MAX_PIXEL_BYTES = 8 * 2**30  # decoded training + validation pixels kept in memory as float16 (the recipe's world: 3.9 GiB)
PIXEL_DTYPE = torch.float16  # normalised pixels (about -2..2) lose nothing that matters at 3 significant digits; half of float32's memory


@dataclass
class ContrastiveData:
    world_root: str = "runs/shapes-world"  # the shapes world is generated (once) under <world_root>/data/; the same generator arguments give the same files as scripts/configs/shapes.yaml
    generate: dict[str, Any] = field(default_factory=dict)  # gifqa-shapes generator arguments (n_train, n_val, ..., seed, size_px)
    frames: int = 8  # frames per clip, sampled uniformly by time (as the gifqa model sees them)


@dataclass
class ContrastiveOptim:
    lr: float = 1e-3  # AdamW peak learning rate
    weight_decay: float = 0.1  # AdamW decoupled weight decay (not on biases, norms, embeddings or the temperature)
    batch_size: int = 128  # (clip, caption) pairs per step: the contrastive negatives
    max_steps: int = 2000  # optimizer steps
    warmup_steps: int = 100  # linear warm-up, then cosine decay to 0
    max_grad_norm: float = 1.0  # gradient clipping (L2 norm)


@dataclass
class ContrastiveConfig:
    output_dir: str = "runs/shapes-clip"  # the CLIPModel folder written at the end
    seed: int = 0  # init, batch order
    preset: str = "shapes"  # gifqa model preset whose vision tower (hf_config, image_mean/std) is trained
    text: dict[str, Any] = field(default_factory=dict)  # CLIPTextConfig kwargs (vocab, eos and pad ids come from the tokenizer)
    projection_dim: int = 64  # width of the joint embedding space
    logit_scale_init: float = 2.6592  # log(1/0.07), CLIP's initial temperature
    hard_negatives: bool = False  # NegCLIP: each clip also sees one perturbed caption (a shape, colour or action changed, or two actors' swapped; gifqa.shapes.negatives) as an extra negative, drawn anew every step
    patch_supervision: bool = False  # also train the last-layer patch tokens to classify the shape and colour covering their patch (gifqa.shapes.patches; linear heads, dropped after training)
    patch_loss_weight: float = 1.0  # weight of that loss (mean of the shape and colour cross-entropies per patch token) next to InfoNCE
    patch_pose: bool = False  # with patch_supervision: also regress each covered patch token's shape centre, radius and heading (gifqa.shapes.patches.patch_poses; patch units, squared error, added to that loss)
    data: ContrastiveData = field(default_factory=ContrastiveData)
    optim: ContrastiveOptim = field(default_factory=ContrastiveOptim)
    log_every: int = 100  # steps between loss lines on stderr

    def __post_init__(self):
        if self.optim.batch_size < 2:
            raise ConfigError("optim.batch_size must be >= 2 (contrastive negatives come from the batch)")
        if self.optim.max_steps < 1:
            raise ConfigError("optim.max_steps must be >= 1")
        if self.patch_pose and not self.patch_supervision:
            raise ConfigError("patch_pose needs patch_supervision: true (it adds a head to the patch heads)")


def load_contrastive_recipe(path, argv: list[str] | None = None) -> ContrastiveConfig:
    """Read a YAML recipe (scripts/configs/shapes-clip.yaml) with ``--dotted.key value`` overrides."""
    from gifqa.training.config import read_recipe

    return from_dict(ContrastiveConfig, read_recipe(path, argv), "recipe")


def build_clip(cfg: ContrastiveConfig, tokenizer):
    """A randomly initialised ``CLIPModel`` whose vision tower is the preset's (seeded)."""
    from transformers import CLIPConfig, CLIPModel

    from gifqa.model.presets import load_preset

    vision = load_preset(cfg.preset).vision
    if vision.kind != "clip":
        raise ConfigError(f"preset {cfg.preset!r} has a {vision.kind!r} vision tower; contrastive training needs 'clip'")
    # CLIP pools the text at the end-of-text token; transformers treats eos_token_id == 2 as the
    # legacy "highest token id" rule, so the CLIP tokenizer's end token is its last id (see
    # gifqa.shapes.vocab.build_clip_tokenizer) and named here explicitly.
    text = {"vocab_size": len(tokenizer), "eos_token_id": tokenizer.eos_token_id, "bos_token_id": tokenizer.bos_token_id,
            "pad_token_id": tokenizer.pad_token_id, **cfg.text}
    config = CLIPConfig(text_config=text, vision_config=dict(vision.hf_config), projection_dim=cfg.projection_dim,
                        logit_scale_init_value=cfg.logit_scale_init)
    torch.manual_seed(cfg.seed)
    return CLIPModel(config), vision


def clip_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
              text_negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over L2-normalised [B, D] video and text embeddings (pair i is the positive of row i).

    ``text_negatives`` [B', D]: extra captions that match no clip (NegCLIP's hard negatives); they
    join the captions each clip is scored against, and nothing else (a caption's softmax over
    clips is unchanged)."""
    scale = logit_scale.exp().clamp(max=100.0)  # CLIP clips the scale at 100
    logits = scale * video @ text.t()  # [B, B]
    target = torch.arange(video.shape[0], device=video.device)
    v2t = logits if text_negatives is None else torch.cat([logits, scale * video @ text_negatives.t()], dim=1)  # [B, B + B']
    return (F.cross_entropy(v2t, target) + F.cross_entropy(logits.t(), target)) / 2


def embed_videos(model, pixels: torch.Tensor, patches: bool = False):
    """[B, T, 3, S, S] -> [B, D]: mean of the frames' normalised embeddings, normalised (CLIP4Clip meanP).
    With ``patches``, also the tower's last-layer patch tokens [B, T, P, D_v] (class token dropped)."""
    b, t = pixels.shape[:2]
    out = model.get_image_features(pixel_values=pixels.flatten(0, 1).float())  # stored as PIXEL_DTYPE
    frames = getattr(out, "pooler_output", out)  # transformers >= 5 wraps the projected features
    video = F.normalize(F.normalize(frames, dim=-1).view(b, t, -1).mean(1), dim=-1)
    if not patches:
        return video
    tokens = out.last_hidden_state[:, 1:]  # [B*T, P, D_v]: what gifqa's vision.feature_layer -1 reads
    return video, tokens.reshape(b, t, *tokens.shape[1:])


class PatchHeads(torch.nn.Module):
    """Linear read-outs of a patch token's shape and colour class (0 = nothing covers the patch), and with
    ``pose`` of the covering shape's pose (gifqa.shapes.patches.patch_poses)."""

    def __init__(self, width: int, pose: bool = False):
        from gifqa.shapes.patches import POSE_SIZE
        from gifqa.shapes.world import COLOURS, SHAPES

        super().__init__()
        self.shape = torch.nn.Linear(width, 1 + len(SHAPES))
        self.colour = torch.nn.Linear(width, 1 + len(COLOURS))
        self.pose = torch.nn.Linear(width, POSE_SIZE) if pose else None

    def forward(self, tokens: torch.Tensor, shape: torch.Tensor, colour: torch.Tensor,
                poses: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """tokens [..., P, D_v], labels [..., P] (poses [..., P, POSE_SIZE], NaN = uncovered) -> mean
        cross-entropy of the two read-outs (+ the pose's squared error), and their accuracy on covered
        patches (label > 0) (and the pose's mean squared error)."""
        ls, lc = self.shape(tokens).flatten(0, -2), self.colour(tokens).flatten(0, -2)
        shape, colour = shape.reshape(-1), colour.reshape(-1)
        loss = (F.cross_entropy(ls, shape) + F.cross_entropy(lc, colour)) / 2
        hit = shape > 0
        acc = {"shape": float((ls.argmax(-1) == shape)[hit].float().mean()) if hit.any() else float("nan"),
               "colour": float((lc.argmax(-1) == colour)[hit].float().mean()) if hit.any() else float("nan")}
        if self.pose is not None and poses is not None:
            err = self.pose_error(tokens, poses)
            if err is not None:
                loss = loss + err
                acc["pose_mse"] = float(err.detach())
        return loss, acc

    def pose_error(self, tokens: torch.Tensor, poses: torch.Tensor) -> torch.Tensor | None:
        """Mean squared error of the pose read-out over covered patches; None when none is covered."""
        target = poses.flatten(0, -2).to(tokens.device)  # [M, POSE_SIZE]
        seen = ~target.isnan().any(dim=-1)
        if not seen.any():
            return None
        return (self.pose(tokens).flatten(0, -2)[seen].float() - target[seen].float()).pow(2).mean()


@torch.no_grad()
def patch_accuracy(model, heads: PatchHeads, pixels, labels, batch: int = 256) -> dict:
    """The heads' shape / colour accuracy over covered patches of the given clips."""
    model.eval()
    right = {"shape": 0.0, "colour": 0.0}
    covered = 0
    for i in range(0, len(pixels), batch):
        _, tokens = embed_videos(model, pixels[i : i + batch], patches=True)
        shape, colour = labels[0][i : i + batch], labels[1][i : i + batch]
        hit = shape > 0
        right["shape"] += float((heads.shape(tokens).argmax(-1) == shape)[hit].sum())
        right["colour"] += float((heads.colour(tokens).argmax(-1) == colour)[hit].sum())
        if heads.pose is not None and len(labels) > 2:
            err = heads.pose_error(tokens, labels[2][i : i + batch])
            right["pose_squared_error"] = right.get("pose_squared_error", 0.0) + (0.0 if err is None else float(err) * int(hit.sum()))
        covered += int(hit.sum())
    out = {k: round(v / max(covered, 1), 4) for k, v in right.items() if k != "pose_squared_error"}
    if "pose_squared_error" in right:  # per covered patch (each batch's mean weighted by its covered patches)
        out["pose_mse"] = round(right["pose_squared_error"] / max(covered, 1), 4)
    return out | {"covered_patches": covered}


def embed_texts(model, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    out = model.get_text_features(input_ids=ids, attention_mask=mask)
    return F.normalize(getattr(out, "pooler_output", out), dim=-1)


@torch.no_grad()
def retrieval_metrics(model, pixels: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, batch: int = 256) -> dict:
    """Recall@{1,5} of caption -> clip and clip -> caption over the given pairs (pair i matches i)."""
    model.eval()
    v = torch.cat([embed_videos(model, pixels[i : i + batch]) for i in range(0, len(pixels), batch)])
    t = torch.cat([embed_texts(model, ids[i : i + batch], mask[i : i + batch]) for i in range(0, len(ids), batch)])
    sim = t @ v.t()  # [N captions, N clips]
    gold = torch.arange(len(sim))
    out = {"n": len(sim)}
    for name, s in (("text_to_video", sim), ("video_to_text", sim.t())):
        rank = (s > s[gold, gold][:, None]).sum(1)  # clips scored above the right one
        for k in (1, 5):
            out[f"{name}_r{k}"] = round(float((rank < k).float().mean()), 4)
    return out


@torch.no_grad()
def hard_negative_accuracy(model, data, texts: list[str], tokenizer, max_text: int, seed: int = 0) -> dict:
    """Share of clips scored closer to their caption than to a hard negative of it (NegCLIP's
    perturbations, gifqa.shapes.negatives), overall and per word class changed; 0.5 = blind to it."""
    from gifqa.shapes.negatives import KINDS, hard_negative

    model.eval()
    v = embed_videos(model, data[0])  # [N, D]
    pos = embed_texts(model, data[1], data[2])  # [N, D]
    out = {}
    for kind in ("any",) + KINDS:
        rng = np.random.default_rng(seed)
        negs = [hard_negative(t, rng, KINDS if kind == "any" else (kind,)) for t in texts]
        enc = tokenizer(negs, padding=True, truncation=True, max_length=max_text, return_tensors="pt")
        neg = embed_texts(model, enc["input_ids"], enc["attention_mask"])
        out[kind] = round(float(((v * pos).sum(-1) > (v * neg).sum(-1)).float().mean()), 4)
    return out


def evaluate_clip(clip_dir, world_dir, split: str = "val", frames: int = 8, seed: int = 0) -> dict:
    """Caption <-> clip retrieval and hard-negative accuracy of a saved CLIP folder on one split of a
    generated world (``world_dir`` holds ``manifest.json``); the preset named in its training.json
    (else ``shapes``) gives the pixel statistics."""
    from transformers import CLIPModel

    from gifqa.model.presets import load_preset
    from gifqa.shapes.vocab import build_clip_tokenizer

    clip_dir, world_dir = Path(clip_dir), Path(world_dir)
    for need in (clip_dir / "config.json", world_dir / "manifest.json"):
        if not need.is_file():
            raise DataError(need, "missing; pass a scripts/train_clip.py output folder and a gifqa make-shapes folder")
    record = clip_dir / "training.json"
    preset = json.loads(record.read_text())["config"].get("preset", "shapes") if record.is_file() else "shapes"
    tokenizer = build_clip_tokenizer()
    model = CLIPModel.from_pretrained(clip_dir).eval()
    max_text = model.config.text_config.max_position_embeddings
    data, texts, _ = _load_split(world_dir, split, frames, load_preset(preset).vision, tokenizer, max_text)
    return {"clip": str(clip_dir), "split": split, "retrieval": retrieval_metrics(model, *data),
            "hard_negatives": hard_negative_accuracy(model, data, texts, tokenizer, max_text, seed)}


def _load_split(root: Path, split: str, frames: int, vision, tokenizer, max_text: int, labels: bool = False,
                poses: bool = False, workers: int | None = None):
    """Pixels [N, T, 3, S, S] (PIXEL_DTYPE), token ids / mask [N, L] of one split's GIFs and captions; the
    captions; with ``labels``, the patch shape and colour classes [N, T, P] of the frames read
    (``gifqa.shapes.patches``; the scenes are re-drawn from the world's manifest), else None; with
    ``poses`` as well, the labels are (shape, colour, poses [N, T, P, POSE_SIZE]).  The clips are decoded
    by ``workers`` processes (``gifqa.workers.ordered_map``); the arrays are the same for any number."""
    from gifqa.shapes.patches import POSE_SIZE

    captions = dict(line.split("\t", 1) for line in (root / "descriptions.tsv").read_text().splitlines() if line)
    ids = root / split / "gif_ids.txt"
    if not ids.is_file():
        raise DataError(ids, f"missing (a world generated by an older gifqa); delete {root} to regenerate it")
    names = ids.read_text().split()
    if not names:
        raise DataError(ids, "no GIFs listed")
    # Filled in place: stacking a list would hold every clip twice at the peak.
    pixels = torch.empty((len(names), frames, 3, vision.image_size, vision.image_size), dtype=PIXEL_DTYPE)
    grid = vision.image_size // int(vision.hf_config.get("patch_size", 32))
    classes = torch.zeros((2, len(names), frames, grid * grid), dtype=torch.int64) if labels else None
    stances = torch.zeros((len(names), frames, grid * grid, POSE_SIZE)) if labels and poses else None
    manifest = json.loads((root / "manifest.json").read_text()) if labels else {}
    scene_args = (manifest["seed"], manifest["size_px"], grid, poses) if labels else None
    jobs = [(str(root / "gifs" / n), frames, vision, scene_args) for n in names]
    with ordered_map(_decode_clip, jobs, workers, chunksize=32) as decoded:
        for i, (clip, clip_classes, clip_poses) in enumerate(decoded):
            pixels[i] = torch.from_numpy(clip)
            if clip_classes is not None:
                for k, c in enumerate(clip_classes):
                    classes[k, i] = torch.from_numpy(c)
            if clip_poses is not None:
                stances[i] = torch.from_numpy(clip_poses)
    texts = [captions[n].strip() for n in names]
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_text, return_tensors="pt")
    if stances is not None:
        return (pixels, enc["input_ids"], enc["attention_mask"]), texts, (classes[0], classes[1], stances)
    return (pixels, enc["input_ids"], enc["attention_mask"]), texts, classes


def _decode_clip(job):
    """One clip of ``_load_split`` (in a worker process): (pixels [T, 3, S, S] as PIXEL_DTYPE numpy, its
    patch classes (shape, colour) [T, P] each or None, its patch poses [T, P, POSE_SIZE] or None)."""
    from gifqa.media import load_video
    from gifqa.model.vision import preprocess_frames
    from gifqa.shapes.dataset import scene_for
    from gifqa.shapes.patches import frame_times_ms, patch_coverage, patch_labels, patch_poses

    path, frames, vision, scene_args = job
    video = load_video(path, frames)
    pixels = preprocess_frames(video.frames, vision).to(PIXEL_DTYPE).numpy()
    if scene_args is None:
        return pixels, None, None
    seed, size_px, grid, poses = scene_args
    scene = scene_for(Path(path).name, seed=seed, size_px=size_px)
    times = frame_times_ms(scene, video.timestamps_ms)
    share = patch_coverage(scene, times, grid)
    classes = patch_labels(scene, times, grid, share=share)
    return pixels, classes, patch_poses(scene, times, grid, share=share) if poses else None


def _param_groups(model, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "embedding" in name or name == "logit_scale" else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def save_clip(model, tokenizer, vision, out: Path, metrics: dict, cfg: ContrastiveConfig) -> None:
    """A transformers CLIPModel folder, plus the image statistics CLIP-Cut reads and the run's record."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "preprocessor_config.json").write_text(json.dumps(
        {"crop_size": vision.image_size, "image_mean": vision.image_mean, "image_std": vision.image_std}, indent=1) + "\n")
    (out / "training.json").write_text(json.dumps({"config": to_dict(cfg), "metrics": metrics}, indent=1) + "\n")


def train_contrastive(cfg: ContrastiveConfig, tokenizer) -> dict:
    """Train, evaluate retrieval on the validation split, save to ``cfg.output_dir``; returns the metrics."""
    from gifqa.shapes import generate_dataset
    from gifqa.shapes.negatives import hard_negative
    from gifqa.training.data import SHAPES_DEFAULTS, shapes_world_dir

    out = Path(cfg.output_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; choose a new --output_dir (nothing is overwritten)")
    # 1. Data: the shapes world (generated once, shared with the gifqa recipe), decoded up front and
    #    held in memory as float16 pixels: refuse sizes that would not fit comfortably.
    params = {**SHAPES_DEFAULTS, **cfg.data.generate}
    size = int(params["size_px"])
    need = (params["n_train"] + params["n_val"]) * cfg.data.frames * 3 * size * size * PIXEL_DTYPE.itemsize
    if need > MAX_PIXEL_BYTES:
        raise ConfigError(f"the decoded clips would take {need / 2**30:.1f} GiB (limit {MAX_PIXEL_BYTES / 2**30:.0f} GiB); "
                          "use fewer clips (data.generate.n_train) or frames (data.frames)")
    root = shapes_world_dir(Path(cfg.data.world_root), cfg.data.generate)
    if not (root / "manifest.json").exists():
        generate_dataset(root, **params)
    model, vision = build_clip(cfg, tokenizer)
    max_text = model.config.text_config.max_position_embeddings
    t0 = time.perf_counter()
    dense = cfg.patch_supervision
    train, train_texts, train_labels = _load_split(root, "train", cfg.data.frames, vision, tokenizer, max_text, dense,
                                                   cfg.patch_pose)
    val, val_texts, val_labels = _load_split(root, "val", cfg.data.frames, vision, tokenizer, max_text, dense, cfg.patch_pose)
    log.info("decoded %d train and %d val clips in %.0f s", len(train[0]), len(val[0]), time.perf_counter() - t0)
    heads = PatchHeads(model.config.vision_config.hidden_size, cfg.patch_pose) if dense else None  # seeded by build_clip's manual_seed

    # 2. Optimizer: AdamW, linear warm-up then cosine decay (the patch heads, if any, in the decayed group).
    o = cfg.optim
    groups = _param_groups(model, o.weight_decay)
    if heads is not None:
        groups[0]["params"] += list(heads.parameters())
    opt = torch.optim.AdamW(groups, lr=o.lr, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, o.warmup_steps)) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, s / o.max_steps))))

    # 3. Loop: each step draws a batch of distinct clips (an epoch-wise permutation, seeded).
    gen = torch.Generator().manual_seed(cfg.seed)
    neg_rng = np.random.default_rng(cfg.seed)  # hard-negative captions, drawn anew each step
    order, pos, n = torch.randperm(len(train[0]), generator=gen), 0, len(train[0])
    bs = min(o.batch_size, n)
    history = []
    model.train()
    for step in range(o.max_steps):
        if pos + bs > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos : pos + bs]
        pos += bs
        negatives = None
        if cfg.hard_negatives:
            enc = tokenizer([hard_negative(train_texts[i], neg_rng) for i in idx.tolist()], padding=True,
                            truncation=True, max_length=max_text, return_tensors="pt")
            negatives = embed_texts(model, enc["input_ids"], enc["attention_mask"])  # [B, D]
        if heads is None:
            video = embed_videos(model, train[0][idx])
        else:
            video, tokens = embed_videos(model, train[0][idx], patches=True)  # tokens [B, T, P, D_v]
            dense_loss, dense_acc = heads(tokens, train_labels[0][idx], train_labels[1][idx],
                                          train_labels[2][idx] if cfg.patch_pose else None)
        loss = clip_loss(video, embed_texts(model, train[1][idx], train[2][idx]), model.logit_scale, negatives)
        total = loss if heads is None else loss + cfg.patch_loss_weight * dense_loss
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + (list(heads.parameters()) if heads else []), o.max_grad_norm)
        opt.step()
        sched.step()
        if (step + 1) % cfg.log_every == 0 or step + 1 == o.max_steps:
            row = {"step": step + 1, "loss": round(loss.item(), 4)}
            if heads is not None:
                row |= {"patch_loss": round(dense_loss.item(), 4), "patch_shape_acc": round(dense_acc["shape"], 4),
                        "patch_colour_acc": round(dense_acc["colour"], 4)}
                if "pose_mse" in dense_acc:
                    row["patch_pose_mse"] = round(dense_acc["pose_mse"], 4)
            history.append(row)
            log.info("step %d %s temperature %.4f", step + 1, row, 1 / model.logit_scale.exp().item())

    # 4. Evaluate (caption <-> clip retrieval on held-out GIFs) and save.
    metrics = {"val": retrieval_metrics(model, *val), "train_subset": retrieval_metrics(model, *(x[:len(val[0])] for x in train)),
               "val_hard_negatives": hard_negative_accuracy(model, val, val_texts, tokenizer, max_text, cfg.seed),
               "history": history, "seconds": round(time.perf_counter() - t0, 1)}
    if heads is not None:
        metrics["val_patch_accuracy"] = patch_accuracy(model, heads, val[0], val_labels)
    log.info("val retrieval %s; against hard negatives %s", metrics["val"], metrics["val_hard_negatives"])
    save_clip(model.eval(), tokenizer, vision, out, metrics, cfg)
    return metrics
