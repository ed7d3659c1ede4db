"""``gifqa search``: find the GIFs in an index that best match a text."""

from __future__ import annotations

import json

NAME = "search"
HELP = "rank the GIFs of an index (built by `gifqa index`) by similarity to a text"
EPILOG = """examples:
  gifqa search "a cat falls off a table" --index gifs.index
  gifqa search "slow clap" --index gifs.index -k 3 --json

Scores are cosine similarities between the CLIP embedding of the text and the clip's mean
frame embedding (higher is better; only their order is meaningful across models).

exit codes: 0 results printed, 1 the index or model cannot be used, 2 usage error
"""


def add_arguments(parser) -> None:
    parser.add_argument("text", help="what to look for")
    parser.add_argument("--index", required=True, metavar="INDEX_DIR", help="directory made by `gifqa index`")
    parser.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    parser.add_argument("--nprobe", type=int, default=None,
                        help="IVF cells to search (approximate indexes only; more = slower, better recall)")
    parser.add_argument("--device", default=None, help="torch device for CLIP (default cuda if available, else cpu)")
    parser.add_argument("--json", action="store_true", help="print the results as a JSON list")


def run(args) -> int:
    from dataclasses import asdict

    from gifqa.errors import ConfigError
    from gifqa.retrieval.encoders import CLIPEncoder
    from gifqa.retrieval.index import CollectionIndex

    if args.k <= 0:
        raise ConfigError(f"-k must be positive, got {args.k}")
    index = CollectionIndex.open(args.index)
    if args.nprobe is not None:
        if args.nprobe <= 0:
            raise ConfigError(f"--nprobe must be positive, got {args.nprobe}")
        index.manifest.nprobe = args.nprobe
    encoder = CLIPEncoder.from_pretrained(index.manifest.model_id, device=args.device)
    hits = index.search_text(encoder, args.text, k=args.k)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
    else:
        for h in hits:
            print(f"{h.rank:3d}  {h.score:.4f}  {h.path}")
    return 0
