"""Units of the live layer that need no audio device: rings, interactive commands, the streaming writer, errors."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from foleyvae.audio.io import AudioError, StreamWriter
from foleyvae.errors import MissingDependencyError
from foleyvae.inference.controls import Controls
from foleyvae.inference.materials import MaterialTable
from foleyvae.live.audio_io import BlockRing, apply_command, import_sounddevice


def test_block_ring_counts_over_and_underruns() -> None:
    r = BlockRing(2, 1, 4, prefill=1)
    out = np.zeros((1, 4), np.float32)
    assert r.pop(out) and not r.pop(out) and r.underruns == 1
    assert r.push(np.ones((1, 4), np.float32)) and r.push(np.ones((1, 4), np.float32) * 2)
    assert not r.push(np.ones((1, 4), np.float32)) and r.overruns == 1
    assert r.pop(out) and out[0, 0] == 1.0 and r.pop(out) and out[0, 0] == 2.0
    # a callback's [n, C] buffer goes in through its transpose
    assert r.push(np.arange(4, dtype=np.float32)[:, None].T) and r.pop(out) and out[0, 3] == 3.0


def test_monitor_latency_recovers_after_an_underrun() -> None:
    """The device callback, driven by hand with a worker that stalls for three periods: the period that found no
    block plays silence, the late blocks play on a period late until the session has been calm for
    ``latency_recover_s`` (two periods here), then one block is spliced out (a crossfade over one period) and the
    output is again the input of ``prefill`` periods before (else every later block would lag one more period)."""
    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.live.audio_io import LiveSession
    from tests.inference.toy import ToyStream

    n, prefill, sr = 256, 2, 44100
    session = LiveSession(
        StreamingEngine(ToyStream(sample_rate=sr), n),
        prefill_blocks=prefill,
        latency_recover_s=2 * n / sr,
        realtime=False,  # the callback runs in pytest's own thread here: it must not become SCHED_FIFO
    )
    block = np.zeros((1, n), np.float32)
    heard: list[np.ndarray] = []  # per callback: what it played (a block holds its input's marker)

    def callback(i: int) -> None:
        indata = np.full((n, 1), float(i), np.float32)  # [frames, C], as PortAudio passes it
        outdata = np.empty((n, 1), np.float32)
        session._callback(indata, outdata, n, None)
        heard.append(outdata[:, 0].copy())

    def worker() -> None:  # the engine is left out: the marker goes straight through
        while session.in_ring.pop(block):
            session.out_ring.push(block)

    for i in range(1, 7):
        callback(i)
        worker()
    for i in range(7, 10):  # the worker stalls: two queued blocks play, the third period finds none
        callback(i)
    worker()
    for i in range(10, 16):
        callback(i)
        worker()
    first = [float(h[0]) for h in heard]
    assert first[:6] == [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]  # the prefill's silence, then two periods late
    assert first[6:9] == [5.0, 6.0, 0.0]  # the stall: the queue drains, then one period of silence
    assert first[9:11] == [7.0, 8.0]  # the late blocks play on, three periods late, until calm
    splice = heard[11]  # block 9 crossfades into block 10 over the period
    np.testing.assert_allclose(splice, 9.0 + (np.arange(n) + 1.0) / n, rtol=0, atol=1e-5)
    assert first[12:] == [11.0, 12.0, 13.0]  # two periods late again
    assert session.out_ring.underruns == 1 and session.stats.late_blocks_dropped == 1
    assert session.in_ring.overruns == 0


def test_interactive_commands() -> None:
    c = Controls(4)
    assert apply_command(c, "b0=1.5") == "b0 = 1.5" and c.bias[0] == 1.5
    assert apply_command(c, "s2=0.5") and c.scale[2] == 0.5
    assert apply_command(c, "t=0.3") and c.temperature == 0.3
    assert apply_command(c, "w=0.25") and c.dry_wet == 0.25
    assert apply_command(c, "g=-6") and c.input_gain_db == -6.0
    assert apply_command(c, "f=1") and c.freeze
    assert apply_command(c, "b9=1").startswith("error:")
    assert apply_command(c, "zz").startswith("cannot parse")
    assert apply_command(c, "x=1").startswith("unknown command")
    assert apply_command(c, "q") == "quit"
    assert apply_command(c, "r") and c.bias[0] == 0.0 and not c.freeze
    assert apply_command(c, "m=wood") == "error: this session has no material table"
    table = MaterialTable.from_offsets({"footsteps/wood": [1, 0, 0, 0], "impacts/metal": [0, 2, 0, 0]}, 4, "m")
    assert apply_command(c, "m=wood:0.5,metal:0.5", table.steer) == "material wood:0.5,metal:0.5 (amount 1)"
    assert c.centroid.tolist() == [0.5, 1.0, 0.0, 0.0] and c.towards_amount == 1.0
    assert apply_command(c, "a=0.25") == "a = 0.25" and c.towards_amount == 0.25 and c.centroid[1] == 1.0
    assert apply_command(c, "m=brass", table.steer).startswith("error: unknown material 'brass'")
    assert apply_command(c, "a=2").startswith("error:") and c.towards_amount == 0.25
    assert apply_command(c, "m=off") == "material off" and c.towards_amount == 0.0


def test_stream_writer_is_lossless_and_atomic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    blocks = [rng.standard_normal((2, 100)).astype(np.float32) * 0.5 for _ in range(5)]
    p = tmp_path / "take.wav"
    with StreamWriter(p, 48000, 2) as w:
        for b in blocks:
            w.write(b)
        assert not p.exists()  # only the temporary file exists until close
    y, sr = sf.read(p, always_2d=True, dtype="float32")
    assert sr == 48000 and w.frames == 500
    np.testing.assert_array_equal(y.T, np.concatenate(blocks, axis=1))
    with pytest.raises(RuntimeError), StreamWriter(tmp_path / "gone.wav", 48000, 1) as w2:
        w2.write(np.zeros((1, 10), np.float32))
        raise RuntimeError("boom")
    assert not (tmp_path / "gone.wav").exists() and not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(AudioError):
        StreamWriter(tmp_path / "x.mp3", 48000, 1)
    with pytest.raises(AudioError):
        StreamWriter(p, 48000, 1, overwrite=False)


def test_missing_portaudio_names_the_apt_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(fake))
    with pytest.raises(MissingDependencyError, match="apt-get install libportaudio2"):
        import_sounddevice()
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MissingDependencyError, match=r"foleyvae\[live\]"):
        import_sounddevice()


def test_a_device_that_never_stops_does_not_hang_stop_and_the_take_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PortAudio's JACK host can block forever in stop() when the server dropped the client (seen after a burst of
    xruns: ``foleyvae live`` never exited). stop() gives up on the device after STOP_TIMEOUT_S and writes the take."""
    import threading

    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.live import audio_io
    from foleyvae.live.audio_io import LiveSession
    from tests.inference.toy import ToyStream

    n, sr = 256, 44100
    monkeypatch.setattr(audio_io, "STOP_TIMEOUT_S", 0.5)
    forever = threading.Event()

    class StuckStream:
        def __init__(self, callback: Any) -> None:
            self.callback = callback

        def start(self) -> None:
            for i in range(20):  # twenty periods of a tone, as a device would deliver them
                t = (i * n + np.arange(n)) / sr
                indata = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
                self.callback(indata, np.empty((n, 1), np.float32), n, None)

        def stop(self) -> None:
            forever.wait()  # never returns (released at the end of the test)

        def close(self) -> None:
            pass

    class StuckBackend:
        name = "stuck"

        def open(self, sample_rate: int, block_size: int, channels: int, i: Any, o: Any, callback: Any) -> StuckStream:
            return StuckStream(callback)

    take = tmp_path / "take.wav"
    session = LiveSession(
        StreamingEngine(ToyStream(sample_rate=sr), n),
        record=take,
        prefill_blocks=1,
        realtime=False,
        backend=StuckBackend(),
        warmup_blocks=0,
    )
    try:
        session.start()
        time.sleep(0.3)  # the worker drains the twenty blocks
        t0 = time.monotonic()
        stats = session.stop()
        waited = time.monotonic() - t0
    finally:
        forever.set()
    assert waited < 5.0 and stats.device_stop_hung
    y, got_sr = sf.read(str(take), dtype="float32")
    assert got_sr == sr and len(y) > 0 and np.abs(y).max() > 0.01  # the take was written, with the tone in it
