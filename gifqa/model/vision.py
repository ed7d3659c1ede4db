"""Frozen CLIP-family vision tower, run on every frame, plus frame preprocessing.

BLIP-2 (Li et al. 2023) and LAVIS's CLIP-L Q-Former feed the Q-Former the patch tokens of the
penultimate layer, hence ``feature_layer=-2`` by default.  ``-1`` returns the tower's
``last_hidden_state`` (which for BLIP-2's EVA-CLIP tower includes its post-layernorm, as
``Blip2ForConditionalGeneration`` uses it).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gifqa.errors import ConfigError
from gifqa.model.config import VisionConfig


def build_vision_config(cfg: VisionConfig):
    from transformers import Blip2VisionConfig, CLIPVisionConfig

    cls = CLIPVisionConfig if cfg.kind == "clip" else Blip2VisionConfig
    return cls(**cfg.hf_config)


class VisionTower(nn.Module):
    """Wraps a transformers vision model; frozen unless ``vision.train`` (end-to-end training),
    and always in eval mode (no dropout; the shapes recipe's tower has none anyway)."""

    def __init__(self, cfg: VisionConfig, model: nn.Module | None = None):
        super().__init__()
        self.cfg = cfg
        if model is None:
            from transformers import Blip2VisionModel, CLIPVisionModel

            cls = CLIPVisionModel if cfg.kind == "clip" else Blip2VisionModel
            model = cls(build_vision_config(cfg))
        self.model = model.to({"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[cfg.dtype])
        self.freeze()

    def freeze(self) -> None:
        for p in self.model.parameters():
            p.requires_grad_(bool(self.cfg.train))
        self.model.eval()

    def train(self, mode: bool = True):  # the tower never leaves eval mode (no dropout, frozen stats)
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """[N, 3, S, S] -> patch tokens [N, 1 + P, D_v] (class token first); gradients only when the tower trains."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and bool(self.cfg.train)):
            dtype = next(self.model.parameters()).dtype
            layer = self.cfg.feature_layer
            out = self.model(pixel_values=pixel_values.to(dtype), output_hidden_states=layer != -1)
            feats = out.last_hidden_state if layer == -1 else out.hidden_states[layer]
            return feats.float()


def preprocess_frames(frames, cfg: VisionConfig) -> torch.Tensor:
    """uint8 RGB frames [T, H, W, 3] (array, tensor or list of arrays) -> pixel_values [T, 3, S, S].

    Like CLIP's processor: resize the shorter side to S (bicubic, antialiased), centre-crop S x S,
    scale to [0, 1], normalise with the tower's mean/std.  Pure torch; no torchvision.
    """
    if isinstance(frames, (list, tuple)):
        frames = np.stack([np.asarray(f) for f in frames])
    x = torch.as_tensor(np.asarray(frames) if not torch.is_tensor(frames) else frames)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ConfigError(f"frames must be [T, H, W, 3] RGB, got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        raise ConfigError(f"frames must be uint8, got {x.dtype}")
    size = cfg.image_size
    x = x.permute(0, 3, 1, 2).float() / 255.0  # [T, 3, H, W]
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).clamp_(0, 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    mean = torch.tensor(cfg.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.image_std).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()
