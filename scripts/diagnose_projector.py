"""Does the Q-Former's query set read different parts of a frame, or collapse onto one token?

For a gifqa checkpoint and a directory of clips, runs the model's vision tower and Q-Former on the
model's own keyframes and reports, per Q-Former layer:

* ``entropy``: mean entropy (nats) of each query head's cross-attention over the frame's tokens
  (uniform = ln N); low means the attention is sharp;
* ``cls_mass``: mean attention mass on the class token (token 0);
* ``same_argmax``: fraction of (query, head) pairs whose most-attended token is the frame's most
  common one; 1.0 means every query and head reads the same token;

and, for the Q-Former's output, ``query_cosine``: the mean cosine similarity between the Q
outputs of one frame after removing each query's mean over all frames (a shared offset says
nothing about the frame); 1.0 = the queries vary together, i.e. the LLM gets one token's worth of
information per frame.  Also the norm of the class token vs the patch tokens fed to it.

    python scripts/diagnose_projector.py --model checkpoints/gifqa-shapes --gifs runs/world/gifs --limit 64
    python scripts/diagnose_projector.py --model checkpoints/gifqa-shapes --gifs runs/world/gifs --init   # before training

Prints JSON on stdout.  Used for report.md (issue 9: why the shapes checkpoint does not bind
colours to shapes).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint dir or preset")
    ap.add_argument("--gifs", required=True, type=Path, help="directory of .gif clips")
    ap.add_argument("--pattern", default="*.gif", help="glob in --gifs (default *.gif)")
    ap.add_argument("--limit", type=int, default=64, help="clips to read (sorted by name; default 64)")
    ap.add_argument("--init", action="store_true",
                    help="replace the trained projector by a fresh one built from the model's config: the "
                         "distribution training starts from (not necessarily the same random draw)")
    return ap.parse_args(argv)


@torch.no_grad()
def diagnose(model, paths: list[Path]) -> dict:
    from gifqa.inference import ClipLoader

    loader = ClipLoader(model, sampling="uniform")
    proj = model.projector
    if proj.question_aware:
        raise SystemExit("diagnose_projector: question-aware Q-Formers read the prompt too; not supported")
    proj.qformer.set_attn_implementation("eager")  # sdpa kernels return no attention weights
    layers: dict[int, dict[str, float]] = {}
    outputs = []
    cls_norm = patch_norm = 0.0
    n_frames = 0
    for path in paths:
        pixels = loader(path)  # [T, 3, S, S]
        feats = model.vision(pixels.to(model.device))  # [T, N, D_v]
        t, n_tok = feats.shape[:2]
        query = proj.query_tokens.expand(t, -1, -1)
        out = proj.qformer(query_embeds=query, encoder_hidden_states=feats, output_attentions=True,
                           encoder_attention_mask=torch.ones(feats.shape[:2], dtype=torch.long, device=feats.device))
        norms = feats.norm(dim=-1)  # [T, N]
        cls_norm += norms[:, 0].sum().item()
        patch_norm += norms[:, 1:].mean(dim=1).sum().item()
        outputs.append(out.last_hidden_state[:, : proj.num_query_tokens].float())  # [T, Q, D]
        for i, att in enumerate(out.cross_attentions or ()):
            if att is None:
                continue
            att = att[:, :, : proj.num_query_tokens].float()  # [T, H, Q, N]
            ent = -(att.clamp_min(1e-12).log() * att).sum(-1)  # [T, H, Q]
            top = att.argmax(-1).flatten(1)  # [T, H*Q]
            mode = top.mode(dim=1).values[:, None]
            d = layers.setdefault(i, {"entropy": 0.0, "cls_mass": 0.0, "same_argmax": 0.0})
            d["entropy"] += ent.mean(dim=(1, 2)).sum().item()
            d["cls_mass"] += att[..., 0].mean(dim=(1, 2)).sum().item()
            d["same_argmax"] += (top == mode).float().mean(dim=1).sum().item()
        n_frames += t
    q = torch.cat(outputs)  # [frames, Q, D]
    q = torch.nn.functional.normalize(q - q.mean(dim=0, keepdim=True), dim=-1)
    nq = q.shape[1]
    sim = q @ q.transpose(1, 2)  # [frames, Q, Q]
    query_cosine = ((sim.sum(dim=(1, 2)) - nq) / max(nq * (nq - 1), 1)).mean().item()
    return {
        "clips": len(paths),
        "frames": n_frames,
        "tokens_per_frame": n_tok,
        "uniform_entropy": round(math.log(n_tok), 3),
        "cls_token_norm": round(cls_norm / n_frames, 3),
        "patch_token_norm": round(patch_norm / n_frames, 3),
        "query_cosine": round(query_cosine, 3),
        "cross_attention": {f"layer{i}": {k: round(v / n_frames, 3) for k, v in d.items()}
                            for i, d in sorted(layers.items())},
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    from gifqa.inference import resolve_model

    paths = sorted(args.gifs.glob(args.pattern))[: args.limit]
    if not paths:
        print(f"diagnose_projector: no {args.pattern} in {args.gifs}", file=sys.stderr)
        return 1
    model = resolve_model(args.model, device="cpu")
    if args.init:
        from gifqa.model.modeling import seeded
        from gifqa.model.projector import Projector

        with seeded(model.config.seed):
            model.projector = Projector(model.config)
    model.eval()
    report = {"model": args.model + (" (projector at init)" if args.init else ""), **diagnose(model, paths)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
