"""Run the ``foleyvae`` CLI and SIGKILL it at an exact filesystem step (used by test_kill.py, in a subprocess).

    python tests/reliability/_killpoint.py SPEC_JSON -- export RUN -o model.ts --force

SPEC_JSON keys (all optional):

* ``watch``: a folder; only renames/unlinks/rmdirs of paths in it (or relative to a ``dir_fd``, as in
  ``shutil.rmtree``) count as steps.
* ``kill_before`` / ``kill_after``: SIGKILL this process just before / just after the step with this number (1 = the
  first), so every commit point of a writer can be hit, not only the ones a random timer happens to land on.
* ``log``: append one line per step (``N func args``) to this file: what a complete run does, to plan the kills.
* ``skip_export_self_check``: replace the export self-check (it reloads the file twice per block size and takes
  most of the export's time, all of it before anything is written) by a fixed result.

The kill is a real ``SIGKILL`` of this process: no ``finally``, no ``atexit``, no flush.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_STEP_FUNCS = ("replace", "rename", "unlink", "remove", "rmdir")


def _install(spec: dict[str, Any]) -> None:
    watch = os.path.realpath(spec["watch"]) if spec.get("watch") else None
    kill_before, kill_after = spec.get("kill_before"), spec.get("kill_after")
    log = spec.get("log")
    count = [0]

    def counts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if watch is None or any(k.endswith("dir_fd") and v is not None for k, v in kwargs.items()):
            return True
        paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
        return any(os.path.realpath(os.fsdecode(p)).startswith(watch + os.sep) for p in paths)

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            if not counts(args, kwargs):
                return fn(*args, **kwargs)
            count[0] += 1
            n = count[0]
            if log:
                with open(log, "a") as f:
                    paths = " ".join(os.fsdecode(a) for a in args if isinstance(a, (str, bytes, os.PathLike)))
                    f.write(f"{n} {name} {paths}\n")
            if n == kill_before:
                os.kill(os.getpid(), signal.SIGKILL)
            out = fn(*args, **kwargs)
            if n == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        return step

    for name in _STEP_FUNCS:
        setattr(os, name, wrap(f"os.{name}", getattr(os, name)))
    try:  # the folder swap of foleyvae.utils.atomic, when it is one atomic exchange
        from foleyvae.utils import atomic

        if hasattr(atomic, "exchange_paths"):
            atomic.exchange_paths = wrap("exchange_paths", atomic.exchange_paths)  # type: ignore[attr-defined]
    except ImportError:
        pass
    if spec.get("skip_export_self_check"):
        from foleyvae.export import spectral, waveform

        for family in (waveform, spectral):  # each imports the shared self_check by name
            family.self_check = lambda *a, **k: {"skipped/b1/forward": 0.0}  # type: ignore[attr-defined]


def main() -> int:
    spec = json.loads(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1 :]
    _install(spec)
    from foleyvae.cli.main import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
