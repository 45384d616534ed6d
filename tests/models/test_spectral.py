"""The MCLT VAE family: shapes (short/long/odd lengths), chunking, a few training steps, mixing, builder."""

from __future__ import annotations

import pytest
import torch

from foleyvae.audio.mclt import clip_to_mclt
from foleyvae.errors import FoleyError
from foleyvae.models.base import AutoEncoder
from foleyvae.models.spectral import (
    MCLT2DVAE,
    SPECTRAL_KINDS,
    MCLTComplexVAE,
    build_spectral,
    interpolate,
)
from tests.conftest import footstep

# tiny configuration: frame 256 -> 128 bins, clip 4096 samples -> 32 frames
FRAME, CLIP, LATENT = 256, 4096, 8


def _tiny(kind: str, capacity: int = 4) -> AutoEncoder:
    torch.manual_seed(0)
    return build_spectral(kind, 44100, LATENT, capacity, FRAME, CLIP, griffin_lim_iters=8, griffin_lim_momentum=0.99)


def _steps(n: int = 4, length: int = CLIP) -> torch.Tensor:
    """[n, 1, length] synthetic footsteps of several materials."""
    mats = ("wood", "metal", "gravel", "snow")
    return torch.stack(
        [
            torch.from_numpy(footstep(mats[i % 4], dur=max(length / 44100 + 0.01, 0.2), seed=i)[:length])
            for i in range(n)
        ]
    )[:, None]


@pytest.mark.parametrize("kind", SPECTRAL_KINDS)
def test_interface_and_shapes(kind: str) -> None:
    model = _tiny(kind)
    assert isinstance(model, AutoEncoder)
    assert (model.channels, model.latent_size, model.hop_length, model.delay_samples) == (1, LATENT, CLIP, 0)
    assert model.supports_adversarial is False and model.sample_rate == 44100
    for length, n_clips in ((1000, 1), (CLIP, 1), (CLIP + 1, 2), (3 * CLIP - 77, 3)):
        x = torch.randn(2, 1, length) * 0.1
        enc = model.encode(x)
        assert enc.z.shape == enc.mean.shape == enc.std.shape == (2, LATENT, n_clips)
        assert enc.kl.dim() == 0 and enc.kl.item() >= 0
        assert model.decode(enc.z).shape == (2, 1, n_clips * CLIP)
        y = model(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
    if kind == "mclt-cvae":
        assert enc.z.is_complex() and not enc.std.is_complex()
    else:
        assert not enc.z.is_complex()
    terms = model.compute_losses(torch.randn(2, 1, 3000) * 0.1)
    assert set(terms.recon) == {"spec/feature", "spec/multiscale"}
    assert terms.y.shape == (2, 1, 3000)
    assert all(torch.isfinite(v) for v in terms.recon.values()) and torch.isfinite(terms.kl)


def test_chunks_are_independent_clips() -> None:
    model = _tiny("mclt-3d")
    x = _steps(2)  # two clips
    long = torch.cat([x[0:1], x[1:2]], dim=-1)  # [1, 1, 2 * CLIP]
    z_long = model.encode(long, sample=False).z
    z_sep = model.encode(x, sample=False).z
    assert torch.allclose(z_long[0, :, 0], z_sep[0, :, 0], atol=1e-5)
    assert torch.allclose(z_long[0, :, 1], z_sep[1, :, 0], atol=1e-5)
    y = model.decode(z_long)
    assert torch.allclose(y[..., :CLIP], model.decode(z_sep[0:1]), atol=1e-5)


def test_2d_image_layout_and_exact_feature_inverse() -> None:
    model = _tiny("mclt-2d")
    assert isinstance(model, MCLT2DVAE)
    x = _steps(2)[:, 0]
    image = model.features(x)
    assert image.shape == (2, 1, 2 * (FRAME // 2), CLIP // (FRAME // 2))  # magnitude rows over phase rows
    y = model.synthesize(image)
    # features -> synthesis is the identity up to the faded last hop (edge frame dropped) and the -100 dB floor
    err = (y[:, : -FRAME // 2] - x[:, : -FRAME // 2]).norm() / x[:, : -FRAME // 2].norm()
    assert err < 1e-3


@pytest.mark.parametrize("kind", ["mclt-3d", "mclt-gl", "mclt-cvae"])
def test_feature_roundtrip(kind: str) -> None:
    model = _tiny(kind)
    x = _steps(2)[:, 0]
    image = model.features(x)
    spec = clip_to_mclt(x, FRAME)
    if kind == "mclt-gl":
        assert image.shape == (2, 1, FRAME // 2, CLIP // (FRAME // 2))
        # Griffin-Lim only recovers the magnitude: check the spectral convergence instead of the waveform
        y = model.synthesize(image)
        sc = (clip_to_mclt(y, FRAME).abs() - spec.abs()).norm() / spec.abs().norm()
        assert sc < 0.5
    else:
        y = model.synthesize(image)
        keep = CLIP - FRAME // 2
        assert (y[:, :keep] - x[:, :keep]).norm() / x[:, :keep].norm() < 1e-4


@pytest.mark.parametrize("kind", SPECTRAL_KINDS)
def test_training_steps_lower_the_loss(kind: str) -> None:
    model = _tiny(kind, capacity=4)
    x = _steps(4)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    beta = 1e-3

    def total() -> torch.Tensor:
        torch.manual_seed(123)  # same posterior noise for the before/after comparison
        terms = model.compute_losses(x)
        return sum(terms.recon.values(), torch.zeros(())) + beta * terms.kl

    with torch.no_grad():
        before = total().item()
    for _ in range(25):
        loss = total()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = total().item()
    assert after < 0.9 * before, (before, after)


def test_complex_model_is_complex() -> None:
    model = _tiny("mclt-cvae")
    assert isinstance(model, MCLTComplexVAE)
    assert all(p.is_complex() for p in model.encoder.parameters())
    assert all(p.is_complex() for p in model.decoder.parameters())
    enc = model.encode(_steps(1))
    assert enc.mean.dtype == torch.complex64


@pytest.mark.parametrize("kind", ["mclt-2d", "mclt-cvae"])
def test_interpolate(kind: str) -> None:
    model = _tiny(kind)
    a = _steps(1, 3000)
    b = _steps(2, CLIP + 500)[1:2]
    for alpha, ref in ((0.0, a), (1.0, b)):
        mix = interpolate(model, a, b, alpha)
        assert mix.shape == (1, 1, CLIP + 500)
        padded = torch.nn.functional.pad(ref, (0, CLIP + 500 - ref.shape[-1]))
        assert torch.allclose(mix, model(padded), atol=1e-5)
    mid = interpolate(model, a, b, 0.5)
    assert torch.isfinite(mid).all()
    with pytest.raises(FoleyError):
        interpolate(model, a, b, 1.5)


def test_builder_and_errors() -> None:
    with pytest.raises(FoleyError):
        build_spectral("mclt-4d", 44100, 8, 4, FRAME, CLIP, 8, 0.99)
    with pytest.raises(FoleyError):
        build_spectral("mclt-2d", 44100, 8, 4, FRAME, CLIP + 3, 8, 0.99)
    model = _tiny("mclt-2d")
    with pytest.raises(FoleyError):
        model.encode(torch.zeros(1, 2, CLIP))  # stereo
    with pytest.raises(FoleyError):
        model.decode(torch.zeros(1, LATENT + 1, 1))


def test_default_size_builds_for_the_paper_image() -> None:
    """Default preset geometry: 32768-sample clips -> 512 x 64 images, one latent vector per clip."""
    model = build_spectral("mclt-3d", 44100, 64, 16, 1024, 32768, 32, 0.99)
    x = torch.zeros(1, 1, 32768)
    assert model.features(x[:, 0]).shape == (1, 2, 512, 64)
    assert model.encode(x).z.shape == (1, 64, 1)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 3_000_000
