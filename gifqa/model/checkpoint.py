"""Self-describing checkpoints: only what was trained, loaded strictly, no pickle.

Layout of a checkpoint directory::

    config.json              the nested GifQAConfig (backbone hub ids and revisions included)
    gifqa_modules.safetensors  projector (Q-Former, queries, temporal embedding, projection),
                             MVM decoder and heads, keys prefixed by module name
    adapter/                 the peft LoRA adapter folder (adapter_config.json + safetensors)
    tokenizer/               with ``llm.train: full``: the tokenizer (tokenizer.json ...), so the
                             checkpoint loads with nothing else (the LLM weights are in the
                             modules file under ``llm.``, the tower's under ``vision.`` with ``vision.train``)
    README.md                model card

The frozen backbones are not stored: they come back from their hub ids (and revisions), or,
for backbones built at random from ``hf_config`` (the ``tiny`` preset), from the config's seed;
a fingerprint of those random weights is stored and checked so that a torch whose random
generator changed cannot silently pair trained parts with different backbones.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from gifqa.errors import CheckpointError, ModelNotFoundError
from gifqa.model.config import GifQAConfig

MODULES_FILE = "gifqa_modules.safetensors"
ADAPTER_DIR = "adapter"
TOKENIZER_DIR = "tokenizer"  # written with llm.train: full (the vocabulary belongs to the trained LLM)
FORMAT_VERSION = "1"


def _random_backbone_fingerprint(model) -> str:
    """sha256 over the backbones built from hf_config (empty string when all come from the hub)."""
    h = hashlib.sha256()
    parts = []
    # A backbone that trained (or is saved anyway) is in the checkpoint, so its random init needs no check.
    if model.config.vision.hub_id is None and not (model.config.vision.train or model.config.vision.save_weights):
        parts.append(model.vision)
    if model.config.llm.hub_id is None and model.config.llm.train != "full":
        parts.append(model.llm)
    if not parts:
        return ""
    for module in parts:
        for name, p in sorted(module.named_parameters()):
            if "lora_" in name:
                continue
            h.update(name.encode())
            h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def _trained_state(model) -> dict[str, torch.Tensor]:
    out = {}
    for prefix, module in model.trained_modules().items():
        for k, v in module.state_dict().items():
            out[f"{prefix}.{k}"] = v.detach().contiguous().cpu()
    return out


def _model_card(model) -> str:
    c = model.config
    counts = model.parameter_counts()
    # Trained: the projector, heads and MVM decoder always; the LLM with llm.train: full, the tower with
    # vision.train; LoRA (in adapter/).  Stored in the safetensors: those, plus a frozen tower with
    # vision.save_weights.
    frozen = {"vision"} if not c.vision.train else set()
    if c.llm.train != "full":
        frozen.add("llm")
    trained = sum(v for k, v in counts.items() if k not in frozen)
    stored = ["projector", "heads", "MVM decoder"]
    stored += ["the LLM"] if c.llm.train == "full" else []
    stored += ["the vision tower"] if c.vision.train or c.vision.save_weights else []
    files = [f"`config.json` (configuration)", f"`{MODULES_FILE}` ({', '.join(stored)})"]
    files += [f"`{ADAPTER_DIR}/` (peft LoRA adapter)"] if c.lora.enabled else []
    files += [f"`{TOKENIZER_DIR}/` (the tokenizer)"] if c.llm.train == "full" else []
    lines = [
        f"# gifqa model: {c.name}", "",
        c.description or "A gifqa video question-answering model.", "",
        "## Parts", "",
        f"- vision tower ({c.vision.kind}, {'trained end-to-end' if c.vision.train else 'frozen'}): "
        + (f"`{c.vision.hub_id}` @ `{c.vision.revision or 'main'}`" if c.vision.hub_id else
           "weights in this checkpoint" if c.vision.train or c.vision.save_weights else "random init from config")
        + f", layer {c.vision.feature_layer}",
        f"- Q-Former: {c.projector.num_query_tokens} queries per frame, up to {c.projector.max_frames} frames,"
        f" initialised from `{c.projector.init_from or 'random'}`",
        f"- LLM: `{c.llm.hub_id or 'random init from config'}` @ `{c.llm.revision or 'main'}`"
        + {"lora": f", LoRA r={c.lora.r}", "full": ", trained in full (weights in this checkpoint)",
           "frozen": ", frozen"}[c.llm.train],
        f"- keyframes: {c.keyframes.strategy}, {c.keyframes.frames or c.projector.max_frames} per clip"
        + (f"; CLIP-Cut scores frames with `{c.keyframes.clip_model}`" if c.keyframes.clip_model else ""),
        "", "## Parameters", "",
        "| part | parameters |", "|---|---:|",
        *[f"| {k} | {v:,} |" for k, v in counts.items()],
        f"| trained | {trained:,} |", "",
        "## Use", "", "```python", "from gifqa.model import GifQAModel",
        "model = GifQAModel.from_pretrained(\"path/to/this/folder\")", "```", "",
        "Files: " + ", ".join(files) + ".", "",
    ]
    return "\n".join(lines)


def save_checkpoint(model, directory: str | os.PathLike) -> None:
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    model.config.to_json(d / "config.json")
    meta = {"format": "pt", "gifqa_format_version": FORMAT_VERSION,
            "random_backbone_sha256": _random_backbone_fingerprint(model)}
    save_file(_trained_state(model), str(d / MODULES_FILE), metadata=meta)
    if model.config.lora.enabled:
        model.llm.save_pretrained(str(d / ADAPTER_DIR), safe_serialization=True)
    if model.config.llm.train == "full":
        model.tokenizer.save_pretrained(str(d / TOKENIZER_DIR))
    (d / "README.md").write_text(_model_card(model))


def _resolve(path_or_id: str, revision: str | None) -> Path:
    p = Path(path_or_id)
    if p.is_dir():
        return p
    if p.exists() or str(path_or_id).startswith((".", "/")):
        raise ModelNotFoundError(f"{path_or_id}: not a gifqa checkpoint directory")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(path_or_id), revision=revision,
                                      allow_patterns=["*.json", "*.safetensors", "*.md", f"{ADAPTER_DIR}/*",
                                                      f"{TOKENIZER_DIR}/*",
                                                      "clip/*"]))  # a CLIP-Cut CLIP shipped inside (keyframes.clip_model: clip)
    except Exception as e:
        raise ModelNotFoundError(
            f"{path_or_id} is not a local directory and could not be fetched from the hub ({type(e).__name__}: {e})"
        ) from None


def load_checkpoint(cls, path_or_id: str, *, revision: str | None = None):
    from safetensors import safe_open

    d = _resolve(path_or_id, revision)
    for required in ("config.json", MODULES_FILE):
        if not (d / required).is_file():
            raise CheckpointError(f"{d}: missing {required}; is this a gifqa checkpoint (save_pretrained output)?")
    config = GifQAConfig.from_json(d / "config.json")
    # Backbones by hub id; the projector comes from this checkpoint, not from projector.init_from.
    model = cls.from_config(config, pretrained=True, init_projector=False)

    with safe_open(str(d / MODULES_FILE), framework="pt") as st:
        meta = st.metadata() or {}
        saved = {k: st.get_tensor(k) for k in st.keys()}
    want = meta.get("random_backbone_sha256", "")
    have = _random_backbone_fingerprint(model)
    if want != have:
        raise CheckpointError(
            f"{d}: the randomly initialised backbones rebuilt from the config's seed differ from the ones it was "
            "trained with (different torch version?); the trained parts would not match them"
        )
    expected = _trained_state(model)
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{d / MODULES_FILE}: does not match the config; missing {len(missing)} tensor(s) {missing[:20]}, "
            f"unexpected {len(unexpected)} tensor(s) {unexpected[:20]}"
        )
    for name, t in saved.items():
        if t.shape != expected[name].shape:
            raise CheckpointError(f"{d / MODULES_FILE}: {name} has shape {tuple(t.shape)}, expected "
                                  f"{tuple(expected[name].shape)}")
    for prefix, module in model.trained_modules().items():
        sub = {k[len(prefix) + 1:]: v for k, v in saved.items() if k.startswith(prefix + ".")}
        module.load_state_dict(sub, strict=True)
    if config.lora.enabled:
        _load_adapter(model, d / ADAPTER_DIR)
    elif (d / ADAPTER_DIR).exists():
        raise CheckpointError(f"{d}: has an adapter folder but the config disables LoRA")
    if config.llm.train == "full":
        model._tokenizer = _load_saved_tokenizer(d / TOKENIZER_DIR)
    return model


def _load_saved_tokenizer(folder: Path):
    """The tokenizer saved beside a fully trained LLM (local files only, never the hub)."""
    from transformers import AutoTokenizer

    if not (folder / "tokenizer.json").is_file():
        raise CheckpointError(f"{folder}: missing tokenizer.json (a checkpoint with llm.train: full saves its tokenizer)")
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def _load_adapter(model, adapter_dir: Path) -> None:
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    f = adapter_dir / "adapter_model.safetensors"
    if not f.is_file():
        raise CheckpointError(f"{adapter_dir}: missing adapter_model.safetensors (the LoRA weights)")
    cfg_file = adapter_dir / "adapter_config.json"
    if cfg_file.is_file():
        saved_cfg = json.loads(cfg_file.read_text())
        if int(saved_cfg.get("r", -1)) != model.config.lora.r:
            raise CheckpointError(f"{adapter_dir}: LoRA rank {saved_cfg.get('r')} != config lora.r {model.config.lora.r}")
    saved = load_file(str(f))
    expected = get_peft_model_state_dict(model.llm)
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{f}: LoRA adapter does not match the model; missing {missing[:20]}, "
                              f"unexpected {unexpected[:20]}")
    for k, t in saved.items():
        if t.shape != expected[k].shape:
            raise CheckpointError(f"{f}: {k} has shape {tuple(t.shape)}, expected {tuple(expected[k].shape)}")
    set_peft_model_state_dict(model.llm, saved)
