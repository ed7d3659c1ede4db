"""gifqa: question answering over GIFs and short videos.

The package is imported lazily: ``import gifqa`` costs nothing beyond this file, so
``gifqa --help`` answers at once.  The heavy parts live in sub-packages:

- :mod:`gifqa.media`  - decoding GIF / MP4 / WebM into frames, with caps for hostile input.
- :mod:`gifqa.errors` - the exceptions the library raises (the CLI turns them into one-line errors).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
