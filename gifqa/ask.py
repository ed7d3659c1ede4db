"""Answering questions about one clip: the library behind ``gifqa ask``, ``caption`` and ``react``.

    from gifqa.ask import Answerer
    answerer = Answerer.load("checkpoints/gifqa-shapes")
    result = answerer.ask("clip.gif", "what is the cat doing?")
    result.answer, result.keyframes, result.timing_ms

The pipeline per question: fetch/decode -> pick keyframes -> vision tower -> Q-Former
projector -> LLM.  Decoded, preprocessed keyframes and the frame tokens (vision tower + Q-Former
output) are kept per clip, so several questions about one GIF decode and encode it once
(batch mode); with CLIP-Cut the keyframes depend on the question, but the decoded clip and its
CLIP frame embeddings are still reused.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace

from gifqa.errors import GifqaError

DEFAULT_MODEL = "blip2-opt-2.7b-zeroshot"  # answers without gifqa training; needs the hub once
# TGIF-QA's Count task asks "how many times does ... ?" (all 3,554 test questions); its FrameQA
# number questions ("how many men are there ?", 3,148 of them) answer with a word, by generation.
COUNT_QUESTION = re.compile(r"^\s*how\s+many\s+times\b", re.IGNORECASE)
SAMPLINGS = ("clipcut", "uniform", "all")


@dataclass
class Result:
    answer: object  # str, or int for counting questions
    keyframes: list[int]  # source frame indices, in time order
    timestamps_ms: list[int]  # start time of each keyframe
    model: str
    timing_ms: dict[str, float] = field(default_factory=dict)
    kind: str = "open"  # "open" | "choice" | "count" | "caption"
    scores: dict[str, float] | None = None  # per option, for multiple choice

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["scores"] is None:
            del out["scores"]
        return out


@dataclass
class _Clip:
    pixel_values: object  # torch [T, 3, S, S]
    frames: object  # uint8 [T, H, W, 3] (for the contact sheet)
    keyframes: list[int]
    timestamps_ms: list[int]
    decode_ms: float  # reading + decoding the keyframes
    select_ms: float  # choosing keyframes: CLIP-Cut encoding + ranking (0 for uniform / all)
    preprocess_ms: float  # resize + normalise for the vision tower (counted under "vision")


class _Timer:
    """Wall time spent inside the vision tower and the projector, via forward hooks."""

    def __init__(self, model):
        self.ms = {"vision": 0.0, "projector": 0.0}
        self._start = {}
        for name, module in (("vision", model.vision), ("projector", model.projector)):
            module.register_forward_pre_hook(self._pre(name))
            module.register_forward_hook(self._post(name))

    def _pre(self, name):
        def hook(module, args):
            self._start[name] = time.perf_counter()

        return hook

    def _post(self, name):
        def hook(module, args, output):
            self.ms[name] += 1000 * (time.perf_counter() - self._start.pop(name, time.perf_counter()))

        return hook

    def reset(self):
        self.ms = {"vision": 0.0, "projector": 0.0}


class _FrameTokenMemo:
    """``model.encode_frames`` (vision tower + Q-Former projector), remembered per clip tensor.

    The frame tokens do not depend on the question (the Q-Former sees only the frames), so a
    second question about a clip reuses them and runs only the LLM: "reusing frame features
    per GIF" in batch mode.  A question-aware Q-Former (``projector.question_aware``) reads the
    prompt, so there the prompt's token ids are part of the key, and the vision tower's features,
    which do not depend on it, are remembered per clip on their own: a new question about the clip
    runs the projector and the LLM, not the tower.  Installed as an instance
    attribute that shadows the method (as gifqa.training.features does for cached vision features).  A clip is recognised by its
    pixel tensor's storage, offset, shape and version counter; the memo holds a reference to
    the tensor, so the storage cannot be freed and reused by another clip while remembered.
    """

    def __init__(self, model, size: int):
        self.inner = model.encode_frames
        self.model = model
        self.question_aware = model.config.projector.question_aware
        self.memo: OrderedDict = OrderedDict()
        self.features: OrderedDict = OrderedDict()  # question-aware only: clip key -> (pixels, tower features)
        self.size = size
        self.hits = 0
        model.encode_frames = self

    def __call__(self, pixel_values, frame_mask=None, text_ids=None, text_mask=None):
        import torch

        if frame_mask is not None or torch.is_grad_enabled():
            return self.inner(pixel_values, frame_mask, text_ids, text_mask)
        pv = pixel_values[None] if pixel_values.ndim == 4 else pixel_values
        if pv.shape[0] != 1:  # batches come from elsewhere (eval); not memoised
            return self.inner(pixel_values, frame_mask, text_ids, text_mask)
        prompt = None
        if self.question_aware and text_ids is not None:
            m = torch.ones_like(text_ids) if text_mask is None else text_mask
            prompt = tuple(text_ids[0][m[0].bool()].tolist())
        clip = (pv.untyped_storage().data_ptr(), pv.storage_offset(), tuple(pv.shape[1:]), tuple(pv.stride()[1:]),
                pv._version, torch.is_autocast_enabled())
        key = (*clip, prompt)
        if key in self.memo:
            self.memo.move_to_end(key)
            self.hits += 1
            return self.memo[key][1]
        if self.question_aware:
            if clip in self.features:
                self.features.move_to_end(clip)
                feats = self.features[clip][1]
            else:
                feats = self.model.frame_features(pv)  # [1, T, N, D_v]
                _remember(self.features, clip, (pv, feats), self.size)
            out = self.model.project_frames(feats, None, text_ids, text_mask)
        else:
            out = self.inner(pv, None, text_ids, text_mask)
        _remember(self.memo, key, (pv, out), self.size)
        return out


def _remember(memo: OrderedDict, key, value, size: int) -> None:
    """Insert into an LRU memo of at most ``size`` entries."""
    memo[key] = value
    if len(memo) > size:
        memo.popitem(last=False)


class Answerer:
    """A loaded model plus its keyframe selector (``gifqa.inference.KeyframeSelector``).

    ``frames`` / ``sampling`` / ``clip_model`` default to the model config's ``keyframes``
    section; with ``sampling="clipcut"`` the keyframes depend on the question.
    """

    def __init__(self, model, model_name: str, *, frames: int | None = None, sampling: str | None = None,
                 clip_model: str | None = None, limits=None, device: str = "cpu", dtype: str = "float32",
                 cache_size: int = 16, selector=None, embedding_cache=None):
        from gifqa.inference import KeyframeSelector

        self.model = model
        self.model_name = model_name
        self.max_frames = model.config.projector.max_frames
        self.selector = selector or KeyframeSelector.for_model(
            model, strategy=sampling, frames=frames, clip_model=clip_model, limits=limits, device=device,
            cache=embedding_cache)
        # The CLIP for clipcut is part of loading the model, not of the first question's latency.
        self.selector.load_encoder()
        self.frames = self.selector.frames
        self.sampling = self.selector.strategy
        self.limits = limits
        self.device = device
        self.dtype = dtype
        self.timer = _Timer(model)
        self.cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size
        self.frame_tokens = _FrameTokenMemo(model, cache_size)

    @classmethod
    def load(cls, name: str = DEFAULT_MODEL, *, device: str = "auto", dtype: str = "auto", **kwargs) -> "Answerer":
        from gifqa.inference import resolve_model

        device = resolve_device(device)
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        model = resolve_model(name, device=device)
        return cls(model, name, device=device, dtype=dtype, **kwargs)

    # -- clips ----------------------------------------------------------------------------
    def clip(self, source, name: str | None = None, question: str | None = None) -> _Clip:
        """Keyframes of ``source`` (a path, or bytes with ``name``), preprocessed for the model.

        Kept per (clip, frames, sampling[, question for clipcut]): asking again is free.
        CLIP-Cut needs a query: jobs without a question (caption, react) sample uniformly.
        """
        import hashlib

        ident = source if isinstance(source, str) else hashlib.sha256(source).hexdigest()
        key = (ident, self.frames, self.sampling, question if self.selector.needs_question else None)
        if key in self.cache:
            self.cache.move_to_end(key)
            # Served from memory: this question paid no decoding, retrieval or preprocessing.
            return replace(self.cache[key], decode_ms=0.0, select_ms=0.0, preprocess_ms=0.0)
        kf = self.selector.select(source, question, name=name, no_question="uniform")
        t1 = time.perf_counter()
        pixels = self.model.preprocess_frames(kf.frames)
        clip = _Clip(pixels, kf.frames, kf.frame_indices, kf.timestamps_ms, decode_ms=kf.decode_ms,
                     select_ms=kf.retrieval_ms, preprocess_ms=1000 * (time.perf_counter() - t1))
        self.cache[key] = clip
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return clip

    @contextmanager
    def _precision(self):
        """No gradients; autocast to --dtype (bfloat16 / float16) on the model's device; float32 runs as stored."""
        import torch

        with torch.no_grad():
            if self.dtype in ("bfloat16", "float16"):
                with torch.autocast(self.device.split(":")[0], dtype=getattr(torch, self.dtype)):
                    yield
            else:
                yield

    # -- jobs -----------------------------------------------------------------------------
    def ask(self, source, question: str, *, options: list[str] | None = None, max_new_tokens: int = 16,
            name: str | None = None) -> Result:
        t_start = time.perf_counter()
        clip = self.clip(source, name, question)
        self.timer.reset()
        t0 = time.perf_counter()
        scores = None
        with self._precision():
            if options:
                values = [float(v) for v in self.model.score_options(clip.pixel_values, question, list(options))]
                best = max(range(len(values)), key=values.__getitem__)
                answer, kind, scores = options[best], "choice", dict(zip(options, values))
            elif COUNT_QUESTION.match(question):
                answer, kind = int(self.model.predict_count(clip.pixel_values, question)), "count"
            else:
                answer = self.model.generate(clip.pixel_values[None], [question], max_new_tokens=max_new_tokens)[0]
                kind = "open"
        return self._result(answer, kind, clip, t0, t_start, scores)

    def caption(self, source, *, max_new_tokens: int = 30, name: str | None = None) -> Result:
        t_start = time.perf_counter()
        clip = self.clip(source, name)
        self.timer.reset()
        t0 = time.perf_counter()
        with self._precision():
            text = self.model.caption(clip.pixel_values, max_new_tokens=max_new_tokens)
        return self._result(text, "caption", clip, t0, t_start, None)

    def react(self, source, *, top: int = 5, name: str | None = None) -> dict:
        t_start = time.perf_counter()
        clip = self.clip(source, name)
        self.timer.reset()
        t0 = time.perf_counter()
        with self._precision():
            logits = self.model.classify_reaction(clip.pixel_values[None]).float()
        probs = logits.softmax(-1)[0]
        labels = self.model.reaction_labels
        order = probs.argsort(descending=True)[:top].tolist()
        positive = float(self.model.reaction_sentiment(logits)[0])
        result = self._result(labels[order[0]], "reaction", clip, t0, t_start, None).to_dict()
        result["reactions"] = [{"label": labels[i], "score": round(float(probs[i]), 6)} for i in order]
        result["sentiment"] = {"positive": round(positive, 6), "negative": round(1 - positive, 6)}
        return result

    def _result(self, answer, kind, clip: _Clip, t0: float, t_start: float, scores) -> Result:
        now = time.perf_counter()
        model_ms = 1000 * (now - t0)
        timing = {
            "decode": round(clip.decode_ms, 3),
            "retrieval": round(clip.select_ms, 3),
            "vision": round(clip.preprocess_ms + self.timer.ms["vision"], 3),
            "projector": round(self.timer.ms["projector"], 3),
            "generation": round(max(0.0, model_ms - self.timer.ms["vision"] - self.timer.ms["projector"]), 3),
            "total": round(1000 * (now - t_start), 3),
        }
        return Result(answer, clip.keyframes, clip.timestamps_ms, self.model_name, timing, kind, scores)


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when a CUDA device is visible, else cpu; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GifqaError(f"--device {device!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise GifqaError(f"--device {device}: no CUDA device is visible to torch here; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GifqaError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    elif dev.type != "cpu":
        raise GifqaError(f"--device {device}: only cpu and cuda are supported")
    return str(dev)


def contact_sheet(frames, keyframes, timestamps_ms, path, height: int = 160) -> None:
    """Save the keyframes side by side, each labelled with its frame index and time."""
    from PIL import Image, ImageDraw

    tiles = []
    for f, idx, t in zip(frames, keyframes, timestamps_ms):
        im = Image.fromarray(f)
        w = max(1, round(im.width * height / im.height))
        tile = Image.new("RGB", (w, height + 18), (255, 255, 255))
        tile.paste(im.resize((w, height), Image.Resampling.BICUBIC), (0, 0))
        ImageDraw.Draw(tile).text((3, height + 3), f"#{idx}  {t / 1000:.2f}s", fill=(0, 0, 0))
        tiles.append(tile)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), height + 18), (200, 200, 200))
    x = 0
    for t in tiles:
        sheet.paste(t, (x, 0))
        x += t.width + 4
    sheet.save(path)
