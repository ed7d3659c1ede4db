"""Media from a path, standard input (``-``) or an http(s) URL, with a size cap and a time-out.

The content is identified later by its magic bytes (``load_video`` sniffs), never by the URL's
file name or the server's Content-Type: an HTML error page saved as ``.gif`` is caught there.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from gifqa.errors import MediaError, MediaLimitError
from gifqa.media.limits import MediaLimits, limit_hint

URL_SCHEMES = ("http://", "https://")
USER_AGENT = "gifqa (+https://github.com/gifqa/gifqa)"


def is_url(source) -> bool:
    return isinstance(source, str) and source.lower().startswith(URL_SCHEMES)


def fetch_source(source: str, limits: MediaLimits | None = None, timeout_s: float = 30.0):
    """Return what ``load_video`` takes: a path unchanged, or ``(bytes, name)`` for ``-`` and URLs."""
    limits = limits or MediaLimits()
    if source == "-":
        data = sys.stdin.buffer.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            raise MediaLimitError("<stdin>", f"input is over the cap of {limits.max_file_bytes:,} bytes",
                                  limit_hint("max_file_bytes"))
        return data, "<stdin>"
    if is_url(source):
        return download(source, limits, timeout_s), source
    return os.fspath(source), None


def download(url: str, limits: MediaLimits, timeout_s: float) -> bytes:
    """GET ``url`` into memory: at most ``limits.max_file_bytes`` bytes, ``timeout_s`` per socket wait."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - scheme checked by is_url
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limits.max_file_bytes:
                raise MediaLimitError(url, f"server announces {int(length):,} bytes, over the cap of "
                                      f"{limits.max_file_bytes:,}", limit_hint("max_file_bytes"))
            chunks, total = [], 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                total += len(chunk)
                if total > limits.max_file_bytes:
                    raise MediaLimitError(url, f"download passed the cap of {limits.max_file_bytes:,} bytes",
                                          limit_hint("max_file_bytes"))
                chunks.append(chunk)
    except MediaError:
        raise
    except urllib.error.HTTPError as exc:
        raise MediaError(url, f"download failed: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise MediaError(url, f"download failed: {exc.reason}", "check the URL and the network") from None
    except TimeoutError:
        raise MediaError(url, f"download timed out after {timeout_s:g} s") from None
    except OSError as exc:
        raise MediaError(url, f"download failed: {exc}") from None
    return b"".join(chunks)
