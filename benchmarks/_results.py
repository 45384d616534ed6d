"""The one way benchmarks write their results: ``benchmarks/results/<name>.json``, atomically, then say where.

Imported by the benchmark scripts as ``from _results import write_results`` (a script's own folder is first on
``sys.path``); not a benchmark itself (``make bench`` skips ``_*.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foleyvae.utils.atomic import atomic_write_text

__all__ = ["RESULTS", "write_results"]

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(path: str | Path, result: dict[str, Any], indent: int = 2) -> Path:
    """``result`` as JSON at ``path`` (parents created; a crash leaves the old file whole); prints and returns it."""
    path = Path(path)
    atomic_write_text(path, json.dumps(result, indent=indent) + "\n")
    print(f"wrote {path}")
    return path
