"""Synthetic question-answer generation from GIF descriptions (``gifqa gen-qa``).

- :mod:`gifqa.qagen.candidates`: answer candidates from a spaCy parse (living, noun, verb,
  prepositional phrase, colour, number).
- :mod:`gifqa.qagen.backends`: question generators (answer-aware T5, offline rule-based).
- :mod:`gifqa.qagen.filters`: answer-in-question, duplicate, empty/over-long filters.
- :mod:`gifqa.qagen.pipeline`: the seeded, batched, resumable run.
- :mod:`gifqa.qagen.metrics`: BLEU-4 and ROUGE-L for the TGIF-QA benchmark.
"""
