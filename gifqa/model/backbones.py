"""Fetching pretrained backbones and tokenizers by hub id (the only code here that downloads).

A backbone with ``hub_id=None`` is built at random from its ``hf_config`` by the model itself.
With a ``checkpoint_prefix`` the backbone is read out of a composite checkpoint (the EVA-CLIP
tower and OPT inside ``Salesforce/blip2-opt-2.7b``) by the strict prefix loader, because the
stand-alone classes' ``from_pretrained`` would match none of those keys and stay random.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from torch import nn

from gifqa.errors import CheckpointError, ConfigError, ModelNotFoundError
from gifqa.model.config import PACKAGE_TOKENIZER_PREFIX, LLMConfig, VisionConfig

log = logging.getLogger("gifqa.model")
# Bookkeeping keys of a saved sub-config that are not constructor arguments of the config class.
_META_KEYS = {"transformers_version", "_name_or_path", "architectures", "_attn_implementation_autoset", "torch_dtype",
              "dtype"}


def _check_width(what: str, got: int, want: int) -> None:
    if got != want:
        raise ConfigError(f"{what}: the loaded model has width {got} but the config says {want}; fix hf_config")


def _composite_subconfig(files, key: str, source: str) -> dict:
    """``vision_config`` / ``text_config`` of a composite checkpoint's config.json."""
    import json

    path = files[0].parent / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{source}: no config.json beside the weights")
    sub = json.loads(path.read_text()).get(key)
    if not isinstance(sub, dict):
        raise CheckpointError(f"{source}: config.json has no {key!r}; is it a BLIP-2 checkpoint?")
    return sub


@contextlib.contextmanager
def quiet_loading():
    """transformers' load reports and progress bars off (errors still raise), restored after."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def load_vision(cfg: VisionConfig) -> nn.Module | None:
    """Pretrained vision model for ``cfg`` (None when ``hub_id`` is None: random from hf_config)."""
    if cfg.hub_id is None:
        return None
    from transformers import Blip2VisionModel, CLIPVisionModel

    from gifqa.model.vision import build_vision_config

    cls = CLIPVisionModel if cfg.kind == "clip" else Blip2VisionModel
    if cfg.checkpoint_prefix:
        from gifqa.model.qformer_loading import checkpoint_files, load_prefixed

        files = checkpoint_files(cfg.hub_id, cfg.revision)
        # The checkpoint's own config describes its tensors; our hf_config must agree on the width.
        sub = _composite_subconfig(files, "vision_config", cfg.hub_id)
        hf = build_vision_config(cfg).__class__(**{k: v for k, v in sub.items() if k not in _META_KEYS})
        model = cls(hf)
        load_prefixed(model, files, cfg.checkpoint_prefix, cfg.hub_id)
    else:
        # A full CLIP checkpoint (openai/clip-vit-*, a scripts/train_clip.py folder) also holds the
        # text tower: those keys are expected leftovers, so transformers' load report (printed for
        # any unexpected key) is silenced and the tower's own keys are checked here instead.
        try:
            with quiet_loading():
                model, info = cls.from_pretrained(cfg.hub_id, revision=cfg.revision, output_loading_info=True)
        except OSError as e:
            raise ModelNotFoundError(f"vision tower {cfg.hub_id}: {e}") from None
        if info.get("missing_keys") or info.get("mismatched_keys"):
            bad = sorted(info.get("missing_keys") or []) + sorted(str(k) for k in info.get("mismatched_keys") or [])
            raise CheckpointError(f"vision tower {cfg.hub_id}: {len(bad)} tensor(s) missing or of the wrong shape: {bad[:10]}")
    _check_width(f"vision {cfg.hub_id}", model.config.hidden_size, cfg.width)
    log.info("loaded vision tower %s@%s", cfg.hub_id, cfg.revision or "main")
    return model


def load_llm(cfg: LLMConfig) -> nn.Module | None:
    """Pretrained causal LM for ``cfg`` (None when ``hub_id`` is None: random from hf_config)."""
    if cfg.hub_id is None:
        return None
    from transformers import AutoModelForCausalLM

    if cfg.checkpoint_prefix:
        from gifqa.model.modeling import build_llm
        from gifqa.model.qformer_loading import checkpoint_files, load_prefixed

        files = checkpoint_files(cfg.hub_id, cfg.revision)
        sub = _composite_subconfig(files, "text_config", cfg.hub_id)
        sub = {k: v for k, v in sub.items() if k not in _META_KEYS}
        model = build_llm(dataclasses.replace(cfg, hf_config={**sub, "model_type": sub.get("model_type", cfg.hf_config["model_type"])}))
        tied = bool(getattr(model.config, "tie_word_embeddings", False))
        # A tied output layer shares the input embedding and is not stored separately.
        load_prefixed(model, files, cfg.checkpoint_prefix, cfg.hub_id,
                      allow_missing=("lm_head.weight",) if tied else ())
        if tied:
            model.tie_weights()
    else:
        try:
            model = AutoModelForCausalLM.from_pretrained(cfg.hub_id, revision=cfg.revision)
        except OSError as e:
            raise ModelNotFoundError(f"LLM {cfg.hub_id}: {e}") from None
    _check_width(f"LLM {cfg.hub_id}", model.get_input_embeddings().embedding_dim, cfg.width)
    log.info("loaded LLM %s@%s", cfg.hub_id, cfg.revision or "main")
    return model


def load_tokenizer(cfg: LLMConfig):
    """The LLM's tokenizer: ``package:<name>`` (tiny, shapes) from package data, else by hub id / local dir."""
    if cfg.tokenizer and cfg.tokenizer.startswith(PACKAGE_TOKENIZER_PREFIX):
        from transformers import PreTrainedTokenizerFast

        from gifqa.model.presets import package_data_path

        name = cfg.tokenizer[len(PACKAGE_TOKENIZER_PREFIX):]
        path = package_data_path(f"_{name}_tokenizer.json")
        if not path.is_file():
            raise ConfigError(f"llm.tokenizer {cfg.tokenizer!r}: no such package tokenizer (have package:tiny, package:shapes)")
        return PreTrainedTokenizerFast(tokenizer_file=str(path), pad_token="<pad>", bos_token="<s>",
                                       eos_token="</s>", unk_token="<unk>")
    name = cfg.tokenizer or cfg.hub_id
    if name is None:
        raise ConfigError("llm.tokenizer and llm.hub_id are both unset: the model has no tokenizer")
    revision = cfg.tokenizer_revision if cfg.tokenizer else cfg.revision
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name, revision=revision)
    except OSError as e:
        raise ModelNotFoundError(f"tokenizer {name}: {e}") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok
