"""Helpers shared by subcommands: output-overwrite policy, progress bars, key=value parsing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from foleyvae.errors import FoleyError

T = TypeVar("T")


def add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")


def check_output(path: str | Path, force: bool) -> Path:
    """Refuse to overwrite an existing output unless --force."""
    p = Path(path)
    if p.exists() and not force:
        raise FoleyError(f"{p}: already exists (use --force to overwrite)")
    return p


def progress(items: Iterable[T], total: int | None = None, desc: str = "", disable: bool | None = None) -> Iterator[T]:
    """A tqdm progress bar on stderr when it is a terminal (or forced on with disable=False)."""
    from tqdm import tqdm

    if disable is None:
        disable = not sys.stderr.isatty()
    yield from tqdm(items, total=total, desc=desc, disable=disable, file=sys.stderr, dynamic_ncols=True)


def parse_index_values(items: Iterable[str] | None, what: str) -> dict[int, float]:
    """``["0=1.5", "2=-0.5"]`` -> ``{0: 1.5, 2: -0.5}``."""
    out: dict[int, float] = {}
    for item in items or []:
        try:
            k, v = item.split("=", 1)
            out[int(k)] = float(v)
        except ValueError:
            raise FoleyError(f"--{what} {item!r}: expected DIM=VALUE, e.g. 0=1.5") from None
        if out[int(k)] != out[int(k)] or abs(out[int(k)]) == float("inf"):
            raise FoleyError(f"--{what} {item!r}: value must be finite")
        if int(k) < 0:
            raise FoleyError(f"--{what} {item!r}: dimension must be >= 0")
    return out
