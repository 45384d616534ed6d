"""Signal building blocks of the procedural corpora (:mod:`foleyvae.data.synth` and its recipe modules).

Numpy/scipy only, float64, mono ``[T]`` arrays. A *recipe* renders one sound: ``render(rng, n_samples,
sample_rate) -> (audio [T], params)``, drawing every parameter from ``rng`` so that a corpus is varied and a
seed reproduces it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

__all__ = [
    "bandpass",
    "fade",
    "finish",
    "highpass",
    "log_uniform",
    "lowpass",
    "one_pole",
    "osc_phase",
    "phaser",
    "poisson_times",
    "polyblep_saw",
    "smooth_random",
    "sub_rng",
    "swept_lowpass",
    "time_axis",
    "PEAK_DBFS",
    "Params",
    "Recipe",
    "RenderFn",
]

PEAK_DBFS = -1.0
Params = dict[str, Any]
RenderFn = Callable[[np.random.Generator, int, int], tuple[np.ndarray, Params]]


def time_axis(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sample_rate


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A value spread evenly in log scale (frequencies, rates): each octave is as likely as any other."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def smooth_random(rng: np.random.Generator, n: int, rate_hz: float, sample_rate: int) -> np.ndarray:
    """A slow random control signal in about [-1, 1]: random points ``rate_hz`` apart, cosine-interpolated. ``[T]``."""
    n_points = max(2, int(math.ceil(n / sample_rate * rate_hz)) + 2)
    pts = rng.uniform(-1.0, 1.0, n_points)
    pos = np.arange(n) / sample_rate * rate_hz
    i = np.minimum(pos.astype(np.int64), n_points - 2)
    f = pos - i
    w = 0.5 - 0.5 * np.cos(np.pi * f)
    return np.asarray(pts[i] * (1.0 - w) + pts[i + 1] * w)


def osc_phase(freq: np.ndarray | float, n: int, sample_rate: int) -> np.ndarray:
    """Running phase in cycles of an oscillator with (possibly time-varying) frequency ``freq`` (Hz). ``[T]``."""
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    return np.asarray(np.cumsum(f) / sample_rate)


def polyblep_saw(phase: np.ndarray, freq: np.ndarray | float, sample_rate: int) -> np.ndarray:
    """Band-limited sawtooth in [-1, 1] from a phase in cycles: the naive ramp minus a polynomial correction
    (PolyBLEP, Valimaki & Huovilainen 2007) around each wrap, which removes most of the aliasing. ``[T]``."""
    frac = phase - np.floor(phase)
    dt = np.clip(np.broadcast_to(np.asarray(freq, dtype=np.float64), frac.shape) / sample_rate, 1e-9, 0.5)
    saw = 2.0 * frac - 1.0
    lo = frac < dt
    t = frac[lo] / dt[lo]
    saw[lo] -= t + t - t * t - 1.0
    hi = frac > 1.0 - dt
    t = (frac[hi] - 1.0) / dt[hi]
    saw[hi] -= t * t + t + t + 1.0
    return saw


def bandpass(x: np.ndarray, lo: float, hi: float, sample_rate: int, order: int = 2) -> np.ndarray:
    nyq = 0.5 * sample_rate
    lo = min(max(lo, 10.0), 0.9 * nyq)
    hi = min(max(hi, lo * 1.05), 0.95 * nyq)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x))


def highpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sample_rate), btype="highpass", fs=sample_rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x))


def lowpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sample_rate), btype="lowpass", fs=sample_rate, output="sos")
    return np.asarray(signal.sosfilt(sos, x))


def one_pole(x: np.ndarray, time_s: float, sample_rate: int) -> np.ndarray:
    """Exponential smoothing with time constant ``time_s``: turns steps into exponential ramps (motor inertia)."""
    a = math.exp(-1.0 / max(time_s * sample_rate, 1.0))
    return np.asarray(signal.lfilter([1.0 - a], [1.0, -a], x))


def swept_lowpass(x: np.ndarray, cutoff: np.ndarray, q: float, sample_rate: int, block: int = 128) -> np.ndarray:
    """Resonant low-pass (RBJ cookbook biquad) whose cutoff ``[T]`` changes every ``block`` samples; the filter
    state is carried across blocks (fine for the slow sweeps used here). ``x: [T] -> [T]``."""
    y = np.empty_like(x)
    zi = np.zeros(2)
    for s in range(0, len(x), block):
        fc = float(np.clip(cutoff[s], 20.0, 0.45 * sample_rate))
        w0 = 2 * math.pi * fc / sample_rate
        alpha = math.sin(w0) / (2 * q)
        cw = math.cos(w0)
        b = np.array([(1 - cw) / 2, 1 - cw, (1 - cw) / 2])
        a = np.array([1 + alpha, -2 * cw, 1 - alpha])
        y[s : s + block], zi = signal.lfilter(b / a[0], a / a[0], x[s : s + block], zi=zi)
    return y


def phaser(
    x: np.ndarray, notch_hz: np.ndarray, n_stages: int, mix: float, sample_rate: int, block: int = 32
) -> np.ndarray:
    """Phaser: a chain of first-order all-passes H(z) = (a + z^-1) / (1 + a z^-1) whose break frequency follows
    ``notch_hz`` ``[T]``; mixing the chain with the dry signal cancels where the chain's phase reaches odd
    multiples of pi, giving n_stages/2 moving notches. ``x: [T] -> [T]``."""
    wet = x.copy()
    states = [np.zeros(1) for _ in range(n_stages)]
    for s in range(0, len(x), block):
        tn = math.tan(math.pi * float(np.clip(notch_hz[s], 20.0, 0.45 * sample_rate)) / sample_rate)
        a = (tn - 1.0) / (tn + 1.0)
        seg = wet[s : s + block]
        for k in range(n_stages):
            seg, states[k] = signal.lfilter([a, 1.0], [1.0, a], seg, zi=states[k])
        wet[s : s + block] = seg
    return np.asarray((1.0 - mix) * x + mix * wet)


def fade(x: np.ndarray, fade_in_s: float, fade_out_s: float, sample_rate: int) -> np.ndarray:
    """Raised-cosine fades at both edges (in place and returned). ``[T]``."""
    n = len(x)
    m_in = min(max(int(fade_in_s * sample_rate), 1), n // 2)
    m_out = min(max(int(fade_out_s * sample_rate), 1), n // 2)
    x[:m_in] *= 0.5 - 0.5 * np.cos(np.pi * (np.arange(m_in) + 0.5) / m_in)
    x[n - m_out :] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(m_out) + 0.5) / m_out)
    return x


def finish(x: np.ndarray, fade_in_s: float, fade_out_s: float, sample_rate: int) -> np.ndarray:
    """High-pass at 20 Hz (no DC), fade the edges, normalise to a -1 dBFS peak. ``[T] -> [T]``."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    x = highpass(x, 20.0, sample_rate)
    x = fade(x, fade_in_s, fade_out_s, sample_rate)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak < 1e-9:  # a recipe must never do this; fail loudly rather than write a silent file
        raise RuntimeError("synth recipe produced silence")
    return x * (10.0 ** (PEAK_DBFS / 20.0) / peak)


def poisson_times(rng: np.random.Generator, rate: np.ndarray, sample_rate: int) -> np.ndarray:
    """Sample indices of an inhomogeneous Poisson process with rate ``rate`` [T] (events/s), by thinning."""
    n = len(rate)
    peak = float(rate.max())
    k = rng.poisson(peak * n / sample_rate)
    cand = np.sort(rng.integers(0, n, size=k))
    keep = rng.uniform(0.0, peak, size=k) < rate[cand]
    return np.asarray(cand[keep])


def sub_rng(rng: np.random.Generator) -> np.random.Generator:
    return np.random.default_rng(int(rng.integers(0, 2**63 - 1)))


@dataclass(frozen=True)
class Recipe:
    """A sub-type: ``render(rng, n_samples, sample_rate) -> (audio [T], params)`` and its duration range (s)."""

    name: str
    render: RenderFn
    min_seconds: float
    max_seconds: float
    summary: str
