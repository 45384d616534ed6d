"""Models for the live soak's baselines (importable by name, so the engine's child process can unpickle them).

``passthrough``: a StreamModel that costs next to nothing: its latent is the block's samples themselves (one latent
dim per sample of a hop), so ``decode(encode(x)) == x``. A soak with it measures every part of the live path
except the neural network: the xruns it still has belong to the host, JACK, PortAudio and our Python audio path.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

HOP = 256  # one latent dim per sample of a hop (<= the engine process's MAX_LATENT of 1024)


class Passthrough:
    """x ``[B, 1, F*hop]`` -> z ``[B, hop, F]`` (the samples, hop by hop) -> the same x; no delay, no state."""

    def __init__(self, sample_rate: int = 44100, hop: int = HOP) -> None:
        self.name = "passthrough"
        self.sample_rate = int(sample_rate)
        self.channels = 1
        self.hop_length = int(hop)
        self.latent_size = int(hop)
        self.delay_samples = 0
        self.metadata: dict[str, Any] = {}

    def encode(self, x: Tensor) -> Tensor:
        b, _, n = x.shape
        return x.reshape(b, n // self.hop_length, self.hop_length).transpose(1, 2)

    def decode(self, z: Tensor) -> Tensor:
        b, k, f = z.shape
        return z.transpose(1, 2).reshape(b, 1, f * k)

    def reset(self) -> None:
        pass


def passthrough() -> Passthrough:
    """Zero-argument factory (what ``EngineProcess`` and ``StreamingEngine.swap_model`` callers get)."""
    torch.set_num_threads(1)
    return Passthrough()
