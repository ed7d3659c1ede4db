"""The closed vocabulary of gifqa-shapes: every word its questions, answers, captions and the
model's prompt templates can contain.

The shapes model's LLM is trained from scratch, so its tokenizer only has to cover this world.
A word-level vocabulary of ~100 entries keeps the embedding and output layers tiny (SmolLM2's
49,152-entry BPE vocabulary would be 49,152 x D parameters twice, far more than the rest of the
model; see report.md "gifqa-shapes").  ``tests/test_shapes_model.py`` checks that a generated
dataset tokenises without an unknown word, so a new template word cannot slip through.
"""

from __future__ import annotations

from gifqa.shapes.world import ACTIONS, COLOURS, NUMBER_WORDS, PLACES, SHAPES

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"]  # ids 0..3, as the tiny tokenizer
# Words of the question/caption templates (gifqa/shapes/dataset.py) and of the prompts
# (gifqa/model/prompts.py), lower-cased; punctuation is split off by the pre-tokenizer.
TEMPLATE_WORDS = """
question answer a short description of the gif what does do after before it how many times
is are there where shape shapes color colour an and then while once twice
? . : ,
""".split()


def vocabulary() -> list[str]:
    """Every token (special tokens first, then sorted words): deterministic."""
    words = set(TEMPLATE_WORDS)
    words.update(SHAPES)
    words.update(COLOURS)
    words.update(PLACES)
    words.update(NUMBER_WORDS)
    words.update(str(i) for i in range(11))  # count answers and COUNT_OPTIONS
    for base, third in ACTIONS.values():
        words.update((base, third))
    return SPECIAL_TOKENS + sorted(words - set(SPECIAL_TOKENS))


def build_tokenizer():
    """A ``tokenizers.Tokenizer``: lower-casing, split on whitespace and punctuation, word level."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # joins words with spaces, tidies " ." and " ?"
    tok.add_special_tokens(SPECIAL_TOKENS)
    return tok


CLIP_END_TOKEN = "<|endoftext|>"  # appended to every text; CLIP's text tower pools at it


def build_clip_tokenizer():
    """The tokenizer of the shapes CLIP's text tower (a ``PreTrainedTokenizerFast``).

    The world's vocabulary plus an end-of-text token with the *last* id, appended to every
    text: CLIP pools the text at that token, and transformers' CLIP reads ``eos_token_id == 2``
    as the legacy rule "pool at the highest id", which the end token then also satisfies.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = build_tokenizer()
    tok.add_special_tokens([CLIP_END_TOKEN])
    end = tok.token_to_id(CLIP_END_TOKEN)
    tok.post_processor = processors.TemplateProcessing(single=f"$A {CLIP_END_TOKEN}", special_tokens=[(CLIP_END_TOKEN, end)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token=CLIP_END_TOKEN,
                                   unk_token="<unk>")
