"""Sessions in headless Chromium (issue #21): reconnect after a server restart on the same port and folder, two
tabs with two models, a bad preset import, the overwrite confirmation, a cancelled render, the card as HTML."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.studio.test_browser import CHROMIUM, WAIT_MS, chromium_args

pytestmark = pytest.mark.browser

TOKEN = "browser-sessions-token-0123456789abcdef"
CARD_MD = (
    "# Demo card\n\nA **bold** claim <script>window.pwned = 1</script>\n\n| metric | value |\n|---|---|\n| F1 | 0.7 |\n"
)
WAIT = WAIT_MS  # ms, every Playwright wait (test_browser.WAIT_MS: ends as soon as its condition holds)


def _entries() -> list[Any]:
    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.session import ModelEntry

    def with_card() -> Any:
        m = demo_model(0)
        m.metadata["card_md"] = CARD_MD
        return m

    return [
        ModelEntry("demo", "demo A", "demo", "random weights", with_card),
        ModelEntry("demo-b", "demo B", "demo", "another seed", lambda: demo_model(1, "demo B")),
    ]


def _config(root: Path) -> Any:
    from foleyvae.studio.app import StudioConfig

    return StudioConfig(
        token=TOKEN, session_dir=root / "session", extra_models=_entries(), default_model="demo", default_block_size=512
    )


@contextlib.contextmanager
def serve(root: Path, port: int) -> Iterator[Any]:
    """The studio of folder ``root`` on ``port`` until the block exits (a restart is a second ``serve``)."""
    import uvicorn

    from foleyvae.studio.app import MAX_WS_MESSAGE, Studio, create_app
    from foleyvae.studio.server import uvicorn_config

    cfg = _config(root)
    studio = Studio(cfg)
    studio.open_default()
    server = uvicorn.Server(uvicorn_config(create_app(cfg, studio), cfg.host, port, cfg.server, MAX_WS_MESSAGE))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30.0
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the studio server did not start"
        time.sleep(0.02)
    try:
        yield studio
    finally:
        server.should_exit = True
        thread.join(timeout=15.0)
        if thread.is_alive():  # open pages keep their sockets: a run beside a second copy of the suite needed more
            server.force_exit = True  # what a second Ctrl-C does
            thread.join(timeout=15.0)
        assert not thread.is_alive(), "the studio server did not stop"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"chromium not installed ({CHROMIUM}); apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    from foleyvae.studio.demo import synth_taps

    mic = tmp_path_factory.mktemp("mic") / "mic.wav"
    sf.write(str(mic), synth_taps(n_taps=10, dur=2.0), 44100, subtype="PCM_16")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(mic))
        yield b
        b.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    root = tmp_path_factory.mktemp("studio-sessions")
    port = _free_port()
    with serve(root, port) as studio:
        yield f"http://127.0.0.1:{port}/?token={TOKEN}", studio, root


@contextlib.contextmanager
def opened(browser: Any, url: str, n: int = 1) -> Iterator[list[Any]]:
    """``n`` tabs of one browser context on ``url``, each with its model loaded; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 950}, bypass_csp=True, accept_downloads=True)
    pages, errors = [], []
    try:
        for _ in range(n):
            pg = context.new_page()
            pg.set_default_timeout(WAIT)
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(url)
            pg.wait_for_function("window.studio && window.studio.model && window.studio.connected", timeout=WAIT)
            pages.append(pg)
        yield pages
    finally:
        context.close()
    assert not errors, errors


def render_and_wait(page: Any) -> dict[str, Any]:
    before = page.evaluate("window.studio.lastJob ? window.studio.lastJob.id : null")
    page.click("#render")
    page.wait_for_function(
        f"window.studio.lastJob && window.studio.lastJob.id !== {json.dumps(before)}"
        " && window.studio.lastJob.state === 'done'",
        timeout=WAIT * 3,
    )
    job: dict[str, Any] = page.evaluate("window.studio.lastJob")
    return job


def test_page_reconnects_after_a_server_restart_and_lists_the_folder_again(browser: Any, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/?token={TOKEN}"
    context = browser.new_context(viewport={"width": 1400, "height": 950}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT)
        with serve(tmp_path, port):
            page.goto(url)
            page.wait_for_function("window.studio && window.studio.model && window.studio.connected", timeout=WAIT)
            page.select_option("#model-select", "demo-b")
            page.wait_for_function("window.studio.model.id === 'demo-b'", timeout=WAIT)
            take = render_and_wait(page)["take"]
        # the server is gone: the page says so and keeps trying
        page.wait_for_function("/reconnecting/.test(document.querySelector('#status').textContent)", timeout=WAIT)
        assert page.locator("#status").get_attribute("class") == "pill warn"
        with serve(tmp_path, port) as studio:  # the same folder and token: a new process with no tab state
            page.wait_for_function("window.studio.recovered >= 1 && window.studio.connected", timeout=WAIT)
            assert page.locator("#status").inner_text() in ("connected", "ready")
            assert studio.tab(page.evaluate("TAB")).entry.id == "demo-b"  # the page picked its model again
            page.wait_for_selector(f"#takes li[data-id='{take['id']}']", timeout=WAIT)
            again = render_and_wait(page)["take"]
            assert again["model"] == "demo B" and again["id"] != take["id"]
            assert "{" not in page.locator("body").inner_text().split("Model")[0]  # no raw JSON anywhere on top
    finally:
        context.close()


@pytest.mark.slow  # > 15 s on a slow day: CI runs it right after the default suite (.ci/run)
def test_two_tabs_render_with_their_own_models_and_a_takeover_is_said(browser: Any, running: Any) -> None:
    url, studio, _ = running
    with opened(browser, url, 2) as (a, b):
        b.select_option("#model-select", "demo-b")
        b.wait_for_function("window.studio.model.id === 'demo-b'", timeout=WAIT)
        assert a.evaluate("window.studio.model.id") == "demo"
        assert render_and_wait(a)["take"]["model"] != "demo B"
        assert render_and_wait(b)["take"]["model"] == "demo B"
        assert render_and_wait(a)["take"]["model"] != "demo B"  # B's pick never reached A's renders
        a.select_option("#sample-select", "lib-taps")
        a.click("#play-sample")
        a.wait_for_function("window.studio.blocksBack > 5", timeout=WAIT)
        b.select_option("#sample-select", "lib-taps")
        b.click("#play-sample")
        b.wait_for_function("window.studio.blocksBack > 5", timeout=WAIT)
        a.wait_for_function("window.studio.takenOver >= 1", timeout=WAIT)
        assert "taken over" in a.locator("#status").inner_text() and a.locator("#take-back").is_visible()
        assert "another tab took over" in a.locator("#errors").inner_text()
        n = a.evaluate("window.studio.blocksBack")
        a.click("#play-sample")  # Play there takes the stream back: not silent
        a.wait_for_function(f"window.studio.blocksBack > {n + 5}", timeout=WAIT)
        b.wait_for_function("window.studio.takenOver >= 1", timeout=WAIT)
        assert a.locator("#status").inner_text() == "live" and not a.locator("#take-back").is_visible()
        a.click("#stop")
        assert a.locator("#status").inner_text() == "stopped"  # at once, not "live" until something else happens


def test_bad_preset_import_says_which_field_and_applies_nothing(browser: Any, running: Any, tmp_path: Path) -> None:
    url, _, _ = running
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bias": "lots", "temperature": 99}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"format": "foleyvae-preset", "model": "other", "controls": {"temperature": 0.5}}))
    with opened(browser, url) as (page,):
        before = page.evaluate("JSON.stringify(window.studio.controls)")
        page.set_input_files("#preset-import", str(bad))
        page.wait_for_function(
            "/preset not applied: bias/.test(document.querySelector('#errors').textContent)", timeout=WAIT
        )
        assert page.evaluate("JSON.stringify(window.studio.controls)") == before
        assert page.locator("#temperature").input_value() == "0"
        page.set_input_files("#preset-import", str(good))
        page.wait_for_function("window.studio.controls.temperature === 0.5", timeout=WAIT)
        assert "made for model 'other'" in page.evaluate("window.studio.presetWarning")


def test_saving_over_a_preset_asks_first(browser: Any, running: Any) -> None:
    url, studio, _ = running
    with opened(browser, url) as (page,):
        page.fill("#preset-name", "a/b")
        page.click("#preset-save")
        page.wait_for_function("/not allowed/.test(document.querySelector('#errors').textContent)", timeout=WAIT)
        page.fill("#preset-name", "steps")
        page.click("#preset-save")
        page.wait_for_function("window.studio.lastPresetSaved === 'steps'", timeout=WAIT)
        page.evaluate("window.studio.lastPresetSaved = null")
        page.fill("#temperature", "0")
        page.once("dialog", lambda d: d.dismiss())
        page.click("#preset-save")
        page.wait_for_function("window.studio.confirmAsked === 1", timeout=WAIT)
        page.wait_for_timeout(300)
        assert page.evaluate("window.studio.lastPresetSaved") is None  # declined: nothing written
        assert studio.folder.read_preset("steps")["controls"]["temperature"] == 0
        page.eval_on_selector(
            "#temperature", "el => { el.value = 1.5; el.dispatchEvent(new Event('input', {bubbles: true})); }"
        )
        page.once("dialog", lambda d: d.accept())
        page.click("#preset-save")
        page.wait_for_function("window.studio.lastPresetSaved === 'steps'", timeout=WAIT)
        assert studio.folder.read_preset("steps")["controls"]["temperature"] == 1.5


def test_a_ten_minute_render_shows_progress_and_is_cancelled(browser: Any, running: Any) -> None:
    url, studio, root = running
    ten = root / "session" / "uploads" / "0000beef-ten-minutes.wav"
    t = np.arange(600 * 8000) / 8000  # 10 minutes (8 kHz on disk; resampled to the model's rate when rendered)
    sf.write(str(ten), (0.1 * np.sin(2 * np.pi * 110 * t)).astype(np.float32), 8000, subtype="PCM_16")
    with opened(browser, url) as (page,):
        page.select_option("#sample-select", "up-0000beef-ten-minutes")
        page.click("#render")
        page.wait_for_function("window.studio.lastJob && window.studio.lastJob.progress > 0.001", timeout=WAIT * 3)
        text = page.locator("#job-text").inner_text()
        assert "ten-minutes" in text and "%" in text, text
        page.click("#job-cancel")
        page.wait_for_function("window.studio.lastJob.state === 'cancelled'", timeout=WAIT)
        assert "cancelled" in page.locator("#job-text").inner_text()
        assert page.evaluate("window.studio.lastJob.take") is None
        assert studio.jobs.running is None or studio.jobs.running.id != page.evaluate("window.studio.lastJob.id")


def test_model_card_is_html_and_materials_are_grouped(browser: Any, running: Any) -> None:
    url, _, _ = running
    with opened(browser, url) as (page,):
        page.click("#card-md-box summary")
        assert page.locator("#card-md h1").inner_text() == "Demo card"
        assert page.locator("#card-md table td").first.inner_text() == "F1"
        assert page.locator("#card-md strong").inner_text() == "bold"
        assert page.locator("#card-md script").count() == 0 and page.evaluate("window.pwned") is None
        assert "<script>" in page.locator("#card-md").inner_text()  # shown as text, never run
        groups = page.locator("#materials .mat-group-name").all_inner_texts()
        assert groups and all("/" not in b for b in page.locator("#materials button").all_inner_texts())
