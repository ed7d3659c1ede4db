"""Rule-based question generation over the spaCy dependency parse (no model weights needed).

For each answer candidate the sentence is rewritten into a question, in the spirit of the
syntactic transformations of Heilman & Smith (2010, "Good Question! Statistical Ranking for
Question Generation") and of the TGIF-QA / COCO-QA generators (Ren et al., NeurIPS 2015, whose
method TGIF-QA's FrameQA reuses): the answer phrase is removed, a *wh* phrase is put in front,
and the auxiliary is inverted or *do*-support added.  Per category:

- living / noun: "who" (people) or "what" (animals, things) replaces the phrase:
  "a man is holding a ball" -> "What is the man holding?" / "Who is holding the ball?";
- prep_phrase: "where" replaces a locative phrase: "a cat sleeps in a box" -> "Where does the cat sleep?";
- verb: "What is the woman doing?" / "What does the man do?";
- color: "What color is the car?" (the noun the colour word describes);
- number: "How many dogs are running?".

Indefinite articles of the remaining words become "the" (the thing is now known).  Candidates
the rules cannot turn into a grammatical question (for example a noun inside the subject,
"a man *with a hat* runs") get ``None`` and are counted as unanswerable by the pipeline.
"""

from __future__ import annotations

import re

from gifqa.qagen.backends import QGItem
from gifqa.qagen.candidates import _noun_span, colour_words, living_kind, verb_subject

DO_SUPPORT = {"VBZ": "does", "VBD": "did", "VBP": "do"}
SINGULAR_AUX = {"are": "is", "were": "was", "have": "has", "do": "does"}
ARTICLES = {"a": "the", "an": "the"}


class OfflineBackend:
    """Rule-based backend; deterministic, CPU-only, needs only the spaCy parse."""

    name = "offline"

    def generate(self, items: list[QGItem]) -> list[str | None]:
        out: list[str | None] = []
        for item in items:
            if item.doc is None:
                raise ValueError("the offline backend needs the spaCy Doc of each sentence (QGItem.doc)")
            try:
                out.append(question_for(item.doc, item.candidate))
            except (IndexError, KeyError):  # an unusual parse: no question rather than a crash
                out.append(None)
        return out


# ---------------------------------------------------------------------------------------------


def _governing_verb(token):
    """The nearest verb (or copula) at or above ``token``; None for a verbless fragment."""
    t = token
    for _ in range(len(token.doc)):
        if t.pos_ == "VERB" or (t.pos_ == "AUX" and t.dep_ == "ROOT"):
            return t
        if t.head.i == t.i:
            return None
        t = t.head
    return None


def _plural(noun) -> bool:
    return noun.tag_ in ("NNS", "NNPS") or any(c.dep_ == "conj" for c in noun.children)


def _words(tokens) -> list[str]:
    """Token texts; lower-case except proper nouns and "I"."""
    return [t.text if t.pos_ == "PROPN" or t.text == "I" else t.lower_ for t in tokens]


def _finish(words: list[str]) -> str | None:
    words = [w for w in words if w]
    while words and re.fullmatch(r"[.,;:!?]+", words[-1]):
        words.pop()
    if len(words) < 2:
        return None
    out = [words[0]] + [ARTICLES.get(w, w) for w in words[1:]]
    text = " ".join(out)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m|[.,;:!?])(?= |$)", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[0].upper() + text[1:] + "?"


class _Clause:
    """The verb of a clause, its subject tokens, its auxiliaries and the tokens it spans."""

    def __init__(self, verb):
        self.verb = verb
        self.subject = verb_subject(verb) if verb.pos_ == "VERB" else _copula_subject(verb)
        verb_subtree = {t.i for t in verb.subtree}
        self.subject_ids: set[int] = set()
        if self.subject is not None:
            self.subject_ids = {t.i for t in self.subject.subtree if t.i not in verb_subtree or t.i < verb.i}
            self.subject_ids -= {verb.i}
        # drop other clauses hanging on this verb (conjoined verbs, their conjunction), and punctuation
        dropped: set[int] = set()
        for child in verb.children:
            if child.dep_ == "conj":  # a conjunct of a verb is another predicate ("... and smiles")
                dropped |= {t.i for t in child.subtree}
            if child.dep_ == "cc" and child.i > verb.i:
                dropped.add(child.i)
            if child.dep_ == "punct":
                dropped.add(child.i)
            if child.dep_ == "advcl" and child.i > verb.i:
                dropped |= {t.i for t in child.subtree}
        self.ids = sorted((verb_subtree - dropped) | self.subject_ids)
        self.aux = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
        self.passive = any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children)
        self.copula = verb.pos_ == "AUX"
        # a participle with no auxiliary and no finite verb ("a man dancing in a room"): insert "is"
        self.fragment = not self.copula and not self.aux and verb.tag_ in ("VBG", "VBN")

    def be(self) -> str:
        return "are" if self.subject is not None and _plural(self.subject) else "is"


def _copula_subject(verb):
    for c in verb.children:
        if c.dep_ in ("nsubj", "nsubjpass", "expl"):
            return c
    return None


def _front(clause: _Clause, doc, wh: list[str], remove: set[int], *, subject_question: bool, agree: bool) -> str | None:
    """``wh`` + the clause without ``remove``, inverted (object) or in place (subject)."""
    if clause.subject is None:
        return None
    if subject_question:
        rest = [doc[i] for i in clause.ids if i not in clause.subject_ids and i not in remove]
        words = _words(rest)
        if clause.fragment:
            words = [clause.be() if not agree else "is"] + words
        if agree and words and words[0] in SINGULAR_AUX:
            words[0] = SINGULAR_AUX[words[0]]
        return _finish(wh + words)
    if remove & clause.subject_ids:
        return None  # a phrase inside the subject cannot be moved out of it
    verb = clause.verb
    if clause.aux:
        moved, replace = [clause.aux[0].lower_], {}
        skip = {clause.aux[0].i}
    elif clause.copula:
        moved, replace, skip = [verb.lower_], {}, {verb.i}
    elif clause.fragment:
        moved, replace, skip = [clause.be()], {}, set()
    elif verb.tag_ in DO_SUPPORT:
        moved, replace, skip = [DO_SUPPORT[verb.tag_]], {verb.i: verb.lemma_.lower()}, set()
    else:
        return None
    subj = [doc[i] for i in clause.ids if i in clause.subject_ids]
    rest = [doc[i] for i in clause.ids if i not in clause.subject_ids and i not in remove and i not in skip]
    rest_words = [replace.get(t.i, w) for t, w in zip(rest, _words(rest))]
    return _finish(wh + moved + _words(subj) + rest_words)


def _phrase_ids(token) -> set[int]:
    return {t.i for t in token.subtree}


def question_for(doc, c) -> str | None:
    """One question whose answer is candidate ``c`` of parsed sentence ``doc``, or None."""
    cat = c.category
    head = doc[c.head_i]
    if cat == "color":
        return _colour_question(doc, c)
    if cat == "number":
        noun = doc[c.target_i]
        start, end = _noun_span(doc, noun)
        what = ["how", "many"] + _words(t for t in doc[start:end])
        verb = _governing_verb(noun)
        if verb is None or verb.i == noun.i:
            return _finish(what + ["are", "there"])
        clause = _Clause(verb)
        is_subject = clause.subject is not None and noun.i == clause.subject.i
        remove = _phrase_ids(noun) if not is_subject else set()
        if is_subject:
            # keep the subject's modifiers after the noun ("how many men with hats are ...")
            tail = [t for t in noun.subtree if t.i > noun.i and t.i not in {x.i for x in verb.subtree}]
            what = what + _words(tail)
        return _front(clause, doc, what, remove, subject_question=is_subject, agree=False)
    if cat in ("living", "noun"):
        kind = living_kind(head)
        wh = ["who"] if kind == "person" else ["what"]
        if head.dep_ in ("conj", "appos", "compound", "poss", "npadvmod", "attr"):
            return None
        verb = _governing_verb(head) if head.dep_ != "ROOT" else None
        if verb is None:
            return None
        clause = _Clause(verb)
        is_subject = clause.subject is not None and head.i == clause.subject.i
        if is_subject:
            return _front(clause, doc, wh, set(), subject_question=True, agree=True)
        return _front(clause, doc, wh, _phrase_ids(head), subject_question=False, agree=False)
    if cat == "prep_phrase":
        prep = doc[c.start]
        verb = _governing_verb(prep)
        if verb is None:
            return None
        if prep.head.pos_ in ("NOUN", "PROPN") and prep.head.i != verb.i:
            # "a cat in a box is sleeping": ask where the noun is
            noun = prep.head
            start, end = _noun_span(doc, noun)
            be = "are" if _plural(noun) else "is"
            return _finish(["where", be, "the"] + _words(doc[start:end]))
        clause = _Clause(verb)
        return _front(clause, doc, ["where"], _phrase_ids(prep), subject_question=False, agree=False)
    if cat == "verb":
        clause = _Clause(head)
        if clause.subject is None or clause.passive or clause.copula:
            return None
        if head.tag_ == "VBN" and not clause.aux:
            return None  # "a man dressed in black": a participle modifier, not an action
        keep = [doc[i] for i in clause.ids if i in clause.subject_ids]
        # locative phrases stay: "what is the woman doing in the kitchen?"
        places = [ch for ch in head.children if ch.dep_ == "prep" and ch.lower_ in ("in", "on", "at", "inside")]
        place_ids = sorted(i for p in places for i in _phrase_ids(p))
        tail = _words(doc[i] for i in place_ids)
        if clause.aux:
            aux = clause.aux[0].lower_
            doing = "doing" if head.tag_ == "VBG" else ("done" if head.tag_ == "VBN" else "do")
            return _finish(["what", aux] + _words(keep) + [doing] + tail)
        if clause.fragment:
            return _finish(["what", clause.be()] + _words(keep) + ["doing"] + tail)
        if head.tag_ in DO_SUPPORT:
            return _finish(["what", DO_SUPPORT[head.tag_]] + _words(keep) + ["do"] + tail)
        return None
    return None


def _colour_question(doc, c) -> str | None:
    colours = colour_words()
    colour = doc[c.head_i]
    if c.target_i >= 0:
        noun = doc[c.target_i]
        start, end = _noun_span(doc, noun)
        drop = {t.i for t in doc[start:end] if t.lower_ in colours}
        drop |= {t.i for t in doc[start:end] if t.head.i in drop and t.i != noun.i}  # "light" blue, "and"
        words = _words(t for t in doc[start:end] if t.i not in drop)
        be = "are" if noun.tag_ in ("NNS", "NNPS") else "is"  # "brown hair and blonde tips": the hair is
        return _finish(["what", "color", be, "the"] + words)
    if colour.dep_ == "pobj":  # "a man dressed in black": what colour is he wearing?
        verb = _governing_verb(colour)
        subject = verb_subject(verb) if verb is not None and verb.pos_ == "VERB" else None
        if subject is not None:
            start, end = _noun_span(doc, subject)
            be = "are" if _plural(subject) else "is"
            return _finish(["what", "color", be, "the"] + _words(doc[start:end]) + ["wearing"])
    return None
