"""Command-line flags for the media caps, shared by every command that decodes media."""

from __future__ import annotations

import argparse


def add_media_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("media caps (defaults decode ordinary GIFs and stop hostile ones)")
    g.add_argument("--max-pixels", type=int, metavar="N", help="pixels of one canvas or frame (default 16777216)")
    g.add_argument("--max-source-frames", type=int, metavar="N", help="frames a file may hold (default 5000)")
    g.add_argument("--max-decode-pixels", type=int, metavar="N", help="canvas pixels decoded in all (default 1e9)")
    g.add_argument("--max-file-mb", type=float, metavar="MB", help="file size (default 256)")
    g.add_argument("--max-decoded-mb", type=float, metavar="MB", help="memory for the frames returned (default 1024)")
    g.add_argument("--timeout", type=float, metavar="S", help="seconds to decode one file (default 60)")
    g.add_argument(
        "--allow-truncated", action="store_true", help="use the whole frames of a file that ends early"
    )


def limits_from_args(args: argparse.Namespace):
    from gifqa.media import MediaLimits

    mb = 2**20
    return MediaLimits.from_overrides(
        max_pixels=args.max_pixels,
        max_source_frames=args.max_source_frames,
        max_decode_pixels=args.max_decode_pixels,
        max_file_bytes=None if args.max_file_mb is None else int(args.max_file_mb * mb),
        max_decoded_bytes=None if args.max_decoded_mb is None else int(args.max_decoded_mb * mb),
        timeout_s=args.timeout,
    )
