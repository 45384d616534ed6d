"""Discriminators for phase 2 (adversarial fine-tuning): multi-period (HiFi-GAN style periods 2, 3, 5, 7, 11) and
multi-scale (3 scales), as used by RAVE v2 (ARCHITECTURE.md section 3). Each returns, per sub-discriminator, the
list of its feature maps; the last one is the logit map.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

__all__ = ["CombinedDiscriminator", "PeriodDiscriminator", "ScaleDiscriminator"]


class PeriodDiscriminator(nn.Module):
    """x ``[B, C, T]`` folded to ``[B, C, T/p, p]``; 2-D convs along time."""

    def __init__(self, period: int, channels: int, capacity: int, n_layers: int = 4) -> None:
        super().__init__()
        self.period = period
        layers = []
        c_in = channels
        for i in range(n_layers):
            c_out = min(capacity * 4**i, 512)
            layers.append(weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (3, 1), padding=(2, 0))))
            c_in = c_out
        layers.append(weight_norm(nn.Conv2d(c_in, c_in, (5, 1), 1, padding=(2, 0))))
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: Tensor) -> list[Tensor]:
        b, c, t = x.shape
        pad = (-t) % self.period
        x = F.pad(x, (0, pad), mode="reflect" if pad < t else "constant")
        h = x.reshape(b, c, -1, self.period)
        feats = []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        feats.append(self.out(h))
        return feats


class ScaleDiscriminator(nn.Module):
    """1-D strided grouped convs on ``[B, C, T]`` (after average pooling for the coarser scales)."""

    def __init__(self, channels: int, capacity: int, n_layers: int = 4) -> None:
        super().__init__()
        layers = [weight_norm(nn.Conv1d(channels, capacity, 15, 1, padding=7))]
        c = capacity
        for _ in range(n_layers):
            c_out = min(c * 4, 512)
            layers.append(weight_norm(nn.Conv1d(c, c_out, 41, 4, padding=20, groups=max(1, c // 4))))
            c = c_out
        layers.append(weight_norm(nn.Conv1d(c, c, 5, 1, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv1d(c, 1, 3, 1, padding=1))

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        h = x
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        feats.append(self.out(h))
        return feats


class CombinedDiscriminator(nn.Module):
    """Multi-period + multi-scale. forward(x ``[B, C, T]``) -> one feature list per sub-discriminator."""

    def __init__(
        self, channels: int = 1, capacity: int = 16, periods: Sequence[int] = (2, 3, 5, 7, 11), n_scales: int = 3
    ):
        super().__init__()
        self.periods = nn.ModuleList([PeriodDiscriminator(p, channels, capacity) for p in periods])
        self.scales = nn.ModuleList([ScaleDiscriminator(channels, capacity) for _ in range(n_scales)])

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        out = [d(x) for d in self.periods]
        h = x
        for i, d in enumerate(self.scales):
            if i > 0:
                h = F.avg_pool1d(h, 4, 2, padding=1)
            out.append(d(h))
        return out
