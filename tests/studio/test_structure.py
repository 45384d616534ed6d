"""The studio's code stays in small pieces (issue #22): no function in ``studio/`` runs over 80 lines.

Parsed with ``ast`` (nothing imported); a nested function counts on its own and inside its parent.
"""

from __future__ import annotations

import ast
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[2] / "src" / "foleyvae" / "studio"
MAX_LINES = 80


def function_lengths() -> dict[str, int]:
    """``"file:line name"`` -> lines, for every function and method under ``studio/``."""
    out = {}
    for path in sorted(STUDIO.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                end = node.end_lineno or node.lineno
                out[f"{path.relative_to(STUDIO)}:{node.lineno} {node.name}"] = end - node.lineno + 1
    return out


def test_no_studio_function_is_over_80_lines() -> None:
    lengths = function_lengths()
    assert "app.py:" in " ".join(lengths) and len(lengths) > 50  # the walk found the package
    long = {k: n for k, n in lengths.items() if n > MAX_LINES}
    assert not long, long
