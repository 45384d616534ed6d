"""MCLT/IMCLT against a slow numpy reference of the ARCHITECTURE.md formula, perfect reconstruction, streaming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from foleyvae.audio.mclt import StreamingIMCLT, clip_to_mclt, imclt, mclt, mclt_n_frames, mclt_to_clip
from foleyvae.errors import FoleyError
from foleyvae.nn.streaming import streaming
from tests.conftest import chirp, footstep


def ref_mclt(x: np.ndarray, frame_length: int) -> np.ndarray:
    """The formula as written, one frame at a time: [T] -> complex [N, frames]."""
    n_bins = frame_length // 2
    n_frames = -(-len(x) // n_bins) + 1
    padded = np.zeros((n_frames + 1) * n_bins)
    padded[n_bins : n_bins + len(x)] = x
    n = np.arange(2 * n_bins)
    w = np.sin(np.pi * (n + 0.5) / frame_length)
    out = np.zeros((n_bins, n_frames), np.complex128)
    for m in range(n_frames):
        seg = padded[m * n_bins : m * n_bins + 2 * n_bins]
        for k in range(n_bins):
            out[k, m] = np.sqrt(1 / n_bins) * np.sum(
                w * seg * np.exp(-1j * np.pi * (n + (n_bins + 1) / 2) * (k + 0.5) / n_bins)
            )
    return out


def ref_imclt_real(spec: np.ndarray, length: int) -> np.ndarray:
    """MDCT inverse as written: y(n) = 2 sqrt(1/N) w(n) sum_k Re X(k) cos(...), overlap-added, start pad dropped."""
    n_bins, n_frames = spec.shape
    n = np.arange(2 * n_bins)
    w = np.sin(np.pi * (n + 0.5) / (2 * n_bins))
    k = np.arange(n_bins)
    basis = np.cos(np.pi * np.outer(n + (n_bins + 1) / 2, k + 0.5) / n_bins)  # [2N, N]
    out = np.zeros((n_frames + 1) * n_bins)
    for m in range(n_frames):
        out[m * n_bins : m * n_bins + 2 * n_bins] += 2 * np.sqrt(1 / n_bins) * w * (basis @ spec[:, m].real)
    return out[n_bins : n_bins + length]


def rel(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    a = np.asarray(a)
    b = np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("frame_length,length", [(64, 300), (256, 1000), (128, 512)])
def test_matches_numpy_reference(frame_length: int, length: int, rng: np.random.Generator) -> None:
    x = rng.standard_normal(length)
    ref = ref_mclt(x, frame_length)
    got = mclt(torch.from_numpy(x).float(), frame_length).numpy()
    assert got.shape == ref.shape == (frame_length // 2, mclt_n_frames(length, frame_length))
    assert rel(got, ref) < 1e-5
    got64 = mclt(torch.from_numpy(x), frame_length).numpy()
    assert rel(got64, ref) < 1e-12
    # inverse: MDCT-only matches the reference inverse; both modes reconstruct x
    y_ref = ref_imclt_real(ref, length)
    y_real = imclt(torch.from_numpy(ref), frame_length, length, mode="real").numpy()
    assert rel(y_real, y_ref) < 1e-12
    assert rel(y_ref, x) < 1e-12


@pytest.mark.parametrize("frame_length", [16, 256, 1024, 2048])
@pytest.mark.parametrize("mode", ["average", "real"])
def test_perfect_reconstruction_float32(frame_length: int, mode: str) -> None:
    x = torch.from_numpy(footstep("metal", dur=0.3, seed=3))[None].repeat(2, 1)  # [2, T], T not a multiple of N
    x[1] = torch.from_numpy(chirp(dur=0.3))
    spec = mclt(x, frame_length)
    assert spec.dtype == torch.complex64
    y = imclt(spec, frame_length, x.shape[-1], mode=mode)
    assert y.shape == x.shape
    assert rel(y, x) < 1e-5


def test_batched_dims_and_default_length(rng: np.random.Generator) -> None:
    x = torch.from_numpy(rng.standard_normal((2, 3, 1024))).float()
    spec = mclt(x, 256)
    assert spec.shape == (2, 3, 128, 1024 // 128 + 1)
    y = imclt(spec, 256)  # default length (frames - 1) * N == 1024
    assert y.shape == x.shape
    assert rel(y, x) < 1e-5
    # batch element independence
    assert torch.allclose(mclt(x[1, 2], 256), spec[1, 2], atol=1e-5)


def test_clip_image_shape_and_inverse() -> None:
    x = torch.from_numpy(footstep("wood", dur=32768 / 44100, seed=1))[None, None]
    assert x.shape[-1] == 32768
    spec = clip_to_mclt(x, 1024)
    assert spec.shape == (1, 1, 512, 64)
    assert torch.allclose(spec, mclt(x, 1024)[..., :64])
    y = mclt_to_clip(spec, 1024)
    assert y.shape == x.shape
    # exact up to the last hop, which comes back faded by w(n)^2 (only one frame covers it)
    assert rel(y[..., :-512], x[..., :-512]) < 1e-5
    n = torch.arange(512, 1024, dtype=torch.float64)
    fade = torch.sin(torch.pi * (n + 0.5) / 1024) ** 2
    assert torch.allclose(y[..., -512:].double(), x[..., -512:].double() * fade, atol=1e-5)
    # shorter input is zero-padded to the image size
    assert clip_to_mclt(x[..., :1000], 1024, 64).shape == (1, 1, 512, 64)


def test_differentiable() -> None:
    x = torch.randn(1, 700, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: torch.view_as_real(mclt(t, 32)), (x[:, :40].detach().requires_grad_(),))
    spec = mclt(x, 64)
    imclt(spec, 64, 700).pow(2).sum().backward()
    assert x.grad is not None
    # imclt(mclt(.)) is the identity, so d/dx sum(y^2) = 2x
    assert torch.allclose(x.grad, 2 * x.detach(), atol=1e-10)


@pytest.mark.parametrize("frames_per_block", [1, 3])
def test_streaming_equals_offline(frames_per_block: int) -> None:
    frame_length = 256
    n_bins = frame_length // 2
    x = torch.from_numpy(footstep("gravel", dur=0.1, seed=2))[None]  # [1, T]
    spec = mclt(x, frame_length)  # [1, N, M]
    offline = imclt(spec, frame_length, x.shape[-1])
    layer = StreamingIMCLT(frame_length)
    assert layer.delay_samples == n_bins
    outs = []
    with streaming(layer):
        for i in range(0, spec.shape[-1], frames_per_block):
            block = spec[..., i : i + frames_per_block]
            out = layer(block)
            assert out.shape[-1] == block.shape[-1] * n_bins
            outs.append(out)
    streamed = torch.cat(outs, dim=-1)
    d = layer.delay_samples
    assert torch.allclose(streamed[..., d : d + x.shape[-1]], offline, atol=1e-6)
    # offline mode of the layer == one streamed block, and it resets
    assert torch.allclose(layer(spec)[..., d : d + x.shape[-1]], offline, atol=1e-6)
    assert layer.tail is None


def test_errors() -> None:
    with pytest.raises(FoleyError):
        mclt(torch.zeros(100), 1000)
    with pytest.raises(FoleyError):
        imclt(torch.zeros(8, 3, dtype=torch.complex64), 32)
    with pytest.raises(FoleyError):
        imclt(torch.zeros(16, 3, dtype=torch.complex64), 32, mode="imag")
