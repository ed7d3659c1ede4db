"""The ``gifqa`` command line.  Each sub-command lives in its own module here.

A command module defines ``NAME``, ``HELP`` (one line), ``EPILOG`` (examples),
``add_arguments(parser)`` and ``run(args) -> int``.  Modules import only the standard
library at module level, so building the whole parser (``gifqa --help``) stays instant;
heavy imports happen inside ``run``.
"""
