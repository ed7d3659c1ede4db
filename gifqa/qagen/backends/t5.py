"""Answer-aware question generation with a T5 fine-tuned on SQuAD.

Default model: ``mrm8488/t5-base-finetuned-question-generation-ap`` (T5-base, SQuAD v1.1, input
``answer: {answer}  context: {context} </s>``, output ``question: ...``; prompt from its model
card, also the seed design's).  Any seq2seq checkpoint with an answer-aware prompt works: set
``T5Config.model`` (hub id or local folder) and ``T5Config.prompt``.

Only :meth:`T5Backend.from_pretrained` fetches weights; it raises ModelNotFoundError when they
cannot be loaded (no hub access, unknown id), which ``gifqa gen-qa`` turns into the fall-back to
the offline backend.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from gifqa.errors import ModelNotFoundError
from gifqa.qagen.backends import QGItem

DEFAULT_MODEL = "mrm8488/t5-base-finetuned-question-generation-ap"
DEFAULT_PROMPT = "answer: {answer}  context: {context} </s>"


@dataclass
class T5Config:
    model: str = DEFAULT_MODEL  # hub id or local folder (save_pretrained layout)
    prompt: str = DEFAULT_PROMPT  # must contain {answer} and {context}
    batch_size: int = 32  # prompts per generate() call
    max_input_tokens: int = 256  # prompts are truncated to this many tokens
    max_new_tokens: int = 48  # tokens generated per question
    num_beams: int = 4  # beam search width (1 = greedy)
    device: str | None = None  # "cuda", "cpu", ...; None: CUDA when available


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to the model hub (``HF_ENDPOINT`` or huggingface.co:443) opens in ``timeout_s``."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def build_prompt(prompt: str, answer: str, context: str) -> str:
    return prompt.format(answer=answer, context=context)


def clean_output(text: str) -> str:
    """Strip the ``question:`` prefix the model emits and surrounding whitespace."""
    text = text.strip()
    if text.lower().startswith("question:"):
        text = text[len("question:") :].strip()
    return text


class T5Backend:
    name = "t5"

    def __init__(self, model: Any, tokenizer: Any, config: T5Config):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config

    @classmethod
    def from_pretrained(cls, config: T5Config | None = None) -> "T5Backend":
        config = config or T5Config()
        if "{answer}" not in config.prompt or "{context}" not in config.prompt:
            from gifqa.errors import ConfigError

            raise ConfigError(f"T5 prompt {config.prompt!r} must contain {{answer}} and {{context}}")
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as exc:
            raise ModelNotFoundError(f"the T5 backend needs torch and transformers ({exc}); pip install 'gifqa[model]'") from None
        # Fail fast without hub access: transformers would retry for about a minute.  Cached or
        # local weights still load (local_files_only).
        local_only = os.path.isdir(config.model) or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or not hub_reachable()
        try:
            tokenizer = AutoTokenizer.from_pretrained(config.model, local_files_only=local_only)
            model = AutoModelForSeq2SeqLM.from_pretrained(config.model, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load question-generation model {config.model!r}: {str(exc).splitlines()[0]} "
                "(needs hub access or a local folder; use --backend offline to run without it)"
            ) from None
        device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device).eval()
        return cls(model, tokenizer, config)

    def prompts(self, items: list[QGItem]) -> list[str]:
        return [build_prompt(self.config.prompt, it.candidate.answer, it.sentence) for it in items]

    def generate(self, items: list[QGItem]) -> list[str | None]:
        import torch

        prompts = self.prompts(items)
        out: list[str | None] = []
        device = next(self.model.parameters()).device
        for start in range(0, len(prompts), self.config.batch_size):
            batch = prompts[start : start + self.config.batch_size]
            enc = self.tokenizer(
                batch, return_tensors="pt", padding=True, truncation=True, max_length=self.config.max_input_tokens
            ).to(device)
            with torch.inference_mode():
                ids = self.model.generate(
                    **enc, max_new_tokens=self.config.max_new_tokens, num_beams=self.config.num_beams, do_sample=False
                )
            for text in self.tokenizer.batch_decode(ids, skip_special_tokens=True):
                text = clean_output(text)
                out.append(text or None)
        return out
