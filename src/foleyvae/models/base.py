"""What every Foley-VAE model offers the training loop, the exporter and the engine.

Both families (the waveform VAE in ``vae.py`` and the MCLT spectral VAEs in ``spectral.py``) subclass
:class:`AutoEncoder`. Multi-output calls return small dataclasses, never tuples sliced by index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from torch import Tensor, nn

from foleyvae.nn.streaming import reset_state, set_streaming


@dataclass
class EncoderOutput:
    """Posterior of a batch.

    z: sampled (or mean) latent ``[B, latent_size, frames]`` (complex for the CVAE);
    mean/std: posterior parameters, same shape; kl: scalar KL(q(z|x) || N(0, I)), summed over channels,
    averaged over batch and frames.
    """

    z: Tensor
    mean: Tensor
    std: Tensor
    kl: Tensor


@dataclass
class LossTerms:
    """Phase-1 terms for one batch: named reconstruction losses, the KL term, and the reconstruction.

    The loop computes ``sum(recon.values()) + beta(step) * kl``; ``y`` is aligned with the input ``x``.
    """

    recon: dict[str, Tensor]
    kl: Tensor
    y: Tensor
    extras: dict[str, Tensor] = field(default_factory=dict)


class AutoEncoder(nn.Module):
    """Common interface. Audio is ``[B, C, T]`` in [-1, 1]; latents are ``[B, latent_size, T / hop_length]``."""

    sample_rate: int
    channels: int
    latent_size: int
    hop_length: int
    delay_samples: int
    supports_adversarial: bool = False

    def encode(self, x: Tensor, sample: bool = True) -> EncoderOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def compute_losses(self, x: Tensor) -> LossTerms:  # pragma: no cover - interface
        raise NotImplementedError

    @contextlib.contextmanager
    def streaming(self) -> Iterator[AutoEncoder]:
        """Streaming mode for this model: blocks keep state between calls; reset and offline on exit."""
        set_streaming(self, True)
        try:
            yield self
        finally:
            set_streaming(self, False)

    def reset(self) -> None:
        reset_state(self)
