"""The real-time engine: one block of audio in, one block out, through a :class:`StreamModel` and live controls.

Signal flow per block (``x: [C, n]`` float32, n = ``block_size``)::

    x --gain--> FIFO (only if n % hop != 0) --encode--> z [k, F] --controls--> decode --> FIFO --> wet
    x ------------------------- delay line (latency_samples) ---------------------------------> dry
    out = limiter(dry + dry_wet * (wet - dry))

Latency (ARCHITECTURE.md section 4): the output of a call is the input delayed by ``latency_samples`` =
``fifo_samples`` (0 when ``block_size`` is a multiple of ``hop_length``, else ``hop - gcd(block, hop)``: the
zeros the output FIFO starts with so that every call has a full block) + the model's ``delay_samples``. A device
adds its own buffering on top: ``latency().io_samples`` counts the input block too (the wall-clock latency of a
block-based host with instant processing, before device I/O).

Real-time rules: no threads, no I/O, no logging; every buffer is allocated at construction (or in
:meth:`StreamingEngine.swap_model`, in the caller's thread), the hot path writes into them with ``out=`` and
``np.copyto``, and tensors are ``torch.from_numpy`` views of those buffers. The only allocations left are the
model's own activations. A model is warmed up (run on silence, then reset) where its buffers are built, so that
TorchScript's first-call compilation never runs in the audio thread. Control changes are smoothed: latent controls
per latent frame with a one-pole (time constant ``controls.smoothing_ms``), gain and dry/wet with a linear ramp per
block.

NaN/inf in the input or in the model's output never reaches the output: the block becomes silence, the model is
fed zeros (input case) or reset (output case), and ``stats.nan_blocks`` counts it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import N_SCALARS, SLOT
from foleyvae.inference.controls import Controls
from foleyvae.playable.protocol import StreamModel
from foleyvae.utils.memory import trim_heap

__all__ = ["EngineError", "EngineStats", "Latency", "StreamingEngine"]

_LIMITER_RELEASE_S = 0.15  # block-gain recovery time constant of the output limiter
_LIMITER_KNEE = 0.9  # fraction of the threshold where the soft clipper starts bending


class EngineError(FoleyError, ValueError):
    """The engine cannot play this model/block configuration."""


@dataclass
class EngineStats:
    """Counters since construction (or :meth:`StreamingEngine.reset_stats`)."""

    blocks: int = 0
    nan_blocks: int = 0
    model_calls: int = 0
    swaps: int = 0
    max_process_s: float = 0.0
    total_process_s: float = 0.0
    last_process_s: float = 0.0

    @property
    def mean_process_s(self) -> float:
        return self.total_process_s / max(1, self.blocks)


@dataclass(frozen=True)
class Latency:
    """Latency of the engine, in samples at ``sample_rate`` (see the module docstring)."""

    sample_rate: int
    block_size: int
    fifo_samples: int
    model_delay_samples: int

    @property
    def samples(self) -> int:
        """Input -> output delay of the signal itself (what the dry path is delayed by)."""
        return self.fifo_samples + self.model_delay_samples

    @property
    def io_samples(self) -> int:
        """``samples`` + one input block of buffering (a block host's latency before device I/O)."""
        return self.block_size + self.samples

    @property
    def ms(self) -> float:
        return 1000.0 * self.samples / self.sample_rate

    @property
    def io_ms(self) -> float:
        return 1000.0 * self.io_samples / self.sample_rate

    def as_dict(self) -> dict[str, float | int]:
        return {
            "sample_rate": self.sample_rate,
            "block_size": self.block_size,
            "fifo_samples": self.fifo_samples,
            "model_delay_samples": self.model_delay_samples,
            "latency_samples": self.samples,
            "latency_ms": self.ms,
            "io_latency_samples": self.io_samples,
            "io_latency_ms": self.io_ms,
        }


class _Ring:
    """Preallocated multichannel FIFO ``[C, capacity]``; ``prefill`` zeros are readable at the start."""

    def __init__(self, channels: int, capacity: int, prefill: int = 0) -> None:
        self.buf = np.zeros((channels, capacity), np.float32)
        self.cap = capacity
        self.prefill = prefill
        self.reset()

    def reset(self) -> None:
        self.buf[:] = 0.0
        self.r = 0
        self.w = self.prefill % self.cap
        self.count = self.prefill

    def write(self, src: np.ndarray) -> None:
        n = src.shape[1]
        if self.count + n > self.cap:  # pragma: no cover - sizes are proven in StreamingEngine
            raise RuntimeError("ring overflow")
        first = min(n, self.cap - self.w)
        self.buf[:, self.w : self.w + first] = src[:, :first]
        if first < n:
            self.buf[:, : n - first] = src[:, first:]
        self.w = (self.w + n) % self.cap
        self.count += n

    def read(self, dst: np.ndarray) -> None:
        n = dst.shape[1]
        if n > self.count:  # pragma: no cover - sizes are proven in StreamingEngine
            raise RuntimeError("ring underflow")
        first = min(n, self.cap - self.r)
        dst[:, :first] = self.buf[:, self.r : self.r + first]
        if first < n:
            dst[:, first:] = self.buf[:, : n - first]
        self.r = (self.r + n) % self.cap
        self.count -= n


class _Path:
    """One model with its FIFOs, dry delay line, latent buffers and smoothing state (rebuilt on a swap)."""

    def __init__(self, model: StreamModel, block_size: int, smoothing_ms: float) -> None:
        self.model = model
        c, hop, k = int(model.channels), int(model.hop_length), int(model.latent_size)
        n = block_size
        self.channels, self.hop, self.k = c, hop, k
        self.direct = n % hop == 0
        self.chunk = n if self.direct else hop
        self.fifo = 0 if self.direct else hop - math.gcd(n, hop)
        self.delay = int(model.delay_samples)
        self.latency = self.fifo + self.delay
        frames = self.chunk // hop
        self.frames = frames
        # numpy buffers with torch views of the same memory: the latent math runs as torch ops with out=/in-place
        # (numpy's broadcasting ufuncs allocate iterator buffers; torch's TensorIterator does not)
        self.x = np.zeros((1, c, self.chunk), np.float32)
        self.x_t = torch.from_numpy(self.x)
        self.z = np.zeros((k, frames), np.float32)
        self.zt = torch.from_numpy(self.z)
        self.z_t = self.zt.unsqueeze(0)
        self.tmp_t = torch.zeros(k, frames)
        self.noise_t = torch.zeros(k, frames)
        self.gen = torch.Generator().manual_seed(int(np.random.SeedSequence().generate_state(1)[0]))
        self.held_t = torch.zeros(k)
        self.latent_mean = np.zeros(k, np.float32)
        self.latent_mean_t = torch.from_numpy(self.latent_mean)
        self.lat_traj_t = torch.zeros(3, k, frames)  # bias, scale, amount*offset per frame
        self.sc_traj_t = torch.zeros(2, frames)  # freeze, towards amount per frame
        self.lat_state_t = torch.zeros(3, k)
        self.sc_state_t = torch.zeros(2)
        self.lat_diff_t = torch.zeros(3, k)
        self.sc_diff_t = torch.zeros(2)
        self.lat_tgt = np.zeros((3, k), np.float32)  # this block's targets (copied in: no per-call tensor objects)
        self.lat_tgt_t = torch.from_numpy(self.lat_tgt)
        self.sc_tgt = np.zeros(2, np.float32)
        self.sc_tgt_t = torch.from_numpy(self.sc_tgt)
        self.own_target = np.zeros((3, k), np.float32)  # neutral targets + common dims, during a swap crossfade
        self.own_target[1] = 1.0
        tau = max(smoothing_ms, 1e-6) / 1000.0 * float(model.sample_rate) / hop  # in frames
        keep = math.exp(-1.0 / tau)
        self.decay_t = torch.from_numpy((keep ** np.arange(1, frames + 1)).astype(np.float32))  # [F]: keep^(f+1)
        self.wet = np.zeros((c, n), np.float32)
        self.dry = np.zeros((c, n), np.float32)
        self.y = np.zeros((c, self.chunk), np.float32)
        self.dry_line = _Ring(c, self.latency + n, prefill=self.latency)
        self.in_ring = None if self.direct else _Ring(c, n + self.chunk)
        self.out_ring = None if self.direct else _Ring(c, self.fifo + 2 * (n + self.chunk), prefill=self.fifo)
        self.y_t = torch.from_numpy(self.y)
        self.primed = False

    def warm_up(self, calls: int = 3) -> None:
        """Run the model ``calls`` times on silence of this path's chunk shape, then reset it.

        TorchScript profiles and optimises a graph on its first calls for a shape (120-190 ms each for foley-small,
        measured in the live soak): done here, in the caller's thread, it never lands on the audio thread.
        """
        self.x.fill(0.0)
        for _ in range(calls):  # the very tensors _chunk passes (TorchScript specialises on shapes and strides)
            self.zt.copy_(self.model.encode(self.x_t)[0])
            self.model.decode(self.z_t)
        self.z.fill(0.0)
        self.reset()

    def reset(self) -> None:
        self.model.reset()
        self.dry_line.reset()
        if self.in_ring is not None and self.out_ring is not None:
            self.in_ring.reset()
            self.out_ring.reset()
        self.primed = False

    def _chunk(self, lat_target: np.ndarray, sc_target: np.ndarray, temperature: float) -> bool:
        """Run self.x through the model into self.y. Returns False when the model produced NaN/inf."""
        np.copyto(self.lat_tgt, lat_target)
        np.copyto(self.sc_tgt, sc_target)
        lat_t, sc_t = self.lat_tgt_t, self.sc_tgt_t
        zr = self.model.encode(self.x_t)[0]  # [k, F]
        if not self.primed:  # start at the targets instead of ramping from neutral
            self.lat_state_t.copy_(lat_t)
            self.sc_state_t.copy_(sc_t)
            self.held_t.copy_(zr[:, 0])
            self.primed = True
        # one-pole per frame toward the block's target: s_f = t + (s_0 - t) * keep^(f+1)
        lat_traj, sc_traj = self.lat_traj_t, self.sc_traj_t
        torch.sub(self.lat_state_t, lat_t, out=self.lat_diff_t)
        torch.mul(self.lat_diff_t.unsqueeze(2), self.decay_t, out=lat_traj)
        lat_traj.add_(lat_t.unsqueeze(2))
        torch.sub(self.sc_state_t, sc_t, out=self.sc_diff_t)
        torch.mul(self.sc_diff_t.unsqueeze(1), self.decay_t, out=sc_traj)
        sc_traj.add_(sc_t.unsqueeze(1))
        self.lat_state_t.copy_(lat_traj[:, :, -1])
        self.sc_state_t.copy_(sc_traj[:, -1])
        z, tmp = self.zt, self.tmp_t
        # freeze/hold: z = z + f * (held - z)
        torch.sub(self.held_t.unsqueeze(1), zr, out=tmp)
        tmp.mul_(sc_traj[0])
        torch.add(zr, tmp, out=z)
        if sc_target[0] == 0.0:  # not freezing: the hold point follows the live latent
            self.held_t.copy_(zr[:, -1])
        # towards: z = z + a * offset (the offset row is already a * offset, smoothed per frame)
        z.add_(lat_traj[2])
        # scale and bias (PCA order)
        z.mul_(lat_traj[1])
        z.add_(lat_traj[0])
        if temperature > 0.0:
            torch.randn(self.noise_t.shape, generator=self.gen, out=self.noise_t)
            z.add_(self.noise_t, alpha=temperature)
        torch.mean(z, dim=1, out=self.latent_mean_t)
        y = self.model.decode(self.z_t)[0]
        self.y_t.copy_(y)
        return math.isfinite(float(self.y.sum())) and math.isfinite(float(self.latent_mean.sum()))

    def process(
        self, x: np.ndarray, dry: np.ndarray, lat_target: np.ndarray, sc_target: np.ndarray, temperature: float
    ) -> tuple[bool, int]:
        """x (gained) and dry ``[C, n]`` -> self.wet, self.dry. Returns (finite, model calls)."""
        self.dry_line.write(dry)
        self.dry_line.read(self.dry)
        ok, calls = True, 0
        if self.direct:
            np.copyto(self.x[0], x)
            ok = self._chunk(lat_target, sc_target, temperature)
            calls = 1
            np.copyto(self.wet, self.y)
            return ok, calls
        assert self.in_ring is not None and self.out_ring is not None
        self.in_ring.write(x)
        while self.in_ring.count >= self.chunk:
            self.in_ring.read(self.x[0])
            ok = self._chunk(lat_target, sc_target, temperature) and ok
            calls += 1
            if not ok:
                self.y[:] = 0.0
            self.out_ring.write(self.y)
        self.out_ring.read(self.wet)
        return ok, calls


class StreamingEngine:
    """Block-in/block-out timbre transfer with live controls. Single-threaded; see the module docstring.

    Args:
        model: a :class:`StreamModel` (PCA-ordered latent, stateful until reset).
        block_size: samples per :meth:`process` call (any size >= 1; a multiple of ``model.hop_length`` avoids
            the FIFO and its extra latency).
        controls: shared :class:`Controls` (created when None; ``engine.controls`` is the object to tweak).
    """

    def __init__(self, model: StreamModel, block_size: int, controls: Controls | None = None) -> None:
        if int(block_size) < 1:
            raise EngineError(f"block_size must be >= 1, got {block_size}")
        self.block_size = int(block_size)
        self.sample_rate = int(model.sample_rate)
        self.channels = int(model.channels)
        if controls is None:
            controls = Controls(int(model.latent_size))
        elif controls.latent_size != int(model.latent_size):
            raise EngineError(
                f"controls address {controls.latent_size} latent dims; model {model.name!r} has {model.latent_size}"
            )
        self.controls = controls
        self._path = _Path(model, self.block_size, controls.smoothing_ms)
        self._path.warm_up()
        self._pending: _Path | None = None
        self._retired: _Path | None = None  # the model a swap replaced, freed by release_retired() off the audio thread
        self._pending_controls: Controls | None = None
        self._swap_lock = threading.Lock()  # only taken by swap_model and at a block boundary, never contended long
        n, c = self.block_size, self.channels
        self._lat_target = np.zeros((3, controls.latent_size), np.float32)
        self._lat_target64 = np.zeros((3, controls.latent_size), np.float64)
        self._sc = np.zeros(N_SCALARS, np.float64)
        self._sc_target = np.zeros(2, np.float32)
        self._ramp = (np.arange(1, n + 1, dtype=np.float32) / n)[None, :]  # [1, n]
        self._gain = np.zeros((1, n), np.float32)
        self._xin = np.zeros((c, n), np.float32)
        self._zeros = np.zeros((c, n), np.float32)
        self._out = np.zeros((c, n), np.float32)
        self._tmp = np.zeros((c, n), np.float32)
        self._tmp2 = np.zeros((c, n), np.float32)
        self._gain_state = -1.0  # < 0: not primed
        self._mix_state = -1.0
        self._lim_gain = 1.0
        self._lim_keep = math.exp(-n / (_LIMITER_RELEASE_S * self.sample_rate))
        self.last_latent = np.zeros(controls.latent_size, np.float32)
        self.stats = EngineStats()

    # ------------------------------------------------------------------------------------------ properties
    @property
    def model(self) -> StreamModel:
        return self._path.model

    def latency(self) -> Latency:
        p = self._path
        return Latency(self.sample_rate, self.block_size, p.fifo, p.delay)

    @property
    def latency_samples(self) -> int:
        """Input -> output delay of the signal in samples (FIFO + model delay)."""
        return self._path.latency

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self._path.latency / self.sample_rate

    # ------------------------------------------------------------------------------------------ control
    def reset(self) -> None:
        """Forget the stream (model state, FIFOs, smoothing); controls and stats are kept."""
        self._path.reset()
        self._gain_state = self._mix_state = -1.0
        self._lim_gain = 1.0

    def reset_stats(self) -> None:
        self.stats = EngineStats()

    def swap_model(self, model: StreamModel) -> None:
        """Replace the model at the next block boundary (crossfaded over one block). Thread-safe.

        Buffers are built here, in the caller's thread. A model with another sample rate or channel count is
        refused (the engine's I/O is fixed); a different latent size gets resized controls (common dims kept).
        """
        if int(model.sample_rate) != self.sample_rate:
            raise EngineError(
                f"cannot swap to {model.name!r}: it runs at {model.sample_rate} Hz, the engine at {self.sample_rate} Hz"
                " (open a new engine, or export the model at this rate)"
            )
        if int(model.channels) != self.channels:
            raise EngineError(
                f"cannot swap to {model.name!r}: {model.channels} channel(s), the engine has {self.channels}"
            )
        controls = self.controls
        if int(model.latent_size) != controls.latent_size:
            controls = controls.resized(int(model.latent_size))
        self.release_retired()
        path = _Path(model, self.block_size, controls.smoothing_ms)
        path.warm_up()
        with self._swap_lock:
            self._pending = path
            self._pending_controls = controls

    def release_retired(self) -> bool:
        """Free the model that the last swap replaced and give its memory back to the OS. Thread-safe; call it from
        a control thread once ``stats.swaps`` has counted the swap (``swap_model`` also calls it first). Returns
        whether a model was released. The audio thread never frees a model: that would run allocator work (tens
        of MB of tensors) inside a block."""
        with self._swap_lock:
            old, self._retired = self._retired, None
        if old is None:
            return False
        del old
        trim_heap()
        return True

    # ------------------------------------------------------------------------------------------ hot path
    def process(self, block: np.ndarray) -> np.ndarray:
        """block ``[C, n]`` float32 (n = block_size) -> output ``[C, n]`` (an internal buffer: copy to keep it)."""
        t0 = time.perf_counter()
        if block.shape != self._out.shape:
            raise EngineError(f"expected a block of shape {self._out.shape}, got {tuple(block.shape)}")
        old: _Path | None = None
        if self._pending is not None:
            with self._swap_lock:
                old, self._path, self._pending = self._path, self._pending, None
                if self._pending_controls is not None and self._pending_controls is not self.controls:
                    self.controls = self._pending_controls
                    k = self.controls.latent_size
                    self._lat_target = np.zeros((3, k), np.float32)
                    self._lat_target64 = np.zeros((3, k), np.float64)
                    self.last_latent = np.zeros(k, np.float32)
                self._pending_controls = None
            self.stats.swaps += 1
        sc = self._sc
        self.controls.snapshot_into(self._lat_target64, sc)
        np.copyto(self._lat_target, self._lat_target64, casting="same_kind")
        gain_t, mix_t, thr = float(sc[SLOT.input_gain_db]), float(sc[SLOT.dry_wet]), float(sc[SLOT.limiter])
        temperature = float(sc[SLOT.temperature])
        sc_target = self._sc_target_view(sc)

        bad_in = not math.isfinite(float(block.sum()))
        src = self._zeros if bad_in else block
        # input gain: linear ramp from the last block's gain to the target
        g0 = gain_t if self._gain_state < 0 else self._gain_state
        np.multiply(self._ramp, gain_t - g0, out=self._gain)
        self._gain += g0
        np.multiply(src, self._gain, out=self._xin)
        self._gain_state = gain_t

        ok, calls = self._path.process(self._xin, src, self._lat_target, sc_target, temperature)
        wet, dry = self._path.wet, self._path.dry
        if old is not None:  # crossfade old -> new over this block, then retire old (freed off this thread)
            ok_old, calls_old = old.process(self._xin, src, self._lat_target_for(old), sc_target, temperature)
            calls += calls_old
            ok = ok and ok_old
            np.subtract(wet, old.wet, out=self._tmp)
            self._tmp *= self._ramp
            self._tmp += old.wet
            np.copyto(wet, self._tmp)
            np.subtract(dry, old.dry, out=self._tmp)
            self._tmp *= self._ramp
            self._tmp += old.dry
            np.copyto(dry, self._tmp)
            self._retired = old
        out = self._out
        # dry/wet: out = dry + m * (wet - dry), m ramped
        m0 = mix_t if self._mix_state < 0 else self._mix_state
        np.multiply(self._ramp, mix_t - m0, out=self._gain)
        self._gain += m0
        np.subtract(wet, dry, out=out)
        out *= self._gain
        out += dry
        self._mix_state = mix_t
        if thr > 0.0:
            self._limit(out, thr)
        if not ok:
            self._path.reset()  # a NaN inside the model's state would poison every later block
        if bad_in or not ok or not math.isfinite(float(out.sum())):
            out[:] = 0.0
            self.stats.nan_blocks += 1
        elif calls:
            np.copyto(self.last_latent, self._path.latent_mean)
        dt = time.perf_counter() - t0
        st = self.stats
        st.blocks += 1
        st.model_calls += calls
        st.last_process_s = dt
        st.total_process_s += dt
        if dt > st.max_process_s:
            st.max_process_s = dt
        return out

    def _sc_target_view(self, sc: np.ndarray) -> np.ndarray:
        """Freeze and towards-amount targets as float32, for the per-frame smoothing."""
        t = self._sc_target
        t[0], t[1] = sc[SLOT.freeze], sc[SLOT.towards]
        return t

    def _lat_target_for(self, path: _Path) -> np.ndarray:
        """Latent targets for a path whose latent size differs from the controls' (during a swap crossfade)."""
        if path.k == self._lat_target.shape[1]:
            return self._lat_target
        buf = path.own_target
        n = min(path.k, self._lat_target.shape[1])
        buf[:, :n] = self._lat_target[:, :n]
        return buf

    def _limit(self, out: np.ndarray, thr: float) -> None:
        """Soft, lookahead-free limiter: block gain (instant attack ramped over the block, slow release) + a soft
        clipper above ``_LIMITER_KNEE * thr`` that catches what the ramp lets through. In place on ``out``."""
        peak = float(np.max(np.abs(out, out=self._tmp)))
        g0 = self._lim_gain
        target = min(1.0, thr / peak) if peak > 0.0 else 1.0
        g1 = target if target < g0 else g0 + (1.0 - g0) * (1.0 - self._lim_keep)
        if g0 < 1.0 or g1 < 1.0:
            np.multiply(self._ramp, g1 - g0, out=self._gain)
            self._gain += g0
            out *= self._gain
            peak = float(np.max(np.abs(out, out=self._tmp)))
        self._lim_gain = g1
        knee = _LIMITER_KNEE * thr
        if peak <= knee:
            return
        # |y| > knee -> knee + (thr - knee) * tanh((|y| - knee) / (thr - knee)): slope 1 at the knee, <= thr
        a, e = self._tmp, self._tmp2
        np.abs(out, out=a)
        np.subtract(a, knee, out=e)
        np.maximum(e, 0.0, out=e)
        np.divide(e, thr - knee, out=a)
        np.tanh(a, out=a)
        a *= thr - knee
        a -= e  # reduction (<= 0) of |y|
        np.sign(out, out=e)
        a *= e
        out += a
