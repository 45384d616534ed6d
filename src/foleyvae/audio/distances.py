"""Spectral distances: multi-scale STFT distance (RAVE-style), log-mel distance, and a PQMF-band helper.

The models' reconstruction losses, validation and the evaluation metrics all measure with these (so they sit in
``audio``, below models, training and eval).

All losses take ``x`` (the target) and ``y`` (the reconstruction), both audio ``[B, C, T]``, fold channels into the
batch and return a scalar. ``loss(x, x)`` is exactly 0 and gradients w.r.t. ``y`` are finite everywhere, silence
included: magnitudes are ``|STFT|`` (whose gradient at 0 is 0 in PyTorch), logs are taken of ``mag + eps``, and the
relative-L2 denominator is ``||S_x|| + eps`` so that silence vs silence gives 0, not 0 / 0.

Per scale, following RAVE (Caillon & Esling 2021) and the DDSP multi-scale spectral loss:
``||S_x - S_y||_F / (||S_x||_F + eps)`` (relative L2 on linear magnitude, over the whole batch, as RAVE does) plus
``mean |log(S_x + eps) - log(S_y + eps)|`` (L1 on log magnitude). Scales are **summed** (as in RAVE, so that
RAVE's loss weights carry over).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from foleyvae.audio.pqmf import PQMF

__all__ = ["MelDistance", "MultiScaleSTFT", "band_loss", "mel_filterbank"]


def _fold(x: Tensor) -> Tensor:
    """``[B, C, T] -> [B * C, T]`` (also accepts ``[B, T]`` and ``[T]``)."""
    if x.dim() == 1:
        return x.unsqueeze(0)
    return x.reshape(-1, x.shape[-1])


def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"spectral loss: target {list(x.shape)} and reconstruction {list(y.shape)} differ in shape")


def _magnitude(x: Tensor, n_fft: int, hop_length: int, window: Tensor) -> Tensor:
    """``x: [N, T] -> |STFT| [N, n_fft / 2 + 1, frames]``; frames centred, zero padded (so T < n_fft is fine)."""
    spec = torch.stft(
        x,
        n_fft,
        hop_length=hop_length,
        window=window.to(dtype=x.dtype, device=x.device),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return spec.abs()


def _relative_l2(sx: Tensor, sy: Tensor, eps: float) -> Tensor:
    return torch.linalg.vector_norm(sx - sy) / (torch.linalg.vector_norm(sx) + eps)


def _log_l1(sx: Tensor, sy: Tensor, eps: float) -> Tensor:
    return (torch.log(sx + eps) - torch.log(sy + eps)).abs().mean()


class MultiScaleSTFT(nn.Module):
    """Multi-scale STFT distance ``forward(x, y) -> scalar`` for audio ``[B, C, T]`` (x target, y estimate).

    Each scale ``n`` uses a Hann window of ``n`` samples and hop ``n // hop_divisor``. Scales longer than the
    signal are skipped; if every scale is longer, the smallest one is used on the zero-padded signal, so that
    very short clips still get a (coarse) loss.
    """

    def __init__(
        self, scales: Sequence[int] = (2048, 1024, 512, 256, 128), hop_divisor: int = 4, eps: float = 1e-7
    ) -> None:
        super().__init__()
        if not scales or any(s < 2 for s in scales):
            raise ValueError(f"MultiScaleSTFT: scales must be >= 2 samples, got {list(scales)}")
        if hop_divisor < 1:
            raise ValueError(f"MultiScaleSTFT: hop_divisor must be >= 1, got {hop_divisor}")
        self.scales = [int(s) for s in sorted(scales, reverse=True)]
        self.hop_divisor = hop_divisor
        self.eps = eps
        for s in self.scales:
            self.register_buffer(f"window_{s}", torch.hann_window(s), persistent=False)

    def active_scales(self, length: int) -> list[int]:
        """The scales used for signals of ``length`` samples."""
        fitting = [s for s in self.scales if s <= length]
        return fitting or [min(self.scales)]

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_pair(x, y)
        xf, yf = _fold(x), _fold(y)
        total = xf.new_zeros(())
        for n in self.active_scales(xf.shape[-1]):
            window = getattr(self, f"window_{n}")
            hop = max(1, n // self.hop_divisor)
            sx = _magnitude(xf, n, hop, window)
            sy = _magnitude(yf, n, hop, window)
            total = total + _relative_l2(sx, sy, self.eps) + _log_l1(sx, sy, self.eps)
        return total


# ----------------------------------------------------------------------------------------------------- mel


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (Auditory Toolbox): linear below 1 kHz (3 mel / 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
) -> np.ndarray:
    """Slaney-style mel filterbank ``[n_mels, n_fft // 2 + 1]`` (float64).

    Triangles equally spaced on Slaney's mel scale between ``f_min`` and ``f_max`` (default Nyquist), each
    normalised to unit area (height ``2 / bandwidth_hz``), as in the Auditory Toolbox / librosa ``norm='slaney'``.
    """
    f_max = sample_rate / 2.0 if f_max is None else f_max
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(f"mel_filterbank: need 0 <= f_min < f_max <= sample_rate / 2, got {f_min}, {f_max}")
    fft_freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(f_min)), _hz_to_mel(np.array(f_max)), n_mels + 2))
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_freqs[None, :] - lo) / (centre - lo)
    falling = (hi - fft_freqs[None, :]) / (hi - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (hi - lo))


class MelDistance(nn.Module):
    """Log-mel L1 plus linear-mel relative L2: ``forward(x, y) -> scalar`` for audio ``[B, C, T]``.

    Mel magnitudes: ``mel_fb @ |STFT|`` with a Hann window of ``n_fft``, centred zero-padded frames.
    """

    mel_fb: Tensor
    window: Tensor

    def __init__(
        self, sample_rate: int, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 80, eps: float = 1e-7
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.eps = eps
        fb = mel_filterbank(sample_rate, n_fft, n_mels)
        self.register_buffer("mel_fb", torch.from_numpy(fb).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def mel(self, x: Tensor) -> Tensor:
        """Mel magnitudes ``[B * C, n_mels, frames]`` of audio ``[B, C, T]``."""
        mag = _magnitude(_fold(x), self.n_fft, self.hop_length, self.window)
        return torch.matmul(self.mel_fb.to(dtype=mag.dtype, device=mag.device), mag)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_pair(x, y)
        mx, my = self.mel(x), self.mel(y)
        return _log_l1(mx, my, self.eps) + _relative_l2(mx, my, self.eps)


# ------------------------------------------------------------------------------------------------- bands


def band_loss(pqmf: PQMF, x: Tensor, y: Tensor, loss: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Apply a ``[B, C, T]`` loss to the PQMF bands of ``x`` and ``y`` (bands as channels).

    x, y: audio ``[B, C, T]``; channels are folded into the batch, and T is cropped to a multiple of
    ``pqmf.n_bands``. The bank must be offline (a streaming bank would carry state between the two calls).
    """
    _check_pair(x, y)
    if pqmf.is_streaming:
        raise ValueError("band_loss: the PQMF is in streaming mode")
    m = pqmf.n_bands
    t = x.shape[-1] // m * m
    bx = pqmf.analysis(_fold(x)[:, None, :t])
    by = pqmf.analysis(_fold(y)[:, None, :t])
    return loss(bx, by)
