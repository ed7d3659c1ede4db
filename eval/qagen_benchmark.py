"""Benchmark answer candidates and generated questions against TGIF-QA FrameQA.

TGIF-QA's FrameQA questions were generated from TGIF descriptions, and
``Test_frameqa_question.csv`` keeps the description beside each official question and answer.
For every official row this script

1. extracts our answer candidates from the description (gifqa.qagen.candidates) and counts a hit
   when a candidate or its head word equals the official answer (case-insensitive): the
   *candidate recall*, per FrameQA type, with the mean number of candidates per description;
   "typed" recall also requires the candidate's category to match the type
   (object: living/noun, number: number, color: color, location: prep_phrase);
2. for the rows with a hit, asks the backend for a question about that candidate (preferring
   one of the matching category) and scores it against the official question: corpus BLEU-4
   and mean ROUGE-L (gifqa.qagen.metrics; lower-case word tokens, punctuation dropped).

Run (about two minutes on one CPU core for the 13,691 rows):

    python eval/qagen_benchmark.py --annotations ../shared/data/tgif-qa --out runs/qagen_benchmark.json

Only the offline backend runs without hub access; ``--backend t5`` needs the T5 weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gifqa.data import load_tgifqa  # noqa: E402
from gifqa.qagen.backends import QGItem  # noqa: E402
from gifqa.qagen.candidates import extract_candidates, load_spacy  # noqa: E402
from gifqa.qagen.metrics import corpus_bleu, mean_rouge_l  # noqa: E402

TYPE_CATEGORIES = {"object": ("living", "noun"), "number": ("number",), "color": ("color",), "location": ("prep_phrase",)}
TYPES = tuple(TYPE_CATEGORIES)


def match(cands, answer: str, answer_type: str):
    """(any_hit, typed_hit, candidate to ask about or None)."""
    answer = answer.lower()
    hits = [c for c in cands if c.answer.lower() == answer or c.head == answer]
    typed = [c for c in hits if c.category in TYPE_CATEGORIES[answer_type]]
    chosen = typed[0] if typed else (hits[0] if hits else None)
    return bool(hits), bool(typed), chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", default=str(REPO.parent / "shared" / "data" / "tgif-qa"))
    parser.add_argument("--backend", choices=["offline", "t5"], default="offline")
    parser.add_argument("--t5-model", default=None, help="hub id or folder for --backend t5")
    parser.add_argument("--limit", type=int, default=None, help="first N rows only (quick check)")
    parser.add_argument("--spacy-model", default=None)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    rows = load_tgifqa("frameqa", "test", args.annotations)[: args.limit]
    nlp = load_spacy(args.spacy_model)
    if args.backend == "offline":
        from gifqa.qagen.backends.offline import OfflineBackend

        backend = OfflineBackend()
    else:
        from gifqa.qagen.backends.t5 import T5Backend, T5Config

        backend = T5Backend.from_pretrained(T5Config(model=args.t5_model) if args.t5_model else None)

    descriptions = sorted({r.description for r in rows})
    docs = dict(zip(descriptions, nlp.pipe(descriptions, batch_size=256)))
    cands = {d: extract_candidates(doc) for d, doc in docs.items()}

    stats = {t: defaultdict(float) for t in TYPES + ("all",)}
    asks: list[tuple[str, object, QGItem]] = []  # (type, row, item)
    for r in rows:
        cs = cands[r.description]
        hit, typed, chosen = match(cs, r.answer, r.answer_type)
        for key in (r.answer_type, "all"):
            s = stats[key]
            s["rows"] += 1
            s["hits"] += hit
            s["typed_hits"] += typed
            s["candidates"] += len(cs)
        if chosen is not None:
            asks.append((r.answer_type, r, QGItem(r.description, chosen, docs[r.description])))

    questions = backend.generate([it for _, _, it in asks])
    pairs: dict[str, tuple[list[str], list[str]]] = {t: ([], []) for t in TYPES + ("all",)}
    examples: list[dict] = []
    for (atype, r, item), q in zip(asks, questions):
        if q is None:
            continue
        for key in (atype, "all"):
            pairs[key][0].append(q)
            pairs[key][1].append(r.question)
        if len(examples) < 12 and len(examples) < 3 * (TYPES.index(atype) + 1):
            examples.append({"type": atype, "description": r.description, "answer": r.answer,
                             "official": r.question, "ours": q})  # fmt: skip

    results: dict = {"backend": backend.name, "rows": len(rows), "descriptions": len(descriptions), "per_type": {}}
    for key in TYPES + ("all",):
        s = stats[key]
        ours, ref = pairs[key]
        n = max(s["rows"], 1)
        results["per_type"][key] = {
            "rows": int(s["rows"]),
            "candidate_recall": s["hits"] / n,
            "typed_recall": s["typed_hits"] / n,
            "mean_candidates": s["candidates"] / n,
            "questions_scored": len(ours),
            "question_coverage": len(ours) / n,
            "bleu4": corpus_bleu(ours, ref) if ours else 0.0,
            "rouge_l": mean_rouge_l(ours, ref) if ours else 0.0,
        }
    results["mean_candidates_per_description"] = sum(len(c) for c in cands.values()) / max(len(cands), 1)
    results["examples"] = examples
    results["seconds"] = time.monotonic() - t0

    print(f"TGIF-QA FrameQA test, {len(rows)} rows, {len(descriptions)} distinct descriptions, backend {backend.name}")
    print("| type | rows | candidate recall | typed recall | mean candidates | questions scored | BLEU-4 | ROUGE-L |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in TYPES + ("all",):
        p = results["per_type"][key]
        print(f"| {key} | {p['rows']:,} | {p['candidate_recall']:.1%} | {p['typed_recall']:.1%} | {p['mean_candidates']:.2f} "
              f"| {p['questions_scored']:,} ({p['question_coverage']:.1%}) | {100 * p['bleu4']:.1f} | {100 * p['rouge_l']:.1f} |")  # fmt: skip
    print(f"mean candidates per distinct description: {results['mean_candidates_per_description']:.2f}; "
          f"{results['seconds']:.0f} s")  # fmt: skip
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
