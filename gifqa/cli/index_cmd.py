"""``gifqa index``: embed a collection of GIFs into a persistent text-search index."""

from __future__ import annotations

import json
import sys

NAME = "index"
HELP = "embed every GIF/video in folders or file lists into a text-searchable index (incremental)"
EPILOG = """examples:
  gifqa index ~/gifs -o ~/gifs.index                 (first run: embeds every file)
  gifqa index ~/gifs -o ~/gifs.index                 (later runs: only new or changed files)
  gifqa index list.txt more.gif -o gifs.index --json (list.txt: one path per line)
  gifqa index ~/gifs -o gifs.index --model ./my-clip (a local CLIP checkpoint directory)

Files that cannot be decoded are reported on stderr and skipped; the rest are indexed.
Search with: gifqa search "a cat falls off a table" --index gifs.index

exit codes: 0 done (even if some files were skipped), 1 nothing to index or the index
cannot be used, 2 usage error
"""


def add_arguments(parser) -> None:
    from gifqa.cli.media_args import add_media_arguments

    parser.add_argument("inputs", nargs="+", metavar="DIR_OR_LIST",
                        help="folder (searched recursively), .txt/.lst file of paths, or media file")
    parser.add_argument("-o", "--output", required=True, metavar="INDEX_DIR",
                        help="index directory (created, or added to if it exists)")
    parser.add_argument("--model", metavar="ID_OR_DIR",
                        help="CLIP model: hub id or local directory (default: the index's own model; "
                             "openai/clip-vit-base-patch32 for a new index)")
    parser.add_argument("--max-frames", type=int, default=16, metavar="N",
                        help="frames per clip, uniform by time, averaged into its vector (new index; default 16)")
    parser.add_argument("--extensions", default="gif,mp4,webm,mov,mkv,avi",
                        help="file extensions taken from folders (default gif,mp4,webm,mov,mkv,avi)")
    parser.add_argument("--flat-max", type=int, default=None, metavar="N",
                        help="exact search up to N clips, IVF above (new index; default 100000)")
    parser.add_argument("--device", default=None, help="torch device for CLIP (default cuda if available, else cpu)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the frame-embedding cache ($GIFQA_CACHE or ~/.cache/gifqa)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add_media_arguments(parser)


def run(args) -> int:
    from gifqa.errors import ConfigError, GifqaError
    from gifqa.retrieval.cache import EmbeddingCache
    from gifqa.retrieval.encoders import DEFAULT_CLIP_MODEL, CLIPEncoder
    from gifqa.retrieval.index import FLAT_MAX_VECTORS, CollectionIndex, collect_media_paths, index_files

    import os

    if args.model and os.path.isdir(args.model):
        # A local checkpoint is recorded by absolute path, so `gifqa search` finds it from anywhere.
        args.model = os.path.abspath(args.model)
    exts = [e.strip() for e in args.extensions.split(",") if e.strip()]
    files, problems = collect_media_paths(args.inputs, exts)
    if not files:
        raise GifqaError(f"no media files found in {', '.join(args.inputs)} (extensions: {', '.join(exts)})")

    if CollectionIndex.exists(args.output):
        index = CollectionIndex.open(args.output)
        model_id = args.model or index.manifest.model_id
        if model_id != index.manifest.model_id:
            raise ConfigError(f"{args.output} was built with {index.manifest.model_id!r}, not {model_id!r}; "
                              "drop --model or choose a new -o directory")
        encoder = CLIPEncoder.from_pretrained(model_id, device=args.device)
    else:
        if args.max_frames <= 0:
            raise ConfigError(f"--max-frames must be positive, got {args.max_frames}")
        encoder = CLIPEncoder.from_pretrained(args.model or DEFAULT_CLIP_MODEL, device=args.device)
        index = CollectionIndex.create(
            args.output, encoder.model_id, encoder.dim, max_frames=args.max_frames,
            flat_max_vectors=FLAT_MAX_VECTORS if args.flat_max is None else args.flat_max,
        )

    from functools import partial

    from gifqa.cli.media_args import limits_from_args
    from gifqa.media import load_video

    load_video = partial(load_video, limits=limits_from_args(args), allow_truncated=args.allow_truncated)
    cache = EmbeddingCache(False) if args.no_cache else EmbeddingCache()
    total = len(files)
    done = [0]

    def progress(path: str, status: str) -> None:
        done[0] += 1
        if status != "unchanged" and not args.json:
            print(f"[{done[0]}/{total}] {status}: {path}", file=sys.stderr)

    report = index_files(index, files, encoder, load=load_video, cache=cache, on_file=progress)
    index.save()
    skipped = problems + report.skipped
    for path, why in skipped:
        print(f"gifqa: skipped {path}: {why}", file=sys.stderr)
    summary = {
        "index": str(index.dir),
        "model": index.manifest.model_id,
        "kind": index.manifest.kind,
        "clips": len(index),
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": len(report.unchanged),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(report.added)} added, {len(report.replaced)} replaced, {len(report.unchanged)} unchanged, "
              f"{len(skipped)} skipped; {index.dir} holds {len(index)} clips ({index.manifest.kind} index)")
    return 0
