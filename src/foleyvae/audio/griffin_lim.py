"""Fast Griffin-Lim phase retrieval for STFT and MCLT magnitudes.

Fast Griffin-Lim (Perraudin, Balazs & Sondergaard, "A fast Griffin-Lim algorithm", WASPAA 2013) alternates the
projection onto consistent spectrograms ``P_C(X) = T(T^+(X))`` with the projection onto spectra of the given
magnitude ``P_M(X) = M X / |X|`` and adds momentum::

    c_n = P_C(P_M(t_{n-1}));   t_n = c_n + alpha (c_n - c_{n-1})

with alpha = 0.99 as in the paper (alpha = 0 is the classic Griffin & Lim 1984 algorithm). ``T`` is torch.stft (Hann
window) for :func:`griffin_lim_stft` and :func:`foleyvae.audio.mclt.mclt` for :func:`griffin_lim_mclt`, whose
least-squares inverse (the "average" IMCLT, the MCLT being a tight frame) makes ``P_C`` an orthogonal projection.
Everything is batched over leading dimensions and differentiable with respect to the magnitude.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from foleyvae.audio.mclt import imclt, mclt, mclt_n_frames
from foleyvae.errors import FoleyError

__all__ = ["griffin_lim", "griffin_lim_mclt", "griffin_lim_stft", "mclt_operators", "spectral_convergence"]

_EPS = 1e-12


def _initial_phase(mag: Tensor, init: str | Tensor, seed: int) -> Tensor:
    """Unit-modulus initial phase, same shape as ``mag``: zero phase, seeded uniform random, or given."""
    if isinstance(init, Tensor):
        if init.shape != mag.shape:
            raise FoleyError(f"Griffin-Lim initial phase has shape {tuple(init.shape)}, expected {tuple(mag.shape)}")
        return torch.polar(torch.ones_like(mag), init.to(mag.dtype)) if not init.is_complex() else init
    if init == "zero":
        return torch.polar(torch.ones_like(mag), torch.zeros_like(mag))
    if init == "random":
        gen = torch.Generator(device="cpu").manual_seed(seed)
        angle = torch.rand(mag.shape, generator=gen, dtype=torch.float64) * (2 * math.pi)
        return torch.polar(torch.ones_like(mag), angle.to(device=mag.device, dtype=mag.dtype))
    raise FoleyError(f"Griffin-Lim init must be 'zero', 'random' or a phase tensor, got {init!r}")


def griffin_lim(
    mag: Tensor,
    analysis: Callable[[Tensor], Tensor],
    synthesis: Callable[[Tensor], Tensor],
    n_iter: int = 32,
    momentum: float = 0.99,
    init: str | Tensor = "zero",
    seed: int = 0,
) -> Tensor:
    """Generic fast Griffin-Lim: returns the estimated unit-modulus phase (complex, same shape as ``mag``).

    mag: real non-negative ``[..., bins, frames]``; ``analysis(signal) -> spectrum`` and ``synthesis(spectrum) ->
    signal`` are the transform and its least-squares inverse. The caller synthesises ``synthesis(mag * phase)``
    (done by the typed wrappers below; a model can compute the phase without gradients and keep them for ``mag``).
    """
    if not 0.0 <= momentum <= 1.0:
        raise FoleyError(f"Griffin-Lim momentum must be in [0, 1], got {momentum}")
    if n_iter < 0:
        raise FoleyError(f"Griffin-Lim n_iter must be >= 0, got {n_iter}")
    phase = _initial_phase(mag, init, seed)
    prev: Tensor | None = None
    for _ in range(n_iter):
        rebuilt = analysis(synthesis(mag * phase))  # c_n = P_C(P_M(t_{n-1}))
        t = rebuilt if prev is None else rebuilt + momentum * (rebuilt - prev)
        prev = rebuilt
        phase = t / (t.abs() + _EPS)
    return phase


def griffin_lim_stft(
    mag: Tensor,
    n_fft: int,
    hop: int,
    n_iter: int = 32,
    momentum: float = 0.99,
    length: int | None = None,
    init: str | Tensor = "zero",
    seed: int = 0,
) -> Tensor:
    """Waveform from an STFT magnitude (Hann window, centred frames as torch.stft(center=True)).

    mag: ``[..., n_fft // 2 + 1, frames]`` -> ``[..., length]`` (default ``(frames - 1) * hop``).
    """
    if mag.shape[-2] != n_fft // 2 + 1:
        raise FoleyError(f"STFT magnitude has {mag.shape[-2]} bins, expected n_fft // 2 + 1 = {n_fft // 2 + 1}")
    lead = mag.shape[:-2]
    flat = mag.reshape(-1, *mag.shape[-2:])
    window = torch.hann_window(n_fft, dtype=mag.dtype, device=mag.device)
    if length is None:
        length = (mag.shape[-1] - 1) * hop
    out_len = length

    def analysis(x: Tensor) -> Tensor:
        return torch.stft(x, n_fft, hop, window=window, center=True, return_complex=True)

    def synthesis(spec: Tensor) -> Tensor:
        return torch.istft(spec, n_fft, hop, window=window, center=True, length=out_len)

    phase = griffin_lim(flat, analysis, synthesis, n_iter, momentum, init, seed)
    return synthesis(flat * phase).reshape(*lead, length)


def griffin_lim_mclt(
    mag: Tensor,
    frame_length: int = 1024,
    n_iter: int = 32,
    momentum: float = 0.99,
    length: int | None = None,
    init: str | Tensor = "zero",
    seed: int = 0,
) -> Tensor:
    """Waveform from an MCLT magnitude.

    mag: ``[..., N, F]`` with N = frame_length / 2 -> ``[..., length]`` (default ``(F - 1) * N``, the signal that
    :func:`mclt` maps to F frames). If ``length`` needs more frames than F (e.g. the fixed-size clip image of
    :func:`foleyvae.audio.mclt.clip_to_mclt`, which drops the edge frame), the missing frames are unconstrained:
    zero on synthesis, dropped after analysis.
    """
    n_bins = frame_length // 2
    if mag.shape[-2] != n_bins:
        raise FoleyError(f"MCLT magnitude has {mag.shape[-2]} bins, expected frame_length / 2 = {n_bins}")
    if length is None:
        length = (mag.shape[-1] - 1) * n_bins
    analysis, synthesis = mclt_operators(frame_length, mag.shape[-1], length)
    phase = griffin_lim(mag, analysis, synthesis, n_iter, momentum, init, seed)
    return synthesis(mag * phase)


def mclt_operators(
    frame_length: int, n_frames: int, length: int
) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """(analysis, synthesis) between ``[..., length]`` signals and ``[..., N, n_frames]`` MCLT spectra.

    If ``length`` needs more frames than ``n_frames`` (the fixed-size clip image, whose edge frame is dropped), the
    missing frames are unconstrained: zero on synthesis, dropped after analysis.
    """
    extra = mclt_n_frames(length, frame_length) - n_frames
    if extra < 0:
        raise FoleyError(f"{n_frames} MCLT frames are more than a {length}-sample signal has")

    def analysis(x: Tensor) -> Tensor:
        return mclt(x, frame_length)[..., :n_frames]

    def synthesis(spec: Tensor) -> Tensor:
        if extra:
            spec = torch.nn.functional.pad(spec, (0, extra))
        return imclt(spec, frame_length, length)

    return analysis, synthesis


def spectral_convergence(estimate: Tensor, target_mag: Tensor) -> Tensor:
    """``|| |S(x_hat)| - M ||_F / || M ||_F`` over the last two dims: ``[..., bins, frames]`` -> ``[...]``."""
    num = torch.linalg.vector_norm(estimate.abs() - target_mag, dim=(-2, -1))
    return num / (torch.linalg.vector_norm(target_mag, dim=(-2, -1)) + _EPS)
