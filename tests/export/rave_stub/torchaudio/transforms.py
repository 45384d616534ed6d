"""Spectrogram / MelSpectrogram stand-ins (plain torch.stft; mel is not implemented)."""

import torch
from torch import Tensor, nn


class Spectrogram(nn.Module):
    def __init__(
        self,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn=torch.hann_window,
        power: float | None = 2.0,
        normalized: bool = False,
        center: bool = True,
        pad_mode: str | None = "reflect",
        onesided: bool = True,
        **_: object,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length or n_fft
        self.hop_length = hop_length or self.win_length // 2
        self.register_buffer("window", window_fn(self.win_length))
        self.power = power
        self.normalized = normalized
        self.center = center

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        s = torch.stft(
            x.reshape(-1, shape[-1]),
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window,
            center=self.center,
            normalized=self.normalized,
            return_complex=True,
        )
        s = s.reshape(shape[:-1] + s.shape[-2:])
        if self.power is None:
            return s
        return s.abs().pow(self.power)


class MelSpectrogram(Spectrogram):
    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, **kwargs: object) -> None:
        kwargs.pop("n_mels", None)
        kwargs.pop("f_min", None)
        kwargs.pop("f_max", None)
        super().__init__(n_fft=n_fft, **kwargs)  # type: ignore[arg-type]
