"""The studio's native audio route on a real JACK server (dummy backend, 48 kHz): start, pass audio, controls
change it, meters, stop. A JACK client of this process plays clicks into the route's input and records its output.

Needs jackd (Debian jackd2), libportaudio2, sounddevice and JACK-Client (skipped without them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.live

RATE, PERIOD = 48000, 256


class _Played:
    """What one play sent (``signal``) and what came back (``rec``)."""

    def __init__(self, signal: np.ndarray, rec: np.ndarray) -> None:
        self.signal, self.rec = signal, rec


def _play(seconds: float, seed: int) -> _Played:
    """Play clicks into the native route's input for ``seconds`` and record its output, from a JACK client in its
    own process (tests/support/jack_loop.py says why)."""
    from benchmarks.loopback_latency import click_train

    from tests.support.jack_loop import play_and_record

    sig = click_train(int(seconds * RATE), RATE, seed=seed)
    return _Played(sig, play_and_record(sig, f"foleyvae-test-loop-{seed}", seconds + 10))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _start(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    """POST start, once more after a failure (a JACK server under load may refuse the first client)."""
    r = client.post("/api/native/start", json=body)
    if r.status_code != 200:
        time.sleep(1.0)
        r = client.post("/api/native/start", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_native_route_on_jack_passes_audio_and_obeys_controls(client: Any) -> None:
    if shutil.which("jackd") is None:
        pytest.skip("jackd not installed (apt-get install jackd2)")
    pytest.importorskip("jack")
    pytest.importorskip("sounddevice")
    from benchmarks.loopback_latency import find_delay, jack_server

    with jack_server(RATE, PERIOD):
        devices = client.get("/api/native/devices").json()
        assert any(d["hostapi"] == "JACK Audio Connection Kit" for d in devices), devices
        # the demo model is 44.1 kHz: the route resamples; dry only first, so the output is the delayed input
        bad = client.post("/api/native/start", json={"block": 8, "prefill": 0})
        assert bad.status_code == 400 and "block must be an integer in 16..8192" in bad.json()["error"]
        status = _start(client, {"block": 256, "prefill": 0, "device_rate": RATE, "record": True})
        t_start = time.monotonic()
        try:
            assert status["running"] and status["latency"]["device_rate"] == RATE
            # the model runs in its own process (the server's work never holds the callback's interpreter lock)
            engine = client.app.state.studio.native.session.engine
            assert status["engine"] == "process" and engine.info["pid"] != os.getpid()
            assert client.post("/api/native/controls", json={"dry_wet": 0.0}).status_code == 200
            assert client.post("/api/native/controls", json={"dry_wet": 7}).status_code == 400
            time.sleep(0.8)  # the sample FIFO settles (0.5 s)
            # up to three 2 s plays, the best kept: on jackd --no-realtime a play that meets a burst of xruns (FIFO
            # splices shift the lag mid-play) correlated 0.11 once in seven quiet runs, the others 0.28-0.99
            best = None
            for attempt in range(3):
                dry = _play(2.0, seed=1 + attempt)
                lag, corr = find_delay(dry.signal[RATE // 2 :], dry.rec[RATE // 2 :], RATE // 5)
                if best is None or corr > best[2]:
                    best = (dry, lag, corr)
                if corr > 0.3:
                    break
            dry, lag, corr = best
            st = client.get("/api/native/status").json()
            assert st["running"] and st["callbacks"] > 0 and st["meters"]["blocks"] > 0
            assert st["meters"]["out_peak"] > 0.05 and len(st["meters"]["wave"]["out_max"]) > 0
            # a delayed copy came back (generous bounds: on a loaded machine xruns drop periods, 0.28-0.99 measured)
            assert np.sqrt(np.mean(dry.rec**2)) > 1e-3 and corr > 0.12, (lag, corr)
            assert PERIOD <= lag < 4000, lag
            # the model only, its input 60 dB down: what comes back no longer follows the clicks
            t_wet = time.monotonic() - t_start  # the take is dry only before this (in its own time, about)
            r = client.post("/api/native/controls", json={"dry_wet": 1.0, "input_gain_db": -60.0})
            assert r.status_code == 200
            time.sleep(0.3)
            wet = _play(2.0, seed=2)
            _, corr_wet = find_delay(wet.signal[RATE // 2 :], wet.rec[RATE // 2 :], RATE // 5)
            assert corr_wet < min(0.1, 0.5 * corr), (corr_wet, corr)
        finally:
            stopped = client.post("/api/native/stop").json()
        assert not stopped["running"] and stopped["last"]["callbacks"] > 0
        assert stopped["last"]["latency"]["mode"] == "sample" and stopped["last"]["engine"] == "process"
        assert engine._closed and engine._child.proc.poll() is not None  # the engine process ended with the route
        threaded = _start(client, {"block": 512, "prefill": 1, "device_rate": RATE, "engine": "thread"})
        assert threaded["engine"] == "thread" and client.post("/api/native/stop").json()["last"]["callbacks"] > 0
    # the take: in the takes list, 24-bit, its wet lined up with its dry (the dry-only part: the same signal at lag 0)
    take = stopped["last"]["take"]
    listed = [t["id"] for t in client.get("/api/takes").json()]
    assert take["source"] == "native" and take["has_dry"] and take["id"] in listed
    assert take["controls"]["dry_wet"] == 1.0 and take["sample_rate"] == 44100  # the model's rate, as the engine runs
    import io

    import soundfile as sf

    tracks = {}
    for which in ("wet", "dry"):
        r = client.get(f"/api/takes/{take['id']}/{which}.wav")
        assert r.status_code == 200
        tracks[which], sr = sf.read(io.BytesIO(r.content), dtype="float32")
        assert sf.info(io.BytesIO(r.content)).subtype == "PCM_24"
    assert len(tracks["wet"]) == len(tracks["dry"]) > sr
    # dry_wet 0 until the wet control (the model's output, far louder than the clicks), which comes ~t_wet s after
    # start in wall time; the take's own clock starts later and loses the periods a loaded machine drops, so find
    # the switch in it: the first loud wet window
    win = sr // 4
    loud = [k for k in range(2, len(tracks["wet"]) // win) if _rms(tracks["wet"][k * win : (k + 1) * win]) > 0.1]
    switch = loud[0] * win if loud else len(tracks["wet"])
    assert sr + win <= switch < (t_wet + 0.5) * sr, (switch / sr, t_wet)
    first = slice(sr // 2, switch - win)  # the played clicks, through the dry path
    dry_part, wet_part = tracks["dry"][first], tracks["wet"][first]
    assert _rms(dry_part) > 1e-3  # the clicks are in it
    for a, b in ((dry_part, wet_part), (wet_part, dry_part)):  # no lag either way
        lag, corr_take = find_delay(a, b, sr // 20)
        assert lag == 0 and corr_take > 0.9, (lag, corr_take)
    assert client.post("/api/native/controls", json={"dry_wet": 0.5}).status_code == 400  # not running


def test_native_panel_in_the_page_drives_the_route(tmp_path: Any) -> None:
    """Chromium: the Native panel lists the JACK devices, starts the route, shows levels from the server, mirrors a
    slider to the native engine and stops it (the audio never crosses the browser)."""
    from pathlib import Path

    if shutil.which("jackd") is None:
        pytest.skip("jackd not installed (apt-get install jackd2)")
    pytest.importorskip("jack")
    pytest.importorskip("sounddevice")
    chromium = os.environ.get("FOLEYVAE_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip(f"chromium not installed ({chromium})")
    sync_api = pytest.importorskip("playwright.sync_api")
    from benchmarks.loopback_latency import click_train, jack_server

    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.app import Studio, StudioConfig, serve_in_thread
    from foleyvae.studio.session import ModelEntry
    from tests.support.jack_loop import loop_process

    token = "native-test-token-0123456789abcdef"
    entry = ModelEntry("demo", "demo (untrained)", "demo", "random weights", demo_model)
    cfg = StudioConfig(token=token, session_dir=tmp_path / "session", extra_models=[entry], default_model="demo")
    studio = Studio(cfg)
    studio.open_default()
    with jack_server(RATE, PERIOD), serve_in_thread(cfg, studio) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            pg = browser.new_context(bypass_csp=True).new_page()
            pg.goto(url, timeout=30000)
            pg.wait_for_function("window.studio && window.studio.model && window.studio.controls", timeout=30000)
            pg.wait_for_function("window.studio.native.devices.length > 0", timeout=15000)
            assert "JACK" in pg.inner_text("#native-in", timeout=5000)
            pg.select_option("#native-rate", "48000", timeout=5000)
            pg.check("#native-record", timeout=5000)
            # 30 s of clicks: the level must still be playing when the page's poll looks (a 4 s train once ran out
            # before the first poll that saw it, in a CI run)
            with contextlib.ExitStack() as stack:
                pg.click("#native-start", timeout=5000)
                pg.wait_for_function("window.studio.native.running === true", timeout=20000)
                # the loopback client waits for the route's JACK ports (they appear once PortAudio's stream runs)
                loop = stack.enter_context(loop_process(click_train(30 * RATE, RATE, seed=5), "foleyvae-page", 40))
                stack.callback(lambda: pg.wait_for_function("!window.studio.native.running", timeout=15000))
                stack.callback(lambda: pg.click("#native-stop", timeout=5000))  # (runs first: a stack)
                assert loop.poll() is None
                pg.wait_for_function("(window.studio.native.status.meters || {}).in_peak > 0.05", timeout=25000)
                # the server's spectrogram columns reach the canvas (the clicks are broadband: bright pixels)
                pg.wait_for_function("(window.studio.native.specColumns || 0) > 20", timeout=25000)
                bright = pg.evaluate(
                    """() => { const c = document.getElementById('native-spec');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 100 ? 1 : 0; return n; }"""
                )
                assert bright > 50, bright
                pg.fill("#dry-wet", "0.25", timeout=5000)
                pg.dispatch_event("#dry-wet", "input", timeout=5000)
                deadline = time.monotonic() + 10.0
                while studio.native.session.engine.controls.dry_wet != pytest.approx(0.25):
                    assert time.monotonic() < deadline, "the slider never reached the native engine"
                    time.sleep(0.1)
                assert "xruns" in pg.inner_text("#native-status", timeout=5000)
            assert studio.native.session is None and studio.native.last_stats["callbacks"] > 0
            take_id = studio.native.last_stats["take"]["id"]
            pg.wait_for_selector(f'#takes li[data-id="{take_id}"]', timeout=15000)  # listed with the page's takes
            assert pg.evaluate("window.studio.native.errors") == []  # a plain value: returns at once
        finally:
            browser.close()
