"""Frame and text encoders for CLIP-Cut and collection search.

Anything with ``encode_frames`` / ``encode_text`` and a ``model_id`` can be used (the
:class:`FrameTextEncoder` protocol); :class:`CLIPEncoder` is the real one, a transformers
``CLIPModel`` (Radford et al. 2021, "Learning Transferable Visual Models From Natural
Language Supervision").  Both methods return L2-normalised float32 rows, so an inner
product between a frame row and a text row is their cosine similarity.

Frames come in as RGB uint8 ``[T, H, W, 3]`` (what :func:`gifqa.media.load_video`
returns) and go to the model as RGB: there is no BGR step anywhere (the seed code converted
BGR->RGB twice and so fed the model BGR).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from gifqa.errors import CheckpointError, ConfigError, ModelNotFoundError

# OpenAI CLIP's pixel statistics (the values in every openai/clip-vit-* preprocessor
# config); used when a checkpoint directory has no preprocessor_config.json.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"


class TextTruncatedWarning(UserWarning):
    """A query was longer than the text encoder's context and was cut to fit."""


@runtime_checkable
class FrameTextEncoder(Protocol):
    """What CLIP-Cut and the collection index need from an encoder."""

    model_id: str  # names the weights; part of every cache key and stored in indexes

    @property
    def dim(self) -> int:  # width D of the joint embedding space
        ...

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB ``[T, H, W, 3]`` -> float32 ``[T, D]``, rows L2-normalised."""
        ...

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """``N`` strings -> float32 ``[N, D]``, rows L2-normalised."""
        ...


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (float32); an all-zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32, copy=False)


def check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be RGB [T, H, W, 3], got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    return frames


def _pooled(output):
    # transformers >= 5 returns a model output whose pooler_output holds the projected
    # features; 4.x returned the tensor itself.
    return getattr(output, "pooler_output", output)


class CLIPEncoder:
    """A transformers ``CLIPModel`` with its tokenizer and CLIP's image preprocessing.

    Build one with :meth:`from_pretrained` (hub id or local directory; the only path that
    downloads) or directly from an in-memory model and tokenizer (tests).
    """

    def __init__(
        self,
        model,
        tokenizer,
        model_id: str,
        *,
        image_size: int | None = None,  # side of the square crop the vision tower takes (pixels)
        image_mean: Sequence[float] = CLIP_MEAN,  # per-channel RGB mean, on the [0, 1] scale
        image_std: Sequence[float] = CLIP_STD,  # per-channel RGB std, on the [0, 1] scale
        batch_size: int = 32,  # frames per forward pass (bounds activation memory)
        device: str | None = None,  # "cpu", "cuda", ...; None keeps the model where it is
    ):
        import torch

        self.model = model.eval()
        if device is not None:
            self.model.to(device)
        self.tokenizer = tokenizer
        self.model_id = str(model_id)
        self.image_size = int(image_size or model.config.vision_config.image_size)
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        self._mean = torch.tensor(image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(image_std, dtype=torch.float32).view(1, 3, 1, 1)
        # CLIP's text context: 77 tokens for every released model.
        self.max_text_tokens = int(model.config.text_config.max_position_embeddings)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    @classmethod
    def from_pretrained(
        cls, model_id: str = DEFAULT_CLIP_MODEL, *, device: str | None = None, batch_size: int = 32, revision=None
    ) -> "CLIPEncoder":
        """Load weights, tokenizer and preprocessing settings from a hub id or a directory."""
        from transformers import AutoTokenizer, CLIPModel

        from gifqa.model.backbones import quiet_loading

        try:
            with quiet_loading():  # no load report or progress bar; missing tensors are checked below
                model, info = CLIPModel.from_pretrained(model_id, revision=revision, output_loading_info=True)
            tokenizer = AutoTokenizer.from_pretrained(model_id, revision=revision)
        except OSError as exc:
            raise ModelNotFoundError(
                f"cannot load CLIP model {model_id!r}: {exc}; pass a local directory with "
                "config.json, model.safetensors and tokenizer files, or check the hub id and your connection"
            ) from exc
        bad = sorted(info.get("missing_keys") or []) + sorted(str(k) for k in info.get("mismatched_keys") or [])
        if bad:
            raise CheckpointError(
                f"CLIP model {model_id!r}: {len(bad)} tensor(s) missing or of the wrong shape ({bad[:5]}); "
                "is it a complete CLIPModel checkpoint?"
            )
        kwargs = _preprocessor_settings(model_id, revision)
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        return cls(model, tokenizer, model_id, device=device, batch_size=batch_size, **kwargs)

    # -- images -------------------------------------------------------------------------
    def preprocess(self, frames: np.ndarray):
        """uint8 RGB ``[T, H, W, 3]`` -> float32 ``[T, 3, S, S]`` normalised pixel values.

        CLIP's recipe: resize the short side to S (bicubic, antialiased), centre-crop S x S,
        scale to [0, 1], subtract mean / divide by std per RGB channel.  Channels stay in the
        order they came in (RGB).
        """
        import torch
        import torch.nn.functional as F

        frames = check_frames(frames)
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0  # [T, 3, H, W]
        h, w = x.shape[-2:]
        s = self.image_size
        scale = s / min(h, w)
        nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
        if (nh, nw) != (h, w):
            x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
        top, left = (nh - s) // 2, (nw - s) // 2
        x = x[:, :, top : top + s, left : left + s].clamp_(0.0, 1.0)
        return (x - self._mean) / self._std

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        import torch

        frames = check_frames(frames)
        out = np.zeros((frames.shape[0], self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, frames.shape[0], self.batch_size):
                pixels = self.preprocess(frames[start : start + self.batch_size]).to(self.device)
                feats = _pooled(self.model.get_image_features(pixel_values=pixels))
                out[start : start + feats.shape[0]] = feats.float().cpu().numpy()
        return l2_normalize(out)

    # -- text ---------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        full = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        too_long = [i for i, ids in enumerate(full) if len(ids) > self.max_text_tokens]
        if too_long:
            first = texts[too_long[0]]
            warnings.warn(
                f"{len(too_long)} text(s) longer than the CLIP context of {self.max_text_tokens} tokens "
                f"were truncated (first: {first[:60]!r}..., {len(full[too_long[0]])} tokens)",
                TextTruncatedWarning,
                stacklevel=2,
            )
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_text_tokens, return_tensors="pt"
        )
        if too_long:
            # Truncation can cut the end-of-text token that CLIP pools at; put it back.
            eos = self.tokenizer.eos_token_id
            if eos is not None:
                for i in too_long:
                    batch["input_ids"][i, -1] = eos
        batch = {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            feats = _pooled(self.model.get_text_features(**batch))
        return l2_normalize(feats.float().cpu().numpy())


def _preprocessor_settings(model_id: str, revision=None) -> dict:
    """image_size / mean / std from the checkpoint's preprocessor_config.json, if it has one."""
    path = Path(model_id) / "preprocessor_config.json"
    data = None
    if path.is_file():
        data = json.loads(path.read_text())
    elif not os.path.isdir(model_id):
        try:
            from huggingface_hub import hf_hub_download

            data = json.loads(Path(hf_hub_download(model_id, "preprocessor_config.json", revision=revision)).read_text())
        except Exception:  # no preprocessor config: the model's own image_size and CLIP's statistics
            data = None
    if not data:
        return {}
    out = {}
    crop = data.get("crop_size")
    if isinstance(crop, dict):
        crop = crop.get("height") or crop.get("shortest_edge")
    if crop:
        out["image_size"] = int(crop)
    if data.get("image_mean"):
        out["image_mean"] = tuple(float(v) for v in data["image_mean"])
    if data.get("image_std"):
        out["image_std"] = tuple(float(v) for v in data["image_std"])
    return out
