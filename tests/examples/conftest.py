"""The examples page built once per test session in quick mode with the current code (``foleyvae examples
--quick``), shared by the completeness checks and the browser test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from foleyvae.cli.main import main


@pytest.fixture(scope="session")
def quick_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``DIR/index.html`` of a freshly rendered quick page (two examples per table)."""
    out = tmp_path_factory.mktemp("examples") / "page"
    t0 = time.perf_counter()
    assert main(["examples", "-o", str(out), "--quick"]) == 0
    print(f"quick examples page: {time.perf_counter() - t0:.1f} s")
    return out / "index.html"
