"""Write the word-level tokenizer of gifqa-shapes as ``gifqa/presets/_shapes_tokenizer.json``.

The vocabulary is the world's closed vocabulary (gifqa/shapes/vocab.py); deterministic, so
rerunning gives the same file.  The ``shapes`` preset names it as ``llm.tokenizer: package:shapes``
and its ``vocab_size`` must equal the vocabulary's length (a test checks both).

    python scripts/make_shapes_tokenizer.py
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main() -> int:
    from gifqa.shapes.vocab import build_tokenizer, vocabulary

    out = pathlib.Path(__file__).resolve().parents[1] / "gifqa" / "presets" / "_shapes_tokenizer.json"
    build_tokenizer().save(str(out), pretty=True)
    print(f"wrote {out} ({len(vocabulary())} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
