"""Subprocess side of the ``foleyvae live`` CLI test: the loader patched to return the 48 kHz toy model.

Usage: python -m tests.live.run_cli ARGS... (the arguments after ``foleyvae``). Prints ``LOADS n`` on stderr at
exit: how many times this process (not the live engine's child) loaded a model.
"""

from __future__ import annotations

import sys

_loads = [0]  # per process: the child that unpickles toy_model counts in its own copy


def toy_model(name: str) -> object:
    """The patched loader: top level, so that the live engine's child process can unpickle it."""
    from tests.inference.toy import ToyStream

    _loads[0] += 1
    return ToyStream(sample_rate=48000, name=str(name))


def main() -> int:
    import foleyvae.export.loader as loader
    from foleyvae.cli.main import main as cli
    from tests.live.run_cli import toy_model as importable  # not __main__.toy_model: the child imports it by name

    loader.load_model = importable  # type: ignore[assignment]
    try:
        return cli(sys.argv[1:])
    finally:
        from tests.live.run_cli import _loads

        print(f"LOADS {_loads[0]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
