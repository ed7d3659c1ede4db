"""Visual projector: BLIP-2 Q-Former per frame, temporal embedding, Linear into the LLM width.

BLIP-2 (Li et al. 2023, arXiv:2301.12597): Q learned queries cross-attend to one image's patch
tokens and come out as Q vectors; ``language_projection`` maps them to the LLM width.  Run per
frame for video as in ST-LLM / InstructBLIP-video setups.  The temporal embedding (one learned
vector per frame position, added to that frame's Q outputs) starts at zero, so a pretrained
Q-Former's outputs are unchanged before training.

``projector.question_aware``: InstructBLIP's instruction-aware Q-Former (Dai et al. 2023,
arXiv:2305.06500, Sec. 2.2): the prompt's tokens are embedded by the Q-Former and concatenated
after the queries; they share self-attention with the queries but do not cross-attend to the
frame, so the queries extract what the question asks about.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from gifqa.errors import ConfigError
from gifqa.model.config import GifQAConfig


class Projector(nn.Module):
    def __init__(self, cfg: GifQAConfig):
        super().__init__()
        from transformers import (Blip2QFormerConfig, Blip2QFormerModel, InstructBlipQFormerConfig,
                                  InstructBlipQFormerModel)

        p = cfg.projector
        self.num_query_tokens = p.num_query_tokens
        self.max_frames = p.max_frames
        # Diagnostics (scripts/named_shape_attention.py): set True to keep the last call's cross-attention
        # weights in ``cross_attentions`` (needs the eager attention implementation).
        self.record_attentions = False
        self.cross_attentions: tuple | None = None
        self.question_aware = p.question_aware
        if p.question_aware:
            self.qformer = InstructBlipQFormerModel(InstructBlipQFormerConfig(**cfg.qformer_hf_config()))
        else:
            self.qformer = Blip2QFormerModel(Blip2QFormerConfig(**cfg.qformer_hf_config()))
        # BLIP-2 initialises the queries with std = initializer_range (0.02 by default).
        std = float(p.hf_config.get("initializer_range", 0.02))
        self.query_tokens = nn.Parameter(torch.randn(1, p.num_query_tokens, p.width) * std)  # [1, Q, D_q]
        # projector.temporal_embedding: false (an ablation) builds none; the LLM's positions still order frames.
        self.temporal_embedding = nn.Parameter(torch.zeros(p.max_frames, p.width)) if p.temporal_embedding else None  # [T_max, D_q]
        # projector.patch_position_embedding: the Q-Former's cross-attention has no positions of its own;
        # the tower's (added at its input) may be faint in its output tokens.  projector.patch_position_std
        # = 0 starts it at zero, like the temporal embedding, so a pretrained Q-Former starts unchanged; a
        # from-scratch one needs a non-zero start to learn to use it (report.md, gifqa-shapes).
        self.patch_position = None
        if p.patch_position_embedding:
            shape = (cfg.vision.num_tokens, cfg.vision.width)
            init = torch.randn(shape) * p.patch_position_std if p.patch_position_std else torch.zeros(shape)
            self.patch_position = nn.Parameter(init)  # [N, D_v]
        self.language_projection = nn.Linear(p.width, cfg.llm.width)  # D_q -> D_lm
        # projector.temporal_difference: motion as an input (TDN, Wang et al. 2021, arXiv:2012.10071).  Each
        # Q-Former output sees one frame, so a frame token says where a shape is but not where it is going;
        # a causal LLM can find the previous frame with attention, at the cost of a layer that a small LLM
        # needs for counting.  Zero at init: a pretrained projector's tokens are unchanged until it learns.
        self.difference_projection = None
        if p.temporal_difference:
            self.difference_projection = nn.Linear(p.width, cfg.llm.width)  # D_q -> D_lm
            nn.init.zeros_(self.difference_projection.weight)
            nn.init.zeros_(self.difference_projection.bias)
        # projector.query_windows: which tokens each query may read, [Q, N] (derived from the config, not saved).
        self.register_buffer("window_mask", query_window_mask(p.num_query_tokens, p.query_windows, cfg.vision.num_tokens)
                             if p.query_windows else None, persistent=False)

    def queries(self, frame_feats: torch.Tensor, num_frames: int, text_ids: torch.Tensor | None = None,
                text_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Per-frame patch tokens [B*T, N, D_v] -> Q-Former outputs [B, T, Q, D_q] (without the temporal
        embedding, which ``forward`` adds).

        ``text_ids`` / ``text_mask`` [B, L]: the prompt, read by a question-aware Q-Former (ignored
        otherwise; without them a question-aware Q-Former runs on the queries alone)."""
        if num_frames > self.max_frames:
            raise ConfigError(
                f"{num_frames} frames per clip but the temporal embedding covers projector.max_frames="
                f"{self.max_frames}; sample fewer frames"
            )
        if self.patch_position is not None:
            frame_feats = frame_feats + self.patch_position[: frame_feats.shape[1]]  # [B*T, N, D_v]
        bt = frame_feats.shape[0]
        query = self.query_tokens.expand(bt, -1, -1)
        enc_mask = torch.ones(frame_feats.shape[:2], dtype=torch.long, device=frame_feats.device)
        if self.window_mask is not None:  # additive [B*T, 1, Q, N]: each query sees its window only
            blocked = torch.finfo(frame_feats.dtype).min
            enc_mask = torch.zeros(self.window_mask.shape, dtype=frame_feats.dtype, device=frame_feats.device)
            enc_mask = enc_mask.masked_fill(~self.window_mask, blocked)[None, None].expand(bt, 1, -1, -1)
        if self.question_aware:
            ids = mask = None
            if text_ids is not None and text_mask is not None:
                # Only the queries' outputs are read, and a masked text token (the answer, padding) is
                # no key to them, so columns masked in every row change nothing: drop the trailing ones
                # (the Q-Former runs once per frame, so each costs T tokens per clip).
                used = text_mask.bool().any(dim=0).nonzero()
                n_text = int(used[-1]) + 1 if used.numel() else 0
                text_ids, text_mask = (text_ids[:, :n_text], text_mask[:, :n_text]) if n_text else (None, None)
            if text_ids is not None:
                ids = text_ids.to(query.device).repeat_interleave(num_frames, dim=0)  # [B*T, L]
                text_mask = torch.ones_like(text_ids) if text_mask is None else text_mask
                mask = torch.cat([torch.ones(bt, query.shape[1], dtype=torch.long, device=query.device),
                                  text_mask.to(query.device).long().repeat_interleave(num_frames, dim=0)], dim=1)
            out = self.qformer(input_ids=ids, attention_mask=mask, query_embeds=query, encoder_hidden_states=frame_feats,
                               encoder_attention_mask=enc_mask, output_attentions=self.record_attentions)
        else:
            out = self.qformer(query_embeds=query, encoder_hidden_states=frame_feats, encoder_attention_mask=enc_mask,
                               output_attentions=self.record_attentions)
        if self.record_attentions:
            self.cross_attentions = tuple(a for a in out.cross_attentions if a is not None)  # each [B*T, H, Q(+L), N]
        q = out.last_hidden_state[:, : self.num_query_tokens]  # [B*T, Q, D_q]
        return q.reshape(bt // num_frames, num_frames, self.num_query_tokens, -1)  # [B, T, Q, D_q]

    def forward(self, frame_feats: torch.Tensor, num_frames: int, text_ids: torch.Tensor | None = None,
                text_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (frame tokens [B, T*Q, D_lm], Q-Former outputs [B, T, Q, D_q] for the heads, with the
        temporal embedding)."""
        raw = self.queries(frame_feats, num_frames, text_ids, text_mask)  # [B, T, Q, D_q]
        q = raw if self.temporal_embedding is None else raw + self.temporal_embedding[:num_frames, None, :]
        tokens = self.language_projection(q.flatten(1, 2))  # [B, T*Q, D_lm]
        if self.difference_projection is not None:
            # Without the temporal embedding, whose step from frame to frame says nothing of the clip.
            change = raw - torch.cat([raw[:, :1], raw[:, :-1]], dim=1)  # [B, T, Q, D_q]; frame 0: zeros
            tokens = tokens + self.difference_projection(change.flatten(1, 2))  # [B, T*Q, D_lm]
        return tokens, q


def query_window_mask(num_queries: int, windows: int, num_tokens: int) -> torch.Tensor:
    """bool [Q, N]: query q may read token n.  The patch grid (tokens 1..N-1, row-major after the class
    token) is covered by ``windows`` x ``windows`` overlapping square windows, each ``ceil(2n / (windows + 1))``
    patches a side (neighbours overlap by about half), and the queries are dealt out to them in order,
    Q / windows**2 each; no query reads the class token.  Locality by construction, after Honeybee's
    locality-enhanced projectors (Cha et al. 2024, arXiv:2312.06742)."""
    n = math.isqrt(num_tokens - 1)
    if n * n != num_tokens - 1 or windows > n:
        raise ConfigError(f"projector.query_windows={windows} needs a square patch grid of at least that many "
                          f"patches a side; the tower gives {num_tokens - 1} patch tokens")
    side = min(n, math.ceil(2 * n / (windows + 1)))
    starts = [round(i * (n - side) / (windows - 1)) if windows > 1 else 0 for i in range(windows)]
    mask = torch.zeros(num_queries, num_tokens, dtype=torch.bool)
    per_window = num_queries // windows**2
    for w, (r0, c0) in enumerate((r, c) for r in starts for c in starts):
        grid = torch.zeros(n, n, dtype=torch.bool)
        grid[r0 : r0 + side, c0 : c0 + side] = True
        mask[w * per_window : (w + 1) * per_window, 1:] = grid.flatten()
    return mask


def query_decorrelation(queries: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Q-Former outputs [B, T, Q, D_q] -> mean squared cosine between different queries of a frame.

    Each query's output is first centred on its mean over the batch's frames, so a constant offset
    (say, a shared LayerNorm bias) is not counted: 0 = the queries vary independently, 1 = in
    lockstep (they carry one vector per frame).  Trained from scratch next to a small LM, a
    Q-Former's queries tend to collapse onto the same token (report.md, gifqa-shapes); this
    penalty, in the spirit of VICReg's covariance term (Bardes et al. 2022, arXiv:2105.04906)
    applied across queries rather than channels, keeps them apart.
    """
    x = queries.flatten(0, 1) if frame_mask is None else queries[frame_mask.bool()]  # [F, Q, D_q]
    n_q = x.shape[1]
    if x.shape[0] < 2 or n_q < 2:
        return x.new_zeros(())
    x = F.normalize(x - x.mean(dim=0, keepdim=True), dim=-1)
    sim = x @ x.transpose(1, 2)  # [F, Q, Q]
    off_diag = sim.pow(2).sum(dim=(1, 2)) - sim.diagonal(dim1=1, dim2=2).pow(2).sum(dim=1)  # [F]
    return off_diag.mean() / (n_q * (n_q - 1))
