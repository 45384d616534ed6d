import pytest
import torch
from torch import nn
from torch.nn import functional as F

from foleyvae.nn.streaming import (
    CachedConv1d,
    CachedConvTranspose1d,
    DelayLine,
    conv1d_as_matmul,
    reset_state,
    streaming,
)


def _stream(module: nn.Module, x: torch.Tensor, block: int) -> torch.Tensor:
    with streaming(module):
        return torch.cat([module(x[..., i : i + block]) for i in range(0, x.shape[-1], block)], dim=-1)


@pytest.mark.parametrize("batch", [1, 2])  # batch 1: dilated convs on small blocks take conv1d_as_matmul
@pytest.mark.parametrize(
    "stride,dilation,k,block", [(1, 1, 3, 1), (1, 9, 3, 5), (2, 1, 4, 6), (4, 1, 8, 12), (1, 3, 5, 7)]
)
def test_conv_streaming_equals_offline(stride: int, dilation: int, k: int, block: int, batch: int) -> None:
    torch.manual_seed(0)
    conv = CachedConv1d(3, 5, k, stride=stride, dilation=dilation)
    x = torch.randn(batch, 3, block * 10)
    off = conv(x)
    assert off.shape == (batch, 5, x.shape[-1] // stride)
    torch.testing.assert_close(_stream(conv, x, block), off, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("stride,block", [(2, 1), (4, 3), (8, 5)])
def test_transposed_streaming_equals_offline(stride: int, block: int) -> None:
    torch.manual_seed(0)
    conv = CachedConvTranspose1d(4, 3, 2 * stride, stride)
    x = torch.randn(2, 4, block * 7)
    off = conv(x)
    assert off.shape == (2, 3, x.shape[-1] * stride)
    torch.testing.assert_close(_stream(conv, x, block), off, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "stride,dilation,k,length", [(1, 3, 3, 20), (1, 9, 3, 40), (2, 1, 4, 17), (1, 1, 1, 5), (3, 2, 5, 31)]
)
def test_conv_as_matmul_equals_conv1d(stride: int, dilation: int, k: int, length: int, bias: bool) -> None:
    torch.manual_seed(0)
    x, w, b = torch.randn(1, 6, length), torch.randn(4, 6, k), torch.randn(4) if bias else None
    want = F.conv1d(x, w, b, stride=stride, dilation=dilation)
    torch.testing.assert_close(conv1d_as_matmul(x, w, b, stride, dilation), want, atol=1e-5, rtol=1e-5)


def test_small_dilated_blocks_skip_the_slow_conv() -> None:
    """A batch-1 block of a dilated conv never reaches aten::slow_conv_dilated2d (the profiler sees the matmul);
    a batch of 2 keeps PyTorch's convolution."""
    conv = CachedConv1d(8, 8, 3, dilation=9)

    def ops(x: torch.Tensor) -> set[str]:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            conv(x)
        return {e.key for e in prof.key_averages()}

    one = ops(torch.randn(1, 8, 64))
    assert "aten::addmm" in one and "aten::convolution" not in one
    assert "aten::convolution" in ops(torch.randn(2, 8, 64))


def test_conv_is_causal_by_gradient() -> None:
    conv = CachedConv1d(1, 1, 4, stride=2)
    x = torch.randn(1, 1, 32, requires_grad=True)
    conv(x)[0, 0, 5].backward()
    assert x.grad is not None
    assert torch.all(x.grad[0, 0, 12:] == 0) and x.grad[0, 0, 11] != 0


def test_delay_line_and_reset() -> None:
    d = DelayLine(1, 3)
    x = torch.arange(1.0, 9.0).view(1, 1, 8)
    assert d(x).flatten().tolist() == [0, 0, 0, 1, 2, 3, 4, 5]
    with streaming(d):
        a = d(x[..., :4])
        b = d(x[..., 4:])
        reset_state(d)
        c = d(x[..., :4])
    assert torch.cat([a, b], -1).flatten().tolist() == [0, 0, 0, 1, 2, 3, 4, 5]
    assert torch.equal(a, c)


def test_lookahead_delay_reported() -> None:
    conv = CachedConv1d(1, 1, 3, dilation=3, lookahead=True)
    assert conv.delay == 3


def test_scriptable() -> None:
    conv = torch.jit.script(CachedConv1d(2, 2, 3, dilation=2))
    x = torch.randn(1, 2, 16)
    torch.testing.assert_close(conv(x), conv(x))
