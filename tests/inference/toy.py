"""A small StreamModel for tests: the tiny waveform VAE in streaming mode with an identity PCA."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from foleyvae.config import apply_overrides, preset
from foleyvae.models.builders import build_model
from foleyvae.nn.streaming import set_streaming


class ToyStream:
    """``build_model(preset("tiny"))`` opened for streaming; encode returns the posterior mean (identity PCA)."""

    def __init__(self, sample_rate: int = 44100, seed: int = 0, name: str = "toy", latent_size: int = 4) -> None:
        torch.manual_seed(seed)
        cfg = apply_overrides(preset("tiny"), [f"audio.sample_rate={sample_rate}", f"model.latent_size={latent_size}"])
        self.net = build_model(cfg).eval()
        set_streaming(self.net, True)
        self.name = name
        self.sample_rate = sample_rate
        self.channels = 1
        self.hop_length = int(self.net.hop_length)
        self.latent_size = int(self.net.latent_size)
        self.delay_samples = int(self.net.delay_samples)
        k = self.latent_size
        self.metadata: dict[str, Any] = {
            "labels": ["metal", "wood"],
            "centroids": {"metal": [1.5] + [0.0] * (k - 1), "wood": [-1.0] + [0.5] * (k - 1)},
        }

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        return self.net.encode(x, sample=False).mean

    @torch.no_grad()
    def decode(self, z: Tensor) -> Tensor:
        return self.net.decode(z)

    def reset(self) -> None:
        self.net.reset()
