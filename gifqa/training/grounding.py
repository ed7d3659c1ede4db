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

Pose supervision (``grounding.pose_weight``): looking at the named shape is not seeing how it moves.  To
count how often it bounces, a frame's tokens must say how high it is; linear probes on the recipe's
frame tokens read that for bounce and nod (R^2 0.8) but hardly for grow or spin (0.25, 0.1;
scripts/probe_pose_features.py, report.md).  A linear head on the first query of each frame (training
only, not saved) regresses how the named shape stands in that frame (``pose_vector``: what one frame
shows), squared error over the frames of questions that name one shape: the auxiliary-target idea of
UNREAL (Jaderberg et al. 2017) with the world's ground truth as the target.

Progress supervision (``grounding.progress_weight``): seeing the pose in every frame is not counting.
Trained on count answers alone, the LM learns to count slowly (report.md: Count MSE 1.22 after 3,000
steps' worth of count batches at 16 frames, against 0.28 for a small counter on the true pose).  RepNet
(Dwibedi et al. 2020, "Counting Out Time") counts by supervising every frame, not only the clip's total.
Here a linear head (training only) reads the LM's state at each frame token (``grounding.progress_layer``:
by default the input of the LM's last layer, which the answer's tokens attend to) and regresses, per
action, how many repetitions of it the named shape has done up to that frame (``progress_vector``,
fractional within a repetition).  The LM reads the frames causally, so the state at frame t can only
count what frames <= t show; at the last frame the vector is the clip's counts, which Count ("how many
times does it bounce") and Action ("what does it do 3 times") ask for.

Identity supervision (``grounding.identity_weight``): looking at the named shape is not reading what
it is.  The recipe of commit fb4d3ae missed FrameQA on colour and shape answers, about half of its
wrong colours another shape's in the clip and half a neighbouring hue (yellow for orange, purple for
blue; report.md).  A linear head (training only) on each frame's first query classifies the named shape's
colour and its kind (``identity_vector``), cross-entropy over the frames where it is on screen: the
same auxiliary-target idea as the pose head, with the world's ground truth as the label.  Measured:
compositional-test FrameQA 0.886 -> 0.934, colour 0.745 -> 0.895 (report.md, "Previous round (commit 3723e0d)").

Main-shape progress on reactions (``grounding.main_progress_weight``): a clip's reaction label is the
reaction to what its main shape (the one that changes what it does) does first, and no question says
which shape that is.  With two or three shapes on screen most wrong reactions were another shape's
action (report.md).  On reaction batches the progress head also reads the LM's states at the frame
tokens, which the reaction head pools, and regresses the main shape's repetitions so far: the LM is
asked to keep track of the shape the label is about.  Measured: it did not help (compositional-test
reactions 0.855 -> 0.795; report.md): the early frame tokens cannot know which shape will change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

TARGET_COVERED = 0.1  # share of a patch's pixels the named shape must cover for the patch to be a target
POSE_SIZE = 6  # pose_vector's entries
POSE_SCALE = 4.0  # canvas fractions -> quarters of the side (the recipe's patches), so targets are about 0-4
PROGRESS_SIZE = 6  # progress_vector's entries: one per action of gifqa.shapes.world.ACTIONS
IDENTITY_SIZE = 2  # identity_vector's entries: colour index, shape index


def pose_vector(actor, t_ms: float) -> tuple[float, ...]:
    """What one frame shows of how ``actor`` stands at ``t_ms`` (gifqa.shapes.patches.actor_pose):
    visible (0 / 1), centre x and y and radius (quarters of the canvas side), cosine and sine of its
    heading; NaN for all but the first while it is hidden."""
    from gifqa.shapes.patches import actor_pose

    st = actor_pose(actor, t_ms)
    if st is None:
        return (0.0,) + (float("nan"),) * (POSE_SIZE - 1)
    x, y, r, c, s = st
    return (1.0, POSE_SCALE * x, POSE_SCALE * y, POSE_SCALE * r, c, s)


def identity_vector(actor, t_ms: float) -> tuple[float, float]:
    """What ``actor`` is, as class indices: its colour (``gifqa.shapes.world.COLOURS`` order) and its
    kind (``SHAPES`` order); NaN while it is hidden (nothing on screen to read them from)."""
    from gifqa.shapes.patches import actor_pose
    from gifqa.shapes.world import COLOURS, SHAPES

    if actor_pose(actor, t_ms) is None:
        return (float("nan"), float("nan"))
    return (float(list(COLOURS).index(actor.colour)), float(SHAPES.index(actor.shape)))


def identity_classes() -> tuple[int, int]:
    """(colours, shapes): the sizes of the identity head's two read-outs."""
    from gifqa.shapes.world import COLOURS, SHAPES

    return len(COLOURS), len(SHAPES)


def progress_vector(actor, t_ms: float) -> tuple[float, ...]:
    """Per action (``gifqa.shapes.world.ACTIONS`` order), how many repetitions of it ``actor`` has done
    by ``t_ms``: whole ones plus the share of the current one (repetitions are equally long within a
    segment, gifqa.shapes.world.pose); the segment's count once it has ended."""
    from gifqa.shapes.world import ACTIONS

    out = dict.fromkeys(ACTIONS, 0.0)
    for seg in actor.segments:
        period_ms = (seg.end_ms - seg.start_ms) / seg.count
        out[seg.action] += min(max((t_ms - seg.start_ms) / period_ms, 0.0), float(seg.count))
    return tuple(out.values())


class TargetBits:
    """``(gif_path, question) ->`` per sampled frame, a bit mask of the patches (bit p = patch p,
    row-major) that the shape named by ``question`` covers; () when the question names no single
    shape.  The frames are the ones ``load_video(gif_path, frames)`` returns (uniform by time), read
    off the GIF's own timeline; scenes are re-drawn from the world's ``seed`` and ``size_px``.
    ``pose``, ``progress`` and ``identity`` give per-frame targets for the same shape.  Memoised per GIF and
    per (GIF, shape): a clip has several questions."""

    def __init__(self, frames: int, grid: int, seed: int, size_px: int):
        self.frames, self.grid, self.seed, self.size_px = frames, grid, seed, size_px
        self._times: dict[str, tuple] = {}  # gif path -> (scene, draw times [T] ms)
        self._bits: dict[tuple[str, int], tuple[int, ...]] = {}
        self._rows: dict[tuple[str, str, int], tuple] = {}  # (target, gif path, actor) -> per-frame rows

    def _scene(self, gif_path: str):
        from gifqa.media.load import probe
        from gifqa.media.sampling import select_indices, timeline
        from gifqa.shapes.dataset import scene_for
        from gifqa.shapes.patches import frame_times_ms

        if gif_path not in self._times:
            scene = scene_for(Path(gif_path).stem, seed=self.seed, size_px=self.size_px)
            starts, durations = timeline(probe(gif_path, verify=False).frame_durations_ms)
            picked = starts[select_indices(starts, durations, max_frames=self.frames, sampling="uniform")]
            self._times[gif_path] = (scene, frame_times_ms(scene, picked))
        return self._times[gif_path]

    def pose(self, gif_path: str, question: str) -> tuple[tuple[float, ...], ...]:
        """Per sampled frame, ``pose_vector`` of the shape ``question`` names; () when it names none."""
        return self._per_frame(pose_vector, gif_path, question)

    def progress(self, gif_path: str, question: str) -> tuple[tuple[float, ...], ...]:
        """Per sampled frame, ``progress_vector`` of the shape ``question`` names; () when it names none."""
        return self._per_frame(progress_vector, gif_path, question)

    def identity(self, gif_path: str, question: str) -> tuple[tuple[float, ...], ...]:
        """Per sampled frame, ``identity_vector`` of the shape ``question`` names; () when it names none."""
        return self._per_frame(identity_vector, gif_path, question)

    def main_progress(self, gif_path: str) -> tuple[tuple[float, ...], ...]:
        """Per sampled frame, ``progress_vector`` of the clip's main shape (``actors[0]``, whose first
        action the reaction label names)."""
        return self._per_frame(progress_vector, gif_path, None)

    def _per_frame(self, target, gif_path: str, question: str | None) -> tuple[tuple[float, ...], ...]:
        """``target`` per sampled frame for the shape ``question`` names (None: the main shape)."""
        from gifqa.shapes.patches import named_actor

        scene, times = self._scene(gif_path)
        actor = 0 if question is None else named_actor(scene, question)
        if actor is None:
            return ()
        key = (target.__name__, gif_path, actor)  # one tuple shared by the clip's questions on that shape
        if key not in self._rows:
            self._rows[key] = tuple(target(scene.actors[actor], float(t)) for t in times)
        return self._rows[key]

    def __call__(self, gif_path: str, question: str) -> tuple[int, ...]:
        from gifqa.shapes.patches import named_actor, patch_coverage

        scene, times = self._scene(gif_path)
        actor = named_actor(scene, question)
        if actor is None:
            return ()
        if (gif_path, actor) not in self._bits:
            cover = patch_coverage(scene, times, self.grid, actors=[actor])[:, 0] >= TARGET_COVERED  # [T, P]
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


def frame_targets(rows: list[tuple], frames: int, size: int) -> torch.Tensor:
    """float32 [B, T, size] from per-frame target rows (``TargetBits.pose`` / ``.progress``); NaN where an
    example has none."""
    out = torch.full((len(rows), frames, size), float("nan"))
    for b, row in enumerate(rows):
        if row:
            out[b, : len(row[:frames])] = torch.tensor(row[:frames], dtype=torch.float32)
    return out


def masked_mse(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Predictions and targets of one shape (NaN = no target) -> mean squared error over the entries
    with a target (a scalar), or None when there are none."""
    seen = ~targets.isnan()
    if not seen.any():
        return None
    return (predicted.float()[seen] - targets[seen]).pow(2).mean()


def identity_loss(logits: torch.Tensor, targets: torch.Tensor, colours: int) -> torch.Tensor | None:
    """logits [B, T, colours + shapes] and targets [B, T, 2] (colour, shape index; NaN = none) -> the
    mean of the two cross-entropies over frames with a target, or None when there are none."""
    seen = ~targets[..., 0].isnan()  # [B, T]
    if not seen.any():
        return None
    logits, target = logits[seen].float(), targets[seen].long()  # [M, C + S], [M, 2]
    ce = torch.nn.functional.cross_entropy
    return 0.5 * (ce(logits[:, :colours], target[:, 0]) + ce(logits[:, colours:], target[:, 1]))
