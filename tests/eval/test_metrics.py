"""eval.metrics: SI-SDR, spectral distances, loudness correlation, onset F1, Frechet distance, rank statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from foleyvae.eval import metrics as M
from tests.conftest import SR, footstep, impulses
from tests.eval.conftest import noise


def test_si_sdr_identity_noise_and_scale_invariance() -> None:
    x = footstep("wood", 0.4)
    assert M.si_sdr(x, x) > 90.0
    assert M.si_sdr(x, 0.25 * x) > 90.0  # scale invariant
    assert M.si_sdr(x, noise(len(x))) < -10.0
    slightly = x + 0.01 * noise(len(x), 1)
    assert 10.0 < M.si_sdr(x, slightly) < 60.0
    assert math.isnan(M.si_sdr(np.zeros(100), np.ones(100)))  # silent reference: undefined
    stereo = np.stack([x, x])
    assert M.si_sdr(stereo, stereo) > 90.0
    with pytest.raises(ValueError):
        M.si_sdr(x, x[:-1])


def test_spectral_distances_zero_for_identical_and_positive_otherwise() -> None:
    x = footstep("metal", 0.3)
    y = footstep("gravel", 0.3, seed=2)
    assert M.multiscale_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert M.mel_distance(x, x, SR) == pytest.approx(0.0, abs=1e-6)
    assert M.multiscale_distance(x, y) > 0.5
    assert M.mel_distance(x, y, SR) > 0.1


def test_loudness_correlation() -> None:
    x = footstep("wood", 0.6)
    assert M.loudness_correlation(x, x, SR) == pytest.approx(1.0)
    assert M.loudness_correlation(x, 0.1 * x, SR) == pytest.approx(1.0, abs=1e-3)  # level-independent shape
    assert M.loudness_correlation(x, x[::-1].copy(), SR) < 0.5  # reversed envelope
    assert math.isnan(M.pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_onset_f1_identical_is_one_and_shift_breaks_it() -> None:
    x = impulses(SR, every=8820)  # 5 clicks, 200 ms apart
    s = M.onset_scores(x, x, SR)
    assert s["f1"] == 1.0 and s["n_ref"] == 5.0
    late = np.roll(x, int(0.06 * SR))  # 60 ms late: outside the 30 ms tolerance
    assert M.onset_scores(x, late, SR)["f1"] == 0.0
    truth = (np.arange(5) * 8820 + 4410) / SR
    assert M.onset_scores(x, x, SR, ref_times=truth)["f1"] == 1.0


def test_frechet_distance_self_shift_and_reference() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 64))
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    d = [M.frechet_distance(a, a + s) for s in (0.1, 0.5, 1.0)]
    assert d == pytest.approx([64 * 0.01, 64 * 0.25, 64 * 1.0], rel=1e-6)  # a mean shift adds |shift|^2
    b = rng.standard_normal((30, 64)) * 1.7 + 0.3
    # against the textbook formula with a general matrix square root
    sa, sb = np.cov(a, rowvar=False) + 1e-6 * np.eye(64), np.cov(b, rowvar=False) + 1e-6 * np.eye(64)
    mu = a.mean(0) - b.mean(0)
    ref = mu @ mu + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)
    assert M.frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)
    assert M.frechet_distance(a[:1], b) > 0.0  # a single example is allowed
    with pytest.raises(ValueError):
        M.frechet_distance(a, b[:, :10])


def test_rank_statistics_and_aggregate() -> None:
    assert M.spearman([0, 1, 2, 3], [1, 3, 5, 9]) == pytest.approx(1.0)
    assert M.spearman([0, 1, 2, 3], [9, 5, 3, 1]) == pytest.approx(-1.0)
    assert M.monotone_fraction([1, 2, 2, 3]) == pytest.approx(2 / 3)
    assert M.monotone_fraction([3, 2, 1], increasing=False) == 1.0
    agg = M.aggregate([{"a": 1.0}, {"a": 3.0}, {"a": float("nan")}], ["a"])
    assert agg == {"n": 3.0, "a": 2.0, "a/nan": 1.0}


def _delayed(x: np.ndarray, lag: int, n: int) -> np.ndarray:
    """``y[t + lag] = x[t]``, length n, zeros elsewhere."""
    y = np.zeros(n, np.float64)
    src = x[max(0, -lag) :]
    y[max(0, lag) : max(0, lag) + len(src)] = src[: n - max(0, lag)]
    return y


def test_envelope_is_a_floored_log_rms_of_the_mono_mix() -> None:
    t = np.arange(SR) / SR
    sine = 0.5 * np.sin(2 * np.pi * 441 * t)
    env = M.envelope(sine, win=100)  # 100 samples = one period: the moving RMS is exact in the middle
    assert env.shape == (SR,)
    assert np.allclose(env[200:-200], 20 * np.log10(0.5 / math.sqrt(2)), atol=1e-6)
    gated = np.concatenate([sine[:4410], np.zeros(4410)])
    env = M.envelope(np.stack([gated, gated]), win=100)  # stereo: the mono mix
    assert env.min() == pytest.approx(env.max() - 60.0)  # silence floored 60 dB under the maximum
    assert np.allclose(M.envelope(np.stack([gated, -gated])), M.envelope(np.zeros_like(gated)))  # mix cancels


def test_estimate_delay_finds_the_lag_of_delayed_footsteps() -> None:
    pad = np.zeros(2000)  # silence before the onset: a lag of either sign keeps the whole step
    clips = [np.concatenate([pad, footstep(m, 0.2, seed=i), pad]) for i, m in enumerate(("wood", "metal"))]
    n = len(clips[0]) + 6000
    rng = np.random.default_rng(0)
    for lag in (0, 86, 5000, -40):
        outs = [_delayed(x, lag, n) + 0.003 * rng.standard_normal(n) for x in clips]
        got, corr = M.estimate_delay(clips, outs, max_lag=6000, min_lag=-100, kind="waveform")
        assert got == lag and corr > 0.95
        got, corr = M.estimate_delay(clips, outs, max_lag=6000, min_lag=-100, kind="envelope")
        assert abs(got - lag) <= 8 and corr > 0.7  # the noise fills the floored silences
    # a sign-flipped output (magnitudes kept, phases not) is found by its envelope, not by its samples
    outs = [-_delayed(x, 86, n) for x in clips]
    assert M.estimate_delay(clips, outs, max_lag=6000)[0] == pytest.approx(86, abs=8)
    assert M.estimate_delay(clips, outs, max_lag=6000, kind="waveform")[0] != 86
    silent = [np.zeros(n), np.zeros(n)]
    assert M.estimate_delay(clips, silent, max_lag=100) == (0, 0.0)  # silent pairs are skipped: no evidence
    with pytest.raises(ValueError, match="kind"):
        M.estimate_delay(clips, outs, max_lag=10, kind="phase")
