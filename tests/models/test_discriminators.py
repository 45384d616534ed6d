"""Phase-2 discriminators: both kinds give the feature-list structure the losses expect, pass gradients to the
generator, learn to tell real from fake, and the config names a wrong choice."""

from __future__ import annotations

import math

import pytest
import torch

from foleyvae.config import ConfigError, apply_overrides, preset
from foleyvae.losses.adversarial import discriminator_loss, feature_matching, generator_loss
from foleyvae.models.builders import build_model
from foleyvae.models.discriminators import SpectralDiscriminator, build_discriminator
from foleyvae.training.distributed import DistInfo
from foleyvae.training.loop import _generator_step


def _tones(b: int, t: int, sr: int = 44100) -> torch.Tensor:
    """Decaying partials, like struck objects: [B, 1, T]."""
    g = torch.Generator().manual_seed(0)
    n = torch.arange(t) / sr
    f = 200 + 1800 * torch.rand(b, 1, 1, generator=g)
    return 0.5 * torch.sin(2 * math.pi * f * n) * torch.exp(-6 * n)


@pytest.mark.parametrize("kind", ["waveform", "spectral"])
def test_feature_lists_and_gradients_reach_the_input(kind: str) -> None:
    disc = build_discriminator(kind, 1, 4, (2, 3))
    x = _tones(2, 8192).requires_grad_(True)
    feats = disc(x)
    assert len(feats) == (3 if kind == "spectral" else 2 + 3)
    assert all(len(f) >= 3 and f[-1].shape[1] == 1 for f in feats)  # hidden maps, then the logit map
    generator_loss(feats).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_spectral_discriminator_learns_real_from_fake() -> None:
    torch.manual_seed(0)
    disc = SpectralDiscriminator(1, 8)
    opt = torch.optim.Adam(disc.parameters(), 1e-3, betas=(0.5, 0.9))
    real = _tones(4, 8192)
    fake = real + 0.05 * torch.randn_like(real)  # the same sound with a noise floor a generator might leave
    losses = []
    for _ in range(40):
        loss = discriminator_loss(disc(real), disc(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        d_real = torch.stack([f[-1].mean() for f in disc(real)]).mean()
        d_fake = torch.stack([f[-1].mean() for f in disc(fake)]).mean()
    assert losses[-1] < 0.5 * losses[0], losses[::8]  # hinge loss starts near 2 per resolution
    assert d_real > d_fake + 0.5


def test_a_phase2_step_with_the_spectral_discriminator_updates_both_sides() -> None:
    cfg = apply_overrides(preset("tiny"), ["train.discriminator=spectral", "train.discriminator_capacity=4"])
    torch.manual_seed(0)
    model = build_model(cfg).train()
    disc = build_discriminator("spectral", 1, 4, cfg.train.periods)
    opt_d = torch.optim.Adam(disc.parameters(), 1e-3)
    before = [p.detach().clone() for p in disc.parameters()]
    x = _tones(2, cfg.train.n_samples)
    total, logs = _generator_step(model, disc, opt_d, x, 2, 1e-3, cfg, DistInfo())
    total.backward()
    assert torch.isfinite(total) and {"adv/gen", "adv/feat", "adv/disc"} <= logs.keys()
    assert any(not torch.equal(a, b) for a, b in zip(before, disc.parameters(), strict=True))  # D stepped
    decoder_grads = [p.grad for n, p in model.named_parameters() if "decoder" in n and p.grad is not None]
    assert decoder_grads and any(g.abs().sum() > 0 for g in decoder_grads)
    assert feature_matching(disc(x), disc(x)) == 0  # identical inputs: no feature distance


def test_the_cpu_preset_uses_the_spectral_discriminator_and_a_wrong_name_is_named() -> None:
    assert preset("foley-small").train.discriminator == "spectral"
    assert preset("rave-v2-like").train.discriminator == "waveform"
    with pytest.raises(ConfigError, match="train.discriminator"):
        apply_overrides(preset("tiny"), ["train.discriminator=gan"])
