"""Features: onsets on known clicks/footsteps, onset F1 matching, A-weighted loudness, centroid, flatness."""

from __future__ import annotations

import numpy as np
import pytest

from foleyvae.audio.features import (
    a_weighting_db,
    loudness,
    onset_f1,
    onsets,
    spectral_centroid,
    spectral_flatness,
)
from tests.conftest import SR, footstep, impulses


def _sine(freq: float, dur: float = 1.0, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(dur * SR)) / SR)


def test_impulses_detected_within_10ms() -> None:
    x = impulses(2 * SR)
    ref = np.arange(11025 // 2, 2 * SR, 11025) / SR
    est = onsets(x, SR)
    assert len(est) == len(ref)
    assert np.abs(est - ref).max() < 0.010
    assert onset_f1(ref, est, tolerance=0.010) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("material", ["wood", "metal", "snow", "water"])
def test_footsteps_at_known_times(material: str) -> None:
    rng = np.random.default_rng(7)
    steps = [0.2, 0.75, 1.3, 1.9, 2.4]
    x = np.zeros(3 * SR)
    fade = np.hanning(2 * 882)[882:]  # 20 ms fade-out: a cut resonance is a click, i.e. a real onset
    for i, t in enumerate(steps):
        s = footstep(material, dur=0.35, seed=i).astype(np.float64)
        s[-882:] *= fade
        k = int(t * SR)
        x[k : k + len(s)] += s * rng.uniform(0.3, 1.0)
    ref = sorted(steps + [t + 0.09 for t in steps])  # heel and toe
    est = onsets(x, SR)
    assert onset_f1(ref, est, tolerance=0.010) == (1.0, 1.0, 1.0), (est, ref)


def test_silence_gives_no_onsets() -> None:
    assert len(onsets(np.zeros(SR), SR)) == 0
    assert len(onsets(np.zeros(10), SR)) == 0
    assert len(onsets(1e-7 * np.random.default_rng(0).standard_normal(SR), SR)) == 0  # dither


def test_steady_noise_only_its_start() -> None:
    x = 0.3 * np.random.default_rng(0).standard_normal(SR)
    est = onsets(x, SR)
    assert len(est) == 1 and est[0] < 0.01


def test_onsets_refuse_multichannel() -> None:
    with pytest.raises(ValueError, match="mono"):
        onsets(np.zeros((2, 100)), SR)


def test_onset_f1_one_to_one() -> None:
    # two estimates near one reference: only one may match
    assert onset_f1([1.0], [0.99, 1.01]) == (0.5, 1.0, pytest.approx(2 / 3))
    # nearest-first would pair 1.05 with 1.03 and leave both 1.00 and 1.08 alone; a maximum matching pairs both
    p, r, f = onset_f1([1.0, 1.05], [1.03, 1.08], tolerance=0.031)
    assert (p, r, f) == (1.0, 1.0, 1.0)
    assert onset_f1([], []) == (1.0, 1.0, 1.0)
    assert onset_f1([1.0], []) == (0.0, 0.0, 0.0)
    assert onset_f1([1.0, 2.0], [1.5]) == (0.0, 0.0, 0.0)


def test_a_weighting_curve_matches_standard() -> None:
    # IEC 61672-1 table values (dB)
    table = {50: -30.2, 100: -19.1, 1000: 0.0, 10000: -2.5}
    for f, db in table.items():
        assert a_weighting_db(f) == pytest.approx(db, abs=0.1)


def test_loudness_of_sines_follows_a_weighting() -> None:
    levels = {f: float(np.median(loudness(_sine(f), SR))) for f in (50, 100, 1000, 10000)}
    assert levels[1000] == pytest.approx(-3.01, abs=0.05)  # full-scale sine: mean square 0.5
    assert levels[50] < levels[100] < levels[1000]
    for f, db in ((100, -19.1), (1000, 0.0), (10000, -2.5)):  # relative to 1 kHz, within 1 dB of the standard
        assert levels[f] - levels[1000] == pytest.approx(db, abs=1.0)
    half = float(np.median(loudness(_sine(1000, amp=0.5), SR)))
    assert half - levels[1000] == pytest.approx(-6.02, abs=0.05)


def test_loudness_shapes_and_silence() -> None:
    x = np.zeros((2, 3, 5000))
    out = loudness(x, SR)
    assert out.shape == (2, 3, 1 + 5000 // 512)
    assert np.all(out == -120.0)


def test_centroid_of_sine_is_its_frequency() -> None:
    for f in (440.0, 3000.0, 8000.0):
        c = spectral_centroid(_sine(f, 0.5), SR)[4:-4]
        assert np.allclose(c, f, rtol=0.01)
    assert np.all(spectral_centroid(np.zeros(4096), SR) == 0.0)


def test_flatness_noise_vs_sine() -> None:
    noise = np.random.default_rng(0).standard_normal(SR // 2)
    flat_noise = float(np.median(spectral_flatness(noise)))
    flat_sine = float(np.median(spectral_flatness(_sine(1000.0, 0.5))))
    assert flat_noise > 0.4
    assert flat_sine < 1e-3
    assert flat_noise > 100 * flat_sine
