"""Discriminators for phase 2 (adversarial fine-tuning): multi-period (HiFi-GAN style periods 2, 3, 5, 7, 11) and
multi-scale (3 scales), as used by RAVE v2 (ARCHITECTURE.md section 3). Each returns, per sub-discriminator, the
list of its feature maps; the last one is the logit map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

__all__ = [
    "CombinedDiscriminator",
    "PeriodDiscriminator",
    "ScaleDiscriminator",
    "STFTDiscriminator",
    "SpectralDiscriminator",
    "build_discriminator",
]


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


class STFTDiscriminator(nn.Module):
    """One resolution of the multi-resolution spectral discriminator: 2-D convs over the complex STFT.

    x ``[B, C, T]`` -> STFT ``[B, 2C, frames, n_fft/2+1]`` (real and imaginary parts as channels, so phase is
    seen) -> convs strided along frequency, dilated along time (after EnCodec's MS-STFT discriminator: time dilations
    1, 2, 4; Defossez et al. 2022, section 3.3), sized for a CPU by ``capacity`` and the strides below.
    """

    def __init__(self, n_fft: int, channels: int, capacity: int, dilations: Sequence[int] = (1, 2, 4)) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = n_fft // 4
        self.window: Tensor
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        # strided along frequency from the first layer and (3, 5) kernels after it: 3.5x fewer multiply-adds than
        # EnCodec's layout at the same width (measured in benchmarks/train_speed.py)
        layers = [weight_norm(nn.Conv2d(2 * channels, capacity, (3, 9), (1, 2), padding=(1, 4)))]
        for d in dilations:
            layers.append(weight_norm(nn.Conv2d(capacity, capacity, (3, 5), (1, 2), padding=(d, 2), dilation=(d, 1))))
        layers.append(weight_norm(nn.Conv2d(capacity, capacity, (3, 3), padding=(1, 1))))
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(capacity, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: Tensor) -> list[Tensor]:
        b, c, t = x.shape
        spec = torch.stft(
            x.reshape(b * c, t), self.n_fft, self.hop, window=self.window, center=True, return_complex=True
        )  # [B*C, F, frames]
        h = torch.view_as_real(spec).permute(0, 3, 2, 1).reshape(b, 2 * c, spec.shape[-1], spec.shape[-2])
        feats = []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        feats.append(self.out(h))
        return feats


class SpectralDiscriminator(nn.Module):
    """Multi-resolution STFT discriminator, the CPU-sized choice for phase 2 (``train.discriminator=spectral``).

    forward(x ``[B, C, T]``) -> one feature list per resolution, like :class:`CombinedDiscriminator`, so the
    losses in ``losses/adversarial.py`` take either. Three resolutions (2048/1024/512 at 44.1-48 kHz) replace
    five period and three scale discriminators: see ``benchmarks/train_speed.py`` for the cost of each.
    """

    def __init__(self, channels: int = 1, capacity: int = 16, n_ffts: Sequence[int] = (2048, 1024, 512)) -> None:
        super().__init__()
        self.resolutions = nn.ModuleList([STFTDiscriminator(n, channels, capacity) for n in n_ffts])

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        return [d(x) for d in self.resolutions]


def build_discriminator(kind: str, channels: int, capacity: int, periods: Sequence[int]) -> nn.Module:
    """``train.discriminator``: ``waveform`` (multi-period + multi-scale, RAVE v2) or ``spectral`` (CPU-sized)."""
    if kind == "spectral":
        return SpectralDiscriminator(channels, capacity)
    if kind == "waveform":
        return CombinedDiscriminator(channels, capacity, periods)
    raise ValueError(f"unknown discriminator {kind!r} (waveform or spectral)")
