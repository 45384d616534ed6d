"""Adversarial losses for phase 2: hinge or least-squares GAN, and feature matching (L1, first layer skipped)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["discriminator_loss", "generator_loss", "feature_matching"]


def discriminator_loss(real: list[list[Tensor]], fake: list[list[Tensor]], kind: str = "hinge") -> Tensor:
    """Sum over sub-discriminators of the loss on their logit maps (last feature)."""
    total = torch.zeros((), device=real[0][-1].device)
    for r, f in zip(real, fake, strict=True):
        if kind == "hinge":
            total = total + torch.relu(1 - r[-1]).mean() + torch.relu(1 + f[-1]).mean()
        else:
            total = total + ((r[-1] - 1) ** 2).mean() + (f[-1] ** 2).mean()
    return total


def generator_loss(fake: list[list[Tensor]], kind: str = "hinge") -> Tensor:
    total = torch.zeros((), device=fake[0][-1].device)
    for f in fake:
        total = total + (-f[-1].mean() if kind == "hinge" else ((f[-1] - 1) ** 2).mean())
    return total


def feature_matching(real: list[list[Tensor]], fake: list[list[Tensor]]) -> Tensor:
    """Mean L1 between real and fake feature maps, skipping each sub-discriminator's first layer (RAVE)."""
    total = torch.zeros((), device=real[0][-1].device)
    n = 0
    for r, f in zip(real, fake, strict=True):
        for fr, ff in zip(r[1:-1], f[1:-1], strict=True):
            total = total + (fr.detach() - ff).abs().mean()
            n += 1
    return total / max(n, 1)
