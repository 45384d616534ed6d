"""Synthetic Foley sounds for the studio's sample library, so that it has something to play before any download.

``make_samples`` writes footsteps per material (:func:`foleyvae.playable.demo.synth_footstep`) and finger taps
(:func:`synth_taps`). The untrained demo model itself is :func:`foleyvae.playable.demo.demo_model`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foleyvae.playable.demo import MATERIALS, synth_footstep

__all__ = ["make_samples", "synth_taps"]


def synth_taps(n_taps: int = 6, dur: float = 2.0, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
    """Finger taps on a table: short clicks through a 2-mode resonance at a walking pace -> ``[T]``."""
    rng = np.random.default_rng(seed)
    n = int(dur * sample_rate)
    out = np.zeros(n)
    t = np.arange(int(0.08 * sample_rate)) / sample_rate
    for i in range(n_taps):
        k = int((0.1 + i * (dur - 0.2) / n_taps + rng.uniform(-0.02, 0.02)) * sample_rate)
        f1, f2 = rng.uniform(700, 900), rng.uniform(2100, 2600)
        tap = np.exp(-t / 0.004) * rng.standard_normal(t.size) * 0.4
        tap += (np.sin(2 * np.pi * f1 * t) + 0.5 * np.sin(2 * np.pi * f2 * t)) * np.exp(-t / 0.015)
        m = min(tap.size, n - k)
        out[k : k + m] += tap[:m] * rng.uniform(0.6, 1.0)
    return (0.8 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def make_samples(folder: Path, sample_rate: int = 44100) -> list[Path]:
    """Write the synthetic part of the sample library (footsteps per material, taps) as 16-bit WAVs."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, mat in enumerate(MATERIALS):
        steps = np.concatenate([synth_footstep(mat, 0.5, sample_rate, seed=10 * i + k) for k in range(4)])
        p = folder / f"footsteps_{mat}.wav"
        sf.write(str(p), steps, sample_rate, subtype="PCM_16")
        out.append(p)
    p = folder / "taps.wav"
    sf.write(str(p), synth_taps(sample_rate=sample_rate), sample_rate, subtype="PCM_16")
    out.append(p)
    return out
