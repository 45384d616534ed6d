"""The duplex-backend seam: a LiveSession runs on any backend that opens a stream and calls back with blocks. A
backend made here (no PortAudio, no device) drives the whole live path: the output is the input, delayed by the
prefill, sample for sample.

The made-up device waits, before each period, until the session's output ring is back at its prefill: the test is
of the seam, not of real-time pacing (under a second copy of the suite a 5.8 ms period was once missed: 1 xrun).
Real-time behaviour is measured on JACK (tests/live/test_live_jack.py, benchmarks/soak_live.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from benchmarks.soak_models import HOP, Passthrough

from foleyvae.inference.engine import StreamingEngine
from foleyvae.live.audio_io import LiveSession
from foleyvae.live.backends import DuplexCallback, SoundDeviceBackend


class _Flags:
    input_overflow = input_underflow = output_overflow = output_underflow = priming_output = False

    def __bool__(self) -> bool:
        return False


class _ThreadStream:
    """Calls back once per period with the next block of ``signal``, once ``ready()`` holds (at most 10 s later);
    keeps the output."""

    def __init__(self, signal: np.ndarray, block: int, callback: DuplexCallback, period_s: float,
                 ready: Callable[[], bool]) -> None:  # fmt: skip
        self.signal, self.block, self.callback, self.period_s, self.ready = signal, block, callback, period_s, ready
        self.out: list[np.ndarray] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        flags = _Flags()
        for i in range(len(self.signal) // self.block):
            if self._stop.is_set():
                return
            indata = self.signal[i * self.block : (i + 1) * self.block, None].copy()
            outdata = np.empty_like(indata)
            deadline = time.monotonic() + 10.0
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.001)
            self.callback(indata, outdata, self.block, flags)
            self.out.append(outdata[:, 0].copy())
            time.sleep(self.period_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.join(timeout=30)
        self._stop.set()

    def close(self) -> None:
        pass


class _TestBackend:
    name = "test"

    def __init__(self, signal: np.ndarray) -> None:
        self.signal = signal
        self.stream: _ThreadStream | None = None
        self.ready: Callable[[], bool] = lambda: True

    def open(self, sample_rate: int, block_size: int, channels: int, input_device: Any, output_device: Any,
             callback: DuplexCallback) -> _ThreadStream:  # fmt: skip
        assert channels == 1 and input_device is None and output_device is None
        self.stream = _ThreadStream(self.signal, block_size, callback, block_size / sample_rate, self.ready)
        return self.stream


def test_a_session_runs_on_any_duplex_backend() -> None:
    rng = np.random.default_rng(0)
    signal = (0.3 * rng.standard_normal(HOP * 60)).astype(np.float32)
    backend = _TestBackend(signal)
    engine = StreamingEngine(Passthrough(), HOP)
    engine.controls.set_limiter(False)  # the output is then exactly the input
    session = LiveSession(engine, prefill_blocks=2, realtime=False, gc_freeze=False, backend=backend, device_block=HOP)
    backend.ready = lambda: len(session.out_ring) >= session.prefill_blocks  # the worker has answered every period
    session.start()
    assert backend.stream is not None
    backend.stream._thread.join(timeout=30)
    stats = session.stop()
    out = np.concatenate(backend.stream.out)
    delay = 2 * HOP + engine.latency_samples  # the prefill, then the engine's own latency (0 here)
    assert stats.callbacks == 60 and stats.xruns == 0, stats
    np.testing.assert_allclose(out[delay:], signal[: len(out) - delay], atol=1e-6)
    assert np.all(out[:delay] == 0.0)
    assert SoundDeviceBackend.name == "sounddevice" and session.backend is backend
