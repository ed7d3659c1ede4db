"""Shared helpers for the data and qagen tests: run one gifqa command without the others.

``gifqa.cli.main.COMMAND_MODULES`` lists every command of the package; these tests build a
parser with only the command under test so they do not depend on the other modules' state.
"""

from __future__ import annotations

import gifqa.cli.main as cli_main


def run_cli(monkeypatch, module: str, argv: list[str]) -> int:
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", [module])
    return cli_main.main(argv)
