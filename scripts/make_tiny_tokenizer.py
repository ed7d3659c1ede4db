"""Train the tiny byte-level BPE tokenizer shipped as ``gifqa/presets/_tiny_tokenizer.json``.

The ``tiny`` preset (random backbones, for tests and CPU smoke runs) needs a tokenizer that
works offline.  This script trains one on a small built-in corpus of prompt-like English so
that questions, options, numbers and captions tokenise into a few hundred ids.  Byte-level BPE
can encode any string, so no input is ever out of vocabulary.  Deterministic: rerunning it
gives the same file.

    python scripts/make_tiny_tokenizer.py            # rewrites gifqa/presets/_tiny_tokenizer.json
"""

from __future__ import annotations

import pathlib

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

VOCAB_SIZE = 512  # ids; the tiny LLM's vocab_size in gifqa/presets/tiny.json must match
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"]  # ids 0..3

CORPUS = """
Question: what is the man doing? Answer: dancing
Question: how many times does the cat jump? Answer: 3
Question: what does the woman do after she smiles? Answer: she waves her hand
Question: what color is the car? Answer: red
Question: where is the dog? Answer: on the couch
A short description of the GIF: a man in a black shirt is dancing on a stage.
A girl with long hair turns her head and smiles at the camera.
Two people hug each other in a room. A cat jumps off a table.
zero one two three four five six seven eight nine ten 0 1 2 3 4 5 6 7 8 9 10
red blue green yellow white black brown pink purple orange gray
man woman boy girl cat dog car ball hand head face hair shirt table door room street
the a an of in on at with and is are was does do what how many where who why which
shakes nods waves claps laughs cries eats drinks walks runs jumps falls turns looks
applause agree hug no yes shocked eye roll thank you seriously facepalm ok thumbs up
""".strip()


def build() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS.splitlines() * 4, trainer=trainer)
    return tok


def main() -> None:
    out = pathlib.Path(__file__).resolve().parents[1] / "gifqa" / "presets" / "_tiny_tokenizer.json"
    tok = build()
    tok.save(str(out))
    print(f"wrote {out} ({tok.get_vocab_size()} ids)")


if __name__ == "__main__":
    main()
