"""Architecture shapes, parameter counts and a training-memory estimate for every preset.

    python -m gifqa.model.report [--batch 4] [--presets NAME ...]

Models are built on the ``meta`` device from the configs in the preset JSON files: nothing is
downloaded and no memory is allocated, so the counts are exact for the architecture while the
memory figures are an estimate (assumptions printed with them).
"""

from __future__ import annotations

import argparse
import sys

GiB = 1024**3


def _bytes_per(dtype: str) -> int:
    return {"float32": 4, "bfloat16": 2, "float16": 2}[dtype]


def shapes(cfg, batch: int) -> dict[str, str]:
    v, p, llm = cfg.vision, cfg.projector, cfg.llm
    t, s, n, q = p.max_frames, v.image_size, v.num_tokens, p.num_query_tokens
    return {
        "pixel_values": f"[B={batch}, T={t}, 3, {s}, {s}]",
        "vision tokens (per frame)": f"[B*T={batch * t}, N={n}, D_v={v.width}] (layer {v.feature_layer})",
        "Q-Former out (+ temporal emb.)": f"[B, T, Q={q}, D_q={p.width}]",
        "frame tokens into the LLM": f"[B, T*Q={t * q}, D_lm={llm.width}]",
        "LLM sequence": f"[B, T*Q + L_text <= {t * q + llm.max_text_tokens}, D_lm]",
    }


def memory_estimate(cfg, counts: dict[str, int], batch: int) -> dict[str, float]:
    """Bytes per GPU for one training step (single GPU, no sharding), by component."""
    from transformers import AutoConfig

    v, p, llm = cfg.vision, cfg.projector, cfg.llm
    hf = dict(llm.hf_config)
    lcfg = AutoConfig.for_model(hf.pop("model_type"), **hf)
    layers = lcfg.num_hidden_layers
    vocab = lcfg.vocab_size
    h = llm.width
    t, q, n = p.max_frames, p.num_query_tokens, v.num_tokens
    trainable = sum(c for k, c in counts.items() if k not in ("vision", "llm"))
    out = {
        # frozen weights in their storage dtypes (vision.dtype, llm.dtype)
        "frozen weights": counts["vision"] * _bytes_per(v.dtype) + counts["llm"] * _bytes_per(llm.dtype),
        # fp32 weights + fp32 grads + AdamW first and second moments = 16 bytes per trainable parameter
        "trainable weights+grads+Adam": trainable * 16,
    }
    # LLM activations kept for backward: ~34*s*b*h bytes per layer with 16-bit activations and an
    # attention kernel that does not store the s x s scores (SDPA / flash); Korthikanti et al. 2022,
    # "Reducing Activation Recomputation in Large Transformer Models", eq. 1 without the 5as/h term.
    # Worst case for MVM: the masked pass at the minimum rate keeps the most tokens.
    keep = 1.0 - (cfg.mvm.rate_min if (cfg.mvm.enabled and cfg.mvm.weight > 0) else 0.0)
    seq = int(t * q * keep) + llm.max_text_tokens
    act_scale = _bytes_per(llm.dtype) / 2
    out["LLM activations"] = 34 * seq * batch * h * layers * act_scale
    # logits upcast to float32 for the loss, plus their gradient
    out["logits (fp32) + grad"] = 2 * 4 * batch * seq * vocab
    # Q-Former in float32, run on B*T frames of Q queries: 2 x the 16-bit formula on s=Q, plus per
    # cross-attention layer the stored vision tokens' key/value projections and attention probs.
    qf = p.hf_config
    qlayers, heads = qf.get("num_hidden_layers", 12), qf.get("num_attention_heads", 12)
    xlayers = (qlayers + qf.get("cross_attention_frequency", 2) - 1) // qf.get("cross_attention_frequency", 2)
    bt = batch * t
    out["Q-Former activations"] = (68 * q * bt * p.width * qlayers
                                   + xlayers * bt * (2 * 4 * n * p.width + 4 * heads * q * n)
                                   + 4 * bt * n * v.width)  # the vision features it reads
    # vision tower: no grad; peak transient of one forward over B*T frames (~ a few layer outputs)
    out["vision forward (transient)"] = 4 * _bytes_per(v.dtype) * bt * n * v.width
    out["total"] = sum(out.values())
    return out


def run(names: list[str], batch: int) -> str:
    import torch

    from gifqa.model import GifQAModel, list_presets, load_preset

    lines = []
    for name in names or list_presets():
        cfg = load_preset(name)
        with torch.device("meta"):
            model = GifQAModel(cfg)
        counts = model.parameter_counts()
        trainable = sum(c for k, c in counts.items() if k not in ("vision", "llm"))
        requires_grad = sum(p.numel() for p in model.parameters() if p.requires_grad)
        assert requires_grad == trainable, (requires_grad, trainable)
        lines += [f"### {name}", "",
                  f"vision `{cfg.vision.hub_id or 'random'}` · Q-Former init `{cfg.projector.init_from or 'random'}`"
                  f" · LLM `{cfg.llm.hub_id or 'random'}` ({cfg.llm.dtype}), LoRA "
                  + (f"r={cfg.lora.r} on {', '.join(cfg.lora.target_modules)}" if cfg.lora.enabled else "off")
                  + f" · MVM {'weight ' + str(cfg.mvm.weight) if cfg.mvm.enabled else 'off'}", "",
                  "| tensor | shape |", "|---|---|"]
        lines += [f"| {k} | `{v}` |" for k, v in shapes(cfg, batch).items()]
        lines += ["", "| part | parameters | trained |", "|---|---:|---|"]
        for k, c in counts.items():
            lines.append(f"| {k} | {c:,} | {'no (frozen)' if k in ('vision', 'llm') else 'yes'} |")
        lines += [f"| **total** | {sum(counts.values()):,} | {trainable:,} trained "
                  f"({100 * trainable / max(1, sum(counts.values())):.2f} %) |", ""]
        mem = memory_estimate(cfg, counts, batch)
        lines += [f"Training memory estimate, one GPU, micro-batch {batch} clips x {cfg.projector.max_frames} frames, "
                  f"{cfg.llm.max_text_tokens} text tokens:", "", "| component | GiB |", "|---|---:|"]
        lines += [f"| {k} | {v / GiB:.2f} |" for k, v in mem.items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gifqa.model.report", description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4, help="clips per micro-batch for the memory estimate")
    ap.add_argument("--presets", nargs="*", default=[], help="preset names (default: all)")
    args = ap.parse_args(argv)
    sys.stdout.write(run(args.presets, args.batch) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
