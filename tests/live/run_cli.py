"""Subprocess side of the ``foleyvae live`` CLI test: the loader patched to return the 48 kHz toy model.

Usage: python -m tests.live.run_cli ARGS... (the arguments after ``foleyvae``)
"""

from __future__ import annotations

import sys


def main() -> int:
    import foleyvae.export.loader as loader
    from foleyvae.cli.main import main as cli
    from tests.inference.toy import ToyStream

    loader.load_model = lambda name: ToyStream(sample_rate=48000, name=str(name))  # type: ignore[assignment]
    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
