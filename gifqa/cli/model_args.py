"""Flags shared by the commands that run a model on one clip (ask, caption, react)."""

from __future__ import annotations

import os
from contextlib import contextmanager

from gifqa.cli.media_args import add_media_arguments, limits_from_args

DEFAULT_MODEL = "blip2-opt-2.7b-zeroshot"  # kept equal to gifqa.ask.DEFAULT_MODEL (no heavy import here)


def add_model_arguments(parser, *, sampling: bool = True, clipcut: bool = True) -> None:
    """``clipcut=False`` for jobs without a question (caption, react): CLIP-Cut needs a query,
    so they sample uniformly even when the model config says clipcut."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"checkpoint dir, preset (gifqa models) or hub id (default {DEFAULT_MODEL}: "
                             "needs the hub once; offline: checkpoints/gifqa-shapes)")
    if sampling:
        parser.add_argument("--frames", type=int,
                            help="keyframes per clip (default: the model config's keyframes.frames, else its max_frames)")
        if clipcut:
            parser.add_argument("--sampling", choices=["clipcut", "uniform", "all"],
                                help="how keyframes are picked: clipcut (CLIP matches frames to the question), "
                                     "uniform (by time) or all (default: the model config's keyframes.strategy)")
            parser.add_argument("--clip-model", metavar="HUB_ID_OR_DIR",
                                help="the CLIP that scores frames for --sampling clipcut (default: the model "
                                     "config's keyframes.clip_model), e.g. openai/clip-vit-base-patch32")
        else:
            parser.add_argument("--sampling", choices=["uniform", "all"],
                                help="how keyframes are picked: uniform (by time) or all (default uniform)")
    parser.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:1")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                        help="auto: bfloat16 on CUDA, float32 on CPU")
    parser.add_argument("--offline", action="store_true", help="never contact the model hub (sets HF_HUB_OFFLINE=1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per answer")
    parser.add_argument("--download-timeout", type=float, default=30.0, metavar="S",
                        help="for an http(s) GIF: seconds to wait on the server at any point (default 30)")
    add_media_arguments(parser)


def set_offline(args) -> None:
    """Must run before any hub library is imported: they read these variables at import time."""
    if getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def load_answerer(args):
    set_offline(args)
    from gifqa.ask import Answerer

    return Answerer.load(args.model, device=args.device, dtype=args.dtype, frames=getattr(args, "frames", None),
                         sampling=getattr(args, "sampling", None) or getattr(args, "default_sampling", None),
                         clip_model=getattr(args, "clip_model", None),
                         limits=limits_from_args(args))


def open_source(path: str, args):
    """(bytes, name) for load_video from a path, '-' (stdin) or an http(s) URL.

    The bytes are read and their structure checked here, before any model is loaded, so a
    missing, unsupported or hostile file fails in milliseconds, not after a model load.
    """
    from gifqa.media import probe, read_source
    from gifqa.media.fetch import fetch_source

    limits = limits_from_args(args)
    source, name = fetch_source(path, limits, timeout_s=getattr(args, "download_timeout", 30.0))
    if name is None:  # a local path
        source, name = read_source(source, limits)
    probe(source, limits=limits, verify=False, allow_truncated=getattr(args, "allow_truncated", False), name=name)
    return source, name


@contextmanager
def model_errors():
    """Out of memory while running the model (CUDA or CPU allocator) -> one-line GifqaError."""
    try:
        yield
    except RuntimeError as exc:
        if type(exc).__name__ != "OutOfMemoryError" and "out of memory" not in str(exc).lower():
            raise
        from gifqa.errors import GifqaError

        raise GifqaError("out of memory while running the model; try fewer keyframes (--frames), "
                         "--dtype bfloat16, or --device cpu") from None
