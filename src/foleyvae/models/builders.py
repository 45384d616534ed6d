"""The only reader of model configuration: turns a Config into a model with plain arguments."""

from __future__ import annotations

from foleyvae.config import Config
from foleyvae.models.base import AutoEncoder
from foleyvae.models.spectral import build_spectral
from foleyvae.models.vae import WaveformVAE

__all__ = ["build_model", "count_parameters"]


def build_model(cfg: Config) -> AutoEncoder:
    """Build the model a config describes (waveform VAE or an MCLT-family VAE)."""
    m = cfg.model
    if m.kind == "waveform":
        return WaveformVAE(
            sample_rate=cfg.audio.sample_rate,
            channels=cfg.audio.channels,
            n_bands=m.n_bands,
            pqmf_attenuation=m.pqmf_attenuation,
            capacity=m.capacity,
            multipliers=m.multipliers,
            strides=m.strides,
            dilations=m.dilations,
            kernel_size=m.kernel_size,
            latent_size=m.latent_size,
            causal=m.causal,
            noise_bands=m.noise_bands,
            use_noise=m.use_noise,
            materials=m.materials,
        )

    return build_spectral(
        m.kind,
        sample_rate=cfg.audio.sample_rate,
        latent_size=m.latent_size,
        capacity=m.capacity,
        frame_length=m.frame_length,
        clip_samples=m.clip_samples,
        griffin_lim_iters=m.griffin_lim_iters,
        griffin_lim_momentum=m.griffin_lim_momentum,
    )


def count_parameters(model: AutoEncoder) -> int:
    return sum(p.numel() for p in model.parameters())
