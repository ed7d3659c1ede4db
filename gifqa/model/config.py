"""Typed, nested configuration of a :class:`~gifqa.model.GifQAModel`.

One dataclass per component.  Every field says its unit.  Dimensions that follow from another
component are derived, never repeated (the Q-Former's ``encoder_hidden_size`` is the vision
width; the projection's output is the LLM width).  ``from_dict`` rejects unknown keys with a
:class:`~gifqa.errors.ConfigError` naming them, so a typo never silently falls back to a default.

``hf_config`` fields hold the keyword arguments of the transformers config class of a backbone
(``CLIPVisionConfig``, ``Blip2VisionConfig``, ``Blip2QFormerConfig``, a causal-LM config with its
``model_type``).  They are used to build random backbones (the ``tiny`` preset), to build on the
``meta`` device for parameter counts, and they are checked against the real backbone's config
when pretrained weights are loaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from gifqa.errors import ConfigError

# Tokenizer shipped in package data for the ``tiny`` preset (see scripts/make_tiny_tokenizer.py).
PACKAGE_TINY_TOKENIZER = "package:tiny"
# "package:<name>" tokenizers are gifqa/presets/_<name>_tokenizer.json ("package:shapes": the
# word-level tokenizer over gifqa-shapes' closed vocabulary, scripts/make_shapes_tokenizer.py).
PACKAGE_TOKENIZER_PREFIX = "package:"
LLM_TRAIN_MODES = ("lora", "full", "frozen")
REACTION_POOLING = ("mean", "attention")
REACTION_INPUTS = ("queries", "llm", "llm_query")
MVM_TASK_INPUTS = ("masked", "full")  # mvm.task_input


@dataclass
class VisionConfig:
    """Frozen CLIP-family image encoder, run on every frame."""

    kind: str = "clip"  # "clip" (CLIPVisionModel) or "blip2" (the EVA-CLIP tower inside BLIP-2)
    hub_id: str | None = None  # hub id or local dir of the weights; None = random init from hf_config
    revision: str | None = None  # git revision of hub_id (commit hash or tag); None = default branch
    checkpoint_prefix: str | None = None  # key prefix when the tower sits inside a composite checkpoint ("vision_model.")
    dtype: str = "float32"  # storage dtype of the frozen tower: "float32", "bfloat16", "float16"
    save_weights: bool = False  # True: checkpoints store the tower's weights even when frozen (a random tower without hub_id then loads on any torch/transformers version instead of being rebuilt from the seed)
    train: bool = False  # True: the tower trains end-to-end with the rest (dropout stays off) and its weights are saved in the checkpoint; False: frozen
    feature_layer: int = -2  # index into the tower's hidden states; -1 = last (after post-layernorm for "blip2"), -2 = penultimate
    image_mean: list[float] = field(default_factory=lambda: [0.48145466, 0.4578275, 0.40821073])  # per RGB channel, on [0, 1] pixels
    image_std: list[float] = field(default_factory=lambda: [0.26862954, 0.26130258, 0.27577711])  # per RGB channel, on [0, 1] pixels
    hf_config: dict[str, Any] = field(default_factory=dict)  # kwargs of CLIPVisionConfig / Blip2VisionConfig

    @property
    def width(self) -> int:  # channels of each patch token
        return int(self.hf_config.get("hidden_size", 768))

    @property
    def image_size(self) -> int:  # pixels, side of the square input
        return int(self.hf_config.get("image_size", 224))

    @property
    def num_tokens(self) -> int:  # patch tokens + the class token, per frame
        patch = int(self.hf_config.get("patch_size", 32))
        return (self.image_size // patch) ** 2 + 1

    def validate(self) -> None:
        if self.kind not in ("clip", "blip2"):
            raise ConfigError(f"vision.kind must be 'clip' or 'blip2', got {self.kind!r}")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"vision.dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if len(self.image_mean) != 3 or len(self.image_std) != 3:
            raise ConfigError("vision.image_mean and vision.image_std need 3 values (R, G, B)")
        if self.train and self.dtype != "float32":
            raise ConfigError("vision.train: true needs vision.dtype float32 (a trained tower keeps float32 master weights)")


@dataclass
class ProjectorConfig:
    """BLIP-2 Q-Former run per frame + learned temporal embedding + Linear into the LLM width."""

    num_query_tokens: int = 32  # learned queries, i.e. visual tokens per frame (Q)
    max_frames: int = 16  # frames per clip the temporal embedding covers (T_max)
    temporal_embedding: bool = True  # add a learned per-frame-position vector to each frame's queries; False = none (the LLM's own positions still order the frames)
    patch_position_embedding: bool = False  # add a learned vector per token position to the frame tokens the queries cross-attend to, so a query can pick a place in the frame by position rather than by content alone
    patch_position_std: float = 0.0  # std of those vectors at init (units of the tower's output features); 0 = zeros, which leaves a pretrained Q-Former's outputs unchanged; a from-scratch Q-Former learns place far better from a non-zero start (report.md, gifqa-shapes)
    query_windows: int = 0  # 0 = every query reads the whole frame; g >= 1 = the queries are split evenly over a g x g grid of overlapping windows on the patch grid (side ceil(2n / (g + 1)) of n patches a side) and each reads only its window's patch tokens, not the class token: a frame token then describes one part of the frame, so the LLM can tell which colour did which motion
    temporal_difference: bool = False  # add to each frame's tokens a Linear (D_q -> D_lm, zero at init) of how its queries changed since the previous frame (frame 0: no change), so the LLM reads motion without spending a layer on finding the previous frame; after TDN (Wang et al. 2021, arXiv:2012.10071)
    decorrelation_weight: float = 0.0  # training only: weight of the query-decorrelation loss (mean squared cosine between a frame's query outputs, each centred on its batch mean; projector.query_decorrelation); 0 = off
    question_aware: bool = False  # InstructBLIP's instruction-aware Q-Former: the prompt's tokens (LLM tokenizer ids; the Q-Former's own embedding table, sized to the LLM vocabulary) join the queries in self-attention, so what the queries extract from a frame depends on the question
    init_from: str | None = None  # hub id / local dir of a BLIP-2 or InstructBLIP checkpoint for qformer.* and query_tokens
    init_revision: str | None = None  # git revision of init_from
    init_language_projection: bool = False  # also load language_projection (only when the LLM is that checkpoint's LLM)
    cross_attention_on_width_mismatch: str = "reinit"  # "reinit": re-initialise the cross-attention key/value when the vision width differs; "error": refuse
    hf_config: dict[str, Any] = field(default_factory=dict)  # kwargs of Blip2QFormerConfig; encoder_hidden_size is derived from the vision width

    @property
    def width(self) -> int:  # channels of each query output
        return int(self.hf_config.get("hidden_size", 768))

    def validate(self) -> None:
        if "encoder_hidden_size" in self.hf_config:
            raise ConfigError(
                "projector.hf_config.encoder_hidden_size is derived from vision.hf_config.hidden_size; remove it"
            )
        if self.decorrelation_weight < 0:
            raise ConfigError("projector.decorrelation_weight must be >= 0")
        if self.patch_position_std < 0:
            raise ConfigError("projector.patch_position_std must be >= 0")
        if self.patch_position_std and not self.patch_position_embedding:
            raise ConfigError("projector.patch_position_std is set but projector.patch_position_embedding is false; "
                              "turn the embedding on or drop the std")
        if self.query_windows < 0 or (self.query_windows and self.num_query_tokens % self.query_windows**2):
            raise ConfigError(f"projector.query_windows={self.query_windows} needs num_query_tokens "
                              f"({self.num_query_tokens}) to be a multiple of query_windows**2")
        if self.num_query_tokens < 1 or self.max_frames < 1:
            raise ConfigError("projector.num_query_tokens and projector.max_frames must be >= 1")
        if self.cross_attention_on_width_mismatch not in ("reinit", "error"):
            raise ConfigError("projector.cross_attention_on_width_mismatch must be 'reinit' or 'error'")
        if self.question_aware and self.init_from:
            raise ConfigError(
                "projector.question_aware builds the Q-Former's text embeddings over the LLM's tokenizer; a BLIP-2 "
                "checkpoint (projector.init_from) has none for it: train it from scratch or set question_aware: false"
            )


@dataclass
class LLMConfig:
    """Causal language model (any AutoModelForCausalLM)."""

    hub_id: str | None = None  # hub id or local dir of the weights; None = random init from hf_config
    revision: str | None = None  # git revision of hub_id
    checkpoint_prefix: str | None = None  # key prefix inside a composite checkpoint ("language_model.")
    tokenizer: str | None = None  # hub id / local dir of the tokenizer, or "package:tiny"; None = hub_id
    tokenizer_revision: str | None = None  # git revision of tokenizer; None = revision when tokenizer is None
    dtype: str = "float32"  # storage dtype of the frozen LLM weights: "float32", "bfloat16", "float16"
    train: str = "lora"  # "lora": base frozen, LoRA adapters train (needs lora.enabled); "full": every LLM weight trains and the checkpoint saves them (and the tokenizer); "frozen": nothing in the LLM trains
    max_text_tokens: int = 128  # tokens of question + answer kept per sample (longer ones are cut from the left)
    hf_config: dict[str, Any] = field(default_factory=dict)  # kwargs of the LLM config, with "model_type"

    @property
    def width(self) -> int:  # hidden size of the LLM
        c = self.hf_config
        return int(c.get("hidden_size", c.get("n_embd", c.get("d_model", 0))))

    def validate(self) -> None:
        if "model_type" not in self.hf_config:
            raise ConfigError("llm.hf_config needs 'model_type' (for example 'llama', 'qwen2', 'opt')")
        if self.width <= 0:
            raise ConfigError("llm.hf_config needs 'hidden_size'")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"llm.dtype must be float32, bfloat16 or float16, got {self.dtype!r}")
        if self.train not in LLM_TRAIN_MODES:
            raise ConfigError(f"llm.train must be one of {', '.join(LLM_TRAIN_MODES)}, got {self.train!r}")
        if self.train == "full" and self.dtype != "float32":
            raise ConfigError("llm.train: full needs llm.dtype float32 (trained weights keep float32 master copies)")


@dataclass
class LoRAConfig:
    """Low-rank adapters on the LLM (peft); the base LLM weights stay frozen."""

    enabled: bool = True  # False = LLM fully frozen (zero-shot composite)
    r: int = 16  # rank of each adapter
    alpha: int = 32  # scaling numerator (scale = alpha / r)
    dropout: float = 0.05  # dropout probability on the adapter input
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])  # module names


@dataclass
class MVMConfig:
    """Masked video modelling (ST-LLM, Liu et al. 2024, TencentARC/ST-LLM stllm/models/st_llm.py)."""

    enabled: bool = True  # apply during training (model.train()); never at evaluation
    weight: float = 1.0  # multiplier of loss_mvm in the total loss (0 = plain cross-entropy)
    rate_mean: float = 0.5  # mean of the masking rate, share of visual tokens dropped
    rate_std: float = 0.1  # standard deviation of the masking rate
    rate_min: float = 0.1  # lower clip of the masking rate
    rate_max: float = 0.7  # upper clip of the masking rate
    # Whether loss_mvm's gradient reaches the projector through the frame tokens (true: the plain loss).
    # false stops it there, so MVM trains only the LLM and the MVM decoder.  MVM is lowest when the
    # frame tokens are redundant, so the plain loss pulls a from-scratch Q-Former's queries together
    # (report.md, gifqa-shapes: query cosine 0.99 vs 0.87).  Costs one more masked LLM pass per step.
    projector_grad: bool = True
    # Which sequence the task cross-entropy reads in training: "masked" (ST-LLM: the masked sequence, so
    # the task is learnt with a share of the frame tokens missing, and at inference it sees them all) or
    # "full" (the full sequence, with gradients; its states, detached, are also MVM's target, and MVM runs
    # on the masked one).  Counting and "what does it do 3 times" need every frame: on gifqa-shapes, validation
    # Action 0.83 with "masked", 0.935 with "full", 0.915 with MVM off (report.md).
    task_input: str = "masked"
    # Share of each batch's clips that also get the masked pass (with task_input "full" only, where that pass
    # serves MVM alone); 1 = every clip, as ST-LLM.  The pass is about a sixth of a step on gifqa-shapes, so
    # 0.5 saves about a twelfth of the time (report.md, "Recipe time").
    batch_share: float = 1.0

    def validate(self) -> None:
        if self.task_input not in MVM_TASK_INPUTS:
            raise ConfigError(f"mvm.task_input must be one of {list(MVM_TASK_INPUTS)}, got {self.task_input!r}")
        if not 0.0 < self.batch_share <= 1.0:
            raise ConfigError(f"mvm.batch_share must be in (0, 1], got {self.batch_share}")
        if self.batch_share < 1.0 and self.task_input != "full":
            raise ConfigError("mvm.batch_share < 1 needs mvm.task_input: full (with \"masked\" the masked pass is the "
                              "task's own pass, which every clip needs)")
        if not 0.0 <= self.rate_min <= self.rate_max < 1.0:
            raise ConfigError("mvm needs 0 <= rate_min <= rate_max < 1")
        if self.weight < 0:
            raise ConfigError("mvm.weight must be >= 0")


@dataclass
class HeadsConfig:
    """Classification heads on pooled visual tokens."""

    reaction: bool = True  # 43-way ReactionGIF head (sentiment and GoEmotions derived from it)
    dropout: float = 0.1  # dropout probability before the head
    reaction_pooling: str = "mean"  # how the head pools its input tokens: "mean" (over frames and queries) or "attention" (a learned probe attends over them, so it can weigh frames by their temporal embedding and pick queries)
    reaction_input: str = "queries"  # the tokens the head pools: "queries" (the Q-Former outputs, [B, T, Q, D_q]: each frame seen alone) or "llm" (the LLM's last hidden states at the frame tokens, [B, T*Q, D_lm]: each has read every earlier frame through the LLM's causal attention, so a motion, which is a change across frames, can be read off them; costs one LLM pass over the frame tokens) or "llm_query" (the LLM's last hidden states at reaction_query_tokens learned tokens appended after the frame tokens, where a question would start: each has read every frame through all the LLM's layers, not one attention pool over the frame tokens' last states, so it can find the shape that changes action before reading that shape's first action; [B, 1, N, D_lm])
    reaction_query_tokens: int = 4  # learned tokens appended after the frame tokens when reaction_input is "llm_query" (count); unused otherwise

    def validate(self) -> None:
        if self.reaction_pooling not in REACTION_POOLING:
            raise ConfigError(f"heads.reaction_pooling must be one of {list(REACTION_POOLING)}, got {self.reaction_pooling!r}")
        if self.reaction_input not in REACTION_INPUTS:
            raise ConfigError(f"heads.reaction_input must be one of {list(REACTION_INPUTS)}, got {self.reaction_input!r}")
        if self.reaction_query_tokens < 1:
            raise ConfigError(f"heads.reaction_query_tokens must be >= 1, got {self.reaction_query_tokens}")


@dataclass
class KeyframesConfig:
    """How keyframes are chosen at inference (CLI ``--sampling`` / ``--frames`` override these)."""

    strategy: str = "uniform"  # "clipcut" (CLIP-Cut retrieval by the question), "uniform" (by time) or "all"
    frames: int | None = None  # keyframes per clip; None = projector.max_frames
    clip_model: str | None = None  # hub id or dir (relative paths resolve against the checkpoint dir) of the CLIP used by CLIP-Cut
    clip_revision: str | None = None  # git revision of clip_model

    def validate(self) -> None:
        if self.strategy not in ("clipcut", "uniform", "all"):
            raise ConfigError(f"keyframes.strategy must be clipcut, uniform or all, not {self.strategy!r}")
        if self.frames is not None and self.frames <= 0:
            raise ConfigError(f"keyframes.frames must be positive, got {self.frames}")
        if self.strategy == "clipcut" and not self.clip_model:
            raise ConfigError("keyframes.strategy 'clipcut' needs keyframes.clip_model (the CLIP that scores frames)")


@dataclass
class GifQAConfig:
    """Whole model.  Saved as ``config.json`` beside the trained weights."""

    name: str = "custom"  # preset or run name, for the model card
    seed: int = 0  # seeds the random init of backbones built from hf_config and of the new modules
    vision: VisionConfig = field(default_factory=VisionConfig)
    projector: ProjectorConfig = field(default_factory=ProjectorConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    lora: LoRAConfig = field(default_factory=LoRAConfig)
    mvm: MVMConfig = field(default_factory=MVMConfig)
    heads: HeadsConfig = field(default_factory=HeadsConfig)
    keyframes: KeyframesConfig = field(default_factory=KeyframesConfig)
    description: str = ""  # one paragraph for the model card

    def validate(self) -> GifQAConfig:
        self.vision.validate()
        self.projector.validate()
        self.llm.validate()
        if self.llm.train == "lora" and not self.lora.enabled:
            raise ConfigError("llm.train is 'lora' but lora.enabled is false; set llm.train to 'frozen' or 'full', or enable LoRA")
        if self.llm.train != "lora" and self.lora.enabled:
            raise ConfigError(f"llm.train is {self.llm.train!r} but lora.enabled is true; LoRA goes with llm.train: lora only")
        self.mvm.validate()
        self.heads.validate()
        self.keyframes.validate()
        if self.keyframes.frames is not None and self.keyframes.frames > self.projector.max_frames:
            raise ConfigError(f"keyframes.frames ({self.keyframes.frames}) exceeds projector.max_frames ({self.projector.max_frames})")
        return self

    # derived -------------------------------------------------------------------------
    def qformer_hf_config(self) -> dict[str, Any]:
        """Blip2QFormerConfig kwargs with the derived ``encoder_hidden_size``; a question-aware
        Q-Former's text vocabulary and positions are the LLM's (``vocab_size``, ``max_text_tokens``)."""
        out = {**self.projector.hf_config, "encoder_hidden_size": self.vision.width}
        if self.projector.question_aware:
            vocab = self.llm.hf_config.get("vocab_size")
            if not vocab:
                raise ConfigError("projector.question_aware needs llm.hf_config.vocab_size (the Q-Former embeds the LLM's token ids)")
            out.update(vocab_size=int(vocab), max_position_embeddings=self.llm.max_text_tokens,
                       pad_token_id=int(self.llm.hf_config.get("pad_token_id") or 0))
        return out

    # (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GifQAConfig:
        return _from_dict(cls, data, "config").validate()

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> GifQAConfig:
        try:
            with open(path) as f:
                data = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{os.fspath(path)}: no such config file") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{os.fspath(path)}: not valid JSON ({e})") from None
        return cls.from_dict(data)


def _from_dict(cls, data: Any, where: str):
    """Build dataclass ``cls`` from ``data``; unknown keys, wrong nesting and wrong scalar types raise ConfigError."""
    from gifqa.typed_config import from_dict

    return from_dict(cls, data, where)
