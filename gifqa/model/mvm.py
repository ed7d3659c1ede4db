"""Masked video modelling, as ST-LLM implements it (Liu et al. 2024, "ST-LLM: Large Language
Models Are Effective Temporal Learners", TencentARC/ST-LLM ``stllm/models/st_llm.py``).

1. Draw a masking rate r ~ N(rate_mean, rate_std), clipped to [rate_min, rate_max].
2. Drop floor(r * L) of the L visual tokens of each clip from the sequence (they are removed,
   not zeroed, so the masked sequence is shorter).
3. The masked sequence goes through the LLM with gradients; its cross-entropy is the QA loss.
   The full sequence goes through under ``torch.no_grad()``: its last-layer states are the target.
4. The masked pass's last-layer states at the kept visual tokens go through Linear + LayerNorm
   (``MVMDecoder``); both sides are L2-normalised and loss_mvm = mean(2 - 2 cos), which is the
   MSE of unit vectors and needs no weight tuning (maintainer, ST-LLM issue #8).

``mvm.task_input: full`` (ours, not ST-LLM's) swaps step 3's roles: the cross-entropy reads the full
sequence, with gradients, and its detached states are the target, so the task is learnt on the input
inference sees; MVM stays an auxiliary loss on the masked sequence.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from gifqa.model.config import MVMConfig


def sample_rate(cfg: MVMConfig, generator: torch.Generator | None = None) -> float:
    """Masking rate, share of visual tokens dropped."""
    r = cfg.rate_mean + cfg.rate_std * torch.randn((), generator=generator).item()
    return float(min(max(r, cfg.rate_min), cfg.rate_max))


def keep_mask(valid: torch.Tensor, rate: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """valid [B, L] bool (real visual tokens) -> kept [B, L] bool.

    Each clip loses exactly floor(rate * L_b) of its L_b valid tokens, chosen uniformly.
    """
    kept = valid.clone()
    for b in range(valid.shape[0]):
        idx = valid[b].nonzero().squeeze(1)
        n_drop = math.floor(rate * idx.numel())
        if n_drop:
            perm = torch.randperm(idx.numel(), generator=generator)[:n_drop].to(idx.device)
            kept[b, idx[perm]] = False
    return kept


class MVMDecoder(nn.Module):
    """Linear(d, d) + LayerNorm on the masked pass's visual states."""

    def __init__(self, width: int):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.linear(x))


def mvm_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """pred, target [N, D] -> mean(2 - 2 cos(pred, target)); target must carry no gradient."""
    pred = F.normalize(pred.float(), dim=-1)
    target = F.normalize(target.float(), dim=-1)
    return (2 - 2 * (pred * target).sum(-1)).mean()
