"""Reaction head: 43 ReactionGIF labels on pooled visual tokens, with sentiment and the 27
GoEmotions labels derived from the authors' mapping.

Labels and mapping: Shmueli, Ray & Ku, "Happy Dance, Slow Clap: Using Reaction GIFs to Predict
Induced Affect on Twitter", ACL 2021; ``Reactions2GoEmotions.csv`` of github.com/bshmueli/ReactionGIF
(shipped as ``gifqa/presets/_reactiongif_labels.json`` by scripts/make_reaction_labels.py).
"""

from __future__ import annotations

import functools
import json

import torch
from torch import nn


@functools.lru_cache(maxsize=1)
def reaction_labels() -> dict:
    """{"reactions": [43], "positive_reactions": [20], "goemotions": [27], "reaction_to_goemotions": 43x27 0/1}."""
    from gifqa.model.presets import package_data_path

    return json.loads(package_data_path("_reactiongif_labels.json").read_text())


class ReactionHead(nn.Module):
    def __init__(self, width: int, dropout: float = 0.1):
        super().__init__()
        labels = reaction_labels()
        self.labels = list(labels["reactions"])
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, len(self.labels))
        positive = torch.tensor([r in labels["positive_reactions"] for r in self.labels], dtype=torch.float32)
        self.register_buffer("positive", positive, persistent=False)  # [43]
        self.register_buffer(
            "to_goemotions", torch.tensor(labels["reaction_to_goemotions"], dtype=torch.float32), persistent=False
        )  # [43, 27]

    def forward(self, queries: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Q-Former outputs [B, T, Q, D_q] -> logits [B, 43]; mean over the valid frames' tokens."""
        if frame_mask is None:
            pooled = queries.mean(dim=(1, 2))
        else:
            w = frame_mask.to(queries.dtype)[:, :, None, None]  # [B, T, 1, 1]
            pooled = (queries * w).sum(dim=(1, 2)) / (w.sum(dim=(1, 2)) * queries.shape[2]).clamp_min(1)
        return self.classifier(self.dropout(self.norm(pooled)))

    def sentiment(self, logits: torch.Tensor) -> torch.Tensor:
        """P(positive induced sentiment) [B]: probability mass on the 20 positive reactions."""
        return logits.softmax(-1) @ self.positive

    def emotions(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores of the 27 GoEmotions labels [B, 27]: P(reaction) pushed through the 0/1 mapping."""
        return logits.softmax(-1) @ self.to_goemotions
