"""Spectral losses: zero on identical input, monotone in noise, finite gradients (silence too), batching, scales."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from foleyvae.audio.distances import MelDistance, MultiScaleSTFT, band_loss, mel_filterbank
from foleyvae.audio.pqmf import PQMF
from tests.conftest import SR, footstep


def _signal(batch: int = 2, channels: int = 1, n: int = 8192) -> torch.Tensor:
    x = np.stack([footstep("wood", dur=max(n / SR, 0.2), seed=i)[:n] for i in range(batch * channels)])
    return torch.from_numpy(x).view(batch, channels, n)


LOSSES = {"stft": lambda: MultiScaleSTFT(), "mel": lambda: MelDistance(SR)}


@pytest.mark.parametrize("name", list(LOSSES))
def test_identical_is_zero(name: str) -> None:
    loss = LOSSES[name]()
    x = _signal()
    assert loss(x, x.clone()).item() == 0.0
    z = torch.zeros(2, 1, 4096)
    assert loss(z, z.clone()).item() == 0.0


@pytest.mark.parametrize("name", list(LOSSES))
def test_increases_with_noise(name: str) -> None:
    loss = LOSSES[name]()
    x = _signal()
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    values = [loss(x, x + level * noise).item() for level in (1e-4, 1e-3, 1e-2, 1e-1)]
    assert values[0] > 0
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("case", ["signal", "zero_estimate", "silence_vs_silence", "zero_target"])
def test_finite_gradients(name: str, case: str) -> None:
    loss = LOSSES[name]()
    x = _signal()
    if case in ("silence_vs_silence", "zero_target"):
        x = torch.zeros_like(x)
    y = torch.zeros_like(x) if case in ("zero_estimate", "silence_vs_silence") else _signal() * 0.5 + 0.01
    if case == "zero_target":
        y = _signal()
    y.requires_grad_(True)
    value = loss(x, y)
    value.backward()
    assert torch.isfinite(value)
    assert y.grad is not None and torch.isfinite(y.grad).all()
    if case == "signal":
        assert y.grad.abs().max() > 0


@pytest.mark.parametrize("name", list(LOSSES))
def test_batched_and_channels(name: str) -> None:
    loss = LOSSES[name]()
    x = _signal(batch=2, channels=2, n=4096)
    y = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    folded = loss(x.reshape(4, 1, -1), y.reshape(4, 1, -1))
    torch.testing.assert_close(loss(x, y), folded)
    with pytest.raises(ValueError, match="differ in shape"):
        loss(x, y[..., :-1])


def test_scales_longer_than_signal_are_skipped() -> None:
    loss = MultiScaleSTFT()
    assert loss.active_scales(1000) == [512, 256, 128]
    assert loss.active_scales(50) == [128]  # nothing fits: smallest scale on the zero-padded signal
    small = MultiScaleSTFT(scales=(512, 256, 128))
    x = _signal(n=1000)
    y = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(loss(x, y), small(x, y))
    short = _signal(n=64)
    value = loss(short, short * 0.5)
    assert torch.isfinite(value) and value > 0


def test_multiscale_matches_hand_computation() -> None:
    """One scale, written out: relative L2 of magnitudes plus L1 of log magnitudes."""
    loss = MultiScaleSTFT(scales=(256,))
    x, y = _signal(n=2048), _signal(n=2048) * 0.3
    w = torch.hann_window(256)
    sx = torch.stft(x.view(2, -1), 256, 64, window=w, center=True, pad_mode="constant", return_complex=True).abs()
    sy = torch.stft(y.view(2, -1), 256, 64, window=w, center=True, pad_mode="constant", return_complex=True).abs()
    expected = (sx - sy).norm() / (sx.norm() + 1e-7) + (torch.log(sx + 1e-7) - torch.log(sy + 1e-7)).abs().mean()
    torch.testing.assert_close(loss(x, y), expected)


def test_mel_filterbank_slaney() -> None:
    fb = mel_filterbank(SR, 2048, 80)
    assert fb.shape == (80, 1025)
    assert (fb.sum(axis=1) > 0).all()  # no empty filter at 44.1 kHz / 2048
    freqs = np.arange(1025) * SR / 2048
    peaks = freqs[fb.argmax(axis=1)]
    assert np.all(np.diff(peaks) >= 0)
    # Slaney: linear spacing below 1 kHz (equal steps), log spacing above
    low = peaks[(peaks > 100) & (peaks < 900)]
    assert np.std(np.diff(low)) < 25.0  # ~one FFT bin of jitter on a constant ~48 Hz step
    # unit-area triangles: integral over Hz ~ 1 for filters many bins wide
    area = fb.sum(axis=1) * SR / 2048
    assert np.allclose(area[40:], 1.0, atol=0.05)


def test_band_loss_on_pqmf_bands() -> None:
    pqmf = PQMF(4, 70.0)
    loss = MultiScaleSTFT(scales=(256, 128))
    x = _signal(n=4100)  # cropped to 4096
    assert band_loss(pqmf, x, x, loss).item() == 0.0
    y = (x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))).requires_grad_(True)
    value = band_loss(pqmf, x, y, loss)
    value.backward()
    assert value > 0 and y.grad is not None and torch.isfinite(y.grad).all()
