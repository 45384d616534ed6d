"""Fast Griffin-Lim for STFT and MCLT magnitudes: convergence with iterations, momentum helps, determinism."""

from __future__ import annotations

import pytest
import torch

from foleyvae.audio.griffin_lim import griffin_lim_mclt, griffin_lim_stft, spectral_convergence
from foleyvae.audio.mclt import clip_to_mclt, mclt
from foleyvae.errors import FoleyError
from tests.conftest import footstep, speech_like

N_FFT, HOP = 512, 128
FRAME = 512


def _signals() -> torch.Tensor:
    """[2, T]: a footstep and a speech-like clip, 0.4 s each."""
    t = int(0.4 * 44100)
    return torch.stack([torch.from_numpy(footstep("wood", dur=0.4, seed=5)[:t]), torch.from_numpy(speech_like(0.4))])


def _stft_sc(mag: torch.Tensor, n_iter: int, momentum: float, length: int) -> torch.Tensor:
    y = griffin_lim_stft(mag, N_FFT, HOP, n_iter=n_iter, momentum=momentum, length=length)
    spec = torch.stft(y, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True, return_complex=True)
    return spectral_convergence(spec, mag)


def _mclt_sc(mag: torch.Tensor, n_iter: int, momentum: float, length: int) -> torch.Tensor:
    y = griffin_lim_mclt(mag, FRAME, n_iter=n_iter, momentum=momentum, length=length)
    return spectral_convergence(mclt(y, FRAME), mag)


@pytest.mark.parametrize("kind", ["stft", "mclt"])
def test_converges_and_momentum_helps(kind: str) -> None:
    x = _signals()
    length = x.shape[-1]
    if kind == "stft":
        mag = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True, return_complex=True).abs()
        sc = _stft_sc
    else:
        mag = mclt(x, FRAME).abs()
        sc = _mclt_sc
    sc4 = sc(mag, 4, 0.99, length)
    sc32 = sc(mag, 32, 0.99, length)
    sc32_plain = sc(mag, 32, 0.0, length)
    assert sc4.shape == (2,)
    assert torch.all(sc32 < 0.9 * sc4), (sc4, sc32)
    assert torch.all(sc32 < sc32_plain), (sc32, sc32_plain)
    assert torch.all(sc32 < 0.5)


def test_mclt_clip_image_with_dropped_edge_frame() -> None:
    x = torch.from_numpy(footstep("metal", dur=8192 / 44100, seed=2))[None]  # [1, 8192]
    mag = clip_to_mclt(x, FRAME).abs()  # [1, 256, 32]: edge frame dropped
    assert mag.shape == (1, FRAME // 2, 32)
    y = griffin_lim_mclt(mag, FRAME, n_iter=32, length=8192)
    assert y.shape == (1, 8192)
    assert (
        spectral_convergence(clip_to_mclt(y, FRAME), mag).item()
        < spectral_convergence(clip_to_mclt(griffin_lim_mclt(mag, FRAME, n_iter=2, length=8192), FRAME), mag).item()
    )


def test_init_options_and_determinism() -> None:
    x = _signals()[:1, :8192]
    mag = mclt(x, FRAME).abs()
    a = griffin_lim_mclt(mag, FRAME, n_iter=4, init="random", seed=3)
    b = griffin_lim_mclt(mag, FRAME, n_iter=4, init="random", seed=3)
    c = griffin_lim_mclt(mag, FRAME, n_iter=4, init="random", seed=4)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    z = griffin_lim_mclt(mag, FRAME, n_iter=0)  # zero phase, no iteration: just the inverse of mag
    assert z.shape == (1, (mag.shape[-1] - 1) * FRAME // 2)
    with pytest.raises(FoleyError):
        griffin_lim_mclt(mag, FRAME, init="ones")
    with pytest.raises(FoleyError):
        griffin_lim_stft(mag, N_FFT, HOP)


def test_gradient_reaches_magnitude() -> None:
    mag = mclt(_signals()[:1, :4096], FRAME).abs().requires_grad_()
    griffin_lim_mclt(mag, FRAME, n_iter=3).pow(2).sum().backward()
    assert mag.grad is not None and torch.isfinite(mag.grad).all() and mag.grad.abs().sum() > 0
