"""Captioning metrics with the standard coco-caption implementation (pycocoevalcap).

BLEU-1..4 (Papineni et al. 2002), METEOR 1.5 (Denkowski & Lavie 2014), ROUGE-L (Lin 2004) and
CIDEr-D (Vedantam et al. 2015) as computed by github.com/tylin/coco-caption (the PyPI package
``pycocoevalcap``), which is what TGIF (Li et al., CVPR 2016) and the captioning literature
report.  Both sides go through coco-caption's PTB tokenizer (Stanford CoreNLP 3.4.1:
lower-cased, punctuation tokens removed) before scoring, as in its ``COCOEvalCap``.

Corpus-level numbers: BLEU is the corpus BLEU with the "closest" reference length; METEOR,
ROUGE-L and CIDEr are means over clips.  CIDEr's IDF comes from the references of the clips
being scored, so it is only meaningful over a set (over one clip every n-gram has IDF 0).

A clip with no prediction is scored with an empty caption (zero on every metric for that
clip) and counted in ``n_missing``: leaving clips out never helps.  METEOR and the tokenizer
run Java (``java`` on PATH).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from gifqa.errors import ConfigError, DataError

CAPTION_METRICS = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l", "cider")


def _require_coco():
    import importlib.util

    if importlib.util.find_spec("pycocoevalcap") is None:
        raise ConfigError(
            "caption metrics need the coco-caption code: pip install 'gifqa[eval]' (or pip install pycocoevalcap)"
        )
    if shutil.which("java") is None:
        raise ConfigError("caption metrics need Java for METEOR and the PTB tokenizer: install a JRE (java on PATH)")


def ptb_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """coco-caption's tokenisation: {id: [caption, ...]} -> {id: [tokenised caption, ...]}.

    Empty captions stay empty (they are not sent to the tokenizer, whose line-preserving
    output would otherwise drop them and shift every later line).
    """
    _require_coco()
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    to_tokenize = {}
    for key, caps in captions.items():
        for i, c in enumerate(caps):
            text = " ".join(str(c).split())
            if text:
                to_tokenize[f"{key}\x00{i}"] = [{"caption": text}]
    out = {key: [""] * len(caps) for key, caps in captions.items()}
    if to_tokenize:
        done = PTBTokenizer().tokenize(to_tokenize)
        for joined, (tok,) in done.items():
            key, i = joined.rsplit("\x00", 1)
            out[key][int(i)] = tok
    return out


def caption_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    *,
    meteor: bool = True,
    tokenize: bool = True,
) -> dict:
    """Corpus metrics of ``predictions`` {id: caption} against ``references`` {id: [caption, ...]}.

    Only the ids in ``references`` are scored (predictions for other ids are ignored; the
    caller reports them).  Returns ``{"n", "n_missing", "bleu_1".."bleu_4", "meteor",
    "rouge_l", "cider", "per_clip": {id: {"bleu_4", "meteor", "rouge_l", "cider"}}}``.
    ``meteor=False`` skips METEOR (``None``); ``tokenize=False`` takes both sides as already
    tokenised (space-separated) text.
    """
    _require_coco()
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    ids = [k for k in references]
    for k in ids:
        if not references[k]:
            raise ValueError(f"clip {k!r} has no reference caption")
    result: dict = {"n": len(ids), "n_missing": sum(1 for k in ids if k not in predictions)}
    if not ids:
        return {**result, **{m: float("nan") for m in CAPTION_METRICS}, "per_clip": {}}
    gts = {k: [str(c) for c in references[k]] for k in ids}
    res = {k: [str(predictions.get(k) or "")] for k in ids}
    if tokenize:
        gts, res = ptb_tokenize(gts), ptb_tokenize(res)
    else:
        gts = {k: [" ".join(c.split()) for c in v] for k, v in gts.items()}
        res = {k: [" ".join(c.split()) for c in v] for k, v in res.items()}
    bleu, bleu_per = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, rouge_per = Rouge().compute_score(gts, res)
    cider, cider_per = Cider().compute_score(gts, res)
    for n in range(4):
        result[f"bleu_{n + 1}"] = float(bleu[n])
    result["rouge_l"], result["cider"] = float(rouge), float(cider)
    meteor_per = [None] * len(ids)
    result["meteor"] = None
    if meteor:
        from pycocoevalcap.meteor.meteor import Meteor

        m, meteor_per = Meteor().compute_score(gts, res)  # the jar's process ends with the scorer
        result["meteor"] = float(m)
    result["per_clip"] = {
        k: {"bleu_4": float(bleu_per[3][i]), "meteor": None if meteor_per[i] is None else float(meteor_per[i]),
            "rouge_l": float(rouge_per[i]), "cider": float(cider_per[i])}
        for i, k in enumerate(ids)
    }
    return result


@dataclass(frozen=True)
class CaptionItem:
    """One clip to caption: ``vid_id`` (= the GIF id) keys predictions, ``gif_name`` names the file."""

    vid_id: str
    gif_name: str
    references: tuple[str, ...]


def load_caption_items(references_path, ids_path=None) -> list[CaptionItem]:
    """Clips to caption with their reference sentences.

    ``references_path``: a TGIF-layout ``url-or-id<TAB>sentence`` file (``tgif-v1.0.tsv``, or
    gifqa-shapes' ``descriptions.tsv``), several lines per GIF allowed.  ``ids_path``: a split
    list (one URL or id a line, TGIF's ``splits/test.txt``) choosing which GIFs are scored, in
    its order; without it every GIF of the references file is scored.  A listed GIF with no
    reference is a DataError (it could not be scored).
    """
    from gifqa.data.tgif import read_descriptions, read_split_list

    refs: dict[str, list[str]] = {}
    for d in read_descriptions(references_path):
        refs.setdefault(d.gif_id, []).append(d.sentence)
    ids = read_split_list(ids_path) if ids_path is not None else list(refs)
    missing = [i for i in ids if i not in refs]
    if missing:
        raise DataError(
            Path(ids_path), f"{len(missing)} listed GIFs have no reference caption in {references_path} "
            f"(first: {', '.join(missing[:3])}); pass the references file that covers this list",
        )
    return [CaptionItem(i, i, tuple(refs[i])) for i in ids]


def read_caption_predictions(path) -> tuple[dict[str, str], list[str]]:
    """Captions to score: JSON Lines ``{"vid_id", "prediction"}``, or a TGIF-layout
    ``url-or-id<TAB>sentence`` file (``.tsv``/``.txt``, e.g. TGIF's released baseline results).
    Returns ``({id: caption}, [repeated ids])``; the first caption of an id is kept."""
    from gifqa.data.tgif import read_descriptions
    from gifqa.evaluation.scoring import read_predictions

    path = Path(path)
    if path.suffix.lower() not in (".tsv", ".txt"):
        preds, dups = read_predictions(path)
        return {k: str(v) for k, v in preds.items()}, dups
    out: dict[str, str] = {}
    dups: list[str] = []
    for d in read_descriptions(path):
        if d.gif_id in out:
            dups.append(d.gif_id)
        else:
            out[d.gif_id] = d.sentence
    return out, dups
