"""Complex-valued layers and the complex Gaussian posterior (for the MCLT complex VAE).

All layers hold complex ``torch.cfloat`` parameters and take/return complex tensors; they are computed with
PyTorch's native complex convolution/matmul kernels, which implement ``(a + ib) * (w + iv) = (aw - bv) + i(av + bw)``
(tests check that against real-valued convolutions). Adam handles complex parameters as pairs of reals.

Complex Gaussian (Nakashika, "Complex-valued variational autoencoder: a novel deep generative model for direct
representation of complex spectra", Interspeech 2020): a scalar ``z ~ CN(mu, gamma, c)`` has mean ``mu``, covariance
``gamma = E|z - mu|^2`` (real, > 0) and pseudo-covariance ``c = E (z - mu)^2`` (complex, ``|c| < gamma``). As a real
pair, ``Var Re z = (gamma + Re c) / 2``, ``Var Im z = (gamma - Re c) / 2``, ``Cov(Re z, Im z) = Im c / 2``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "CReLU",
    "ComplexConv2d",
    "ComplexConvTranspose2d",
    "ComplexLinear",
    "ModReLU",
    "complex_gaussian_kl",
    "complex_gaussian_params",
    "complex_gaussian_sample",
]

_Pair = int | tuple[int, int]


def _pair(v: _Pair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _complex_init(shape: tuple[int, ...], fan_in: float) -> Tensor:
    """He-style init for CReLU nets: real and imaginary parts N(0, 1 / fan_in), so E|w|^2 = 2 / fan_in."""
    std = 1.0 / math.sqrt(max(fan_in, 1.0))
    return torch.complex(torch.randn(shape) * std, torch.randn(shape) * std)


class ComplexConv2d(nn.Module):
    """Complex 2-D convolution: complex ``[B, C_in, H, W]`` -> complex ``[B, C_out, H', W']``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Pair,
        stride: _Pair = 1,
        padding: _Pair = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        kh, kw = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.weight = nn.Parameter(_complex_init((out_channels, in_channels, kh, kw), in_channels * kh * kw))
        self.bias = nn.Parameter(torch.zeros(out_channels, dtype=torch.cfloat)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class ComplexConvTranspose2d(nn.Module):
    """Complex transposed 2-D convolution (upsampling): complex ``[B, C_in, H, W]`` -> ``[B, C_out, H', W']``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Pair,
        stride: _Pair = 1,
        padding: _Pair = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        kh, kw = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        # each output sample sees in_channels * kh * kw / (sh * sw) inputs on average
        fan_in = in_channels * kh * kw / (self.stride[0] * self.stride[1])
        self.weight = nn.Parameter(_complex_init((in_channels, out_channels, kh, kw), fan_in))
        self.bias = nn.Parameter(torch.zeros(out_channels, dtype=torch.cfloat)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class ComplexLinear(nn.Module):
    """Complex affine map: complex ``[..., in_features]`` -> complex ``[..., out_features]``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(_complex_init((out_features, in_features), in_features) * gain)
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=torch.cfloat)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


class CReLU(nn.Module):
    """``ReLU(Re z) + i ReLU(Im z)`` (Trabelsi et al. 2018); with ``negative_slope`` a leaky variant."""

    def __init__(self, negative_slope: float = 0.0) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, z: Tensor) -> Tensor:
        return torch.complex(F.leaky_relu(z.real, self.negative_slope), F.leaky_relu(z.imag, self.negative_slope))


class ModReLU(nn.Module):
    """``ReLU(|z| + b) z / |z|`` with a learnable real bias per channel (Arjovsky et al. 2016); keeps the phase.

    z: complex ``[B, C, ...]``; ``b`` has shape ``[C]`` and is broadcast over the trailing dims.
    """

    def __init__(self, channels: int, init_bias: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.full((channels,), float(init_bias)))
        self.eps = eps

    def forward(self, z: Tensor) -> Tensor:
        mag = z.abs()
        b = self.bias.reshape(1, -1, *([1] * (z.dim() - 2)))
        return z * (F.relu(mag + b) / (mag + self.eps))


def complex_gaussian_params(cov_param: Tensor, pcov_param: Tensor, eps: float = 1e-4) -> tuple[Tensor, Tensor]:
    """Unconstrained network outputs -> valid (covariance, pseudo-covariance).

    cov_param: real ``[...]`` -> ``gamma = softplus(cov_param) + eps``; pcov_param: complex ``[...]`` ->
    ``c = gamma * rho`` with ``rho = 0.99 tanh(|p|) p / |p|`` so that ``|c| < gamma`` always (a proper complex normal).
    """
    gamma = F.softplus(cov_param) + eps
    mag = pcov_param.abs()
    # tanh(m) / m -> 1 as m -> 0: use the series near 0 to keep the gradient finite
    ratio = torch.where(mag > 1e-4, torch.tanh(mag) / mag.clamp_min(1e-4), 1.0 - mag.square() / 3.0)
    rho = 0.99 * pcov_param * ratio
    return gamma, gamma * rho


def complex_gaussian_sample(
    mean: Tensor, cov: Tensor, pcov: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Reparameterised sample of ``CN(mean, cov, pcov)``: complex ``[...]``.

    ``z = mean + a e1 + b e2`` with e1, e2 ~ N(0, 1) real and ``a = (gamma + c) / sqrt(2 (gamma + Re c))``,
    ``b = i sqrt((gamma^2 - |c|^2) / (2 (gamma + Re c)))``: then ``|a|^2 + |b|^2 = gamma`` and ``a^2 + b^2 = c``.
    """
    denom = torch.sqrt(2.0 * (cov + pcov.real).clamp_min(1e-12))
    a = (cov + pcov) / denom
    b_mag = torch.sqrt((cov.square() - pcov.abs().square()).clamp_min(0.0)) / denom
    e1 = torch.randn(mean.shape, generator=generator, dtype=cov.dtype, device=mean.device)
    e2 = torch.randn(mean.shape, generator=generator, dtype=cov.dtype, device=mean.device)
    return mean + a * e1 + torch.complex(torch.zeros_like(b_mag), b_mag * e2)


def complex_gaussian_kl(mean: Tensor, cov: Tensor, pcov: Tensor) -> Tensor:
    """Elementwise ``KL(CN(mean, cov, pcov) || CN(0, 1, 0))`` (Nakashika 2020): real ``[...]``.

    ``KL = |mu|^2 + gamma - 1 - 0.5 log(gamma^2 - |c|^2)``; it is 0 exactly at the standard complex normal.
    """
    det = (cov.square() - pcov.abs().square()).clamp_min(1e-12)
    return mean.abs().square() + cov - 1.0 - 0.5 * torch.log(det)
