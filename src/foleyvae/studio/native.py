"""The studio's native audio route: the open model on a local audio device (PortAudio: JACK, ALSA, CoreAudio...).

The page stays the control surface and the display; the audio never crosses the browser::

    device --PortAudio--> LiveSession (live.audio_io: re-blocking, resampling, the engine) --> device
                                      \\--monitor(x, y)--> NativeMeter --GET /api/native/status--> page meters
                                      \\--take (``record``: wet lined up with dry)--> the session's takes/

The engine is a :class:`~foleyvae.inference.engine.StreamingEngine` on its own instance of the open model (the
page's browser stream and offline renders keep theirs). By default it runs in its own process
(:class:`~foleyvae.live.engine_process.EngineProcess`, as in ``foleyvae live``): the device callback (``prefill``
0, lowest latency) or the session's worker hands it each block through shared memory, so the server's own Python
work never holds the interpreter lock the callback needs; ``engine: "thread"`` runs it here instead. Control
messages are validated by the same spec as the browser route's (``security.validate_controls``) and applied by the
same ``session.apply_controls``.
"""

from __future__ import annotations

import contextlib
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.errors import FoleyError
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.mixing import material_table
from foleyvae.live.audio_io import LiveSession
from foleyvae.live.backends import import_sounddevice
from foleyvae.live.engine_process import EngineProcess
from foleyvae.studio.security import SecurityError, validate_controls
from foleyvae.studio.session import apply_controls, latent_std
from foleyvae.studio.state import Studio

__all__ = ["NativeMeter", "NativeOptions", "NativeRoute", "list_audio_devices"]

WAVE_POINTS = 512  # engine blocks kept for the page's waveform (min/max per block)
SPEC_FFT, SPEC_HOP = 1024, 512  # the spectrogram's frame and hop (23 / 12 ms at 44.1 kHz)
SPEC_BANDS = 64  # log-spaced bands per column
SPEC_RING = 1 << 15  # output samples kept for it between two polls (0.74 s at 44.1 kHz; the page polls each 100 ms)
SPEC_MAX_COLUMNS = 64  # columns one poll returns at most (a late poll skips the oldest)
SPEC_FLOOR_DB = -100.0  # 0 in a column's bytes; 255 is 0 dBFS
MAX_BLOCK = 8192
DEVICE_RATES = (32000, 44100, 48000, 88200, 96000)


class NativeMeter:
    """Levels, a min/max waveform and a spectrogram of the input and output, per engine block.

    ``monitor`` runs in the engine's thread (the device callback at prefill 0): a few numpy reductions of the block
    and a copy of the output into a sample ring, nothing more. The page polls :meth:`snapshot`, which turns the output
    samples that came since the last poll into spectrogram columns (the FFTs run in the poll's thread, not the
    audio thread).
    """

    def __init__(self, points: int = WAVE_POINTS, sample_rate: int = 44100) -> None:
        self.wave = np.zeros((4, points), np.float32)  # in min, in max, out min, out max
        self.n = 0
        self.peak = np.zeros(2, np.float64)  # since the last snapshot: in, out
        self.sq = np.zeros(2, np.float64)  # sum of squares since the last snapshot
        self.count = 0
        self.sample_rate = int(sample_rate)
        self.ring = np.zeros(SPEC_RING, np.float32)  # the output's first channel, the last SPEC_RING samples
        self.written = 0  # samples ever written to the ring
        self.read = 0  # samples already turned into columns
        self.window = np.hanning(SPEC_FFT).astype(np.float32)
        self.bands = spectrogram_bands(self.sample_rate)
        self.band_hz = [round(float(f), 1) for f in self.bands[:-1] * self.sample_rate / SPEC_FFT]  # for the page

    def monitor(self, x: np.ndarray, y: np.ndarray) -> None:
        """One block ``x``/``y`` ``[C, n]`` (the engine's input and output)."""
        i = self.n % self.wave.shape[1]
        self.wave[0, i], self.wave[1, i] = x.min(), x.max()
        self.wave[2, i], self.wave[3, i] = y.min(), y.max()
        self.peak[0] = max(self.peak[0], float(abs(self.wave[0, i])), float(self.wave[1, i]))
        self.peak[1] = max(self.peak[1], float(abs(self.wave[2, i])), float(self.wave[3, i]))
        self.sq[0] += float(np.vdot(x, x))
        self.sq[1] += float(np.vdot(y, y))
        self.count += x.size
        self.n += 1
        n, w = y.shape[1], self.written % SPEC_RING
        first = min(n, SPEC_RING - w)
        self.ring[w : w + first] = y[0, :first]
        self.ring[: n - first] = y[0, first:]
        self.written += n  # (one int store: the poll reads it after the samples are in)

    def spectrogram(self) -> list[list[int]]:
        """Columns for the output samples since the last call (at most the ring's worth): ``SPEC_BANDS``
        log-spaced bands per ``SPEC_HOP`` samples, in dB mapped to 0..255 (``SPEC_FLOOR_DB`` .. 0 dBFS)."""
        end = self.written
        start = max(self.read, end - SPEC_RING + SPEC_FFT)
        cols: list[list[int]] = []
        while start + SPEC_FFT <= end:
            idx = np.arange(start, start + SPEC_FFT) % SPEC_RING
            mag = np.abs(np.fft.rfft(self.ring[idx] * self.window)) * (2.0 / self.window.sum())
            power = np.add.reduceat(mag.astype(np.float64) ** 2, self.bands[:-1]) / np.diff(self.bands)
            db = 10.0 * np.log10(np.maximum(power, 1e-12))
            cols.append(np.clip(np.round((db - SPEC_FLOOR_DB) * 255.0 / -SPEC_FLOOR_DB), 0, 255).astype(int).tolist())
            start += SPEC_HOP
        self.read = start
        return cols[-SPEC_MAX_COLUMNS:]

    def snapshot(self) -> dict[str, Any]:
        """Levels since the last call (rms, peak), the waveform (oldest first) and new spectrogram columns."""
        k = self.wave.shape[1]
        order = np.arange(self.n, self.n + k) % k if self.n >= k else np.arange(self.n)
        w = np.round(self.wave[:, order].astype(np.float64), 4)
        c = max(1, self.count)
        out = {
            "in_rms": round(float(np.sqrt(self.sq[0] / c)), 6),
            "out_rms": round(float(np.sqrt(self.sq[1] / c)), 6),
            "in_peak": round(float(self.peak[0]), 6),
            "out_peak": round(float(self.peak[1]), 6),
            "blocks": self.n,
            "wave": {
                "in_min": w[0].tolist(),
                "in_max": w[1].tolist(),
                "out_min": w[2].tolist(),
                "out_max": w[3].tolist(),
            },  # fmt: skip
            "spectrogram": {
                "columns": self.spectrogram(),
                "hop_s": SPEC_HOP / self.sample_rate,
                "band_hz": self.band_hz,
                "floor_db": SPEC_FLOOR_DB,
            },
        }
        self.peak[:] = 0.0
        self.sq[:] = 0.0
        self.count = 0
        return out


def spectrogram_bands(sample_rate: int) -> np.ndarray:
    """FFT-bin edges ``[SPEC_BANDS + 1]`` of log-spaced bands from ~40 Hz to Nyquist (each at least one bin)."""
    top = SPEC_FFT // 2 + 1
    lo = max(1, round(40.0 * SPEC_FFT / sample_rate))
    geom = np.round(np.geomspace(lo, top, SPEC_BANDS + 1)).astype(int)
    edges = [lo]
    for g in geom[1:]:  # the low bands would be narrower than a bin: one bin each until the log spacing is wider
        edges.append(max(edges[-1] + 1, int(g)))
    edges = np.minimum(np.asarray(edges), top)
    return edges[: SPEC_BANDS + 1]


@dataclass(frozen=True)
class NativeOptions:
    """What the page picks: devices (PortAudio ids or names; None: the defaults), engine block (samples at the
    model's rate, >= its hop), prefill (0: the engine in the device callback), device rate (None: the model's)."""

    input_device: int | str | None = None
    output_device: int | str | None = None
    block: int = 256
    prefill: int = 0
    device_rate: int | None = None
    resampler: str = "fir"
    engine: str = "process"  # "process": the model runs in its own process (live.engine_process), else a thread here
    record: bool = False  # a take (wet + dry, lined up) in the session's takes/, listed when the route stops

    @classmethod
    def parse(cls, body: Any, hop: int) -> NativeOptions:
        """The page's JSON -> options; SecurityError (one line) naming the bad field."""
        if not isinstance(body, dict):
            raise SecurityError("expected a JSON object")
        unknown = set(body) - set(cls.__dataclass_fields__)
        if unknown:
            raise SecurityError(f"unknown field {sorted(unknown)[0]!r}")
        block = _int(body.get("block", 256), "block", hop, MAX_BLOCK)
        prefill = _int(body.get("prefill", 0), "prefill", 0, 4)
        rate = body.get("device_rate")
        if rate is not None and _int(rate, "device_rate", 8000, 192000) not in DEVICE_RATES:
            raise SecurityError(f"device_rate must be one of {', '.join(map(str, DEVICE_RATES))}")
        resampler = body.get("resampler", "fir")
        if resampler not in ("fir", "soxr"):
            raise SecurityError("resampler must be 'fir' or 'soxr'")
        dev_in = _device(body.get("input_device"), "input_device")
        dev_out = _device(body.get("output_device"), "output_device")
        record = body.get("record", False)
        if not isinstance(record, bool):
            raise SecurityError("record must be true or false")
        engine = body.get("engine", "process")
        if engine not in ("process", "thread"):
            raise SecurityError("engine must be 'process' or 'thread'")
        return cls(dev_in, dev_out, block, prefill, rate, resampler, engine, record)


def _close(engine: Any) -> None:
    if isinstance(engine, EngineProcess):
        engine.close()


def _int(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise SecurityError(f"{name} must be an integer in {lo}..{hi}")
    return v


def _device(v: Any, name: str) -> int | str | None:
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 4096):
        return v
    if isinstance(v, str) and 0 < len(v) <= 200 and v.isprintable():
        return v
    raise SecurityError(f"{name} must be a device id, a device name or null")


def list_audio_devices(refresh: bool = True) -> list[dict[str, Any]]:
    """PortAudio's devices (``refresh``: re-scan, so a server or interface started since shows up)."""
    sd = import_sounddevice()
    if refresh:
        with contextlib.suppress(sd.PortAudioError):  # not initialised (terminated elsewhere): nothing to end
            sd._terminate()  # sounddevice's documented way to re-scan: re-initialise PortAudio
        sd._initialize()
    apis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        out.append({
            "id": i,
            "name": str(d["name"]),
            "hostapi": str(apis[d["hostapi"]]["name"]),
            "inputs": int(d["max_input_channels"]),
            "outputs": int(d["max_output_channels"]),
            "default_rate": float(d["default_samplerate"]),
        })  # fmt: skip
    return out


class NativeRoute:
    """The native session of one studio: start/stop, controls, status (thread-safe; one session at a time)."""

    def __init__(self, st: Studio) -> None:
        self.st = st
        self._lock = threading.Lock()
        self.session: Any = None  # live.audio_io.LiveSession while running
        self.meter: NativeMeter | None = None
        self.options: NativeOptions | None = None
        self.model_name: str | None = None
        self._std: np.ndarray | None = None
        self._steer: Any = None
        self._labels: list[str] = []
        self.last_stats: dict[str, Any] | None = None
        self.engine_kind = ""  # "process" or "thread ..." (status)
        self.controls: dict[str, Any] = {}  # the controls applied since start (a take's metadata)
        self._take_dir: Path | None = None  # where the running session records its take
        self._take_meta: dict[str, Any] = {}

    def start(self, body: Any, tab_id: str | None = None) -> dict[str, Any]:
        """Open the device with the asking tab's model (``tabs``; a running session is stopped first); blocks while
        the model loads."""
        import torch

        entry = self.st.tab(tab_id).entry
        if entry is None:
            raise SecurityError("no model is open; pick one in the Model panel")
        with self._lock:
            self._stop_locked()
            model = entry.load()  # its own instance: the browser stream and renders keep theirs
            opts = NativeOptions.parse(body, int(model.hop_length))
            torch.set_num_threads(1)  # one engine thread (the process-wide torch pool is not used by the studio's)
            torch.set_flush_denormal(True)
            engine = self._engine(entry.load, model, opts)
            meter = NativeMeter(sample_rate=int(model.sample_rate))
            take_dir = self.st.folder.new_take_dir() if opts.record else None
            wet, dry = (take_dir / "wet.wav", take_dir / "dry.wav") if take_dir else (None, None)
            session = LiveSession(engine, opts.input_device, opts.output_device, prefill_blocks=opts.prefill,
                                  device_rate=opts.device_rate, resampler=opts.resampler, monitor=meter.monitor,
                                  gc_freeze=False, record=wet, dry_record=dry)  # fmt: skip  # gc: the server allocates
            table = material_table(model)
            self._take_dir, self.controls = take_dir, {}
            self._take_meta = {
                "model": str(model.name),
                "model_id": entry.id,
                "block_size": opts.block,
                "aligned_by_samples": int(engine.latency_samples),
                "video_time": 0.0,
                "source": "native",
                "device_rate": opts.device_rate or int(model.sample_rate),
            }
            try:
                session.start()  # FoleyError with a one-line reason when the device refuses
            except BaseException:
                self._adopt_take()  # (removes the empty take folder)
                _close(engine)
                raise
            self.session, self.meter, self.options, self.model_name = session, meter, opts, str(model.name)
            self._std, self._steer, self._labels = latent_std(model), table.steer, sorted(table.choices())
            return self._status_locked()

    def stop(self) -> dict[str, Any]:
        with self._lock:
            self._stop_locked()
            return self._status_locked()

    def _stop_locked(self) -> None:
        if self.session is None:
            return
        session, self.session = self.session, None
        try:
            stats = session.stop()
            self.last_stats = {**stats.as_dict(), "latency": session.latency(), "engine": self.engine_kind}
        except FoleyError as e:
            self.last_stats = {"error": str(e)}
        finally:
            _close(session.engine)
        take = self._adopt_take()
        if take is not None:
            self.last_stats["take"] = take

    def _adopt_take(self) -> dict[str, Any] | None:
        """The take the stopped session wrote (already lined up by live's aligner) -> the studio's takes list."""
        d, self._take_dir = self._take_dir, None
        if d is None:
            return None
        try:
            return self.st.folder.adopt_take(d, {**self._take_meta, "controls": dict(self.controls)})
        except FoleyError as e:
            if self.last_stats is not None:
                self.last_stats["take_error"] = str(e)
            return None

    def _engine(self, load: Any, model: Any, opts: NativeOptions) -> StreamingEngine | EngineProcess:
        """The engine: the model in its own process (what ``foleyvae live`` does: nothing the server does, such as
        a render or a request, holds the interpreter lock the device callback then waits for), or in a thread here
        when asked or when the model's loader cannot travel to a child (a test's lambda)."""
        self.engine_kind = "thread"
        if opts.engine == "process":
            try:
                pickle.dumps(load)
            except Exception:  # noqa: BLE001 - any pickling failure: run it here, and say so in the status
                self.engine_kind = "thread (this model's loader cannot go to another process)"
            else:
                self.engine_kind = "process"
                return EngineProcess(load, opts.block, channels=max(2, int(model.channels)))
        return StreamingEngine(model, opts.block)

    def set_controls(self, msg: Any) -> None:
        """A control message (the browser route's format), validated whole, then applied."""
        with self._lock:
            if self.session is None or self._std is None:
                raise SecurityError("the native route is not running")
            engine = self.session.engine
            update = validate_controls(msg, int(engine.controls.latent_size), self._labels)
            apply_controls(engine, update, self._std, self._steer)
            self.controls.update(update)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._status_locked()

    def _status_locked(self) -> dict[str, Any]:
        s = self.session
        if s is None:
            return {"running": False, "last": self.last_stats}
        a = s.adapter.stats
        st = s.stats
        xruns = st.status_events + a.underruns + a.overruns + s.in_ring.overruns + s.out_ring.underruns
        assert self.meter is not None and self.options is not None
        return {
            "running": True,
            "engine": self.engine_kind,
            "model": self.model_name,
            "options": {**self.options.__dict__},
            "latency": s.latency(),
            "callbacks": st.callbacks,
            "xruns": int(xruns),
            "engine_max_ms": round(1000.0 * s.engine.stats.max_process_s, 3),
            "meters": self.meter.snapshot(),
        }
