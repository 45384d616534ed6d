"""The examples page in headless Chromium, opened from file:// (no server): every audio element loads (duration > 0,
no decode error) and plays, every image loads (naturalWidth > 0), every player has a label, no console error.
Both the quick page rebuilt with the current code and the committed docs/examples page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FOLEYVAE_CHROMIUM", "/usr/bin/chromium")
DOCS_INDEX = Path(__file__).resolve().parents[2] / "docs" / "examples" / "index.html"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
LOAD_MS = 60_000  # per wait; pytest-timeout fails a test after 300 s

# every audio element: preload=auto + load(); resolved per element on loadedmetadata or error
_STATES = """() => Array.from(document.querySelectorAll('audio')).map(a => ({
  src: a.getAttribute('src'), ready: a.readyState, duration: a.duration, error: a.error ? a.error.code : null,
  label: (document.getElementById(a.getAttribute('aria-labelledby') || '') || {textContent: ''}).textContent.trim(),
  time: a.currentTime}))"""
_IMAGES = """() => Array.from(document.images).map(i => ({src: i.getAttribute('src'), complete: i.complete,
  width: i.naturalWidth}))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"chromium not installed ({CHROMIUM}); apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS, timeout=60_000)
        yield b
        b.close()


def _open(browser: Any, index: Path) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(LOAD_MS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(index.resolve().as_uri(), wait_until="load", timeout=LOAD_MS)
    return context, page, errors


def check_in_browser(browser: Any, index: Path, play: int | None) -> int:
    """Open ``index``; assert everything loads, has a label and (the first ``play`` players, all when None) plays.
    Returns the number of players."""
    context, page, errors = _open(browser, index)
    try:
        assert page.evaluate("location.protocol") == "file:"
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=LOAD_MS, polling=250)
        bad_images = [i for i in page.evaluate(_IMAGES) if not i["width"]]
        assert page.evaluate(_IMAGES) and not bad_images, bad_images[:5]
        page.evaluate("() => document.querySelectorAll('audio').forEach(a => { a.preload = 'auto'; a.load(); })")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1 || a.error)",
            timeout=LOAD_MS,
            polling=250,
        )
        states = page.evaluate(_STATES)
        assert states, "no audio elements"
        bad = [s for s in states if s["error"] is not None or not s["duration"] > 0]
        assert not bad, bad[:5]
        unlabelled = [s["src"] for s in states if not s["label"]]
        assert not unlabelled, unlabelled[:5]
        n = len(states) if play is None else min(play, len(states))
        page.evaluate(
            "n => Array.from(document.querySelectorAll('audio')).slice(0, n).forEach(a => { a.muted = true; "
            "a.play().catch(e => console.error('play failed: ' + a.getAttribute('src') + ': ' + e)); })",
            n,
        )
        page.wait_for_function(
            "n => Array.from(document.querySelectorAll('audio')).slice(0, n).every(a => a.currentTime > 0 || a.ended)",
            arg=n,
            timeout=LOAD_MS,
            polling=100,
        )
        page.evaluate("() => document.querySelectorAll('audio').forEach(a => a.pause())")
        assert not errors, errors[:5]
        return len(states)
    finally:
        context.close()


def test_quick_page_loads_and_plays_in_chromium(browser: Any, quick_page: Path) -> None:
    n = check_in_browser(browser, quick_page, play=None)
    assert n >= 30  # 5 tables x 2 rows x 2-4 players + 4 MCLT tables x 2 rows x 3


def test_committed_page_loads_in_chromium(browser: Any) -> None:
    assert DOCS_INDEX.is_file(), "docs/examples is not built: foleyvae examples -o docs/examples"
    n = check_in_browser(browser, DOCS_INDEX, play=24)
    assert n >= 200
