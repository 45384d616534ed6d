"""Device periods of any size and rate <-> fixed engine blocks at the model's rate (the live path's sample mode).

Why: PortAudio adds a whole block of latency on JACK when a stream asks for a fixed block size (measured 2140 ->
1628 samples at block 512 with ``blocksize=0``), and a 48 kHz interface cannot open a 44.1 kHz model's stream at
all. With ``blocksize=0`` the device calls back with its own period (JACK: the server's), so the session re-blocks::

    callback: indata [P, C] --in_fifo (device rate)--> pump --> out_fifo (device rate) --> outdata [P, C]
    pump:     in_fifo -> resample to the model rate -> acc -> engine blocks [C, n] -> resample back -> out_fifo

``pump`` runs in the callback itself (``prefill == 0``: the lowest latency, the engine on the device thread) or in
the session's worker (``prefill > 0`` device samples of silence queued first: the worker's margin).

The output FIFO settles itself: during the first ``settle_s`` a period that finds too few samples plays silence
for the missing part, which becomes latency once (the re-blocking pattern and the resampler's start need it);
after that a short period is an underrun. Latency that underruns add is given back: once ``recover_s`` passes
without one, the smallest slack seen over that window beyond the target is skipped (crossfaded over one period).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from foleyvae.live.resample import StreamResampler, make_resampler

__all__ = ["SampleFifo", "DeviceAdapter", "AdapterStats"]

_MIN_DROP = 16  # device samples: slack below this is left alone (not worth a crossfade)


class SampleFifo:
    """Single-producer single-consumer sample FIFO ``[C, capacity]`` (cumulative counters, one writer each)."""

    def __init__(self, channels: int, capacity: int, prefill: int = 0) -> None:
        self.buf = np.zeros((channels, capacity), np.float32)
        self.cap = capacity
        self.w = prefill  # samples written (the prefill counts as written silence)
        self.r = 0
        self.overruns = 0

    @property
    def count(self) -> int:
        return self.w - self.r

    def write(self, x: np.ndarray) -> bool:
        """Append ``x [C, n]``; False (counted) when it does not fit."""
        n = x.shape[1]
        if self.count + n > self.cap:
            self.overruns += 1
            return False
        i = self.w % self.cap
        first = min(n, self.cap - i)
        self.buf[:, i : i + first] = x[:, :first]
        if first < n:
            self.buf[:, : n - first] = x[:, first:]
        self.w += n
        return True

    def read(self, out: np.ndarray) -> None:
        """Fill ``out [C, n]`` from the oldest samples (the caller checked ``count >= n``)."""
        n = out.shape[1]
        i = self.r % self.cap
        first = min(n, self.cap - i)
        out[:, :first] = self.buf[:, i : i + first]
        if first < n:
            out[:, first:] = self.buf[:, : n - first]
        self.r += n


@dataclass
class AdapterStats:
    """What the sample mode counts (device samples)."""

    underruns: int = 0  # periods that found too few samples after settling
    settle_samples: int = 0  # silence played while settling (latency taken once, on purpose)
    underrun_samples: int = 0
    dropped_samples: int = 0  # latency given back after underruns
    drops: int = 0
    overruns: int = 0  # input FIFO full (the engine thread fell far behind)


class DeviceAdapter:
    """Re-blocks and resamples between the device and an engine (see the module docstring).

    Args:
        process: the engine block call ``x [C, n] -> y [C, n]`` at ``model_rate`` (runs in the pumping thread).
        channels / block / model_rate: the engine's.
        device_rate: the stream's rate (resampled when it differs from ``model_rate``).
        prefill: device samples of silence queued before the first output (0: pump in the callback).
        resampler: ``"fir"`` or ``"soxr"`` (``live.resample``).
        settle_s / recover_s: see the module docstring.
    """

    def __init__(
        self,
        process: Callable[[np.ndarray], np.ndarray],
        channels: int,
        block: int,
        model_rate: int,
        device_rate: int,
        prefill: int = 0,
        resampler: str = "fir",
        settle_s: float = 0.5,
        recover_s: float = 2.0,
    ) -> None:
        self.process = process
        self.channels, self.block = int(channels), int(block)
        self.model_rate, self.device_rate = int(model_rate), int(device_rate)
        self.prefill = int(prefill)
        cap = 1 << max(15, int(np.ceil(np.log2(16 * block * max(1.0, device_rate / model_rate) + prefill + 1))))
        self.in_fifo = SampleFifo(channels, cap)
        self.out_fifo = SampleFifo(channels, cap, prefill=self.prefill)
        self.rs_in: StreamResampler | None = None
        self.rs_out: StreamResampler | None = None
        if self.device_rate != self.model_rate:
            self.rs_in = make_resampler(resampler, device_rate, model_rate, channels)
            self.rs_out = make_resampler(resampler, model_rate, device_rate, channels)
        self.acc = SampleFifo(channels, cap)  # model-rate input waiting for a whole engine block
        self._pull = np.zeros((channels, cap), np.float32)
        self._blk = np.zeros((channels, block), np.float32)
        self._fade = np.zeros((channels, cap), np.float32)
        self.settle_samples_left = int(settle_s * device_rate)
        self.recover_samples = max(1, int(recover_s * device_rate))
        self._calm = 0  # device samples since the last underrun (or the last drop)
        self._slack_min = 1 << 62
        self.stats = AdapterStats()

    @property
    def resampler_delay_samples(self) -> float:
        """Both resamplers' delay, in device samples."""
        if self.rs_in is None or self.rs_out is None:
            return 0.0
        return self.rs_in.delay_samples * self.device_rate / self.model_rate + self.rs_out.delay_samples

    def pump(self) -> int:
        """Move what the device brought through the engine; returns the engine blocks run."""
        n_new = self.in_fifo.count
        if n_new:
            x = self._pull[:, :n_new]
            self.in_fifo.read(x)
            xm = self.rs_in.process(x) if self.rs_in is not None else x
            if not self.acc.write(xm):
                self.stats.overruns += 1
        blocks = 0
        while self.acc.count >= self.block:
            self.acc.read(self._blk)
            y = self.process(self._blk)
            yd = self.rs_out.process(y) if self.rs_out is not None else y
            if not self.out_fifo.write(yd):
                self.stats.overruns += 1
            blocks += 1
        return blocks

    def push_input(self, indata: np.ndarray) -> None:
        """The callback's ``indata [P, C]`` into the input FIFO (its transpose view: no copy before the FIFO's)."""
        if not self.in_fifo.write(indata.T):
            self.stats.overruns += 1

    def pull_output(self, outdata: np.ndarray) -> None:
        """Fill the callback's ``outdata [P, C]``; short: silence for the missing part (settling or underrun)."""
        frames = outdata.shape[0]
        out = outdata.T
        avail = self.out_fifo.count
        st = self.stats
        if avail < frames:
            missing = frames - avail
            out[:, :missing] = 0.0
            if avail:
                self.out_fifo.read(out[:, missing:])
            if self.settle_samples_left > 0:
                st.settle_samples += missing
            else:
                st.underruns += 1
                st.underrun_samples += missing
                self._calm = 0
            self._slack_min = 0
            self.settle_samples_left = max(0, self.settle_samples_left - frames)
            return
        if self.settle_samples_left > 0:  # still settling: no slack bookkeeping yet
            self.settle_samples_left = max(0, self.settle_samples_left - frames)
            self.out_fifo.read(out)
            return
        self._slack_min = min(self._slack_min, avail - frames)
        self._calm += frames
        drop = self._slack_min - self.prefill if self._calm >= self.recover_samples else 0
        if drop >= _MIN_DROP and avail >= frames + drop and frames + drop <= self._fade.shape[1]:
            self._drop(out, frames, drop)
        else:
            self.out_fifo.read(out)
        if self._calm >= self.recover_samples:
            self._calm = 0
            self._slack_min = 1 << 62

    def _drop(self, out: np.ndarray, frames: int, drop: int) -> None:
        """Play ``frames`` while skipping ``drop`` samples: crossfade from the late stream into the earlier one."""
        a = self._fade[:, : frames + drop]
        self.out_fifo.read(a)
        ramp = (np.arange(frames, dtype=np.float32) + 1.0) / frames
        np.subtract(a[:, drop:], a[:, :frames], out=out)
        out *= ramp
        out += a[:, :frames]
        self.stats.drops += 1
        self.stats.dropped_samples += drop
