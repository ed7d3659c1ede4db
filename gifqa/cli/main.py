"""Entry point of the ``gifqa`` command: parses arguments, dispatches, maps errors to exit codes.

Exit codes: 0 success, 1 the job failed (bad media, missing model, out of memory, ...),
2 usage error (argparse), 130 interrupted.  Answers go to stdout, logs and errors to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

# Sub-command modules, in the order ``gifqa --help`` lists them.  Add a command by adding
# its module here (see gifqa/cli/__init__.py for what a module defines).
COMMAND_MODULES = [
    "gifqa.cli.ask_cmd",
    "gifqa.cli.caption_cmd",
    "gifqa.cli.react_cmd",
    "gifqa.cli.models_cmd",
    "gifqa.cli.inspect_cmd",
    "gifqa.cli.data_cmd",
    "gifqa.cli.shapes_cmd",
    "gifqa.cli.score_cmd",
    "gifqa.cli.eval_cmd",
    "gifqa.cli.genqa_cmd",
    "gifqa.cli.index_cmd",
    "gifqa.cli.search_cmd",
]

DESCRIPTION = "Question answering over GIFs and short videos."
EPILOG = """examples:
  gifqa ask examples/shapes_bounce.gif "what color is the circle?" --model tiny
  gifqa models
  gifqa inspect examples/shapes_bounce.gif
  gifqa inspect clip.mp4 --json
  gifqa COMMAND --help        (each command lists its own examples)
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors"
    )


def build_parser() -> argparse.ArgumentParser:
    from gifqa import __version__

    parser = argparse.ArgumentParser(
        prog="gifqa",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gifqa {__version__}")
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            epilog=module.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(p)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _error(message: str) -> None:
    # One line, whatever the message holds: scripts grep for this prefix.
    print("gifqa: error: " + " ".join(str(message).split()), file=sys.stderr)


def run_script(body, *, debug: bool = False) -> int:
    """A script's body (scripts/train.py, ...) with the CLI's error contract: a GifqaError becomes
    one ``gifqa: error:`` line and exit code 1; ``debug`` re-raises it with its traceback."""
    from gifqa.errors import GifqaError

    try:
        return int(body() or 0)
    except GifqaError as exc:
        if debug:
            raise
        _error(str(exc))
        return 1


def recipe_script(doc: str, argv, body, config_help: str) -> int:
    """The command line of the recipe scripts (scripts/train.py, scripts/train_clip.py): ``--config
    YAML``, ``--debug``, and ``--dotted.key value`` overrides, handed to ``body(config, overrides)``
    under :func:`run_script`'s error contract."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help=config_help)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args, overrides = parser.parse_known_args(argv)
    return run_script(lambda: body(args.config, overrides), debug=args.debug)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    from gifqa.errors import GifqaError

    if not getattr(args, "debug", False):
        import warnings

        # Deprecation chatter from the ML stack is for developers, not for users of the CLI.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return int(args._run(args) or 0)
    except GifqaError as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        _error(str(exc))
        return 1
    except MemoryError:
        if getattr(args, "debug", False):
            traceback.print_exc()
        _error("out of memory; try fewer frames (--max-frames) or a smaller --max-pixels cap")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # `gifqa ... | head`: the reader went away; not an error of ours.
        return 0


if __name__ == "__main__":
    sys.exit(main())
