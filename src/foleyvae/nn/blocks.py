"""Building blocks of the waveform VAE: residual dilated units and strided stages, all streamable.

Every block reports ``delay``: how many frames (at its own rate) its output lags a centred computation. Causal
blocks have delay 0; non-causal ones look ahead by delaying their output and their skip path by the same amount.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from foleyvae.nn.streaming import CachedConv1d, CachedConvTranspose1d, DelayLine

__all__ = ["ResidualUnit", "ResidualStack", "DownStage", "UpStage", "wn"]


def wn(module: CachedConv1d | CachedConvTranspose1d) -> CachedConv1d | CachedConvTranspose1d:
    """Weight-normalise the wrapped conv (removed at export, see export/nn_tilde.py strip_weight_norm)."""
    module.conv = weight_norm(module.conv)
    return module


class ResidualUnit(nn.Module):
    """x + conv1x1(act(conv_k,d(act(x)))). x: ``[B, ch, T]`` -> ``[B, ch, T]``.

    With ``lookahead`` the dilated conv is centred (delay = d*(k-1)/2 frames) and the skip path is delayed to match.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, lookahead: bool) -> None:
        super().__init__()
        self.act1 = nn.LeakyReLU(0.2)
        self.conv1 = wn(CachedConv1d(channels, channels, kernel_size, dilation=dilation, lookahead=lookahead))
        self.act2 = nn.LeakyReLU(0.2)
        self.conv2 = wn(CachedConv1d(channels, channels, 1))
        self.delay: int = self.conv1.delay
        self.skip = DelayLine(channels, self.delay)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.conv2(self.act2(self.conv1(self.act1(x))))


class ResidualStack(nn.Module):
    """Residual units with increasing dilation, in sequence. Delay = sum of the units' delays."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int], lookahead: bool) -> None:
        super().__init__()
        self.units = nn.ModuleList([ResidualUnit(channels, kernel_size, d, lookahead) for d in dilations])
        self.delay: int = sum(int(u.delay) for u in self.units)  # type: ignore[misc,arg-type]

    def forward(self, x: Tensor) -> Tensor:
        for u in self.units:
            x = u(x)
        return x


class DownStage(nn.Module):
    """Residual stack then strided conv: ``[B, c_in, T]`` -> ``[B, c_out, T / stride]``."""

    def __init__(
        self, c_in: int, c_out: int, stride: int, kernel_size: int, dilations: Sequence[int], lookahead: bool
    ) -> None:
        super().__init__()
        self.res = ResidualStack(c_in, kernel_size, dilations, lookahead)
        self.act = nn.LeakyReLU(0.2)
        self.down = wn(CachedConv1d(c_in, c_out, 2 * stride, stride=stride))
        self.stride = stride
        self.delay: int = self.res.delay  # frames at the input rate

    def forward(self, x: Tensor) -> Tensor:
        return self.down(self.act(self.res(x)))


class UpStage(nn.Module):
    """Transposed conv then residual stack: ``[B, c_in, T]`` -> ``[B, c_out, T * stride]``."""

    def __init__(
        self, c_in: int, c_out: int, stride: int, kernel_size: int, dilations: Sequence[int], lookahead: bool
    ) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.up = wn(CachedConvTranspose1d(c_in, c_out, 2 * stride, stride))
        self.res = ResidualStack(c_out, kernel_size, dilations, lookahead)
        self.stride = stride
        self.delay: int = self.res.delay  # frames at the output rate

    def forward(self, x: Tensor) -> Tensor:
        return self.res(self.up(self.act(x)))
