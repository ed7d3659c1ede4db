"""Exceptions raised by gifqa.

Library code raises these; only the CLI prints them (one line, ``gifqa: error: ...``) and
exits with code 1.  Every message says what failed and, where there is one, the next thing
to try.
"""

from __future__ import annotations

import os


class GifqaError(Exception):
    """Base class of every error gifqa raises on purpose."""


class MediaError(GifqaError):
    """A media file cannot be read: wrong format, corrupt, truncated, or over a cap.

    ``path`` names the file (or ``<stdin>``), ``problem`` says what is wrong with it and
    ``hint`` (optional) the next thing to try.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str, hint: str | None = None):
        self.path = "<bytes>" if path is None else os.fspath(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def __reduce__(self):  # pickled whole, so an error raised in a worker process (gifqa.workers) arrives intact
        return self.__class__, (self.path, self.problem, self.hint)


class MediaLimitError(MediaError):
    """A media file is over one of the caps in :class:`gifqa.media.MediaLimits`."""


class TruncatedMediaError(MediaError):
    """A media file ends before its last frame is complete.

    ``frames_complete`` is the number of leading frames that are intact; pass
    ``allow_truncated=True`` to :func:`gifqa.media.load_video` to get those frames instead.
    """

    def __init__(self, path, problem: str, frames_complete: int, hint: str | None = None):
        self.frames_complete = frames_complete
        super().__init__(path, problem, hint)

    def __reduce__(self):
        return self.__class__, (self.path, self.problem, self.frames_complete, self.hint)


class ConfigError(GifqaError):
    """A configuration is invalid: unknown key, wrong type, inconsistent dimensions."""


class CheckpointError(GifqaError):
    """A checkpoint directory is incomplete or does not match its config."""


class ModelNotFoundError(GifqaError):
    """A model name is neither a preset, a local checkpoint directory nor a reachable hub id."""


class DataError(GifqaError):
    """A dataset or annotation file is malformed; the message names the file and line."""

    def __init__(self, path: str | os.PathLike, problem: str, line: int | None = None):
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):
        return self.__class__, (self.path, self.problem, self.line)
