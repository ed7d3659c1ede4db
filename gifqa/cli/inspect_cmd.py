"""``gifqa inspect``: what a GIF or video holds, and whether it decodes."""

from __future__ import annotations

import json
import sys

from gifqa.cli.media_args import add_media_arguments, limits_from_args

NAME = "inspect"
HELP = "show format, size, frames, durations and loop count of a GIF or video (and check it decodes)"
EPILOG = """examples:
  gifqa inspect examples/shapes_bounce.gif
  gifqa inspect clip.mp4 --json
  gifqa inspect big.gif --max-pixels 50000000      (raise a cap for a file you trust)
  gifqa inspect *.gif --no-verify                   (structure only, no pixel decoding)

exit codes: 0 every file is fine, 1 a file cannot be read (one line per file on stderr), 2 usage error
"""


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="GIF, MP4, MOV, WebM, MKV or AVI file")
    parser.add_argument("--json", action="store_true", help="one JSON object per file on stdout")
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="read the structure only; skip decoding pixels"
    )
    add_media_arguments(parser)


def _format_loop(loop: int | None) -> str:
    if loop is None:
        return "plays once (no loop extension)"
    if loop == 0:
        return "forever"
    return f"{loop} time(s) more"


def _human(info) -> str:
    d = info.frame_durations_ms
    span = f"{min(d)}-{max(d)} ms" if d and min(d) != max(d) else f"{d[0]} ms" if d else "-"
    lines = [
        info.path,
        f"  format    {info.format_detail}",
        f"  size      {info.width}x{info.height}",
        f"  frames    {info.n_frames}",
        f"  duration  {info.duration_ms} ms (frame durations {span})",
    ]
    if info.format == "gif":
        lines.append(f"  loop      {_format_loop(info.loop_count)}")
        det = info.details
        lines.append(f"  disposal  {', '.join(det['disposal_methods'])}; transparency: {'yes' if det['transparency'] else 'no'}")
    lines.append(f"  bytes     {info.bytes:,}")
    lines.append(f"  decoded   {'all frames OK' if info.verified else 'not checked (--no-verify)'}")
    if info.truncated:
        lines.append("  WARNING   file is truncated; only the whole frames are counted")
    return "\n".join(lines)


def run(args) -> int:
    from gifqa.errors import MediaError
    from gifqa.media import probe

    limits = limits_from_args(args)
    failed = 0
    for path in args.files:
        try:
            info = probe(path, limits=limits, verify=args.verify, allow_truncated=args.allow_truncated)
        except MediaError as exc:
            if len(args.files) == 1:
                raise
            # Several files: report each bad one and go on; the exit code says something failed.
            print(f"gifqa: error: {' '.join(str(exc).split())}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps(info.to_dict()))
        else:
            print(_human(info))
    return 1 if failed else 0
