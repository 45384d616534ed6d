"""Streaming as an explicit mode of a module, with exact delay bookkeeping.

Every temporal layer here is implemented *causally* once: it left-pads its input with a cache. Offline
(the default) the cache is zeros and is not kept; in streaming mode it holds the tail of the previous block.
So offline and streaming run the very same operations, and a streamed signal equals the offline one sample for
sample. Look-ahead ("centred" convolutions in non-causal models) is expressed as a *delay*: the layer reports
how many frames its output lags the centred result, and parallel branches (the residual skip path) are delayed
by the same amount. Models sum these delays into ``delay_samples``; the offline ``forward`` trims them so that its
output is aligned with the input, and the engine uses them to align dry and wet.

Usage::

    with streaming(model):      # or model.streaming() on our models
        for block in blocks:    # each block a multiple of the model's hop_length
            out = model(block)

No process-wide flag: the mode is an attribute of each module, set by :func:`set_streaming`.
All modules are TorchScript-scriptable (the cache is a buffer re-allocated when the batch size changes).
"""

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "CachedConv1d",
    "CachedConvTranspose1d",
    "DelayLine",
    "Streamable",
    "reset_state",
    "set_streaming",
    "streaming",
]


class Streamable(nn.Module):
    """Base class of modules that keep state between blocks in streaming mode."""

    def __init__(self) -> None:
        super().__init__()
        self.is_streaming: bool = False

    def reset_state(self) -> None:
        """Forget the stream's past (called on entering/leaving streaming mode and by :func:`reset_state`)."""


def set_streaming(module: nn.Module, on: bool) -> None:
    """Switch every Streamable inside ``module`` to streaming (on) or offline (off); state is reset."""
    for m in module.modules():
        if isinstance(m, Streamable):
            m.is_streaming = on
            m.reset_state()


def reset_state(module: nn.Module) -> None:
    """Reset every Streamable's cache, e.g. between two unrelated streams."""
    for m in module.modules():
        if isinstance(m, Streamable):
            m.reset_state()


@contextlib.contextmanager
def streaming(module: nn.Module) -> Iterator[nn.Module]:
    """Context manager: streaming mode inside, offline (and reset) after."""
    set_streaming(module, True)
    try:
        yield module
    finally:
        set_streaming(module, False)


class _Cache(Streamable):
    """Holds ``[B, C, n]`` left context; zeros offline, the previous block's tail in streaming mode."""

    cache: Tensor

    def __init__(self, channels: int, size: int) -> None:
        super().__init__()
        self.channels = channels
        self.size = size
        self.register_buffer("cache", torch.zeros(1, channels, size), persistent=False)
        self.has_state: bool = False

    def reset_state(self) -> None:
        self.cache = torch.zeros(1, self.channels, self.size, dtype=self.cache.dtype, device=self.cache.device)
        self.has_state = False

    def context(self, x: Tensor) -> Tensor:
        """The ``[B, C, size]`` left context for block ``x``."""
        if (
            self.is_streaming
            and self.has_state
            and self.cache.shape[0] == x.shape[0]
            and self.cache.dtype == x.dtype
            and self.cache.device == x.device
        ):
            return self.cache
        return torch.zeros(x.shape[0], self.channels, self.size, dtype=x.dtype, device=x.device)

    def store(self, tail: Tensor) -> None:
        if self.is_streaming:
            self.cache = tail.detach()
            self.has_state = True


class DelayLine(_Cache):
    """Delays ``[B, C, T]`` by ``delay`` frames (used on skip paths to match a branch's look-ahead)."""

    def __init__(self, channels: int, delay: int) -> None:
        super().__init__(channels, delay)
        self.delay = delay

    def forward(self, x: Tensor) -> Tensor:
        if self.delay == 0:
            return x
        full = torch.cat([self.context(x), x], dim=-1)
        self.store(full[..., full.shape[-1] - self.delay :])
        return full[..., : x.shape[-1]]


# Batch-1 inputs up to this many elements miss PyTorch's oneDNN convolution on the CPU (ATen's use_mkldnn rule:
# batch > 1 or input numel > 20480, for 1-D kernels). A dilated conv then runs aten::slow_conv_dilated2d, which
# fills its bias one output channel at a time: half the time of a 256-sample streaming block of foley-small (torch
# 2.13 profiler: 12 calls, 460 us each). Those convs go through conv1d_as_matmul (block 0.69x the time); the
# undilated ones stay on PyTorch's path (through the matmul they were slower: 0.87x instead of 0.69x in all).
SMALL_INPUT = 20480


def conv1d_as_matmul(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, dilation: int) -> Tensor:
    """A convolution without padding over one signal, as one matrix product over the kernel's shifted taps.

    x ``[1, C_in, L]``, weight ``[C_out, C_in, K]`` -> ``[1, C_out, T]``, T = (L - dilation * (K - 1) - 1) // stride
    + 1; equal to ``F.conv1d(x, weight, bias, stride, dilation=dilation)`` up to float rounding (the same products,
    summed in another order). The taps are stacked as ``[C_in, K, T]`` so the weight's own layout is the matrix.
    """
    c_out, c_in, k = weight.shape
    t = (x.shape[-1] - dilation * (k - 1) - 1) // stride + 1
    span = stride * (t - 1) + 1
    taps = torch.stack([x[0, :, j * dilation : j * dilation + span : stride] for j in range(k)], dim=1)
    w = weight.reshape(c_out, c_in * k)
    cols = taps.reshape(c_in * k, t)
    y = torch.mm(w, cols) if bias is None else torch.addmm(bias.unsqueeze(-1), w, cols)
    return y.unsqueeze(0)


class CachedConv1d(_Cache):
    """Conv1d computed causally with a cached left context.

    x: ``[B, C_in, T]`` (T a multiple of ``stride``) -> ``[B, C_out, T / stride]``.
    Output frame t depends on input samples < (t + 1) * stride only. With ``lookahead=True`` (a "centred" conv, for
    stride 1) the output is the centred convolution delayed by ``delay`` = half the receptive field.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        lookahead: bool = False,
        bias: bool = True,
    ) -> None:
        pad = dilation * (kernel_size - 1) + 1 - stride
        if pad < 0:
            raise ValueError(f"kernel_size {kernel_size} is shorter than stride {stride}")
        super().__init__(in_channels, pad)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, bias=bias)
        self.stride = stride
        self.dilation: int = dilation
        self.small_input: int = SMALL_INPUT  # (TorchScript reads no module globals)
        if lookahead and stride != 1:
            raise ValueError("look-ahead is only defined for stride-1 convolutions")
        self.delay: int = pad // 2 if lookahead else 0

    def forward(self, x: Tensor) -> Tensor:
        full = x
        if self.size > 0:
            full = torch.cat([self.context(x), x], dim=-1)
            self.store(full[..., full.shape[-1] - self.size :])
        if self.dilation > 1 and full.shape[0] == 1 and full.numel() <= self.small_input:
            return conv1d_as_matmul(full, self.conv.weight, self.conv.bias, self.stride, self.dilation)
        return self.conv(full)


class CachedConvTranspose1d(_Cache):
    """Causal transposed convolution (upsampling by ``stride``) with the overlap tail cached.

    x: ``[B, C_in, T]`` -> ``[B, C_out, T * stride]``; output samples of frame t lie in [t*stride, t*stride + k) and
    the part beyond (t+1)*stride is carried into the next block. Bias is added after the overlap-add so that it is
    counted once per sample.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        if kernel_size < stride:
            raise ValueError(f"kernel_size {kernel_size} is shorter than stride {stride}")
        super().__init__(out_channels, kernel_size - stride)
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride, bias=True)
        self.stride = stride
        self.delay: int = 0

    def forward(self, x: Tensor) -> Tensor:
        y = F.conv_transpose1d(x, self.conv.weight, None, stride=self.stride)
        n = x.shape[-1] * self.stride
        if self.size > 0:
            y = torch.cat([y[..., : self.size] + self.context(y), y[..., self.size :]], dim=-1)
            self.store(y[..., n:])
        out = y[..., :n]
        bias = self.conv.bias
        if bias is not None:
            out = out + bias.unsqueeze(-1)
        return out
