"""The studio's native audio route on a real JACK server (dummy backend, 48 kHz): start, pass audio, controls
change it, meters, stop. A JACK client of this process plays clicks into the route's input and records its output.

Needs jackd (Debian jackd2), libportaudio2, sounddevice and JACK-Client (skipped without them).
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.live

RATE, PERIOD = 48000, 256


def _play(loop_cls: Any, seconds: float, seed: int) -> Any:
    """Play clicks into the native route's input for ``seconds`` and record its output (our client's ports)."""
    from benchmarks.loopback_latency import click_train

    loop = loop_cls(click_train(int(seconds * RATE), RATE, seed=seed), name=f"foleyvae-test-loop-{seed}")
    try:
        loop.run(loop.others(is_input=True), loop.others(is_input=False), seconds + 10)
    finally:
        loop.close()
    return loop


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
    from benchmarks.loopback_latency import Loopback, find_delay, jack_server

    with jack_server(RATE, PERIOD):
        devices = client.get("/api/native/devices").json()
        assert any(d["hostapi"] == "JACK Audio Connection Kit" for d in devices), devices
        # the demo model is 44.1 kHz: the route resamples; dry only first, so the output is the delayed input
        bad = client.post("/api/native/start", json={"block": 8, "prefill": 0})
        assert bad.status_code == 400 and "block must be an integer in 16..8192" in bad.json()["error"]
        status = _start(client, {"block": 256, "prefill": 0, "device_rate": RATE})
        try:
            assert status["running"] and status["latency"]["device_rate"] == RATE
            assert client.post("/api/native/controls", json={"dry_wet": 0.0}).status_code == 200
            assert client.post("/api/native/controls", json={"dry_wet": 7}).status_code == 400
            time.sleep(0.8)  # the sample FIFO settles (0.5 s)
            dry = _play(Loopback, 2.0, seed=1)
            lag, corr = find_delay(dry.signal[RATE // 2 :], dry.rec[RATE // 2 :], RATE // 5)
            st = client.get("/api/native/status").json()
            assert st["running"] and st["callbacks"] > 0 and st["meters"]["blocks"] > 0
            assert st["meters"]["out_peak"] > 0.05 and len(st["meters"]["wave"]["out_max"]) > 0
            # a delayed copy came back (generous bounds: a loaded machine may glitch a few periods)
            assert np.sqrt(np.mean(dry.rec**2)) > 1e-3 and corr > 0.3, (lag, corr)
            assert PERIOD <= lag < 4000, lag
            # the model only, its input 60 dB down: what comes back no longer follows the clicks
            r = client.post("/api/native/controls", json={"dry_wet": 1.0, "input_gain_db": -60.0})
            assert r.status_code == 200
            time.sleep(0.3)
            wet = _play(Loopback, 2.0, seed=2)
            _, corr_wet = find_delay(wet.signal[RATE // 2 :], wet.rec[RATE // 2 :], RATE // 5)
            assert corr_wet < 0.5 * corr, (corr_wet, corr)
        finally:
            stopped = client.post("/api/native/stop").json()
        assert not stopped["running"] and stopped["last"]["callbacks"] > 0
        assert stopped["last"]["latency"]["mode"] == "sample"
    assert client.post("/api/native/controls", json={"dry_wet": 0.5}).status_code == 400  # not running
