"""Test fixtures for gifqa.retrieval: a stub encoder whose embeddings are chosen by the test,
a tiny random CLIP with an offline tokenizer, and a Pillow GIF writer/reader used only in tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def tagged_frames(tags, size: int = 8) -> np.ndarray:
    """uint8 [T, size, size, 3] frames; frame t is filled with grey level ``tags[t]`` (its id).

    The bottom-right pixel holds ``200 + t`` so that no two frames are identical (GIF
    writers merge identical consecutive frames); the stub encoder reads pixel (0, 0) only.
    """
    tags = np.asarray(tags, dtype=np.uint8)
    frames = np.broadcast_to(tags[:, None, None, None], (len(tags), size, size, 3)).copy()
    frames[:, -1, -1, :] = (200 + np.arange(len(tags)) % 56)[:, None]
    return frames


class StubEncoder:
    """Encoder whose embeddings are set by the test.

    A frame's embedding is ``frame_table[grey level of pixel (0, 0)]``; a text's is
    ``text_table[text]``.  Calls and encoded frames are counted (cache tests).
    """

    def __init__(self, frame_table: dict, text_table: dict, model_id: str = "stub-clip", scale=None):
        self.frame_table = {int(k): np.asarray(v, np.float32) for k, v in frame_table.items()}
        self.text_table = {k: np.asarray(v, np.float32) for k, v in text_table.items()}
        self.model_id = model_id
        self._dim = len(next(iter(self.frame_table.values())))
        self.frame_calls = 0
        self.frames_encoded = 0
        self.text_calls = 0
        # Optional per-tag norm, to prove callers normalise (raw CLIP features are not unit).
        self.scale = scale or {}

    @property
    def dim(self) -> int:
        return self._dim

    def encode_frames(self, frames):
        frames = np.asarray(frames)
        self.frame_calls += 1
        self.frames_encoded += len(frames)
        rows = []
        for f in frames:
            tag = int(f[0, 0, 0])
            rows.append(self.frame_table[tag] * self.scale.get(tag, 1.0))
        return np.stack(rows).astype(np.float32)

    def encode_text(self, texts):
        self.text_calls += 1
        return np.stack([self.text_table[t] for t in texts]).astype(np.float32)


@dataclass
class FakeVideo:
    """The fields of gifqa.media.Video that retrieval reads."""

    frames: np.ndarray
    timestamps_ms: np.ndarray
    durations_ms: np.ndarray
    sha256: str = ""
    path: str = ""
    frame_indices: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.frame_indices is None:
            self.frame_indices = np.arange(len(self.frames), dtype=np.int64)

    def __len__(self):
        return len(self.frames)


def tiny_tokenizer():
    """A byte-level BPE trained in-process, wrapped as a fast tokenizer with CLIP's specials."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=["<pad>", "<unk>", "<|startoftext|>", "<|endoftext|>"])
    corpus = ["a cat jumps over the red box", "what is the dog doing", "a person dances happily",
              "how many times does the man nod", "the blue car drives away"] * 4
    tok.train_from_iterator(corpus, trainer)
    bos, eos = tok.token_to_id("<|startoftext|>"), tok.token_to_id("<|endoftext|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", bos), ("<|endoftext|>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<pad>",
        unk_token="<unk>",
    )


def tiny_clip(tokenizer, *, context: int = 16, image_size: int = 32, seed: int = 0):
    """A random CLIPModel small enough for unit tests (projection width 16)."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=context,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
                         pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=image_size, patch_size=8),
        projection_dim=16,
    )
    return CLIPModel(config).eval()


def save_tiny_clip(directory):
    """A tiny random CLIP and its tokenizer saved where ``CLIPEncoder.from_pretrained`` loads them."""
    tok = tiny_tokenizer()
    tiny_clip(tok).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def write_gif(path, frames: np.ndarray, duration_ms: int = 100) -> None:
    """Write uint8 RGB frames as an animated GIF with Pillow (test data only)."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0, optimize=False)
