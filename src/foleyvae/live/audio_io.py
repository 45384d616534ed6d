"""Live audio: a sounddevice (PortAudio) duplex stream around a :class:`StreamingEngine`.

Threads and buffers (all preallocated before the stream starts)::

    PortAudio callback --in_ring--> worker (engine.process) --out_ring--> PortAudio callback
                                       \\--rec_ring (dry, take)--> writer thread (audio.io.StreamWriter)

The worker's ``engine.process`` runs the model in this process (a :class:`StreamingEngine`) or hands the block to
the model's own process (:class:`~foleyvae.live.engine_process.EngineProcess`, what ``foleyvae live`` uses): then
nothing the model does (loading, a swap, freeing it) holds this interpreter's lock, which the callback needs.

The callback only copies one block into ``in_ring``, one block out of ``out_ring`` (silence when it is empty) and
counts: callback status flags (PortAudio's input overflow / output underflow), ring overruns (a ring full when
pushing) and underruns (``out_ring`` empty when the device wants a block). ``out_ring`` starts with
``prefill_blocks`` blocks of silence: the worker's margin, which adds ``prefill_blocks * block`` to the
round-trip latency. After an underrun (the period played silence) the late blocks play on, a period later; after
``latency_recover_s`` without another, the callback splices one block out per period (a one-period crossfade
into the next block) until the latency is back at the prefill; else it would grow a block per underrun. The
recorded take is delay-compensated (the engine's ``latency_samples`` are dropped, and zeros are pushed through
the engine at the end to flush its tail), so ``take[t]`` lines up with ``dry[t]``.

That block mode needs the device period to be the engine block at the model's rate. Otherwise (the default now:
PortAudio picks its period, ``device_block=0``, because a fixed size costs one more block on JACK; a device rate
other than the model's; or ``prefill_blocks=0``) the session runs in the sample mode of :mod:`.adapter`: sample
FIFOs, resampling (:mod:`.resample`) and re-blocking around the same engine, in the callback itself when
``prefill_blocks`` is 0 (one engine thread, no margin, the lowest latency) or in the worker otherwise.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from foleyvae.audio.io import StreamWriter
from foleyvae.errors import FoleyError, first_line
from foleyvae.inference.control_spec import CONTROLS, control
from foleyvae.inference.controls import ControlError, Controls
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.takes import TakeAligner
from foleyvae.live.adapter import DeviceAdapter
from foleyvae.live.backends import DuplexBackend, SoundDeviceBackend, import_sounddevice, list_devices
from foleyvae.live.realtime import RT_PRIORITY_CALLBACK, RT_PRIORITY_WORKER, promote_thread

if TYPE_CHECKING:
    from foleyvae.live.engine_process import EngineProcess

__all__ = [
    "BlockRing",
    "LiveSession",
    "LiveStats",
    "apply_command",
    "import_sounddevice",
    "list_devices",
]


def _p99(times: np.ndarray, n: int) -> float:
    """99th percentile of the first ``min(n, size)`` entries of a timing ring (0 when empty)."""
    m = min(n, times.size)
    return float(np.percentile(times[:m], 99)) if m else 0.0


class BlockRing:
    """Single-producer single-consumer ring of ``[C, n]`` float32 blocks, preallocated.

    Indices are plain ints written by one side each (atomic under the GIL), so the audio callback never waits on
    a lock. ``push``/``pop`` return False (and count) when the ring is full/empty.
    """

    def __init__(self, slots: int, channels: int, block: int, prefill: int = 0) -> None:
        self.buf = np.zeros((slots, channels, block), np.float32)
        self.slots = slots
        self.w = prefill  # total blocks written (the prefill counts as written silence)
        self.r = 0  # total blocks read
        self.overruns = 0
        self.underruns = 0

    def __len__(self) -> int:
        return self.w - self.r

    def push(self, block: np.ndarray) -> bool:
        """Copy ``block`` ``[C, n]`` (or a transposed ``[n, C]`` view's ``.T``) in."""
        if self.w - self.r >= self.slots:
            self.overruns += 1
            return False
        np.copyto(self.buf[self.w % self.slots], block)
        self.w += 1
        return True

    def pop(self, out: np.ndarray) -> bool:
        """Copy the oldest block into ``out`` ``[C, n]``."""
        if self.w == self.r:
            self.underruns += 1
            return False
        np.copyto(out, self.buf[self.r % self.slots])
        self.r += 1
        return True


@dataclass
class LiveStats:
    """What a live session counts (``xruns`` is the sum of every kind of glitch)."""

    callbacks: int = 0
    status_events: int = 0  # callbacks flagged with any over/underflow (one device xrun sets several flags)
    status_input_overflow: int = 0
    status_input_underflow: int = 0
    status_output_overflow: int = 0
    status_output_underflow: int = 0
    status_priming: int = 0
    in_overruns: int = 0
    out_underruns: int = 0
    out_overruns: int = 0
    record_overruns: int = 0
    late_blocks_dropped: int = 0  # output blocks spliced out after underruns, to bring the latency back
    first_status_callback: int = -1  # callback index of the first/last flagged status (diagnostics)
    last_status_callback: int = -1
    realtime_callback: bool = False  # SCHED_FIFO granted to the device callback / engine worker thread
    realtime_worker: bool = False
    engine: dict[str, Any] = field(default_factory=dict)
    adapter: dict[str, Any] = field(default_factory=dict)  # the sample mode's counters (live.adapter.AdapterStats)
    block_ms_p99: float = 0.0  # 99th percentile of the engine's time per block
    callback_ms_p99: float = 0.0  # ... of the device callback's time (sample mode: resampling and, prefill 0, engine)
    device_stop_hung: bool = False  # the device stream did not stop within STOP_TIMEOUT_S (left behind, take kept)

    @property
    def xruns(self) -> int:
        """Glitch events: device xruns (a flagged callback counts once, whatever flags it carries) plus our own
        ring overruns/underruns (the worker fell behind or the device sent an unexpected block size)."""
        return self.status_events + self.in_overruns + self.out_underruns + self.out_overruns

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        d["xruns"] = self.xruns
        return d


STOP_TIMEOUT_S = 5.0  # how long stop() waits for the device stream to stop before going on without it

# live's stdin keys for the scalar controls, from the spec (b<dim>= and s<dim>= address the per-dim controls)
STDIN_KEYS = {c.key: c.name for c in CONTROLS if c.key is not None and c.kind != "dims"}


def apply_command(controls: Controls, line: str, steer: Callable[[str], np.ndarray] | None = None) -> str:
    """Apply one interactive command to ``controls``; returns a short message (``"quit"`` for ``q``).

    Commands: ``b0=1.5`` (bias of PCA dim 0), ``s2=0.5`` (scale), ``t=0.3`` (temperature), ``w=0.5`` (dry/wet),
    ``g=-6`` (input gain dB), ``f=1`` / ``f=0`` (freeze), ``l=1`` / ``l=0`` (limiter), ``m=wood`` or
    ``m=wood:0.6,metal:0.4`` (material, resolved by ``steer``; ``m=off``), ``a=0.5`` (material amount), ``r``
    (neutral latent controls), ``q`` (quit). Errors are returned as messages, never raised.
    """
    s = line.strip().replace(" ", "")
    if not s:
        return ""
    if s in ("q", "quit", "exit"):
        return "quit"
    if s == "r":
        controls.clear()
        return "latent controls reset"
    if s.startswith("m="):
        return _material_command(controls, s[2:], steer)
    try:
        key, value = s.split("=", 1)
        v = float(value)
        if key[:1] in ("b", "s") and key[1:].isdigit():  # the spec's per-dim keys: b<dim>=, s<dim>=
            (controls.set_bias if key[0] == "b" else controls.set_scale)(int(key[1:]), v)
        elif key in STDIN_KEYS:
            controls.set(STDIN_KEYS[key], v != 0.0 if control(STDIN_KEYS[key]).kind == "bool" else v)
        else:
            keys = ", ".join(f"{k}=" for k in STDIN_KEYS)
            return f"unknown command {line.strip()!r} (b<dim>=, s<dim>=, {keys}, m=, r, q)"
    except ControlError as e:
        return f"error: {e}"
    except ValueError:
        return f"cannot parse {line.strip()!r}: expected KEY=NUMBER, e.g. b0=1.5"
    return f"{key} = {v:g}"


def _material_command(controls: Controls, spec: str, steer: Callable[[str], np.ndarray] | None) -> str:
    """``m=SPEC``: steer toward a material name or blend at the current amount (1 when off); ``m=off`` stops."""
    if spec in ("off", "0", ""):
        controls.clear_towards()
        return "material off"
    if steer is None:
        return "error: this session has no material table"
    try:
        controls.towards(steer(spec), controls.towards_amount or 1.0)
    except FoleyError as e:
        return f"error: {e}"
    return f"material {spec} (amount {controls.towards_amount:g})"


class LiveSession:
    """Run ``engine`` on a duplex audio stream, optionally recording the take and the dry input.

    Args:
        engine: a StreamingEngine (the model runs in this process's worker thread) or an EngineProcess (the worker
            thread hands each block to the model's own process); its block size is the device block size, its
            sample rate the stream's.
        input_device / output_device: sounddevice device ids or names (None: the default devices).
        record: path of the take (.wav/.flac); the dry input goes beside it as ``<stem>.dry<suffix>``.
        dry_record: where the dry input goes instead (with ``record``).
        prefill_blocks: silent blocks queued before the first output (the worker's margin).
        ring_blocks: slots of the input/output rings; the recording ring holds about 4 s.
        latency_recover_s: after a dropout the late blocks play on (the margin they add absorbs the next hiccups
            of a bad spell); once this long passes without one, the callback splices out the extra blocks, one
            per period, until the monitor latency is back at the prefill.
        warmup_blocks: engine calls before the stream opens (first calls allocate and pick kernels).
        jit_optimize: keep TorchScript's graph optimiser on while live (off: no compile stalls on first calls).
        gc_freeze: freeze the garbage collector's view of the objects alive at start (no 35-70 ms full collections).
        backend: the duplex audio backend (``live.backends``; default sounddevice/PortAudio).
        realtime: ask for SCHED_FIFO on the callback and worker threads (``realtime.promote_thread``); ``stats`` says
            whether it was granted.
    """

    def __init__(
        self,
        engine: StreamingEngine | EngineProcess,
        input_device: int | str | None = None,
        output_device: int | str | None = None,
        record: str | Path | None = None,
        prefill_blocks: int = 2,
        ring_blocks: int = 16,
        latency_recover_s: float = 2.0,
        warmup_blocks: int = 16,
        jit_optimize: bool = False,
        gc_freeze: bool = True,
        realtime: bool = True,
        backend: DuplexBackend | None = None,
        device_rate: int | None = None,
        device_block: int = 0,
        resampler: str = "fir",
        settle_s: float = 0.5,
        monitor: Callable[[np.ndarray, np.ndarray], None] | None = None,
        dry_record: str | Path | None = None,
    ) -> None:
        self.engine = engine
        # the device: its rate (None: the model's; another rate is resampled in the path) and the block size asked of
        # PortAudio (0: the host's own period; on JACK a fixed size costs one more block of latency, see live.adapter)
        self.device_rate = int(device_rate) if device_rate else int(engine.sample_rate)
        self.device_block = int(device_block)
        self.resampler = resampler
        self.monitor = monitor  # called with (x, y) [C, n] after each engine block, in the engine's thread
        self._mode: str | None = None  # "block" (device period == engine block, same rate, prefill > 0) or "sample"
        self._take = TakeAligner(int(engine.latency_samples))  # the take lines up with the dry input
        self.block_times = np.zeros(1 << 16, np.float64)  # seconds per engine block (a ring; p99 in stats)
        self.callback_times = np.zeros(1 << 16, np.float64)  # seconds per device callback in the sample mode
        self._n_block_times = 0
        self._n_callback_times = 0
        self.backend: DuplexBackend = backend if backend is not None else SoundDeviceBackend()
        self.gc_freeze = bool(gc_freeze)  # True: objects alive at start() leave the collector's view (see start)
        self._gc_frozen = False
        self.realtime = bool(realtime)  # ask for SCHED_FIFO on the callback and worker threads (see promote_thread)
        self._rt_asked = False
        self.jit_optimize = bool(jit_optimize)  # False: TorchScript graphs run unoptimised while live (see start)
        self._jit_optimize: bool | None = None
        self.warmup_blocks = int(warmup_blocks)
        self.switch_interval_s = 0.0005
        self._switch_interval: float | None = None
        self.input_device = input_device
        self.output_device = output_device
        self.record = Path(record) if record is not None else None
        self.dry_path = self.record.with_name(self.record.stem + ".dry" + self.record.suffix) if self.record else None
        if self.record is not None and dry_record is not None:
            self.dry_path = Path(dry_record)
        c, n = engine.channels, engine.block_size
        self.prefill_blocks = int(prefill_blocks)
        self.in_ring = BlockRing(ring_blocks, c, n)
        self.out_ring = BlockRing(ring_blocks, c, n, prefill=self.prefill_blocks)
        rec_slots = max(8, int(4 * engine.sample_rate / n))
        self.rec_ring = BlockRing(rec_slots, 2 * c, n)  # rows 0..c-1 dry, c..2c-1 take
        self._rec_lens = np.zeros((rec_slots, 2), np.int64)  # valid (dry, take) samples of each slot
        self.stats = LiveStats()
        self._block = np.zeros((c, n), np.float32)
        self._rec = np.zeros((2 * c, n), np.float32)
        self._cb_out = np.zeros((c, n), np.float32)
        self._cb_next = np.zeros((c, n), np.float32)
        self._splice_ramp = ((np.arange(n, dtype=np.float32) + 1.0) / n)[None, :]  # [1, n]: 1/n .. 1
        self._recover_blocks = max(0, round(float(latency_recover_s) * engine.sample_rate / n))
        self._last_underrun = -(1 << 62)  # callback index of the last period that found no block
        self._wake = threading.Event()
        self._rec_wake = threading.Event()
        self._stop = threading.Event()
        self._worker_done = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stream: Any = None
        self._error: BaseException | None = None
        # the sample mode (any period, any device rate); prefill 0 runs the engine in the device callback
        pre = round(self.prefill_blocks * n * self.device_rate / engine.sample_rate)
        self.adapter = DeviceAdapter(
            self._run_block, c, n, engine.sample_rate, self.device_rate, pre, resampler, settle_s, latency_recover_s
        )

    # ------------------------------------------------------------------------------------------ latency
    def latency(self) -> dict[str, Any]:
        """Latency budget in samples and ms (ARCHITECTURE.md section 4); device latency once the stream runs."""
        lat = self.engine.latency()
        sr = self.engine.sample_rate
        d: dict[str, Any] = dict(lat.as_dict())
        d["ring_prefill_samples"] = self.prefill_blocks * self.engine.block_size
        dev_in = dev_out = 0.0
        if self._stream is not None:
            with contextlib.suppress(Exception):
                dev_in, dev_out = (float(v) for v in self._stream.latency)
        d["device_input_ms"] = 1000.0 * dev_in
        d["device_output_ms"] = 1000.0 * dev_out
        total = lat.io_samples + d["ring_prefill_samples"]
        d["round_trip_ms"] = 1000.0 * total / sr + 1000.0 * (dev_in + dev_out)
        d["device_rate"] = self.device_rate
        d["mode"] = self._mode or ("sample" if self._needs_sample_mode(self.device_block) else "block")
        if d["mode"] == "sample":  # in device samples: the resamplers, the model, the settled FIFO
            a = self.adapter
            d["resampler_delay_samples"] = a.resampler_delay_samples
            d["settle_samples"] = a.stats.settle_samples + a.stats.underrun_samples - a.stats.dropped_samples
            model = lat.samples * self.device_rate / sr
            d["round_trip_ms"] = 1000.0 * (
                (a.prefill + model + a.resampler_delay_samples + max(0, d["settle_samples"])) / self.device_rate
            ) + 1000.0 * (dev_in + dev_out)
        return d

    def _needs_sample_mode(self, frames: int) -> bool:
        """The sample mode unless the device period is the engine block, at its rate, with a worker margin."""
        eng = self.engine
        return frames != eng.block_size or self.device_rate != eng.sample_rate or self.prefill_blocks == 0

    def _run_block(self, x: np.ndarray) -> np.ndarray:
        """One engine block ``[C, n]`` -> output ``[C, n]``: timed, monitored, recorded (in the engine's thread)."""
        t0 = time.perf_counter()
        y = self.engine.process(x)
        self.block_times[self._n_block_times % self.block_times.size] = time.perf_counter() - t0
        self._n_block_times += 1
        if self.monitor is not None:
            self.monitor(x, y)
        if self.record is not None:
            self._record(x, y)
        return y

    def _sample_callback(self, indata: np.ndarray, outdata: np.ndarray) -> None:
        t0 = time.perf_counter()
        a = self.adapter
        a.push_input(indata)
        if self.prefill_blocks == 0:
            a.pump()  # the engine runs here, on the device thread
        else:
            self._wake.set()
        a.pull_output(outdata)
        self.callback_times[self._n_callback_times % self.callback_times.size] = time.perf_counter() - t0
        self._n_callback_times += 1

    # ------------------------------------------------------------------------------------------ threads
    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, status: Any) -> None:
        st = self.stats
        st.callbacks += 1
        if not self._rt_asked:  # the first callback runs in the device's thread: one syscall, once
            self._rt_asked = True
            st.realtime_callback = self.realtime and promote_thread(RT_PRIORITY_CALLBACK)
        if status:
            if st.first_status_callback < 0:
                st.first_status_callback = st.callbacks
            st.last_status_callback = st.callbacks
            st.status_events += int(
                bool(
                    status.input_overflow or status.input_underflow or status.output_overflow or status.output_underflow
                )
            )
            st.status_input_overflow += int(bool(status.input_overflow))
            st.status_input_underflow += int(bool(status.input_underflow))
            st.status_output_overflow += int(bool(status.output_overflow))
            st.status_output_underflow += int(bool(status.output_underflow))
            st.status_priming += int(bool(status.priming_output))
        if self._mode is None:
            self._mode = "sample" if self._needs_sample_mode(frames) else "block"
        if self._mode == "sample":
            self._sample_callback(indata, outdata)
            return
        if frames != self.engine.block_size:  # the period changed under the block mode: drop it, never raise here
            outdata.fill(0.0)
            self.in_ring.overruns += 1  # a dropped input block (stop() copies the rings' counts into stats)
            return
        # Until this callback's input is pushed the worker has answered at most the earlier callbacks, so the ring
        # holds more than prefill blocks only after an underrun: that period played silence and the late block
        # still waits. Left alone, it and every later block would sound a period later for the rest of the
        # session (one more per underrun, up to the ring's size); once calm, one block is spliced out per period.
        extra = len(self.out_ring) - self.prefill_blocks
        calm = st.callbacks - self._last_underrun > self._recover_blocks
        self.in_ring.push(indata.T)
        a, b = self._cb_out, self._cb_next
        if extra > 0 and calm and len(self.out_ring) >= 2:  # only this thread pops: both pops succeed
            self.out_ring.pop(a)
            self.out_ring.pop(b)
            np.subtract(b, a, out=b)  # crossfade from the late block a into the next one b over the period
            np.multiply(b, self._splice_ramp, out=b)
            np.add(a, b, out=a)
            np.copyto(outdata, a.T)
            st.late_blocks_dropped += 1
        elif self.out_ring.pop(a):
            np.copyto(outdata, a.T)
        else:
            outdata.fill(0.0)
            self._last_underrun = st.callbacks
        self._wake.set()

    def _worker(self) -> None:
        eng = self.engine
        n, c = eng.block_size, eng.channels
        recording = self.record is not None  # (the take's alignment is self._take, kept by _run_block)
        if self.realtime:
            self.stats.realtime_worker = promote_thread(RT_PRIORITY_WORKER)
        try:
            while not self._stop.is_set():
                if self._mode == "sample":
                    if self.prefill_blocks > 0:  # else the callback pumps
                        self.adapter.pump()
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                if len(self.in_ring) == 0:  # idle until the callback brings a block
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                self.in_ring.pop(self._block)
                self.out_ring.push(self._run_block(self._block))
            if recording:  # flush the engine's delay (zeros through it) so the take is as long as the dry input
                for tail in self._take.flush(eng.process, np.zeros((c, n), np.float32)):
                    self._rec[:] = 0.0
                    self._rec[c:, : tail.shape[1]] = tail
                    self._push_rec_blocking(self._rec, dry_len=0, take_len=tail.shape[1])
        except BaseException as e:  # pragma: no cover - surfaced by stop()
            self._error = e
        finally:
            self._worker_done.set()
            self._rec_wake.set()

    def _record(self, dry: np.ndarray, y: np.ndarray) -> None:
        """One block's dry input and the take's part of its output (``self._take`` says which) -> rec_ring."""
        c, n = self.engine.channels, self.engine.block_size
        self._rec[:c] = dry
        self._take.add_dry(n)
        a, b = self._take.wet_span(n)
        self._rec[c:] = 0.0
        self._rec[c:, : b - a] = y[:, a:b]  # the take's samples go at the start of the row
        self._push_rec(self._rec, dry_len=n, take_len=b - a)

    def _push_rec(self, block: np.ndarray, dry_len: int, take_len: int) -> None:
        # valid lengths of the dry and take rows ride beside the block (the take starts latency samples late)
        ring = self.rec_ring
        if len(ring) < ring.slots:
            self._rec_lens[ring.w % ring.slots] = (dry_len, take_len)
        if not ring.push(block):
            self.stats.record_overruns += 1
        self._rec_wake.set()

    def _push_rec_blocking(self, block: np.ndarray, dry_len: int, take_len: int) -> None:
        while len(self.rec_ring) >= self.rec_ring.slots:
            time.sleep(0.005)
        self._push_rec(block, dry_len, take_len)

    def _writer(self) -> None:
        assert self.record is not None and self.dry_path is not None
        c, n, sr = self.engine.channels, self.engine.block_size, self.engine.sample_rate
        buf = np.zeros((2 * c, n), np.float32)
        try:
            with StreamWriter(self.record, sr, c) as take_w, StreamWriter(self.dry_path, sr, c) as dry_w:
                while True:
                    if len(self.rec_ring):
                        dry_len, take_len = (int(v) for v in self._rec_lens[self.rec_ring.r % self.rec_ring.slots])
                        self.rec_ring.pop(buf)
                        if dry_len:
                            dry_w.write(buf[:c, :dry_len])
                        if take_len:
                            take_w.write(buf[c:, :take_len])
                        continue
                    if self._worker_done.is_set() and len(self.rec_ring) == 0:
                        break
                    self._rec_wake.wait(0.05)
                    self._rec_wake.clear()
                # pad/trim the take to the dry length (the flush can overshoot by less than a block)
                missing = dry_w.frames - take_w.frames
                if missing > 0:
                    take_w.write(np.zeros((c, missing), np.float32))
        except BaseException as e:  # pragma: no cover - surfaced by stop()
            self._error = e

    # ------------------------------------------------------------------------------------------ control
    def start(self) -> None:
        """Open the device stream (through ``self.backend``) and start the worker (and writer) threads."""
        eng = self.engine
        # TorchScript's graph optimiser compiles a graph on its first calls (216 + 145 ms measured for foley-small)
        # while holding the GIL, which the device callback needs: a model swap then glitches. Unoptimised graphs run
        # at once (first call ~20 ms) and were not slower in the 3-minute soak (2.78 vs 3.05 ms per 256-sample
        # block, 18 vs 48 xrun events). Process-wide torch switch: restored in stop(), like the switch interval.
        if not self.jit_optimize:
            import torch

            self._jit_optimize = bool(torch._C._get_graph_executor_optimize())
            torch._C._set_graph_executor_optimize(False)
        # warm up (first torch calls allocate and pick kernels: tens of ms), then start from a clean stream
        warm = np.zeros((eng.channels, eng.block_size), np.float32)
        for _ in range(max(4, self.warmup_blocks)):
            eng.process(warm)
        eng.reset()
        eng.reset_stats()
        # A full (gen-2) collection walks every tracked object: ~170k once torch and a model are loaded, 35-70 ms
        # measured here, holding the GIL the device callback needs (6-12 periods of 256 samples). Freezing what
        # exists now leaves the collector only the objects made while live; unfrozen again in stop().
        if self.gc_freeze:
            gc.collect()
            gc.freeze()
            self._gc_frozen = True
        # the callback needs the GIL within one period; Python's default switch interval (5 ms) is about a whole
        # 256-sample period, so the worker thread could hold the callback past its deadline. Restored in stop().
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, self.switch_interval_s))
        try:
            self._stream = self.backend.open(
                self.device_rate, self.device_block, eng.channels, self.input_device, self.output_device, self._callback
            )
        except Exception as e:
            self._restore_process_state()
            raise FoleyError(f"cannot open the audio device: {first_line(e)} (see --list-devices)") from None
        self._threads = [threading.Thread(target=self._worker, name="foleyvae-engine", daemon=True)]
        if self.record is not None:
            self._threads.append(threading.Thread(target=self._writer, name="foleyvae-writer", daemon=True))
        for t in self._threads:
            t.start()
        self._stream.start()

    def _restore_process_state(self) -> None:
        """Undo start()'s process-wide settings: switch interval, frozen collector, TorchScript optimiser."""
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False
        if self._jit_optimize is not None:
            import torch

            torch._C._set_graph_executor_optimize(self._jit_optimize)
            self._jit_optimize = None

    def _stop_stream(self, stream: Any) -> None:
        """Stop and close the device stream, giving up after STOP_TIMEOUT_S: PortAudio's JACK host can wait forever
        for a server that dropped this client (seen after a burst of xruns), and the take must still be written."""

        def halt() -> None:
            with contextlib.suppress(Exception):
                stream.stop()
            with contextlib.suppress(Exception):
                stream.close()

        t = threading.Thread(target=halt, name="foleyvae-stream-stop", daemon=True)
        t.start()
        t.join(STOP_TIMEOUT_S)
        if t.is_alive():
            self.stats.device_stop_hung = True
            print(
                f"foleyvae live: the audio device did not stop within {STOP_TIMEOUT_S:.0f} s (a JACK server that "
                "dropped this client?); the recording is kept",
                file=sys.stderr,
            )

    def stop(self) -> LiveStats:
        """Stop the stream, flush the recording, join the threads; returns the final stats."""
        if self._stream is not None:
            self._stop_stream(self._stream)
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=30.0)
        self._restore_process_state()
        st = self.stats
        st.in_overruns = self.in_ring.overruns
        st.out_overruns = self.out_ring.overruns
        # the output ring runs dry only if the worker fell behind; count it (the prefill covers the start)
        st.out_underruns = self.out_ring.underruns
        a = self.adapter.stats
        st.out_underruns += a.underruns
        st.in_overruns += a.overruns
        st.adapter = dict(a.__dict__)
        st.block_ms_p99 = 1000.0 * _p99(self.block_times, self._n_block_times)
        st.callback_ms_p99 = 1000.0 * _p99(self.callback_times, self._n_callback_times)
        e = self.engine.stats
        st.engine = {
            "blocks": e.blocks,
            "nan_blocks": e.nan_blocks,
            "max_process_ms": 1000.0 * e.max_process_s,
            "mean_process_ms": 1000.0 * e.mean_process_s,
        }
        if self._error is not None:
            raise FoleyError(f"live session failed: {self._error}") from self._error
        return st

    def run(self, seconds: float | None = None, stop_event: threading.Event | None = None) -> LiveStats:
        """start(), wait ``seconds`` (or until ``stop_event``), stop()."""
        self.start()
        try:
            deadline = None if seconds is None else time.monotonic() + seconds
            while deadline is None or time.monotonic() < deadline:
                if stop_event is not None and stop_event.is_set():
                    break
                time.sleep(0.02)
        finally:
            stats = self.stop()
        return stats
