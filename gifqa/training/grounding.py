"""Grounding loss: the Q-Former's first queries look at the shape the question names (gifqa-shapes only).

Trained from scratch, the question-aware Q-Former reads the question but its cross-attention does not
pick the shape the question names (report.md, gifqa-shapes: about as much attention per patch on the
named shape as on the others), so the LM gets a bag of what happens in the frame and binds colours and
actions to shapes slowly, by steps.  The shapes world knows which patches the named shape covers in every
sampled frame, so the attention can be supervised directly, as in attention-supervised VQA (Qiao et al.
2018, "Exploring Human-like Attention Supervision in Visual Question Answering"; Selvaraju et al. 2019,
HINT): for each frame where the named shape is on screen, the loss is -log of the attention mass, summed
over its patches, of each of the first ``grounding.queries`` queries (mean over heads), averaged over
frames, queries and cross-attention layers.  The other queries stay free to summarise the frame.  Only
training uses it; the model and its checkpoints are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

TARGET_COVERED = 0.1  # share of a patch's pixels the named shape must cover for the patch to be a target


class TargetBits:
    """``(gif_path, question) ->`` per sampled frame, a bit mask of the patches (bit p = patch p,
    row-major) that the shape named by ``question`` covers; () when the question names no single
    shape.  The frames are the ones ``load_video(gif_path, frames)`` returns (uniform by time), read
    off the GIF's own timeline; scenes are re-drawn from the world's ``seed`` and ``size_px``.
    Memoised per GIF and per (GIF, shape): a clip has several questions."""

    def __init__(self, frames: int, grid: int, seed: int, size_px: int):
        self.frames, self.grid, self.seed, self.size_px = frames, grid, seed, size_px
        self._times: dict[str, tuple] = {}  # gif path -> (scene, draw times [T] ms)
        self._bits: dict[tuple[str, int], tuple[int, ...]] = {}

    def __call__(self, gif_path: str, question: str) -> tuple[int, ...]:
        from gifqa.media.load import probe
        from gifqa.media.sampling import select_indices, timeline
        from gifqa.shapes.dataset import scene_for
        from gifqa.shapes.patches import frame_times_ms, named_actor, patch_coverage

        if gif_path not in self._times:
            scene = scene_for(Path(gif_path).stem, seed=self.seed, size_px=self.size_px)
            starts, durations = timeline(probe(gif_path, verify=False).frame_durations_ms)
            picked = starts[select_indices(starts, durations, max_frames=self.frames, sampling="uniform")]
            self._times[gif_path] = (scene, frame_times_ms(scene, picked))
        scene, times = self._times[gif_path]
        actor = named_actor(scene, question)
        if actor is None:
            return ()
        if (gif_path, actor) not in self._bits:
            cover = patch_coverage(scene, times, self.grid)[:, actor] >= TARGET_COVERED  # [T, P]
            self._bits[gif_path, actor] = tuple(int(sum(1 << int(p) for p in np.flatnonzero(row))) for row in cover)
        return self._bits[gif_path, actor]


def target_masks(bits: list[tuple[int, ...]], frames: int, num_tokens: int) -> torch.Tensor:
    """bool [B, T, N] over the tower's tokens (class token first, never a target) from ``TargetBits``;
    an example without a target gets an all-False row."""
    words = torch.zeros(len(bits), frames, dtype=torch.long)  # [B, T]: one bit mask per frame
    for b, row in enumerate(bits):
        words[b, : len(row[:frames])] = torch.tensor(row[:frames], dtype=torch.long)
    patches = (words[..., None] >> torch.arange(num_tokens - 1)) & 1  # [B, T, N-1]
    return torch.cat([torch.zeros(len(bits), frames, 1, dtype=torch.bool), patches.bool()], dim=-1)


def grounding_loss(cross_attentions, masks: torch.Tensor, queries: int) -> torch.Tensor | None:
    """Cross-attention weights per layer [B*T, H, Q(+L), N] and target masks [B, T, N] -> the loss
    (a scalar), or None when no frame of the batch shows a named shape."""
    target = masks.flatten(0, 1)  # [B*T, N]
    seen = target.any(dim=-1)  # [B*T]: frames where the named shape is on screen
    if not seen.any():
        return None
    losses = []
    for att in cross_attentions:
        a = att[:, :, :queries].mean(dim=1)  # [B*T, q, N]: mean over heads
        mass = (a * target[:, None, :].to(a.dtype)).sum(dim=-1)  # [B*T, q]
        losses.append(-torch.log(mass[seen].clamp_min(1e-6)).mean())
    return torch.stack(losses).mean()
