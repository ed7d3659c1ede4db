"""GifQAModel: frames -> frozen CLIP tower -> Q-Former per frame -> Linear -> LLM (LoRA).

The forward pass runs in numbered steps, like transformers' ``Blip2ForConditionalGeneration``:

1. encode:   pixel_values [B, T, 3, S, S] -> patch tokens [B*T, N, D_v]        (frozen, no grad)
2. project:  Q-Former per frame + temporal embedding -> [B, T, Q, D_q] -> Linear -> [B, T*Q, D_lm]
3. assemble: [frame tokens | text tokens] per clip; padded frames and padding text are removed
             and the rows re-padded (right for training, left for generation)
4. decode:   the LLM on ``inputs_embeds``; cross-entropy on the answer tokens only
5. (training, MVM weight > 0) masked video modelling, see :mod:`gifqa.model.mvm`.

Building never downloads: backbones come from ``hf_config`` (random, seeded) unless
``pretrained=True`` is passed to :meth:`GifQAModel.from_config` / :meth:`from_preset`, or the
model is loaded with :meth:`from_pretrained`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from gifqa.errors import ConfigError
from gifqa.model import prompts
from gifqa.model.config import GifQAConfig
from gifqa.model.heads import ReactionHead
from gifqa.model.mvm import MVMDecoder, keep_mask, mvm_loss, sample_rate
from gifqa.model.projector import Projector, query_decorrelation
from gifqa.model.vision import VisionTower, preprocess_frames

log = logging.getLogger("gifqa.model")

IGNORE_INDEX = -100  # label of positions without a loss (frame tokens, prompt, padding)
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@contextlib.contextmanager
def seeded(seed: int):
    """Deterministic init without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_llm(cfg) -> nn.Module:
    """A randomly initialised causal LM from ``llm.hf_config`` (never downloads)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = dict(cfg.hf_config)
    model_type = kwargs.pop("model_type")
    try:
        hf = AutoConfig.for_model(model_type, **kwargs)
    except (ValueError, KeyError) as e:
        raise ConfigError(f"llm.hf_config: {e}") from None
    return AutoModelForCausalLM.from_config(hf)


@dataclass
class Sequence:
    """LLM input of one batch after step 3."""

    embeds: torch.Tensor  # [B, S, D_lm]
    mask: torch.Tensor  # [B, S] long, 1 = real token
    labels: torch.Tensor | None  # [B, S] long, IGNORE_INDEX where no loss
    visual_positions: torch.Tensor  # [B, V] long: position of each visual token in the row, -1 if absent


def assemble(
    visual: torch.Tensor,
    visual_keep: torch.Tensor,
    text: torch.Tensor,
    text_mask: torch.Tensor,
    labels: torch.Tensor | None,
    side: str = "right",
) -> Sequence:
    """Concatenate each clip's kept visual tokens [V] and real text tokens, then pad rows at ``side``."""
    rows, row_labels, lengths, vis_pos = [], [], [], []
    bsz, n_vis, dim = visual.shape
    for b in range(bsz):
        v_idx = visual_keep[b].nonzero().squeeze(1)
        t_idx = text_mask[b].bool().nonzero().squeeze(1)
        rows.append(torch.cat([visual[b, v_idx], text[b, t_idx].to(visual.dtype)]))
        if labels is not None:
            row_labels.append(torch.cat([labels.new_full((v_idx.numel(),), IGNORE_INDEX), labels[b, t_idx]]))
        pos = torch.full((n_vis,), -1, dtype=torch.long, device=visual.device)
        pos[v_idx] = torch.arange(v_idx.numel(), device=visual.device)
        lengths.append(rows[-1].shape[0])
        vis_pos.append(pos)
    seq_len = max(lengths)
    embeds = visual.new_zeros(bsz, seq_len, dim)
    mask = torch.zeros(bsz, seq_len, dtype=torch.long, device=visual.device)
    out_labels = None if labels is None else labels.new_full((bsz, seq_len), IGNORE_INDEX)
    positions = torch.stack(vis_pos)
    for b, n in enumerate(lengths):
        start = 0 if side == "right" else seq_len - n
        embeds[b, start : start + n] = rows[b]
        mask[b, start : start + n] = 1
        if out_labels is not None:
            out_labels[b, start : start + n] = row_labels[b]
        positions[b] = torch.where(positions[b] >= 0, positions[b] + start, positions[b])
    return Sequence(embeds, mask, out_labels, positions)


def prompt_mask(attention_mask: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """[B, L] mask of the prompt tokens: real tokens without a label (the answer never reaches a
    question-aware Q-Former, or the frame tokens would leak it to the LLM)."""
    if labels is None:
        return attention_mask
    return attention_mask * (labels.to(attention_mask.device) == IGNORE_INDEX).to(attention_mask.dtype)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over positions whose label is not IGNORE_INDEX."""
    return F.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX
    )


def _frame_states(out, seq: Sequence, layer: int | None) -> dict:
    """GifQAOutput's frame_states / frame_states_kept from an LM output with hidden states (empty when
    ``layer`` is None)."""
    if layer is None:
        return {}
    states = out.hidden_states[layer]  # [B, S, D_lm]
    kept = seq.visual_positions >= 0  # [B, V]
    index = seq.visual_positions.clamp_min(0)[..., None].expand(-1, -1, states.shape[-1])  # [B, V, D_lm]
    return {"frame_states": states.gather(1, index) * kept[..., None], "frame_states_kept": kept}


@dataclass
class GifQAOutput:
    loss: torch.Tensor | None  # loss_ce + mvm.weight * loss_mvm + projector.decorrelation_weight * loss_decorrelation (None without labels)
    logits: torch.Tensor  # [B, S, vocab] of the pass that gave loss_ce (the masked one under MVM)
    loss_ce: torch.Tensor | None  # answer-token cross-entropy
    loss_mvm: torch.Tensor | None  # None when MVM did not run
    mvm: dict[str, Any] | None = None  # MVM trace: rate, kept [B, V], masked/full inputs_embeds, target
    loss_decorrelation: torch.Tensor | None = None  # None unless training with projector.decorrelation_weight > 0
    frame_states: torch.Tensor | None = None  # [B, V, D_lm] with forward(frame_states_layer=k): hidden_states[k] of the LM pass that gave loss_ce at each frame token; 0 where absent
    frame_states_kept: torch.Tensor | None = None  # [B, V] bool: the frame token was in that pass (MVM drops some)


class GifQAModel(nn.Module):
    """The gifqa video-QA model.  See the module docstring for the data flow."""

    def __init__(self, config: GifQAConfig, *, vision_model: nn.Module | None = None, llm: nn.Module | None = None,
                 tokenizer=None):
        super().__init__()
        config.validate()
        self.config = config
        with seeded(config.seed):
            self.vision = VisionTower(config.vision, vision_model)
            self.projector = Projector(config)
            base = llm if llm is not None else build_llm(config.llm)
            base.to(_DTYPES[config.llm.dtype])
            # llm.train: "full" trains (and saves) every LLM weight; "lora" / "frozen" keep the base frozen.
            for p in base.parameters():
                p.requires_grad_(config.llm.train == "full")
            if config.lora.enabled:
                from peft import LoraConfig, get_peft_model

                lc = config.lora
                base = get_peft_model(base, LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                                                       target_modules=list(lc.target_modules), task_type="CAUSAL_LM"))
            self.llm = base
            mvm_on = config.mvm.enabled and config.mvm.weight > 0
            self.mvm_decoder = MVMDecoder(config.llm.width) if mvm_on else None
            heads = config.heads
            head_width = config.projector.width if heads.reaction_input == "queries" else config.llm.width
            readers = heads.reaction_query_tokens if heads.reaction_input == "llm_query" else 0
            self.reaction_head = (ReactionHead(head_width, heads.dropout, heads.reaction_pooling, readers)
                                  if heads.reaction else None)
        self._tokenizer = tokenizer
        self._check_widths()

    def _check_widths(self) -> None:
        emb = self.llm.get_input_embeddings()
        if emb.embedding_dim != self.config.llm.width:
            raise ConfigError(f"llm width {emb.embedding_dim} != llm.hf_config hidden_size {self.config.llm.width}")

    # construction --------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: GifQAConfig, *, pretrained: bool = False, init_projector: bool = True) -> GifQAModel:
        """Build from a config.  ``pretrained=True`` fetches the backbones named by hub id (and the
        Q-Former init named by ``projector.init_from`` when ``init_projector``)."""
        if not pretrained:
            return cls(config)
        from gifqa.model.backbones import load_llm, load_vision

        model = cls(config, vision_model=load_vision(config.vision), llm=load_llm(config.llm))
        if init_projector and config.projector.init_from:
            from gifqa.model.qformer_loading import load_qformer

            p = config.projector
            load_qformer(model.projector, p.init_from, p.init_revision,
                         load_language_projection=p.init_language_projection,
                         on_width_mismatch=p.cross_attention_on_width_mismatch)
        return model

    @classmethod
    def from_preset(cls, name: str, *, pretrained: bool = False) -> GifQAModel:
        from gifqa.model.presets import load_preset

        return cls.from_config(load_preset(name), pretrained=pretrained)

    @classmethod
    def from_pretrained(cls, path_or_id: str, *, revision: str | None = None) -> GifQAModel:
        from gifqa.model.checkpoint import load_checkpoint

        return load_checkpoint(cls, path_or_id, revision=revision)

    def save_pretrained(self, directory) -> None:
        from gifqa.model.checkpoint import save_checkpoint

        save_checkpoint(self, directory)

    # tokenizer and preprocessing ---------------------------------------------------------
    @property
    def tokenizer(self):
        """Loaded on first use (a hub tokenizer downloads then, never at build time)."""
        if self._tokenizer is None:
            from gifqa.model.backbones import load_tokenizer

            self._tokenizer = load_tokenizer(self.config.llm)
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        return self.projector.query_tokens.device

    def preprocess_frames(self, frames) -> torch.Tensor:
        """uint8 RGB [T, H, W, 3] (or list of [H, W, 3]) -> pixel_values [T, 3, S, S]."""
        return preprocess_frames(frames, self.config.vision)

    # steps 1-2 ------------------------------------------------------------------------
    def encode_frames(self, pixel_values: torch.Tensor, frame_mask: torch.Tensor | None = None,
                      text_ids: torch.Tensor | None = None, text_mask: torch.Tensor | None = None):
        """pixel_values [B, T, 3, S, S] -> (frame tokens [B, T*Q, D_lm], queries [B, T, Q, D_q], valid [B, T*Q]).

        ``text_ids`` / ``text_mask`` [B, L]: the prompt (never the answer), which a question-aware
        Q-Former (``projector.question_aware``) reads; other projectors ignore it."""
        return self.project_frames(self.frame_features(pixel_values), frame_mask, text_ids, text_mask)

    def frame_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Step 1 of ``encode_frames``: pixel_values [B, T, 3, S, S] (or one clip [T, 3, S, S]) -> the
        vision tower's features [B, T, N, D_v]."""
        if pixel_values.ndim == 4:
            pixel_values = pixel_values[None]
        feats = self.vision(pixel_values.flatten(0, 1).to(self.device))  # 1. [B*T, N, D_v]
        return feats.unflatten(0, pixel_values.shape[:2])

    def project_frames(self, features: torch.Tensor, frame_mask: torch.Tensor | None = None,
                       text_ids: torch.Tensor | None = None, text_mask: torch.Tensor | None = None):
        """The vision tower's features [B, T, N, D_v] -> what ``encode_frames`` returns (its steps 2-3).

        Separate so that features computed elsewhere (the training feature cache, the ask memo of a
        question-aware Q-Former) go through exactly the same projector and validity mask."""
        bsz, n_frames = features.shape[:2]
        feats = features.flatten(0, 1).to(self.device)  # [B*T, N, D_v]
        tokens, queries = self.projector(feats, n_frames, text_ids, text_mask)  # 2. [B, T*Q, D_lm], [B, T, Q, D_q]
        if frame_mask is None:
            frame_mask = torch.ones(bsz, n_frames, dtype=torch.bool, device=self.device)
        valid = frame_mask.to(self.device).bool().repeat_interleave(self.config.projector.num_query_tokens, dim=1)  # 3.
        return tokens, queries, valid

    # text -------------------------------------------------------------------------------
    def build_text_inputs(self, prompts_: list[str], answers: list[str] | None = None, *, add_eos: bool = True):
        """Tokenise prompts (+ answers) -> dict(input_ids, attention_mask, labels) right-padded [B, L].

        Labels cover the answer tokens (and EOS) only; prompts that do not fit ``llm.max_text_tokens``
        lose tokens from their left.
        """
        tok = self.tokenizer
        limit = self.config.llm.max_text_tokens
        eos = tok.eos_token_id
        ids_rows, label_rows = [], []
        for i, prompt in enumerate(prompts_):
            p_ids = tok(prompt, add_special_tokens=True)["input_ids"]
            a_ids = []
            if answers is not None:
                a_ids = tok(prompts.answer_text(answers[i]), add_special_tokens=False)["input_ids"]
                if add_eos and eos is not None:
                    a_ids = a_ids + [eos]
            a_ids = a_ids[:limit]
            p_ids = p_ids[max(0, len(p_ids) + len(a_ids) - limit):]
            ids_rows.append(p_ids + a_ids)
            label_rows.append([IGNORE_INDEX] * len(p_ids) + a_ids)
        width = max(len(r) for r in ids_rows)
        pad = tok.pad_token_id if tok.pad_token_id is not None else (eos or 0)
        input_ids = torch.full((len(ids_rows), width), pad, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        for i, (ids, lab) in enumerate(zip(ids_rows, label_rows)):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            attention_mask[i, : len(ids)] = 1
            labels[i, : len(lab)] = torch.tensor(lab)
        out = {"input_ids": input_ids, "attention_mask": attention_mask}
        if answers is not None:
            out["labels"] = labels
        return out

    # steps 3-5 ---------------------------------------------------------------------------
    def forward(self, pixel_values, input_ids, attention_mask=None, labels=None, frame_mask=None,
                frame_states_layer: int | None = None) -> GifQAOutput:
        """Frame tokens [B, T*Q, D_lm] go before the text; loss = CE (+ mvm.weight * MVM in training).

        ``frame_states_layer``: also return the LM's ``hidden_states[frame_states_layer]`` at the frame
        tokens (``GifQAOutput.frame_states``), for training-only heads on them (gifqa.training.grounding)."""
        dev = self.device
        input_ids = input_ids.to(dev)
        attention_mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask.to(dev)
        labels = None if labels is None else labels.to(dev)
        visual, queries, valid = self.encode_frames(pixel_values, frame_mask, input_ids,
                                                    prompt_mask(attention_mask, labels))
        text = self.llm.get_input_embeddings()(input_ids)  # [B, L, D_lm]
        visual = visual.to(text.dtype)
        loss_dec = None if labels is None else self._decorrelation(queries, frame_mask)
        extra = 0.0 if loss_dec is None else self.config.projector.decorrelation_weight * loss_dec
        mvm_cfg = self.config.mvm
        if not (self.training and labels is not None and mvm_cfg.enabled and mvm_cfg.weight > 0):
            seq = assemble(visual, valid, text, attention_mask, labels, "right")  # 3.
            out = self.llm(inputs_embeds=seq.embeds, attention_mask=seq.mask,
                           output_hidden_states=frame_states_layer is not None)  # 4.
            loss = None if labels is None else causal_lm_loss(out.logits, seq.labels)
            return GifQAOutput(None if loss is None else loss + extra, out.logits, loss, None, loss_decorrelation=loss_dec,
                               **_frame_states(out, seq, frame_states_layer))

        # 5. masked video modelling (ST-LLM): masked pass with grad, full pass as target without.
        rate = sample_rate(mvm_cfg)
        kept = keep_mask(valid, rate)  # [B, V]
        if mvm_cfg.task_input == "full":
            return self._mvm_task_on_full(visual, valid, kept, rate, text, attention_mask, labels, extra, loss_dec,
                                          frame_states_layer)
        masked = assemble(visual, kept, text, attention_mask, labels, "right")
        detach_mvm = not mvm_cfg.projector_grad and visual.requires_grad  # MVM on its own pass (below)
        out = self.llm(inputs_embeds=masked.embeds, attention_mask=masked.mask,
                       output_hidden_states=not detach_mvm or frame_states_layer is not None)
        loss_ce = causal_lm_loss(out.logits, masked.labels)
        with torch.no_grad():
            full = assemble(visual.detach(), valid, text.detach(), attention_mask, labels, "right")
            target_states = self.llm(inputs_embeds=full.embeds, attention_mask=full.mask,
                                     output_hidden_states=True).hidden_states[-1]
        if detach_mvm:
            # The same masked sequence with the frame tokens detached: loss_mvm trains the LLM, not
            # the projector (a second pass, because one pass cannot split the gradient at its inputs).
            detached = assemble(visual.detach(), kept, text, attention_mask, labels, "right")
            states = self.llm(inputs_embeds=detached.embeds, attention_mask=detached.mask,
                              output_hidden_states=True).hidden_states[-1]  # [B, S_masked, D_lm]
        else:
            states = out.hidden_states[-1]  # [B, S_masked, D_lm]
        loss_mvm, trace = self._mvm_term(states, masked, target_states, full, kept, rate)
        return GifQAOutput(loss_ce + mvm_cfg.weight * loss_mvm + extra, out.logits, loss_ce, loss_mvm, trace, loss_dec,
                           **_frame_states(out, masked, frame_states_layer))

    def _mvm_term(self, states, masked, target_states, full, kept, rate) -> tuple[torch.Tensor, dict[str, Any]]:
        """loss_mvm from the masked pass's last-layer states [B, S_masked, D_lm] at the kept frame tokens
        and the target states [B, S_full, D_lm] (no grad) at the same tokens; and the MVM trace."""
        b_idx, v_idx = kept.nonzero(as_tuple=True)
        pred = states[b_idx, masked.visual_positions[b_idx, v_idx]]  # [N_kept, D_lm]
        target = target_states[b_idx, full.visual_positions[b_idx, v_idx]]  # [N_kept, D_lm]
        loss_mvm = mvm_loss(self.mvm_decoder(pred.float()), target)
        trace = {"rate": rate, "kept": kept, "masked_inputs_embeds": masked.embeds,
                 "full_inputs_embeds": full.embeds, "target": target}
        return loss_mvm, trace

    def _mvm_task_on_full(self, visual, valid, kept, rate, text, attention_mask, labels, extra, loss_dec,
                          frame_states_layer) -> GifQAOutput:
        """5'. ``mvm.task_input: full``: the task loss reads the full sequence (as inference does); MVM
        predicts that pass's detached last-layer states from the masked frame tokens.  Two passes, both
        with gradients (ST-LLM's order needs a third when MVM must not reach the projector)."""
        mvm_cfg = self.config.mvm
        full = assemble(visual, valid, text, attention_mask, labels, "right")
        out = self.llm(inputs_embeds=full.embeds, attention_mask=full.mask, output_hidden_states=True)
        loss_ce = causal_lm_loss(out.logits, full.labels)
        target_states = out.hidden_states[-1].detach()  # [B, S_full, D_lm]
        masked_visual = visual if mvm_cfg.projector_grad else visual.detach()
        rows, target_seq = None, full
        if mvm_cfg.batch_share < 1:
            # mvm.batch_share: only a random share of the clips (at least one) get the masked pass.
            n_rows = max(1, round(mvm_cfg.batch_share * kept.shape[0]))
            rows = torch.randperm(kept.shape[0])[:n_rows].sort().values.to(kept.device)  # [B']
            masked_visual, kept, target_states = masked_visual[rows], kept[rows], target_states[rows]
            text, attention_mask = text[rows], attention_mask[rows]
            target_seq = Sequence(full.embeds[rows], full.mask[rows], None, full.visual_positions[rows])
        # The masked pass carries the frame tokens only: they come first and the LM is causal, so its
        # states there never see the text, and with no task loss on this pass the text would only cost
        # time (about a third of the pass's tokens in the shapes recipe).
        masked = assemble(masked_visual, kept, text[:, :0], attention_mask[:, :0], None, "right")
        states = self.llm(inputs_embeds=masked.embeds, attention_mask=masked.mask,
                          output_hidden_states=True).hidden_states[-1]  # [B', S_masked, D_lm]
        loss_mvm, trace = self._mvm_term(states, masked, target_states, target_seq, kept, rate)
        trace["rows"] = rows  # the clips of the masked pass (None: all)
        return GifQAOutput(loss_ce + mvm_cfg.weight * loss_mvm + extra, out.logits, loss_ce, loss_mvm, trace, loss_dec,
                           **_frame_states(out, full, frame_states_layer))

    def _decorrelation(self, queries: torch.Tensor, frame_mask: torch.Tensor | None) -> torch.Tensor | None:
        """Query-decorrelation loss of the Q-Former outputs [B, T, Q, D_q] in training (None when off)."""
        if not (self.training and self.config.projector.decorrelation_weight > 0):
            return None
        return query_decorrelation(queries, None if frame_mask is None else frame_mask.to(queries.device))

    # tasks ------------------------------------------------------------------------------
    @torch.no_grad()
    def generate_from_prompts(self, pixel_values, prompts_: list[str], *, max_new_tokens: int = 16,
                              frame_mask=None, **generate_kwargs) -> list[str]:
        """Greedy (by default) continuation of each prompt after its clip's frame tokens."""
        enc = self.build_text_inputs(prompts_)
        visual, _, valid = self.encode_frames(pixel_values, frame_mask, enc["input_ids"], enc["attention_mask"])
        if visual.shape[0] != len(prompts_):
            raise ConfigError(f"{visual.shape[0]} clips but {len(prompts_)} prompts")
        text = self.llm.get_input_embeddings()(enc["input_ids"].to(self.device))
        seq = assemble(visual.to(text.dtype), valid, text, enc["attention_mask"].to(self.device), None, "left")
        tok = self.tokenizer
        # Stop at the tokenizer's EOS and at the LLM config's (BLIP-2's OPT stops at "\n", id 50118).
        eos = [i for i in dict.fromkeys([tok.eos_token_id, getattr(self.llm.config, "eos_token_id", None)])
               if isinstance(i, int)]
        kwargs = {"do_sample": False, "num_beams": 1, "eos_token_id": eos, **generate_kwargs}
        out = self.llm.generate(inputs_embeds=seq.embeds, attention_mask=seq.mask, max_new_tokens=max_new_tokens,
                                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                                **kwargs)
        return [t.strip() for t in tok.batch_decode(out, skip_special_tokens=True)]

    def generate(self, pixel_values, questions: list[str], *, max_new_tokens: int = 16, frame_mask=None,
                 **generate_kwargs) -> list[str]:
        """Open-ended answers (FrameQA), one per clip: pixel_values [B, T, 3, S, S], B questions."""
        return self.generate_from_prompts(pixel_values, [prompts.question_prompt(q) for q in questions],
                                          max_new_tokens=max_new_tokens, frame_mask=frame_mask, **generate_kwargs)

    def caption(self, pixel_values, *, max_new_tokens: int = 30, frame_mask=None, **generate_kwargs):
        """A caption: str for one clip [T, 3, S, S], list[str] for a batch [B, T, 3, S, S]."""
        single = pixel_values.ndim == 4
        pv = pixel_values[None] if single else pixel_values
        out = self.generate_from_prompts(pv, [prompts.CAPTION_PROMPT] * pv.shape[0],
                                         max_new_tokens=max_new_tokens, frame_mask=frame_mask, **generate_kwargs)
        return out[0] if single else out

    @torch.no_grad()
    def score_options(self, pixel_values, question: str, options: list[str], *,
                      length_normalize: bool = False) -> torch.Tensor:
        """Log-likelihood [K] of each option as the answer to ``question`` about one clip.

        Multiple choice (TGIF-QA Action / Transition) compares these, no text is parsed.  The sum
        over the option's tokens by default; ``length_normalize`` divides by its token count.
        """
        if pixel_values.ndim == 5:
            if pixel_values.shape[0] != 1:
                raise ConfigError("score_options takes one clip; loop over the batch")
            pixel_values = pixel_values[0]
        k = len(options)
        enc = self.build_text_inputs([prompts.question_prompt(question)] * k, list(options), add_eos=False)
        # The prompt (row 0 without its option) is what a question-aware Q-Former reads.
        visual, _, valid = self.encode_frames(pixel_values[None], None, enc["input_ids"][:1],
                                              prompt_mask(enc["attention_mask"][:1], enc["labels"][:1]))
        text = self.llm.get_input_embeddings()(enc["input_ids"].to(self.device))
        seq = assemble(visual.expand(k, -1, -1).to(text.dtype), valid.expand(k, -1), text,
                       enc["attention_mask"].to(self.device), enc["labels"].to(self.device), "right")
        logits = self.llm(inputs_embeds=seq.embeds, attention_mask=seq.mask).logits.float()
        logp = logits[:, :-1].log_softmax(-1)
        target = seq.labels[:, 1:]
        has = target != IGNORE_INDEX
        tok_lp = logp.gather(-1, target.clamp_min(0)[..., None]).squeeze(-1) * has
        total = tok_lp.sum(-1)
        return total / has.sum(-1).clamp_min(1) if length_normalize else total

    def predict_count(self, pixel_values, question: str, decode: str = "mean") -> int:
        """Counting (TGIF-QA Count): an int in 0..10 from the LM's distribution over those answers.

        ``decode="mean"`` (default): the distribution's mean, rounded half up, which is the integer
        with the least expected squared error, and the metric of TGIF-QA Count is the MSE (its own
        model regressed the count and rounded it: Jang et al. 2017).  ``"mode"``: the most likely
        answer, as a classifier over 0..10 would give it (an unsure model then gives the training
        prior's most frequent count to every question).
        """
        if decode not in prompts.COUNT_DECODES:
            raise ConfigError(f"count decode {decode!r} is not one of {', '.join(prompts.COUNT_DECODES)}")
        scores = self.score_options(pixel_values, question, prompts.COUNT_OPTIONS)  # [11] log-likelihoods
        if decode == "mode":
            return int(prompts.COUNT_OPTIONS[int(scores.argmax())])
        values = torch.tensor([float(o) for o in prompts.COUNT_OPTIONS], device=scores.device)
        mean = float((scores.float().softmax(-1) * values).sum())
        return int(math.floor(mean + 0.5))

    # reaction head ----------------------------------------------------------------------------
    def _head(self) -> ReactionHead:
        if self.reaction_head is None:
            raise ConfigError("this model has no reaction head (heads.reaction is false)")
        return self.reaction_head

    def _reaction(self, pixel_values, frame_mask=None):
        """-> (logits [B, 43], Q-Former outputs [B, T, Q, D_q], frame_mask on the model's device or None)."""
        head = self._head()
        visual, queries, valid = self.encode_frames(pixel_values, frame_mask)
        mask = frame_mask.to(self.device) if frame_mask is not None else None
        tokens, head_mask = queries, mask  # [B, T, Q, D_q], [B, T]
        dtype = self.llm.get_input_embeddings().weight.dtype
        if self.config.heads.reaction_input == "llm":
            # The frame tokens alone, as they open every QA sequence (padded frames masked out; they
            # come last, so causal attention keeps them out of the real frames' states).
            states = self.llm(inputs_embeds=visual.to(dtype), attention_mask=valid.long(),
                              output_hidden_states=True).hidden_states[-1]  # [B, T*Q, D_lm]
            tokens = states.float().unflatten(1, queries.shape[1:3])  # [B, T, Q, D_lm]
        elif self.config.heads.reaction_input == "llm_query":
            # The real frame tokens, then the head's N reader tokens where a question would start
            # (assemble drops padded frames, so every reader sits right after its clip's last frame).
            bsz, n = visual.shape[0], head.reader.shape[1]
            readers = head.reader.to(dtype).expand(bsz, -1, -1)  # [B, N, D_lm]
            seq = assemble(visual.to(dtype), valid, readers, valid.new_ones(bsz, n), None)
            states = self.llm(inputs_embeds=seq.embeds, attention_mask=seq.mask,
                              output_hidden_states=True).hidden_states[-1]  # [B, S, D_lm]
            at = seq.mask.sum(1, keepdim=True) - n + torch.arange(n, device=states.device)  # [B, N]
            tokens = states.gather(1, at[..., None].expand(-1, -1, states.shape[-1])).float()[:, None]  # [B, 1, N, D_lm]
            head_mask = None  # the readers are all real
        return head(tokens, head_mask), queries, mask

    def classify_reaction(self, pixel_values, frame_mask=None) -> torch.Tensor:
        """Logits [B, 43] over ``reaction_labels`` (``model.reaction_head.labels``)."""
        return self._reaction(pixel_values, frame_mask)[0]

    def reaction_loss(self, pixel_values, labels: torch.Tensor, frame_mask=None) -> torch.Tensor:
        """Cross-entropy of the reaction head (+ the query-decorrelation loss in training); labels [B]
        are indices into ``reaction_labels``."""
        logits, queries, mask = self._reaction(pixel_values, frame_mask)
        loss = F.cross_entropy(logits, labels.to(self.device))
        loss_dec = self._decorrelation(queries, mask)
        return loss if loss_dec is None else loss + self.config.projector.decorrelation_weight * loss_dec

    @property
    def reaction_labels(self) -> list[str]:
        return self._head().labels

    def reaction_sentiment(self, logits: torch.Tensor) -> torch.Tensor:
        """P(positive induced sentiment) [B] from reaction logits."""
        return self._head().sentiment(logits)

    def reaction_emotions(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores [B, 27] of the GoEmotions labels (``heads.reaction_labels()['goemotions']``)."""
        return self._head().emotions(logits)

    # training helpers -------------------------------------------------------------------------
    def trained_modules(self) -> dict[str, nn.Module]:
        """The modules trained in full (saved whole in checkpoints); LoRA is saved by peft.  The
        vision tower with ``vision.train`` (or ``vision.save_weights``) and the LLM with
        ``llm.train: full`` are among them."""
        mods = {"projector": self.projector}
        if self.config.vision.train or self.config.vision.save_weights:
            mods["vision"] = self.vision
        if self.config.llm.train == "full":
            mods["llm"] = self.llm
        if self.mvm_decoder is not None:
            mods["mvm_decoder"] = self.mvm_decoder
        if self.reaction_head is not None:
            mods["reaction_head"] = self.reaction_head
        return mods

    def trainable_parameter_groups(self, lrs: dict[str, float], weight_decay: float = 0.0) -> list[dict]:
        """Optimizer param groups with per-module learning rates.

        Groups: ``lora`` (adapters in the LLM), ``llm`` (the whole LLM, ``llm.train: full``),
        ``vision`` (the tower, ``vision.train``), ``qformer`` (Q-Former + query tokens),
        ``projection`` (temporal embedding + Linear into the LLM), ``heads`` (reaction head),
        ``mvm`` (MVM decoder).  ``lrs`` maps group names (or ``default``) to learning rates.
        """
        groups: dict[str, list[nn.Parameter]] = {"lora": [], "llm": [], "vision": [], "qformer": [], "projection": [],
                                                 "heads": [], "mvm": []}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("llm."):
                groups["lora" if self.config.llm.train == "lora" else "llm"].append(p)
            elif name.startswith("vision."):
                groups["vision"].append(p)
            elif name.startswith(("projector.qformer.", "projector.query_tokens")):
                groups["qformer"].append(p)
            elif name.startswith("projector."):
                groups["projection"].append(p)
            elif name.startswith("reaction_head."):
                groups["heads"].append(p)
            elif name.startswith("mvm_decoder."):
                groups["mvm"].append(p)
            else:
                raise ConfigError(f"trainable parameter {name} belongs to no group")
        unknown = set(lrs) - set(groups) - {"default"}
        if unknown:
            raise ConfigError(f"unknown learning-rate group(s) {sorted(unknown)}; known: {sorted(groups)} and 'default'")
        out = []
        for gname, params in groups.items():
            if not params:
                continue
            if gname not in lrs and "default" not in lrs:
                raise ConfigError(f"no learning rate for group {gname!r} (give it or 'default')")
            out.append({"name": gname, "params": params, "lr": lrs.get(gname, lrs.get("default")),
                        "weight_decay": weight_decay})
        return out

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part (LoRA separate from the frozen LLM)."""
        counts = {"vision": 0, "qformer": 0, "projection": 0, "llm": 0, "lora": 0, "heads": 0, "mvm": 0}
        for name, p in self.named_parameters():
            n = p.numel()
            if name.startswith("vision."):
                counts["vision"] += n
            elif name.startswith("llm."):
                counts["lora" if "lora_" in name else "llm"] += n
            elif name.startswith(("projector.qformer.", "projector.query_tokens")):
                counts["qformer"] += n
            elif name.startswith("projector."):
                counts["projection"] += n
            elif name.startswith("reaction_head."):
                counts["heads"] += n
            else:
                counts["mvm"] += n
        return counts
