"""Live audio against a real JACK server (dummy backend): a JACK client plays footsteps into our input port.

Needs ``jackd`` (Debian jackd2), ``libportaudio2`` and the ``JACK-Client`` and ``sounddevice`` Python packages.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import footstep
from tests.support.jack import jack_available, private_jackd

pytestmark = pytest.mark.live

# a 1024-frame period (21 ms) leaves headroom for a loaded 2-core CI machine; 256 also runs xrun-free when idle
SR, BLOCK, SECONDS = 48000, 1024, 10.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def jack_server() -> Iterator[dict[str, str]]:
    """A private JACK dummy server (48 kHz, 256 frames); yields the environment that selects it."""
    if not jack_available():
        pytest.skip("jackd not installed (apt-get install jackd2)")
    with private_jackd(SR, BLOCK, "foleyvae-test") as env:
        yield env


def _footsteps(seconds: float) -> np.ndarray:
    one = np.concatenate([footstep("wood", 0.35, sr=SR, seed=1), np.zeros(int(0.15 * SR), np.float32)])
    return np.tile(one, int(seconds / 0.5) + 2).astype(np.float32)


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
@pytest.mark.parametrize("engine", ["thread", "process"])
def test_live_session_on_jack_records_aligned_take(
    engine: str, jack_server: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jack = pytest.importorskip("jack")
    import soundfile as sf

    for k, v in jack_server.items():
        monkeypatch.setenv(k, v)
    from tests.support import stall_canary

    take, stats_path = tmp_path / "take.wav", tmp_path / "stats.json"
    canary = stall_canary.start()  # machine stalls (the VM not running at all) during the session
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.live.run_session", str(take), str(stats_path), str(SECONDS), str(BLOCK), engine],
        cwd=ROOT,
        env=jack_server,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    signal = _footsteps(SECONDS + 5)
    pos = [0]
    player = jack.Client("foleyvae-player", no_start_server=True)
    port = player.outports.register("out")

    @player.set_process_callback
    def process(frames: int) -> None:
        buf = port.get_array()
        i = pos[0] % (len(signal) - frames)
        buf[:] = signal[i : i + frames]
        pos[0] += frames

    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "READY", f"{line!r} {proc.stderr.read() if proc.stderr else ''}"
        # the player (our microphone) is a Python callback in this pytest process: a full collection here (tens of
        # ms over the objects earlier tests left) would make it late, and jackd then flags the cycle for every
        # client, the session under test included (the soak freezes its player process's collector likewise).
        gc.collect()
        gc.disable()
        player.activate()
        targets = [p for p in player.get_ports(is_audio=True, is_input=True) if not p.name.startswith("system:")]
        assert targets, [p.name for p in player.get_ports()]
        for t in targets:
            player.connect(port, t)
        out, err = proc.communicate(timeout=SECONDS + 60)
        assert proc.returncode == 0, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        player.deactivate()
        player.close()
        gc.enable()
        stalls = stall_canary.stop(canary)

    report = json.loads(stats_path.read_text())
    stats = report["stats"]
    # zero xruns, unless the whole machine stopped: each xrun needs a canary-seen stall (a top-priority idle process
    # woken > 3 ms late) of its own; no code in the session can play through the VM not running
    assert stats["xruns"] <= len(stalls), f"{stats} with machine stalls {stalls}"
    assert stats["engine"]["nan_blocks"] == 0
    assert stats["engine"]["blocks"] * BLOCK >= 0.9 * SECONDS * SR
    y, sr_take = sf.read(take, always_2d=True, dtype="float32")
    dry, sr_dry = sf.read(tmp_path / "take.dry.wav", always_2d=True, dtype="float32")
    assert sr_take == sr_dry == SR and y.shape == dry.shape and y.shape[0] >= 0.9 * SECONDS * SR
    assert np.abs(dry).max() > 0.3  # the player's footsteps reached our input
    assert np.sqrt(np.mean(y**2)) > 1e-3  # the take is not silent
    # delay-compensated: the take equals the offline render (same engine, same blocks) of the dry input
    from foleyvae.inference.render import render
    from tests.inference.toy import ToyStream

    ref = render(ToyStream(sample_rate=SR), np.ascontiguousarray(dry.T), BLOCK)
    np.testing.assert_allclose(y.T, ref, atol=1e-4)
    lat = report["latency"]
    assert lat["latency_samples"] == ToyStream(sample_rate=SR).delay_samples
    # while live: collector frozen, short switch interval; both restored by stop()
    ps = report["process_state"]
    assert ps["during"]["gc_frozen"] and ps["during"]["switch_interval"] <= 0.0005
    assert ps["after"] == ps["before"] and not ps["before"]["gc_frozen"]
    # the audio threads got SCHED_FIFO exactly where the OS grants it (CI runs as root)
    from foleyvae.live.realtime import fifo_permitted

    assert stats["realtime_callback"] == stats["realtime_worker"] == fifo_permitted()
    assert report["engine_process_realtime"] == (fifo_permitted() if engine == "process" else None)
    assert lat["round_trip_ms"] > lat["latency_ms"]


@pytest.mark.slow  # > 15 s: CI runs it (.ci/run), the default suite stays under 8 minutes
def test_live_cli_lists_devices_and_records(jack_server: dict[str, str], tmp_path: Path) -> None:
    import soundfile as sf

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tests.live.run_cli", *args]
        return subprocess.run(cmd, cwd=ROOT, env=jack_server, capture_output=True, text=True, timeout=60)

    r = cli("live", "--list-devices")
    assert r.returncode == 0 and "JACK" in r.stdout, r.stderr
    take, stats = tmp_path / "take.wav", tmp_path / "stats.json"
    args = ["live", "--model", "toy", "--block", str(BLOCK), "--seconds", "1.5", "--record", str(take)]
    r = cli(*args, "--bias", "0=1.0", "--dry-wet", "0.8", "--towards", "metal", "--stats-json", str(stats))
    assert r.returncode == 0, r.stderr
    assert "READY" in r.stdout and "xruns" in r.stderr
    assert "LOADS 0" in r.stderr  # engine process (the POSIX default): only the child loads the model
    final = json.loads(stats.read_text())["controls"]
    assert final["bias"][0] == 1.0 and final["dry_wet"] == 0.8
    # the toy's "metal" offset (centroid 1.5 minus the centroids' mean 0.25), from the child's table; amount 1
    assert final["towards_amount"] == 1.0 and final["centroid"][0] == pytest.approx(1.25)
    y, sr = sf.read(take)
    assert sr == SR and len(y) >= SR and (tmp_path / "take.dry.wav").exists()
    assert json.loads(stats.read_text())["latency"]["block_size"] == BLOCK
    r = cli(*args)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cli("live", "--model", "toy", "--block", str(BLOCK), "--seconds", "0.3", "--towards", "brass")
    assert r.returncode == 1 and "unknown material 'brass'" in r.stderr and "metal, wood" in r.stderr
    r = cli("live", "--model", "toy", "--engine", "thread", "--block", str(BLOCK), "--seconds", "0.3")
    assert r.returncode == 0 and "LOADS 1" in r.stderr, r.stderr
    r = cli("live")
    assert r.returncode == 1 and "--model is required" in r.stderr


def test_live_cli_takes_osc(jack_server: dict[str, str], tmp_path: Path) -> None:
    """``foleyvae live --osc-port N``: OSC datagrams set the engine's controls as stdin commands would; the final
    controls and the OSC counters are in --stats-json."""
    import queue
    import re
    import socket
    import threading

    from foleyvae.control.osc import encode_bundle, encode_message

    stats = tmp_path / "stats.json"
    cmd = [sys.executable, "-m", "tests.live.run_cli", "live", "--model", "toy", "--block", str(BLOCK)]
    cmd += ["--seconds", "6", "--osc-port", "0", "--stats-json", str(stats)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=jack_server, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        port, deadline = None, time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            try:
                m = re.search(r"OSC on udp://127\.0\.0\.1:(\d+)", lines.get(timeout=1.0))
            except queue.Empty:
                assert proc.poll() is None, "live exited before its OSC port"
                continue
            port = int(m.group(1)) if m else None
        assert port, "live did not print its OSC port"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(encode_message("/foleyvae/bias/0", 2.5), ("127.0.0.1", port))  # latent units, like b0=2.5
            s.sendto(encode_message("/foleyvae/dry_wet", 0.4), ("127.0.0.1", port))
            s.sendto(encode_bundle(encode_message("/foleyvae/towards/metal", 0.5)), ("127.0.0.1", port))
            s.sendto(encode_message("/foleyvae/towards/brass", 0.5), ("127.0.0.1", port))  # unknown: refused
            s.sendto(b"\x00garbage", ("127.0.0.1", port))
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0
    report = json.loads(stats.read_text())
    final = report["controls"]
    assert final["bias"][0] == 2.5 and final["dry_wet"] == 0.4
    assert final["towards_amount"] == 0.5 and final["centroid"][0] == pytest.approx(1.25)  # the toy's metal offset
    assert report["osc"] == {**report["osc"], "port": port, "applied": 3, "rejected": 1, "dropped": 1}
