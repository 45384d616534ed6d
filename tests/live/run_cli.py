"""Subprocess side of the ``foleyvae live`` CLI test: the loader patched to return the 48 kHz toy model.

Usage: python -m tests.live.run_cli ARGS... (the arguments after ``foleyvae``)
"""

from __future__ import annotations

import sys


def toy_model(name: str) -> object:
    """The patched loader: top level, so that the live engine's child process can unpickle it."""
    from tests.inference.toy import ToyStream

    return ToyStream(sample_rate=48000, name=str(name))


def main() -> int:
    import foleyvae.export.loader as loader
    from foleyvae.cli.main import main as cli
    from tests.live.run_cli import toy_model as importable  # not __main__.toy_model: the child imports it by name

    loader.load_model = importable  # type: ignore[assignment]
    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
