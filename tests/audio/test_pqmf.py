"""PQMF: near-perfect reconstruction, exact delay, streaming == offline, band selectivity, numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import correlate

from foleyvae.audio.pqmf import PQMF, prototype_filter
from foleyvae.nn.streaming import streaming
from tests.conftest import SR, footstep

# (n_bands, attenuation) -> filter_length documented in pqmf.py's module docstring.
DOCUMENTED = {(16, 100.0): 247, (8, 80.0): 100, (4, 70.0): 44}


@pytest.fixture(scope="module")
def bank16() -> PQMF:
    return PQMF(16, 100.0)


def _recon_db(pqmf: PQMF, x: np.ndarray) -> float:
    xt = torch.from_numpy(x.astype(np.float32)).view(1, 1, -1)
    with torch.no_grad():
        y = pqmf.synthesis(pqmf.analysis(xt))[0, 0].double().numpy()
    d = pqmf.delay_samples
    err = y[d:] - x[: len(x) - d]
    return float(10 * np.log10(np.sum(err**2) / np.sum(x[: len(x) - d] ** 2)))


def _reference_bank(n_bands: int, attenuation: float) -> tuple[np.ndarray, np.ndarray]:
    """Textbook cosine modulation of the prototype, written out independently of the module."""
    p = prototype_filter(n_bands, attenuation)
    n = np.arange(len(p))
    ana = np.zeros((n_bands, len(p)))
    syn = np.zeros((n_bands, len(p)))
    for k in range(n_bands):
        theta = (-1) ** k * np.pi / 4
        arg = (2 * k + 1) * np.pi / (2 * n_bands) * (n - (len(p) - 1) / 2)
        ana[k] = 2 * np.sqrt(n_bands) * p * np.cos(arg + theta)
        syn[k] = 2 * np.sqrt(n_bands) * p * np.cos(arg - theta)
    return ana, syn


@pytest.mark.parametrize(("n_bands", "attenuation"), list(DOCUMENTED))
def test_documented_lengths_and_attenuation(n_bands: int, attenuation: float) -> None:
    pqmf = PQMF(n_bands, attenuation)
    assert pqmf.filter_length == DOCUMENTED[(n_bands, attenuation)]
    assert pqmf.delay_samples == pqmf.filter_length - n_bands
    p = prototype_filter(n_bands, attenuation)
    mag = np.abs(np.fft.rfft(p, 1 << 18))
    edge = int(np.ceil((1 << 18) / (2 * n_bands)))
    assert -20 * np.log10(mag[edge:].max() / mag[0]) >= attenuation  # measured stopband beyond pi / M


def test_reconstruction_white_noise_16_bands(bank16: PQMF) -> None:
    x = np.random.default_rng(0).standard_normal(16 * 1378) * 0.3
    db = _recon_db(bank16, x)
    print(f"16 bands / 100 dB, white noise: reconstruction error {db:.1f} dB")  # measured: -59.0 dB
    assert db < -50.0


def test_reconstruction_footstep_16_bands(bank16: PQMF) -> None:
    x = footstep("wood", dur=0.5).astype(np.float64)
    x = x[: len(x) // 16 * 16]
    db = _recon_db(bank16, x)
    print(f"16 bands / 100 dB, footstep: reconstruction error {db:.1f} dB")  # measured: -58.5 dB
    assert db < -50.0


@pytest.mark.parametrize(("n_bands", "attenuation"), [(8, 80.0), (4, 70.0), (2, 60.0)])
def test_reconstruction_smaller_banks(n_bands: int, attenuation: float) -> None:
    x = np.random.default_rng(1).standard_normal(8192)
    assert _recon_db(PQMF(n_bands, attenuation), x) < -45.0  # measured: -64, -57, -51 dB


@pytest.mark.parametrize(("n_bands", "attenuation"), [(16, 100.0), (8, 80.0), (4, 70.0)])
def test_delay_by_cross_correlation(n_bands: int, attenuation: float) -> None:
    pqmf = PQMF(n_bands, attenuation)
    x = np.random.default_rng(2).standard_normal(16384).astype(np.float32)
    with torch.no_grad():
        y = pqmf.synthesis(pqmf.analysis(torch.from_numpy(x).view(1, 1, -1)))[0, 0].numpy()
    xc = correlate(y, x, mode="full", method="fft")
    lag = int(np.argmax(xc)) - (len(x) - 1)
    assert lag == pqmf.delay_samples
    # and the aligned gain is one
    d = pqmf.delay_samples
    assert np.dot(y[d:], x[: len(x) - d]) / np.dot(x[: len(x) - d], x[: len(x) - d]) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("multiples", [(1,), (3,), (7,), (1, 3, 7, 3, 1, 7)])
def test_streaming_equals_offline(bank16: PQMF, multiples: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 1, 16 * 7 * 30)
    with torch.no_grad():
        bands_ref = bank16.analysis(x)
        y_ref = bank16.synthesis(bands_ref)
        bands, outs = [], []
        with streaming(bank16):
            pos, i = 0, 0
            while pos < x.shape[-1]:
                n = min(16 * multiples[i % len(multiples)], x.shape[-1] - pos)
                b = bank16.analysis(x[..., pos : pos + n])
                bands.append(b)
                outs.append(bank16.synthesis(b))
                pos, i = pos + n, i + 1
    torch.testing.assert_close(torch.cat(bands, -1), bands_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.cat(outs, -1), y_ref, atol=1e-6, rtol=0)
    # leaving streaming mode resets: offline again gives the reference
    with torch.no_grad():
        torch.testing.assert_close(bank16.synthesis(bank16.analysis(x)), y_ref, atol=0, rtol=0)


@pytest.mark.parametrize("k", [0, 1, 5, 10, 15])
def test_sine_at_band_centre_lands_in_its_band(bank16: PQMF, k: int) -> None:
    f = (2 * k + 1) / (4 * 16) * SR
    t = np.arange(16 * 1024) / SR
    x = torch.from_numpy(np.sin(2 * np.pi * f * t).astype(np.float32)).view(1, 1, -1)
    with torch.no_grad():
        bands = bank16.analysis(x)[0, :, 64:]  # skip the filter's start-up
    energy = (bands.double() ** 2).sum(-1)
    assert energy[k] / energy.sum() > 0.99
    assert 10 * torch.log10(energy.sum() / (x[0, 0, 64 * 16 :].double() ** 2).sum()).abs() < 0.1  # energy kept


@pytest.mark.parametrize(("n_bands", "attenuation"), [(16, 100.0), (4, 70.0)])
def test_matches_numpy_reference(n_bands: int, attenuation: float) -> None:
    pqmf = PQMF(n_bands, attenuation)
    ana, syn = _reference_bank(n_bands, attenuation)
    x = np.random.default_rng(3).standard_normal(n_bands * 200)
    with torch.no_grad():
        bands = pqmf.analysis(torch.from_numpy(x).float().view(1, 1, -1))[0].double().numpy()
    # slow reference: full-rate causal filtering, then keep every M-th sample (phase M - 1)
    ref = np.stack([np.convolve(x, h)[n_bands - 1 :: n_bands][: len(x) // n_bands] for h in ana])
    np.testing.assert_allclose(bands, ref, atol=2e-5 * np.abs(ref).max())
    # synthesis: zero-stuff by M, filter, sum the bands
    with torch.no_grad():
        y = pqmf.synthesis(torch.from_numpy(ref).float().unsqueeze(0))[0, 0].double().numpy()
    up = np.zeros((n_bands, len(x)))
    up[:, ::n_bands] = ref
    y_ref = sum(np.convolve(up[k], syn[k])[: len(x)] for k in range(n_bands))
    np.testing.assert_allclose(y, y_ref, atol=2e-5 * np.abs(y_ref).max())


def test_causal_by_gradients(bank16: PQMF) -> None:
    x = torch.randn(1, 1, 16 * 40, requires_grad=True)
    y = bank16.synthesis(bank16.analysis(x))
    n = 16 * 20 + 5  # output sample inside frame 20
    y[0, 0, n].backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad[0, 0, 16 * 21 :].abs().max() == 0  # nothing after the end of the current frame
    assert x.grad[0, 0, : 16 * 21].abs().max() > 0


def test_scriptable_and_dtype(bank16: PQMF) -> None:
    scripted = torch.jit.script(bank16)
    x = torch.randn(3, 1, 16 * 50)
    with torch.no_grad():
        torch.testing.assert_close(scripted.analysis(x), bank16.analysis(x))
        torch.testing.assert_close(scripted(x), bank16(x))
        torch.testing.assert_close(scripted.synthesis(bank16.analysis(x)), bank16.synthesis(bank16.analysis(x)))
        assert bank16.synthesis(bank16.analysis(x.double())).dtype == torch.float64
    assert bank16.state_dict() == {}  # filters are rebuilt, not saved


@pytest.mark.parametrize("n_bands", [0, 1, 3, 12, 64, -4])
def test_bad_n_bands_refused(n_bands: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        PQMF(n_bands)


def test_bad_shapes_refused(bank16: PQMF) -> None:
    with pytest.raises(ValueError, match="multiple of n_bands"):
        bank16.analysis(torch.zeros(1, 1, 100))
    with pytest.raises(ValueError, match=r"\[B, 1, T\]"):
        bank16.analysis(torch.zeros(1, 2, 160))
    with pytest.raises(ValueError, match="expects"):
        bank16.synthesis(torch.zeros(1, 8, 10))
