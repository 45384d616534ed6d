"""Control from hardware, end to end in headless Chromium: keyboard shortcuts and their overlay, MIDI learn through a
stubbed ``navigator.requestMIDIAccess`` that delivers real MIDI bytes to the page's handler (CC over the control
spec's range, notes on buttons and toggles, the mapping saved with a preset and restored), and OSC datagrams on
127.0.0.1 moving the page's sliders. Every check ends on the server's live engine or its files."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from foleyvae.control.osc import encode_message
from tests.studio.test_browser import ARTIFACTS, CHROMIUM, WAIT_MS, chromium_args, fake_mic, set_range, wait_blocks
from tests.support.browser import chromium_page, demo_studio

pytestmark = pytest.mark.browser
__all__ = ["fake_mic"]  # the shared fixture, imported for its name

TOKEN = "browser-control-token-0123456789ab"

# A MIDI access with one input; window.__midi.send([status, d1, d2]) calls the page's onmidimessage as a device would.
MIDI_STUB = """(() => {
  const input = { id: "fake-1", name: "Fake Controller", state: "connected", onmidimessage: null };
  const access = { inputs: new Map([["fake-1", input]]), outputs: new Map(), sysexEnabled: false, onstatechange: null };
  window.__midi = {
    asked: 0,
    send(bytes) {
      if (typeof input.onmidimessage !== "function") return false;
      input.onmidimessage({ data: new Uint8Array(bytes), timeStamp: performance.now() });
      return true;
    },
  };
  Object.defineProperty(navigator, "requestMIDIAccess", {
    configurable: true,
    value: (opts) => { window.__midi.asked++; return Promise.resolve(access); },
  });
})();"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    with demo_studio(tmp_path_factory.mktemp("studio-control"), TOKEN, block=2048, osc=True) as served:
        yield served


@pytest.fixture(scope="module")
def page(server: tuple[str, Any], fake_mic: Path) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ready = "window.studio && window.studio.model && window.studio.model.latent_size > 0"
    args = chromium_args(fake_mic)
    with chromium_page(server[0], CHROMIUM, args, ready, height=1100, init_script=MIDI_STUB, timeout_ms=20000) as pg:
        yield pg


def until(page: Any, cond: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
    """Wait (bounded) for a server-side condition; the page keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def live_state(studio: Any) -> dict[str, Any]:
    return dict(studio.live.state) if studio.live is not None else {}


def playing(page: Any) -> None:
    if page.evaluate("window.studio.running") != "sample":
        page.select_option("#sample-select", "lib-footsteps_wood")
        page.click("#play-sample")
        page.wait_for_function("window.studio.running === 'sample'")
        wait_blocks(page, 5)


def connected(page: Any) -> None:
    """The live socket open (controls reach the engine) with no audio streaming: on a saturated machine the audio
    frames queue up on the socket ahead of the control messages, so control checks run without them."""
    if page.evaluate("window.studio.running"):
        page.click("#stop")
    page.evaluate("() => Promise.race([ensureAudio(), new Promise((r) => setTimeout(r, 15000))])")
    page.wait_for_function("window.studio.connected", timeout=WAIT_MS)


def midi(page: Any, *msg: int) -> None:
    assert page.evaluate("(m) => window.__midi.send(m)", list(msg)), "the page has not bound the MIDI input"


def test_shortcut_overlay_lists_the_keys(page: Any) -> None:
    page.locator("h1").click()
    page.keyboard.press("?")
    overlay = page.locator("#keys-overlay")
    overlay.wait_for(state="visible", timeout=WAIT_MS)
    rows = page.locator("#keys-overlay tr")
    assert rows.count() == page.evaluate("window.studio.shortcuts.length") >= 7
    text = overlay.inner_text()
    for key in ("Space", "R", "1 \u2013 9", "0", "?", "Esc"):
        assert key in text
    page.screenshot(path=str(ARTIFACTS / "studio_shortcuts.png"))
    page.keyboard.press("Escape")
    overlay.wait_for(state="hidden", timeout=WAIT_MS)


def test_keyboard_plays_steers_records_and_resets(page: Any, server: tuple[str, Any]) -> None:
    _, studio = server
    page.select_option("#sample-select", "lib-footsteps_wood")
    page.locator("h1").click()
    page.keyboard.press(" ")
    page.wait_for_function("window.studio.running === 'sample'", timeout=WAIT_MS)
    wait_blocks(page, 3)
    page.keyboard.press(" ")
    page.wait_for_function("window.studio.running === null", timeout=WAIT_MS)
    connected(page)
    materials = page.evaluate("window.studio.model.materials")
    page.keyboard.press("2")
    until(page, lambda: (live_state(studio).get("towards") or {}).get("label") == materials[1], "material 2")
    page.keyboard.press("2")  # again: off
    until(page, lambda: "towards" in live_state(studio) and live_state(studio)["towards"] is None, "material off")
    page.keyboard.press("3")
    set_range(page, "#temperature", 1.5)
    until(page, lambda: live_state(studio).get("temperature") == 1.5, "temperature 1.5")
    page.keyboard.press("0")  # reset: neutral controls, material off
    until(page, lambda: live_state(studio).get("temperature") == 0 and live_state(studio)["towards"] is None, "reset")
    n = len(studio.folder.takes())
    page.keyboard.press(" ")  # again: the last source
    page.wait_for_function("window.studio.running === 'sample'", timeout=WAIT_MS)
    page.keyboard.press("r")
    page.wait_for_function("document.getElementById('record').classList.contains('on')", timeout=WAIT_MS)
    wait_blocks(page, 8)
    page.keyboard.press("r")
    until(page, lambda: len(studio.folder.takes()) > n, "the take")
    assert studio.folder.takes()[-1]["kind"] == "take"
    page.keyboard.press(" ")
    page.wait_for_function("window.studio.running === null", timeout=WAIT_MS)
    # typing in a text field is typing, not shortcuts
    page.fill("#preset-name", "r 1 ")
    assert page.evaluate("window.studio.running") is None and page.input_value("#preset-name") == "r 1 "


def test_midi_learn_maps_cc_and_notes_onto_the_controls(page: Any, server: tuple[str, Any]) -> None:
    _, studio = server
    connected(page)
    page.click("#midi-connect")
    page.wait_for_function("window.studio.midi.inputs.length === 1", timeout=WAIT_MS)
    assert "Fake Controller" in page.locator("#midi-status").inner_text()
    page.click("#midi-learn")
    assert page.evaluate("window.studio.midi.learn")
    # a CC on temperature: 0..127 spans the spec's 0..4
    page.click("#temperature")
    assert page.evaluate("window.studio.midi.armed") == "temperature"
    midi(page, 0xB0, 21, 64)
    learned = page.evaluate("window.studio.midi.map")
    assert learned == [{"kind": "cc", "channel": 0, "number": 21, "target": "temperature"}]
    until(page, lambda: live_state(studio).get("temperature") == 2.02, "temperature 64/127*4")
    midi(page, 0xB0, 21, 127)
    until(page, lambda: live_state(studio).get("temperature") == 4.0, "temperature 4")
    assert studio.live.engine.controls.temperature == 4.0
    # bias of dim 1 on channel 2: the slider's -3..3 std
    page.click('#dims input.bias[data-dim="1"]')
    midi(page, 0xB1, 22, 0)
    until(page, lambda: (live_state(studio).get("bias") or [0, 0])[1] == -3.0, "bias d1 -3")
    midi(page, 0xB1, 22, 127)
    until(page, lambda: live_state(studio)["bias"][1] == 3.0, "bias d1 +3")
    assert studio.live.engine.controls.bias[1] == pytest.approx(3.0 * studio.live.std[1])
    # a pad on a material button: picking it in learn mode does not press it; the note toggles it
    mat = page.evaluate("window.studio.model.materials[0]")
    page.click(f'#materials button[data-label="{mat}"]')
    page.wait_for_timeout(200)
    assert not live_state(studio).get("towards")
    midi(page, 0x90, 36, 100)  # learned (a note does not press while learning)
    midi(page, 0x80, 36, 0)  # note-off: nothing
    midi(page, 0x90, 36, 90)
    until(page, lambda: (live_state(studio).get("towards") or {}).get("label") == mat, "material on by pad")
    midi(page, 0x90, 36, 0)  # note-on with velocity 0 is a note-off: nothing
    midi(page, 0x90, 36, 90)
    until(page, lambda: live_state(studio).get("towards", 1) is None, "material off by pad")
    # a CC switch on the freeze checkbox: >= 64 on, < 64 off
    page.click("#freeze")
    midi(page, 0xB0, 64, 127)  # learned; a toggle (or a button such as Record) does not act on the learning press
    page.wait_for_timeout(300)
    assert live_state(studio).get("freeze") is False and page.evaluate("window.studio.midi.map.length") == 4
    midi(page, 0xB0, 64, 127)
    until(page, lambda: live_state(studio).get("freeze") is True, "freeze on")
    midi(page, 0xB0, 64, 10)
    until(page, lambda: live_state(studio).get("freeze") is False, "freeze off")
    page.keyboard.press("Escape")  # leaves learn mode
    assert not page.evaluate("window.studio.midi.learn")
    assert page.locator("#midi-map li").count() == 4
    page.screenshot(path=str(ARTIFACTS / "studio_midi.png"), full_page=True)


def test_the_midi_mapping_is_saved_with_the_preset(page: Any, server: tuple[str, Any]) -> None:
    _, studio = server
    connected(page)
    before = page.evaluate("window.studio.midi.map")
    assert len(before) == 4
    page.fill("#preset-name", "hardware")
    page.click("#preset-save")
    until(page, lambda: "hardware" in studio.folder.list_presets(), "the preset file")
    saved = json.loads((studio.folder.presets / "hardware.json").read_text())
    assert saved["midi"] == before and "temperature" in saved["controls"]  # the preset file format of #21
    while page.locator("#midi-map button.midi-remove").count():
        page.locator("#midi-map button.midi-remove").first.click()
    assert page.evaluate("window.studio.midi.map") == []
    midi(page, 0xB0, 21, 0)  # unmapped now: nothing moves
    page.wait_for_timeout(300)
    assert live_state(studio)["temperature"] != 0.0
    page.select_option("#preset-select", "hardware")
    page.click("#preset-load")
    page.wait_for_function("window.studio.midi.map.length === 4", timeout=WAIT_MS)
    assert page.evaluate("window.studio.midi.map") == before
    midi(page, 0xB0, 21, 32)
    until(page, lambda: live_state(studio).get("temperature") == 1.01, "temperature by the restored mapping")
    # a preset whose mapping is malformed is refused whole, naming the field
    r = page.evaluate(
        """async () => { const r = await fetch('/api/presets/bad', {method: 'POST',
             headers: {'X-Studio-Token': document.querySelector('meta[name=studio-token]').content,
                       'Content-Type': 'application/json'},
             body: JSON.stringify({temperature: 1, midi: [{kind: 'cc', channel: 16, number: 1, target: 'x'}]})});
           return [r.status, (await r.json()).error]; }"""
    )
    assert r[0] == 400 and "channel" in r[1] and "bad" not in studio.folder.list_presets()


def test_osc_moves_the_page_and_the_engine(page: Any, server: tuple[str, Any]) -> None:
    _, studio = server
    connected(page)
    port = studio.remote.server.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(encode_message("/foleyvae/dry_wet", 0.3), ("127.0.0.1", port))
        s.sendto(encode_message("/foleyvae/bias/0", -2.0), ("127.0.0.1", port))
        c = "window.studio.controls"
        page.wait_for_function(f"{c}.dry_wet === 0.3 && {c}.bias[0] === -2", timeout=WAIT_MS)
        assert page.input_value("#dry-wet") == "0.3"
        assert page.input_value('#dims input.bias[data-dim="0"]') == "-2"
        assert studio.live.engine.controls.dry_wet == 0.3
        # the page's next message carries the OSC values on (it does not undo them)
        set_range(page, "#temperature", 0.5)
        until(page, lambda: live_state(studio).get("temperature") == 0.5, "temperature from the page")
        assert live_state(studio)["dry_wet"] == 0.3 and live_state(studio)["bias"][0] == -2.0
        state = page.evaluate(
            "async () => (await fetch('/api/state?token=' + encodeURIComponent("
            "document.querySelector('meta[name=studio-token]').content))).json()"
        )
        assert state["control_values"]["dry_wet"] == 0.3 and state["osc"]["applied"] >= 2
        # record from OSC: the page records from its own frames
        n = len(studio.folder.takes())
        playing(page)
        s.sendto(encode_message("/foleyvae/record", 1), ("127.0.0.1", port))
        page.wait_for_function("document.getElementById('record').classList.contains('on')", timeout=WAIT_MS)
        wait_blocks(page, 8)
        s.sendto(encode_message("/foleyvae/record", 0), ("127.0.0.1", port))
        until(page, lambda: len(studio.folder.takes()) > n, "the OSC take")
    page.click("#stop")
