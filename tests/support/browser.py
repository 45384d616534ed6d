"""The browser tests' shared set-up: a studio server on the demo model, and a headless Chromium page on it.

Each browser module (tests/studio/test_browser*.py) keeps its own module-scoped fixtures, built from these two
context managers, so a change to how the studio is served or how Chromium is launched is made once.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_DEFAULT = "/usr/bin/chromium"


@contextmanager
def demo_studio(root: Path, token: str, block: int, osc: bool = False) -> Iterator[tuple[str, Any]]:
    """A studio on the random-weights demo model in ``root``, served in a thread: yields (url, studio).

    ``block``: the page's default block size; ``osc``: also serve OSC on a free loopback port.
    """
    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.app import Studio, StudioConfig, serve_in_thread
    from foleyvae.studio.session import ModelEntry

    entry = ModelEntry("demo", "demo (untrained)", "demo", "random weights", demo_model)
    cfg = StudioConfig(
        token=token, session_dir=root / "session", extra_models=[entry], default_model="demo", default_block_size=block
    )
    studio = Studio(cfg)
    studio.open_default()
    if osc:
        studio.remote.start_osc(0)
    try:
        with serve_in_thread(cfg, studio) as url:
            yield url, studio
    finally:
        studio.remote.close()


@contextmanager
def chromium_page(
    url: str,
    chromium: str,
    args: list[str],
    ready: str,
    height: int = 950,
    init_script: str | None = None,
    timeout_ms: int | None = None,
    setup: Callable[[Any], None] | None = None,
) -> Iterator[Any]:
    """A headless Chromium page on ``url`` once ``ready`` (a JS expression) holds; page errors fail the test at the
    end. Skips when Chromium or Playwright is missing (CI installs both and turns skips into failures)."""
    if not Path(chromium).exists() and shutil.which("chromium") is None:
        pytest.skip(f"chromium not installed ({chromium}); apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=args)
        # bypass_csp: Playwright's wait_for_function evaluates strings, which the page's CSP forbids
        context = browser.new_context(
            viewport={"width": 1400, "height": height}, bypass_csp=True, accept_downloads=True
        )
        if init_script:
            context.add_init_script(init_script)
        if timeout_ms:
            context.set_default_timeout(timeout_ms)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(url, timeout=timeout_ms or 30000)
        pg.wait_for_function(ready, timeout=timeout_ms or 30000)
        if setup is not None:
            setup(pg)
        pg.errors = errors
        yield pg
        context.close()
        browser.close()
    assert not errors, errors
