"""Procedural water: drips, streams, rain, splashes and pouring, built from bubbles (``foleyvae data synth water``).

Physics (van den Doel 2005, "Physically based models for liquid sounds", ACM TAP 2(4)): most of the sound of
water is air bubbles ringing as they form. A bubble of radius ``r`` resonates at the Minnaert frequency
``f0 = 3.26 / r`` Hz (r in metres: 1 mm -> 3.3 kHz, 5 mm -> 650 Hz), decays with damping
``d = 0.043 f0 + 0.0014 f0^1.5`` per second, and rises in pitch as it nears the surface,
``f(t) = f0 (1 + xi d t)`` with ``xi`` about 0.1 (up to ~0.5 for bubbles formed at the surface by drops).
Its amplitude grows with its size (``~ r^alpha``). Streams and rain are Poisson clouds of such bubbles whose radii
follow a power law (many small, few large); impacts add short broadband clicks; a vessel being filled adds its air
column's quarter-wave resonance, which rises as the column shortens (``f = c / 4L``).
"""

from __future__ import annotations

import numpy as np

from foleyvae.data.synth_dsp import (
    Params,
    Recipe,
    bandpass,
    finish,
    highpass,
    log_uniform,
    lowpass,
    poisson_times,
    smooth_random,
    swept_lowpass,
)

__all__ = ["WATER_RECIPES", "bubble", "minnaert_hz"]

_MINNAERT = 3.26  # Hz * m: f0 = 3.26 / r for air bubbles in water at 1 atm (van den Doel 2005, eq. 1)


def minnaert_hz(radius_m: float) -> float:
    """Resonance of an air bubble of ``radius_m`` metres in water."""
    return _MINNAERT / radius_m


def _damping(f0: float) -> float:
    """Decay rate (1/s) of a bubble ringing at ``f0`` (van den Doel 2005: viscous + thermal + radiation terms)."""
    return 0.043 * f0 + 0.0014 * f0**1.5


def bubble(radius_m: float, xi: float, sample_rate: int, amp_exp: float = 1.0) -> np.ndarray:
    """One bubble's sound ``[T]`` (T until it has decayed by 60 dB): a rising, exponentially decaying sine."""
    f0 = min(minnaert_hz(radius_m), 0.45 * sample_rate)
    d = _damping(f0)
    n = max(int(6.9 / d * sample_rate), 8)  # e^-6.9 = -60 dB
    t = np.arange(n) / sample_rate
    f = np.minimum(f0 * (1.0 + xi * d * t), 0.45 * sample_rate)
    ph = 2 * np.pi * np.cumsum(f) / sample_rate
    return np.asarray((radius_m / 1e-3) ** amp_exp * np.sin(ph) * np.exp(-d * t))


def _radii(rng: np.random.Generator, k: int, lo_mm: float, hi_mm: float, beta: float) -> np.ndarray:
    """``k`` radii (m) from a power law p(r) ~ r^-beta on [lo, hi] mm (inverse-CDF sampling)."""
    u = rng.uniform(size=k)
    a, b = lo_mm ** (1 - beta), hi_mm ** (1 - beta)
    return np.asarray((a + u * (b - a)) ** (1 / (1 - beta)) * 1e-3)


def _add(x: np.ndarray, at: int, sound: np.ndarray, gain: float = 1.0) -> None:
    """x[at:] += gain * sound, clipped to x's length (in place)."""
    m = min(len(sound), len(x) - at)
    if m > 0:
        x[at : at + m] += gain * sound[:m]


def _click(rng: np.random.Generator, sample_rate: int, ms: float) -> np.ndarray:
    """A drop's impact: a few ms of high-passed noise with a fast exponential decay."""
    n = max(int(ms * 1e-3 * sample_rate), 4)
    env = np.exp(-np.arange(n) / (0.25 * n))
    return np.asarray(highpass(rng.standard_normal(n), 1500.0, sample_rate) * env)


def _cloud(
    rng: np.random.Generator,
    x: np.ndarray,
    rate: np.ndarray,
    r_mm: tuple[float, float],
    beta: float,
    xi: tuple[float, float],
    sample_rate: int,
    gain: float = 1.0,
) -> int:
    """Add a Poisson cloud of bubbles with time-varying ``rate`` ``[T]`` (bubbles/s) to ``x``. Returns the count."""
    times = poisson_times(rng, rate, sample_rate)
    radii = _radii(rng, len(times), r_mm[0], r_mm[1], beta)
    for t0, r in zip(times, radii, strict=True):
        _add(x, int(t0), bubble(float(r), rng.uniform(*xi), sample_rate), gain * rng.uniform(0.3, 1.0))
    return len(times)


def _drip(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, Params]:
    """Drops falling into water: each an impact click and one surface bubble with a strong pitch rise (the
    "plink"); a short noisy tail for the room."""
    n_drops = int(rng.integers(1, 5))
    x = np.zeros(n)
    radii = []
    room = rng.uniform(0.0, 0.15)
    m = min(n, int(0.3 * sample_rate))
    tail = lowpass(rng.standard_normal(m), 3000.0, sample_rate) * np.exp(-np.arange(m) / (0.06 * sample_rate))
    for i in range(n_drops):
        at = int(rng.uniform(0.02, 0.75) * n) if i else int(0.02 * n)
        r = _radii(rng, 1, 1.2, 6.0, 1.5)[0]
        radii.append(float(r))
        _add(x, at, _click(rng, sample_rate, rng.uniform(1.0, 3.0)), rng.uniform(0.05, 0.3))
        _add(x, at + int(rng.uniform(0.002, 0.012) * sample_rate), bubble(r, rng.uniform(0.15, 0.6), sample_rate))
        _add(x, at, tail, room)  # diffuse room response of the drop
    return finish(x, 0.001, 0.05, sample_rate), {"drops": n_drops, "radii_mm": [r * 1e3 for r in radii], "room": room}


def _stream(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, Params]:
    """A babbling brook: a dense bubble cloud (power-law radii) whose rate wanders, over low turbulent noise."""
    rate_mean = log_uniform(rng, 60.0, 500.0)
    rate = rate_mean * np.clip(1.0 + 0.6 * smooth_random(rng, n, rng.uniform(0.3, 3.0), sample_rate), 0.1, None)
    r_hi = rng.uniform(4.0, 10.0)
    beta = rng.uniform(1.5, 3.0)
    x = np.zeros(n)
    count = _cloud(rng, x, rate, (0.5, r_hi), beta, (0.0, 0.15), sample_rate)
    bed_db = rng.uniform(-30.0, -14.0)
    bed = lowpass(rng.standard_normal(n), rng.uniform(400.0, 1500.0), sample_rate)
    x += np.std(x) * 10 ** (bed_db / 20) / max(float(np.std(bed)), 1e-9) * bed
    params = {"rate_mean_hz": rate_mean, "bubbles": count, "r_max_mm": r_hi, "radius_power": beta, "bed_db": bed_db}
    return finish(x, 0.2, 0.3, sample_rate), params


def _rain(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, Params]:
    """Rain on a water surface: many small drops, each a click; a fraction entrain a tiny bubble (0.3-1.5 mm,
    the 13-15 kHz "rain peak" and lower), over broadband hiss."""
    rate = log_uniform(rng, 150.0, 2500.0)
    bubble_frac = rng.uniform(0.05, 0.35)
    x = np.zeros(n)
    times = poisson_times(rng, np.full(n, rate), sample_rate)
    for t0 in times:
        _add(x, int(t0), _click(rng, sample_rate, rng.uniform(0.3, 1.5)), rng.uniform(0.05, 0.5))
        if rng.uniform() < bubble_frac:
            r = _radii(rng, 1, 0.3, 1.5, 2.0)[0]
            _add(x, int(t0), bubble(r, rng.uniform(0.05, 0.3), sample_rate), rng.uniform(0.2, 0.8))
    hiss_db = rng.uniform(-28.0, -12.0)
    hiss = bandpass(rng.standard_normal(n), 800.0, 12000.0, sample_rate)
    x += np.std(x) * 10 ** (hiss_db / 20) / max(float(np.std(hiss)), 1e-9) * hiss
    params = {"drops_per_s": rate, "drops": len(times), "bubble_fraction": bubble_frac, "hiss_db": hiss_db}
    return finish(x, 0.15, 0.3, sample_rate), params


def _splash(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, Params]:
    """Something hitting water: a broadband burst whose brightness falls, a bubble cloud that dies away, then
    scattered droplets falling back."""
    t = np.arange(n) / sample_rate
    decay = rng.uniform(0.05, 0.3)
    cutoff = 300.0 + rng.uniform(4000.0, 12000.0) * np.exp(-t / rng.uniform(0.05, 0.3))
    burst = swept_lowpass(rng.standard_normal(n) * np.exp(-t / decay), cutoff, rng.uniform(0.6, 1.5), sample_rate)
    cloud = np.zeros(n)
    count = _cloud(
        rng, cloud, log_uniform(rng, 300.0, 2000.0) * np.exp(-t / rng.uniform(0.05, 0.25)), (0.7, 8.0), 2.0,
        (0.0, 0.3), sample_rate,
    )  # fmt: skip
    x = burst / max(float(np.max(np.abs(burst))), 1e-9) + rng.uniform(0.3, 1.0) * cloud / max(
        float(np.max(np.abs(cloud))), 1e-9
    )
    n_back = int(rng.integers(0, 8))
    for _ in range(n_back):
        at = int(rng.uniform(0.15, 0.9) * n)
        _add(
            x, at, bubble(_radii(rng, 1, 1.0, 4.0, 1.5)[0], rng.uniform(0.1, 0.5), sample_rate), rng.uniform(0.05, 0.3)
        )
    params = {"burst_decay_s": decay, "cloud_bubbles": count, "droplets_back": n_back}
    return finish(x, 0.0005, 0.1, sample_rate), params


def _pour(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, Params]:
    """Pouring into a vessel: a steady bubble stream plus the air column's resonance, rising as the vessel fills
    (quarter-wave tube: f = c / 4L with the column L shrinking linearly)."""
    t = np.arange(n) / sample_rate
    dur = n / sample_rate
    length0 = rng.uniform(0.08, 0.3)  # m: air column at the start
    fill = rng.uniform(0.3, 0.85)  # fraction of the column filled by the end
    col = length0 * (1.0 - fill * t / dur)
    res_hz = 343.0 / (4.0 * col)
    x = np.zeros(n)
    count = _cloud(rng, x, np.full(n, log_uniform(rng, 120.0, 600.0)), (0.8, 6.0), 2.0, (0.0, 0.2), sample_rate)
    noise = rng.standard_normal(n) * (1.0 + 0.3 * smooth_random(rng, n, 8.0, sample_rate))
    column = swept_lowpass(noise, res_hz, rng.uniform(6.0, 14.0), sample_rate)
    column = highpass(column, 150.0, sample_rate)
    mix = rng.uniform(0.3, 1.0)
    x = x / max(float(np.std(x)), 1e-9) + mix * column / max(float(np.std(column)), 1e-9)
    params = {
        "column_start_m": length0,
        "fill_fraction": fill,
        "resonance_hz": [float(res_hz[0]), float(res_hz[-1])],
        "bubbles": count,
        "column_mix": mix,
    }
    return finish(x, 0.08, 0.15, sample_rate), params


WATER_RECIPES: tuple[Recipe, ...] = (
    Recipe("drip", _drip, 0.4, 2.0, "drops into water: impact click + rising surface bubble (plink)"),
    Recipe("stream", _stream, 1.5, 4.0, "babbling brook: Poisson bubble cloud, power-law radii, turbulent bed"),
    Recipe("rain", _rain, 1.5, 4.0, "rain on water: dense drop clicks, some tiny bubbles, hiss"),
    Recipe("splash", _splash, 0.5, 2.5, "splash: darkening burst, dying bubble cloud, droplets falling back"),
    Recipe("pour", _pour, 1.5, 4.0, "pouring into a vessel: bubble stream + rising air-column resonance"),
)
