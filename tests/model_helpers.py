"""Small builders shared by the model tests (tiny configs, tiny BLIP-2 checkpoints)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from gifqa.model.config import GifQAConfig  # noqa: E402
from gifqa.model.presets import load_preset  # noqa: E402


def tiny_config(**overrides) -> GifQAConfig:
    cfg = load_preset("tiny")
    for dotted, value in overrides.items():
        obj = cfg
        *path, last = dotted.split("__")
        for p in path:
            obj = getattr(obj, p)
        setattr(obj, last, value)
    return cfg.validate()


def tiny_model(**overrides):
    from gifqa.model import GifQAModel

    return GifQAModel(tiny_config(**overrides))


def pixel_values(batch: int = 2, frames: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, frames, 3, size, size, generator=g)


TINY_BLIP2_VISION = {"hidden_size": 48, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "image_size": 32, "patch_size": 8}
TINY_BLIP2_QFORMER = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                      "cross_attention_frequency": 1, "vocab_size": 64, "max_position_embeddings": 64}
TINY_BLIP2_OPT = {"vocab_size": 512, "hidden_size": 32, "num_hidden_layers": 2, "ffn_dim": 64,
                  "num_attention_heads": 4, "word_embed_proj_dim": 32, "max_position_embeddings": 256,
                  "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def save_tiny_blip2(directory, num_query_tokens: int = 4, seed: int = 0) -> str:
    """A random tiny Blip2ForConditionalGeneration saved with save_pretrained (safetensors)."""
    from transformers import Blip2Config, Blip2ForConditionalGeneration

    torch.manual_seed(seed)
    cfg = Blip2Config(vision_config=TINY_BLIP2_VISION, qformer_config={**TINY_BLIP2_QFORMER, "encoder_hidden_size": 48},
                      text_config={**TINY_BLIP2_OPT, "model_type": "opt"}, num_query_tokens=num_query_tokens)
    model = Blip2ForConditionalGeneration(cfg).eval()
    model.save_pretrained(str(directory))
    return str(directory)
