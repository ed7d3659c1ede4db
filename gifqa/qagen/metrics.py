"""BLEU-4 and ROUGE-L on word tokens, for scoring generated questions against references.

- BLEU: Papineni et al., ACL 2002 — corpus-level modified n-gram precision for n = 1..4 (clipped
  by the reference counts), geometric mean with uniform weights, times the brevity penalty
  ``exp(1 - r/c)`` when the candidate corpus length ``c`` is below the reference length ``r``.
  One reference per candidate here.
- ROUGE-L: Lin, 2004 — longest common subsequence; ``P = LCS/len(candidate)``,
  ``R = LCS/len(reference)``, ``F = (1 + b^2) P R / (R + b^2 P)`` with ``b = 1.2`` as in the
  coco-caption implementation that TGIF's own evaluation uses; averaged over sentences.

Tokens are :func:`gifqa.qagen.filters.words` (lower case, punctuation dropped), so "What is the
man holding?" and the TGIF-QA style "what is the man holding ?" compare equal.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from gifqa.qagen.filters import words


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates: Sequence[str], references: Sequence[str], max_n: int = 4) -> float:
    """Corpus BLEU-``max_n`` in [0, 1] of ``candidates`` against one reference each."""
    if len(candidates) != len(references):
        raise ValueError("one reference per candidate")
    matched = [0] * max_n
    total = [0] * max_n
    c_len = r_len = 0
    for cand, ref in zip(candidates, references):
        c, r = words(cand), words(ref)
        c_len += len(c)
        r_len += len(r)
        for n in range(1, max_n + 1):
            cn, rn = _ngrams(c, n), _ngrams(r, n)
            matched[n - 1] += sum(min(k, rn[g]) for g, k in cn.items())
            total[n - 1] += max(len(c) - n + 1, 0)
    if c_len == 0 or any(m == 0 for m in matched):
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matched, total)) / max_n
    brevity = 1.0 if c_len > r_len else math.exp(1 - r_len / c_len)
    return brevity * math.exp(log_precision)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, O(len(a) * len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, reference: str, beta: float = 1.2) -> float:
    """Sentence ROUGE-L F-measure in [0, 1]."""
    c, r = words(candidate), words(reference)
    lcs = lcs_length(c, r)
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(c), lcs / len(r)
    return (1 + beta**2) * p * rec / (rec + beta**2 * p)


def mean_rouge_l(candidates: Sequence[str], references: Sequence[str], beta: float = 1.2) -> float:
    if len(candidates) != len(references):
        raise ValueError("one reference per candidate")
    if not candidates:
        return 0.0
    return sum(rouge_l(c, r, beta) for c, r in zip(candidates, references)) / len(candidates)
