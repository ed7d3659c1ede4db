"""Hard-negative captions for contrastive training on gifqa-shapes.

NegCLIP (Yuksekgonul et al., ICLR 2023, "When and why vision-language models behave like
bags-of-words, and what to do about it", Sec. 4) adds, for each image in a batch, a caption
with its words perturbed as an extra negative: a contrastive model that ignores word order or
attribute binding cannot tell the two apart, so the loss makes it learn them.  In this world a
CLIP trained on plain batches can match clips to captions by colour and motion alone and leave
shape unlearned (report.md, gifqa-shapes, "what the tower encodes").  The perturbations here
change exactly one fact the pixels decide: one actor's shape, colour or action is replaced by
one not in the caption, or two actors swap their shapes or colours (binding).
"""

from __future__ import annotations

import numpy as np

from gifqa.shapes.world import ACTIONS, COLOURS, SHAPES

_VERBS = tuple(third for _, third in ACTIONS.values())  # captions use the third person: "spins"
KINDS = ("shape", "colour", "action")  # word classes a negative changes


def _fix_articles(words: list[str]) -> list[str]:
    """'a orange' -> 'an orange' after a colour changed."""
    for i in range(len(words) - 1):
        if words[i] in ("a", "an"):
            words[i] = "an" if words[i + 1][0] in "aeiou" else "a"
    return words


def hard_negative(caption: str, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> str:
    """One perturbed caption: a shape, colour or action replaced, or two actors' shapes/colours swapped.

    The result always differs from ``caption``, and only in words the frames decide; a caption
    with none of the world's words comes back unchanged (no negative can be made from it).
    ``kinds`` restricts the word classes changed (for a per-class evaluation)."""
    words = caption.split()
    vocab = {"shape": SHAPES, "colour": tuple(COLOURS), "action": _VERBS}
    slots = {k: [i for i, w in enumerate(words) if w in v] for k, v in vocab.items()}
    moves = [(k, "replace") for k in kinds if slots[k]]
    # Swapping needs two different words of a class (actions may repeat: "nods ... nods").
    moves += [(k, "swap") for k in ("shape", "colour") if k in kinds and len({words[i] for i in slots[k]}) >= 2]
    if not moves:
        return caption
    kind, move = moves[int(rng.integers(len(moves)))]
    idx = slots[kind]
    if move == "swap":
        i, j = (int(x) for x in rng.choice(idx, size=2, replace=False))
        while words[i] == words[j]:
            i, j = (int(x) for x in rng.choice(idx, size=2, replace=False))
        words[i], words[j] = words[j], words[i]
    else:
        i = int(idx[int(rng.integers(len(idx)))])
        present = {words[k] for k in idx}
        # Shapes and colours are unique among a scene's actors, so the new word must be unused;
        # an action only has to differ from the one it replaces.
        pool = [w for w in vocab[kind] if (w != words[i] if kind == "action" else w not in present)]
        words[i] = str(pool[int(rng.integers(len(pool)))])
    return " ".join(_fix_articles(words))
