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

from gifqa.model.config import REACTION_POOLING


@functools.lru_cache(maxsize=1)
def reaction_labels() -> dict:
    """{"reactions": [43], "positive_reactions": [20], "goemotions": [27], "reaction_to_goemotions": 43x27 0/1}."""
    from gifqa.model.presets import package_data_path

    return json.loads(package_data_path("_reactiongif_labels.json").read_text())


class ReactionHead(nn.Module):
    """``pooling="mean"``: the clip is the mean of its Q-Former outputs, which forgets when and in which
    query anything happened.  ``"attention"``: multihead attention pooling, one learned probe vector
    attending over the T*Q outputs (the "MAP" head of SigLIP, Zhai et al. 2023, arXiv:2303.15343, after
    the PMA block of Set Transformer, Lee et al. 2019); the outputs carry the temporal embedding, so the
    probe can weigh early frames over late ones.  Padded frames are masked out in both.

    ``reader_tokens`` > 0 (heads.reaction_input: llm_query) adds that many learned input embeddings
    [1, N, D] that the model appends after the frame tokens; the head then pools the LLM's states at
    them.  Like the [CLS] token of BERT (Devlin et al. 2019), but last, since the LLM is causal."""

    def __init__(self, width: int, dropout: float = 0.1, pooling: str = "mean", reader_tokens: int = 0):
        super().__init__()
        labels = reaction_labels()
        self.labels = list(labels["reactions"])
        self.pooling = pooling
        # std 0.02 as the probe: the LLM's layers RMS-normalise their inputs, so the scale only sets how
        # strongly the residual stream of these tokens starts out.
        self.reader = nn.Parameter(torch.randn(1, reader_tokens, width) * 0.02) if reader_tokens > 0 else None  # [1, N, D]
        if pooling == "attention":
            self.probe = nn.Parameter(torch.randn(1, 1, width) * 0.02)  # [1, 1, D]
            # 8 heads where the width allows (64 -> 8 of 8 channels), else one.
            self.attention = nn.MultiheadAttention(width, 8 if width % 8 == 0 else 1, batch_first=True)
        elif pooling not in REACTION_POOLING:
            raise ValueError(f"pooling must be one of {list(REACTION_POOLING)}, got {pooling!r}")
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, len(self.labels))
        positive = torch.tensor([r in labels["positive_reactions"] for r in self.labels], dtype=torch.float32)
        self.register_buffer("positive", positive, persistent=False)  # [43]
        self.register_buffer(
            "to_goemotions", torch.tensor(labels["reaction_to_goemotions"], dtype=torch.float32), persistent=False
        )  # [43, 27]

    def pool(self, queries: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens [B, T, Q, D] (the Q-Former outputs, or the LLM's states at them: heads.reaction_input;
        frame_mask [B, T], 1 = a real frame) -> one vector per clip [B, D]."""
        b, _, q, _ = queries.shape
        if self.pooling == "attention":
            tokens = queries.flatten(1, 2)  # [B, T*Q, D]
            pad = None if frame_mask is None else ~frame_mask.bool().repeat_interleave(q, dim=1)  # [B, T*Q], True = ignore
            out, _ = self.attention(self.probe.expand(b, -1, -1), tokens, tokens, key_padding_mask=pad, need_weights=False)
            return out[:, 0]  # [B, D]
        if frame_mask is None:
            return queries.mean(dim=(1, 2))
        w = frame_mask.to(queries.dtype)[:, :, None, None]  # [B, T, 1, 1]
        return (queries * w).sum(dim=(1, 2)) / (w.sum(dim=(1, 2)) * q).clamp_min(1)

    def forward(self, queries: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens [B, T, Q, D] -> logits [B, 43]."""
        return self.classifier(self.dropout(self.norm(self.pool(queries, frame_mask))))

    def sentiment(self, logits: torch.Tensor) -> torch.Tensor:
        """P(positive induced sentiment) [B]: probability mass on the 20 positive reactions."""
        return logits.softmax(-1) @ self.positive

    def emotions(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores of the 27 GoEmotions labels [B, 27]: P(reaction) pushed through the 0/1 mapping."""
        return logits.softmax(-1) @ self.to_goemotions
