"""The interface between models and everything that plays them (engine, render, studio).

A :class:`StreamModel` is a model opened for streaming: its latent is PCA-ordered (dim 0 = most variance), as
in nn~/RAVE exports. Adapters: ``foleyvae.playable.adapters.EagerStreamModel`` (an in-memory AutoEncoder +
LatentSpace) and ``foleyvae.export.loader`` (our TorchScript exports and RAVE exports).
"""

from __future__ import annotations

from typing import Any, Protocol

from torch import Tensor

__all__ = ["StreamModel"]


class StreamModel(Protocol):
    """Stateful block-in/block-out model.

    Blocks are ``[B, C, n]`` float32 with n a multiple of ``hop_length``; calls keep state between blocks until
    :meth:`reset`. ``decode(encode(x))`` is x's reconstruction delayed by ``delay_samples``.
    """

    name: str
    sample_rate: int
    channels: int
    hop_length: int
    latent_size: int  # dims of the PCA-ordered latent that encode returns and decode takes
    delay_samples: int
    metadata: dict[str, Any]  # model card: labels, centroids (PCA coords), fidelity, licences, version...

    def encode(self, x: Tensor) -> Tensor:
        """x ``[B, C, n]`` -> PCA-ordered latent ``[B, latent_size, n / hop_length]`` (posterior mean)."""
        ...

    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, latent_size, F]`` -> audio ``[B, C, F * hop_length]``."""
        ...

    def reset(self) -> None:
        """Forget the stream's past."""
        ...
