"""Adapters that open a model as an :class:`~foleyvae.playable.protocol.StreamModel`.

:class:`EagerStreamModel` wraps an in-memory :class:`~foleyvae.models.base.AutoEncoder` (a freshly trained run, a
test model) and an optional :class:`~foleyvae.analysis.latent.LatentSpace`. It is also the reference the exporter
compares its TorchScript file with, so both follow the same latent convention:

* encode: posterior mean ``[B, L, F]`` -> PCA coordinates ``components @ (mean - pca_mean)`` -> first ``n_dims``;
* decode: ``n_dims`` PCA coordinates, the missing ones filled with 0 (the data mean in PCA coordinates, i.e. the
  deterministic "prior" fill at temperature 0) -> ``components.T @ p + pca_mean`` -> ``model.decode``.

Without a LatentSpace the latent is the model's own (identity PCA, ``latent_size`` dims). A material-conditioned
model (``model.n_materials = K``) plays ``n_dims + K`` channels: its material weights follow the PCA coordinates
(encode gives zeros, "no material") and reach the decoder unchanged (``export.nn_tilde.NnTildeBase``, the same).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from foleyvae.analysis.latent import LatentSpace
from foleyvae.errors import FoleyError
from foleyvae.models.base import AutoEncoder
from foleyvae.nn.streaming import reset_state, set_streaming

__all__ = ["EagerStreamModel", "pca_tensors"]


def pca_tensors(latent: LatentSpace | None, latent_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """(pca_mean ``[L]``, components ``[L, L]`` (row i = direction i), pca_std ``[L]``) as float32 tensors.

    Without a LatentSpace: zeros, identity, ones (the model's own latent, whose prior is N(0, 1)).
    """
    if latent is None:
        return torch.zeros(latent_size), torch.eye(latent_size), torch.ones(latent_size)
    if latent.latent_size != latent_size:
        raise FoleyError(f"latent analysis has {latent.latent_size} dims but the model has latent_size {latent_size}")
    mean = torch.tensor(latent.mean, dtype=torch.float32)
    comps = torch.tensor(latent.components, dtype=torch.float32)
    std = torch.tensor(latent.std, dtype=torch.float32)
    return mean, comps, std


class EagerStreamModel:
    """An in-memory model opened for streaming (implements ``StreamModel``).

    The model is switched to eval and streaming mode for the adapter's lifetime (``close()`` switches streaming
    off again); ``stream=False`` keeps it offline, so every call is independent (used to check non-streaming
    exports). ``n_dims``: PCA dims that encode returns and decode takes (default: all).
    """

    def __init__(
        self,
        model: AutoEncoder,
        latent: LatentSpace | None = None,
        n_dims: int | None = None,
        name: str = "model",
        metadata: dict[str, Any] | None = None,
        stream: bool = True,
    ) -> None:
        self.model = model.eval()
        self.name = name
        self.sample_rate = int(model.sample_rate)
        self.channels = int(model.channels)
        self.hop_length = int(model.hop_length)
        self.delay_samples = int(model.delay_samples)
        self.full_latent_size = int(model.latent_size)
        k = self.full_latent_size if n_dims is None else int(n_dims)
        if not 1 <= k <= self.full_latent_size:
            raise FoleyError(f"n_dims must be in 1..{self.full_latent_size}, got {k}")
        self.pca_dims = k
        self.n_materials = int(getattr(model, "n_materials", 0))
        self.latent_size = k + self.n_materials
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.pca_mean, self.components, self.pca_std = pca_tensors(latent, self.full_latent_size)
        self.stream = stream
        set_streaming(self.model, stream)

    def encode(self, x: Tensor) -> Tensor:
        """x ``[B, C, n]`` -> PCA-ordered posterior mean ``[B, n_dims (+ K zeros), n / hop_length]``."""
        with torch.no_grad():
            mean = self.model.encode(x, sample=False).mean
            p = torch.matmul(self.components[: self.pca_dims], mean - self.pca_mean.unsqueeze(-1))
            if self.n_materials:
                p = torch.cat([p, p.new_zeros(p.shape[0], self.n_materials, p.shape[2])], dim=1)
        return p

    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, n_dims (+ K), F]`` (PCA coords; missing dims = 0; material weights) -> ``[B, C, F * hop_length]``."""
        if z.shape[1] != self.latent_size:
            raise FoleyError(f"decode expects {self.latent_size} latent dims, got {z.shape[1]}")
        with torch.no_grad():
            b, _, f = z.shape
            k = self.pca_dims
            fill = z.new_zeros(b, self.full_latent_size - k, f)
            p = torch.cat([z[:, :k], fill], dim=1)
            latent = torch.matmul(self.components.t(), p) + self.pca_mean.unsqueeze(-1)
            if self.n_materials:
                latent = torch.cat([latent, z[:, k:]], dim=1)
            return self.model.decode(latent)

    def forward(self, x: Tensor) -> Tensor:
        """decode(encode(x)): ``[B, C, n]`` -> ``[B, C, n]`` delayed by ``delay_samples``."""
        return self.decode(self.encode(x))

    __call__ = forward

    def reset(self) -> None:
        reset_state(self.model)

    def close(self) -> None:
        """Leave streaming mode (the model is offline again)."""
        set_streaming(self.model, False)
