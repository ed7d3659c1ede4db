"""Load pretrained parts out of BLIP-2 / InstructBLIP checkpoints with an explicit key mapping.

Why not ``Blip2QFormerModel.from_pretrained("Salesforce/blip2-opt-2.7b")``: in that checkpoint
the Q-Former lives under ``qformer.`` and the queries under ``query_tokens``, so none of its keys
match the bare Q-Former class and transformers leaves it randomly initialised with only a
warning (transformers#28034, LAVIS#224).  Here every key is mapped by hand and the load is
strict: a missing or unexpected tensor raises :class:`~gifqa.errors.CheckpointError` naming it.

Mapping (checkpoint -> gifqa projector):
- ``query_tokens``                      -> ``query_tokens``                [1, Q, D_q]
- ``qformer.<k>``                       -> ``qformer.<k>``
- ``qformer.embeddings.layernorm.*``    -> ``qformer.layernorm.*``  (InstructBLIP keeps the query layernorm there)
- ``language_projection.*``             -> ``language_projection.*`` (only when asked: it is tied to that checkpoint's LLM)
Ignored on purpose, and logged (gifqa feeds no text to the Q-Former): InstructBLIP's instruction
embeddings ``qformer.embeddings.{word_embeddings,position_embeddings,position_ids}`` and the
text-branch feed-forward ``qformer.encoder.layer.N.{intermediate,output}.*``.

Width mismatch: the cross-attention key/value projections read the vision tokens, so their
input width is the vision width (1408 for BLIP-2's EVA ViT-g, 1024 for CLIP ViT-L/14).  When the
checkpoint's width differs from ours, those projections (weights and biases, in every
cross-attention layer) keep their fresh initialisation and everything else is loaded; a warning
says how many tensors that is.  ``cross_attention_on_width_mismatch="error"`` refuses instead.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from gifqa.errors import CheckpointError, ModelNotFoundError

log = logging.getLogger("gifqa.model")

_IGNORED = re.compile(
    r"^qformer\.(embeddings\.(word_embeddings|position_embeddings)\.weight|embeddings\.position_ids"
    r"|encoder\.layer\.\d+\.(intermediate|output)\.\S+)$"
)
_RENAMED = {"qformer.embeddings.layernorm.weight": "qformer.layernorm.weight",
            "qformer.embeddings.layernorm.bias": "qformer.layernorm.bias"}
_CROSS_KV = re.compile(r"^qformer\.encoder\.layer\.\d+\.crossattention\.attention\.(key|value)\.(weight|bias)$")


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)  # our parameter names that received checkpoint tensors
    ignored: list[str] = field(default_factory=list)  # checkpoint keys deliberately not used
    reinitialised: list[str] = field(default_factory=list)  # our names kept at fresh init (width mismatch)


def checkpoint_files(path_or_id: str | os.PathLike, revision: str | None = None) -> list[Path]:
    """The ``*.safetensors`` files of a local checkpoint dir, or of a hub repo (downloaded).

    This is a fetching path: it is only called when pretrained weights are asked for.
    """
    path = Path(path_or_id)
    if not path.is_dir():
        if path.exists() or str(path_or_id).startswith((".", "/")):
            raise ModelNotFoundError(f"{path_or_id}: not a checkpoint directory")
        try:
            from huggingface_hub import snapshot_download

            path = Path(
                snapshot_download(str(path_or_id), revision=revision, allow_patterns=["*.safetensors", "*.json"])
            )
        except Exception as e:  # offline, unknown repo, gated repo, ...
            raise ModelNotFoundError(
                f"cannot fetch {path_or_id}@{revision or 'main'} from the hub ({type(e).__name__}: {e}); "
                "check the id and your connection, or pass a local directory"
            ) from None
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise CheckpointError(
            f"{path}: no .safetensors files (gifqa never unpickles .bin checkpoints; convert it with "
            "save_pretrained(..., safe_serialization=True))"
        )
    return files


def read_tensors(files: list[Path], keep) -> dict[str, torch.Tensor]:
    """Tensors whose key satisfies ``keep(key)``, from all ``files`` (only those are read)."""
    from safetensors import safe_open

    out = {}
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for k in st.keys():
                if keep(k):
                    out[k] = st.get_tensor(k)
    return out


def _copy(dest: dict[str, torch.Tensor], name: str, tensor: torch.Tensor, source: str) -> None:
    target = dest[name]
    if tuple(target.shape) != tuple(tensor.shape):
        raise CheckpointError(
            f"{source}: tensor for {name} has shape {tuple(tensor.shape)}, the model expects {tuple(target.shape)} "
            "(does the preset's projector.hf_config match the checkpoint?)"
        )
    with torch.no_grad():
        target.copy_(tensor.to(target.dtype))


def load_qformer(
    projector: nn.Module,
    path_or_id: str | os.PathLike,
    revision: str | None = None,
    *,
    load_language_projection: bool = False,
    on_width_mismatch: str = "reinit",
) -> LoadReport:
    """Load ``query_tokens`` and ``qformer.*`` (and optionally ``language_projection.*``) into ``projector``."""
    files = checkpoint_files(path_or_id, revision)
    source = str(path_or_id)
    prefixes = ("qformer.", "query_tokens") + (("language_projection.",) if load_language_projection else ())
    ckpt = read_tensors(files, lambda k: k.startswith(prefixes))
    if not ckpt:
        raise CheckpointError(f"{source}: no qformer.* or query_tokens tensors; is it a BLIP-2 / InstructBLIP checkpoint?")
    ours = dict(projector.named_parameters())
    ours.update(dict(projector.named_buffers()))
    wanted = {n for n in ours if n.startswith(("qformer.", "query_tokens"))}
    if load_language_projection:
        wanted |= {n for n in ours if n.startswith("language_projection.")}
    report = LoadReport(source)

    # Width check on the first cross-attention key projection: [D_q, D_vision_ckpt].
    mismatch = False
    for k, t in ckpt.items():
        if _CROSS_KV.match(k) and k.endswith("key.weight"):
            ckpt_width, our_width = t.shape[1], ours[k].shape[1] if k in ours else None
            if our_width is not None and ckpt_width != our_width:
                if on_width_mismatch != "reinit":
                    raise CheckpointError(
                        f"{source}: Q-Former cross-attention reads {ckpt_width}-d vision tokens, our vision tower gives "
                        f"{our_width}-d; set projector.cross_attention_on_width_mismatch='reinit' to re-initialise it"
                    )
                mismatch = True
            break

    unexpected = []
    for k, t in sorted(ckpt.items()):
        name = _RENAMED.get(k, k)
        if _IGNORED.match(k):
            report.ignored.append(k)
        elif name not in wanted:
            unexpected.append(k)
        elif mismatch and _CROSS_KV.match(name):
            report.reinitialised.append(name)
        else:
            _copy(ours, name, t, source)
            report.loaded.append(name)
    missing = sorted(wanted - set(report.loaded) - set(report.reinitialised))
    if unexpected or missing:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s): {', '.join(missing[:20])}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s): {', '.join(unexpected[:20])}")
        raise CheckpointError(f"{source}: Q-Former checkpoint does not match the model; " + "; ".join(parts))
    log.info("loaded %d Q-Former tensors from %s (%d text-branch tensors ignored)", len(report.loaded), source, len(report.ignored))
    if report.reinitialised:
        log.warning(
            "%s: vision width differs from the checkpoint's; re-initialised %d cross-attention key/value tensors",
            source, len(report.reinitialised),
        )
    return report


def load_prefixed(
    module: nn.Module,
    files: list[Path],
    prefix: str,
    source: str,
    *,
    allow_missing: tuple[str, ...] = (),
) -> LoadReport:
    """Strictly load ``module`` from the keys under ``prefix`` of a composite checkpoint.

    ``allow_missing`` names our tensors that may be absent (a tied ``lm_head.weight``).
    """
    ckpt = read_tensors(files, lambda k: k.startswith(prefix))
    ours = module.state_dict(keep_vars=True)
    report = LoadReport(source)
    unexpected = []
    for k, t in sorted(ckpt.items()):
        name = k[len(prefix):]
        if name not in ours:
            unexpected.append(k)
            continue
        _copy(ours, name, t, source)
        report.loaded.append(name)
    missing = sorted(set(ours) - set(report.loaded) - set(allow_missing))
    if unexpected or missing:
        raise CheckpointError(
            f"{source}: tensors under {prefix!r} do not match {type(module).__name__}: "
            f"missing {missing[:20]}, unexpected {unexpected[:20]}"
        )
    return report
