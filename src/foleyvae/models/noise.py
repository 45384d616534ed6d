"""Filtered-noise synthesizer: the decoder's branch for noisy textures (gravel, snow, water, cloth).

Per band and per noise frame, the decoder predicts ``noise_bands`` filter magnitudes; they become a short
zero-phase FIR (inverse real FFT, Hann window) applied to white noise of that frame (the idea of RAVE's noise
generator, after DDSP's filtered noise). Frames are processed independently, so streaming is exact.

Noise source: random in training; in eval mode a fixed noise table read with a running position, so that an
exported model is deterministic and its streamed output equals its offline output sample for sample.
"""

import math

import torch
from torch import Tensor

from foleyvae.nn.blocks import wn
from foleyvae.nn.streaming import CachedConv1d, Streamable

__all__ = ["NoiseSynth"]

_TABLE_LENGTH = 1 << 16  # band-rate samples per band: > 10 s at 44.1 kHz / 8 bands, inaudible as a loop


class NoiseSynth(Streamable):
    """hidden ``[B, ch, Tb]`` (band rate) -> noise ``[B, n_out, Tb]`` (one output per band and channel).

    ``frame`` band-rate samples share one filter; Tb must be a multiple of ``frame``.
    """

    table: Tensor
    window: Tensor

    def __init__(self, channels: int, n_out: int, noise_bands: int, frame: int, seed: int = 1234) -> None:
        super().__init__()
        self.n_out = n_out
        self.noise_bands = noise_bands
        self.frame = frame
        self.proj = wn(CachedConv1d(channels, n_out * noise_bands, 2 * frame, stride=frame))
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("table", torch.rand(n_out, _TABLE_LENGTH, generator=g) * 2 - 1, persistent=False)
        taps = 2 * (noise_bands - 1)
        self.register_buffer("window", torch.hann_window(taps, periodic=False), persistent=False)
        self.position: int = 0
        self.table_length: int = _TABLE_LENGTH
        # FFT size for the frame-local linear convolution (noise frame + FIR taps - 1), fixed at build time
        self.n_fft: int = 1 << int(math.ceil(math.log2(frame + taps - 1)))

    def reset_state(self) -> None:
        self.position = 0

    def _noise(self, b: int, t: int, like: Tensor) -> Tensor:
        if self.training:
            return torch.rand(b, self.n_out, t, dtype=like.dtype, device=like.device) * 2 - 1
        start = self.position % self.table_length
        idx = (torch.arange(t, device=like.device) + start) % self.table_length
        if self.is_streaming:
            self.position = (start + t) % self.table_length
        return self.table.to(like.dtype).index_select(1, idx).unsqueeze(0).expand(b, -1, -1)

    def forward(self, hidden: Tensor) -> Tensor:
        b, _, t = hidden.shape
        n_frames = t // self.frame
        # amplitudes in (0, 1); the -5 offset starts the branch almost silent (as RAVE does)
        amp = torch.sigmoid(self.proj(hidden) - 5.0)  # [B, n_out * nb, F]
        amp = amp.reshape(b, self.n_out, self.noise_bands, n_frames).permute(0, 1, 3, 2)  # [B, n_out, F, nb]
        ir = torch.fft.irfft(amp.to(torch.float32), dim=-1).to(hidden.dtype)  # zero-phase, [B, n_out, F, taps]
        ir = torch.roll(ir, ir.shape[-1] // 2, dims=-1) * self.window  # centre, window
        taps = ir.shape[-1]
        noise = self._noise(b, t, hidden).reshape(b, self.n_out, n_frames, self.frame)
        n_fft = self.n_fft
        spec = torch.fft.rfft(noise.to(torch.float32), n_fft) * torch.fft.rfft(ir.to(torch.float32), n_fft)
        out = torch.fft.irfft(spec, n_fft)[..., taps // 2 : taps // 2 + self.frame]
        return out.to(hidden.dtype).reshape(b, self.n_out, t)
