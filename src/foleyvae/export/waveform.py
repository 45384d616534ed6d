"""The waveform VAEs' nn~ file: :class:`NnTildeWrapper` around the PQMF, encoder and decoder, and its export.

Shared format and checks: :mod:`.nn_tilde`. Entry point for every model family: :func:`.torchscript.export_model`.
"""

# No ``from __future__ import annotations`` here: TorchScript reads the wrapper's class annotations as objects.
import copy
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from foleyvae.analysis.latent import LatentSpace
from foleyvae.config import Config
from foleyvae.errors import FoleyError
from foleyvae.export.nn_tilde import (
    CHECK_BLOCK_SIZES,
    ExportReport,
    M,
    NnTildeBase,
    build_metadata,
    choose_dims,
    script_to_bytes,
    self_check,
    strip_weight_norm,
    write_export,
)
from foleyvae.models.base import AutoEncoder
from foleyvae.models.noise import NoiseSynth
from foleyvae.nn.streaming import set_streaming
from foleyvae.playable.adapters import pca_tensors

__all__ = ["NnTildeWrapper", "export_waveform_model", "scriptable_wrapper"]


class _ScriptableNoiseSynth(NoiseSynth):
    """NoiseSynth whose noise read does not use the module-level table length (TorchScript cannot read that int
    global) and whose FFT size is found without ``math.log2`` (not scriptable). Same arithmetic as NoiseSynth;
    swapped in on the export copy only (checked against the eager model by the export's self-check)."""

    def _noise(self, b: int, t: int, like: Tensor) -> Tensor:
        if self.training:
            return torch.rand(b, self.n_out, t, dtype=like.dtype, device=like.device) * 2 - 1
        n_table = self.table.shape[1]
        start = self.position % n_table
        idx = (torch.arange(t, device=like.device) + start) % n_table
        if self.is_streaming:
            self.position = (start + t) % n_table
        return self.table.to(like.dtype).index_select(1, idx).unsqueeze(0).expand(b, -1, -1)

    def forward(self, hidden: Tensor) -> Tensor:
        b, _, t = hidden.shape
        n_frames = t // self.frame
        amp = torch.sigmoid(self.proj(hidden) - 5.0)
        amp = amp.reshape(b, self.n_out, self.noise_bands, n_frames).permute(0, 1, 3, 2)
        ir = torch.fft.irfft(amp.to(torch.float32), dim=-1).to(hidden.dtype)
        ir = torch.roll(ir, ir.shape[-1] // 2, dims=-1) * self.window
        taps = ir.shape[-1]
        noise = self._noise(b, t, hidden).reshape(b, self.n_out, n_frames, self.frame)
        n_fft = 1
        while n_fft < self.frame + taps - 1:  # next power of two (math.log2 does not script)
            n_fft *= 2
        spec = torch.fft.rfft(noise.to(torch.float32), n_fft) * torch.fft.rfft(ir.to(torch.float32), n_fft)
        out = torch.fft.irfft(spec, n_fft)[..., taps // 2 : taps // 2 + self.frame]
        return out.to(hidden.dtype).reshape(b, self.n_out, t)


def _make_scriptable(module: M) -> M:
    """In place, on the export copy: swap in the scriptable NoiseSynth."""
    for m in module.modules():
        if type(m) is NoiseSynth:
            m.__class__ = _ScriptableNoiseSynth
    return module


class NnTildeWrapper(NnTildeBase):
    """The scripted module: nn~ methods, attributes and latent handling around a WaveformVAE's parts.

    Holds the PQMF, encoder and decoder directly (not the WaveformVAE, whose training-only parts need not script).
    Shapes: see the module docstring. Built by :func:`export_model`; not meant to be used un-scripted elsewhere.
    """

    def __init__(
        self,
        model: AutoEncoder,
        pca_mean: Tensor,
        components: Tensor,
        pca_std: Tensor,
        k: int,
        streaming: bool,
        input_labels: list[str],
        materials: list[str] | None = None,
    ) -> None:
        super().__init__(
            sample_rate=int(model.sample_rate),
            channels=int(model.channels),
            hop_length=int(model.hop_length),
            delay_samples=int(model.delay_samples),
            full_latent_size=int(model.latent_size),
            pca_mean=pca_mean,
            components=components,
            pca_std=pca_std,
            k=k,
            streaming=streaming,
            input_labels=input_labels,
            materials=materials,
        )
        vae: Any = model
        self.pqmf = vae.pqmf
        self.encoder = vae.encoder
        self.decoder = vae.decoder
        self.n_bands = int(vae.n_bands)

    # ------------------------------------------------------------------------------------------ methods
    @torch.jit.export
    def encode(self, x: Tensor) -> Tensor:
        """x ``[B, C, n]`` (n a multiple of hop_length) -> PCA latent ``[B, k (+ K), n / hop_length]``."""
        b, c, t = x.shape
        bands = self.pqmf.analysis(x.reshape(b * c, 1, t)).reshape(b, c * self.n_bands, t // self.n_bands)
        mean, std = self.encoder(bands)
        z = mean
        if self.temperature > 0.0:
            z = mean + self.temperature * std * torch.randn_like(mean)
        return self._to_pca(z)

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, k (+ K), F]`` (PCA coords, material weights) -> audio ``[B, C, F * hop_length]``."""
        b = z.shape[0]
        bands = self.decoder(self._from_pca(z))
        c = bands.shape[1] // self.n_bands
        tb = bands.shape[-1]
        return self.pqmf.synthesis(bands.reshape(b * c, self.n_bands, tb)).reshape(b, c, tb * self.n_bands)

    def forward(self, x: Tensor) -> Tensor:
        """decode(encode(x)): ``[B, C, n]`` -> ``[B, C, n]`` (delayed by delay_samples)."""
        return self.decode(self.encode(x))


def scriptable_wrapper(
    model: AutoEncoder, pca_mean: Tensor, components: Tensor, pca_std: Tensor, k: int, streaming: bool
) -> NnTildeWrapper:
    """``model`` (consumed: weight norm baked in place) as the nn~ wrapper, ready to script: the scriptable noise
    synth swapped in, the streaming mode set, no gradients. Its channels are k PCA dims, then the model's materials."""
    work = _make_scriptable(strip_weight_norm(model))
    # the mode must be set before scripting: the scripted module keeps it (state then lives in its buffers)
    set_streaming(work, streaming)
    work.requires_grad_(False)  # plain inference file: outputs carry no autograd graph
    labels = [f"(signal) input {i}" for i in range(int(model.channels))]
    materials = [str(n) for n in getattr(model, "materials", [])]
    return NnTildeWrapper(work, pca_mean, components, pca_std, k, streaming, labels, materials).eval()


def export_waveform_model(
    model: AutoEncoder,
    config: Config | None,
    latent: LatentSpace | None,
    out_path: str | Path,
    *,
    streaming: bool = True,
    fidelity: float = 0.95,
    credits: list[str] | None = None,
    name: str | None = None,
    check: bool = True,
    check_block_sizes: tuple[int, ...] | None = None,
) -> ExportReport:
    """A waveform VAE -> ``out_path`` (see :func:`foleyvae.export.torchscript.export_model`, which calls this)."""
    t0 = time.perf_counter()
    if not all(hasattr(model, a) for a in ("pqmf", "encoder", "decoder", "n_bands")):
        raise FoleyError(
            f"only waveform VAEs and the MCLT VAEs can be exported to nn~ files, not {type(model).__name__}"
        )
    if check_block_sizes is None:
        check_block_sizes = CHECK_BLOCK_SIZES
    out_path = Path(out_path)
    k = choose_dims(latent, int(model.latent_size), fidelity)
    pca_mean, comps, pca_std = pca_tensors(latent, int(model.latent_size))
    reference = copy.deepcopy(model).eval()
    set_streaming(reference, False)
    wrapper = scriptable_wrapper(copy.deepcopy(reference), pca_mean, comps, pca_std, k, streaming)
    block_size = int(config.stream.block_size) if config is not None else int(model.hop_length)
    meta = build_metadata(
        model, config, latent, k, fidelity, streaming, block_size, credits, name or (config.name if config else "model")
    )
    data = script_to_bytes(wrapper, meta)
    errors = self_check(data, reference, latent, k, streaming, check_block_sizes) if check else {}
    digest = write_export(data, out_path)
    return ExportReport(
        path=str(out_path),
        size_bytes=len(data),
        sha256=digest,
        latent_size=k + len(getattr(model, "materials", [])),  # the played latent: PCA dims, then material channels
        full_latent_size=int(model.latent_size),
        streaming=streaming,
        max_abs_error=max(errors.values()) if errors else None,
        errors=errors,
        seconds=time.perf_counter() - t0,
    )
