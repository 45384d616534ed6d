"""Export the clip-based MCLT VAEs (``mclt-2d``, ``mclt-3d``, ``mclt-gl``, ``mclt-cvae``) to nn~ TorchScript files.

Same file format as the waveform export (:mod:`.nn_tilde`: nn~ methods and ``*_params`` buffers, attributes,
``foleyvae.json``, ``.sha256`` sidecar, atomic write, reload-and-compare self-check); the wrapper differs because a
clip model codes each ``clip_samples``-sample clip (32768 at 44.1 kHz: 0.743 s) into ONE latent vector:

* ``hop_length = clip_samples``: ``encode_params = [1, 1, k, clip]``, ``decode_params = [k, clip, 1, 1]``,
  ``forward_params = [1, 1, 1, 1]``. nn~ buffers are powers of two >= the clip; the StreamingEngine runs smaller
  blocks through its FIFO (latency = one clip minus gcd(block, clip)).
* ``encode(x)``: ``[B, 1, n]`` -> ``[B, k, ceil(n / clip)]`` (a partial last clip is zero-padded, as the eager model
  does): posterior mean (+ temperature x posterior noise) -> PCA coords -> first k.
* ``decode(z)``: ``[B, k, F]`` -> scale/bias, the other dims filled (zeros at temperature 0) -> inverse PCA ->
  decoder -> inverse MCLT (Griffin-Lim for ``mclt-gl``) -> ``[B, 1, F * clip]``.
* No state between calls (clips are coded independently): the file is the same with or without ``--streaming``,
  ``streaming`` is recorded as False, and ``delay_samples`` is 0.
* ``mclt-cvae``: its complex latent ``z`` (``L`` complex dims) is exported as ``2L`` real channels, real parts first
  (dims ``0..L-1`` = Re z, ``L..2L-1`` = Im z, before PCA); the metadata says so (``latent_layout``). At temperature
  t > 0, encode adds t x a complex-Gaussian deviation with the posterior's covariance and pseudo-covariance.

The MCLT networks are scripted as they are (the model's own encoder/decoder modules and the scriptable functions of
:mod:`foleyvae.audio.mclt`); only the few lines that read float module constants (dB and phase normalisation,
amplitude compression; TorchScript cannot read float globals) and the Griffin-Lim loop (which takes Python callables)
are restated here, as :class:`_ClipCodec` methods. The self-check compares the reloaded file with the eager model
through :class:`RealLatentView`, to the same 1e-5 tolerance as waveform exports (relative to ``max(1, max |y|)``):
the scripted graph runs the same ATen ops in the same order on the same shapes, so the outputs agree bit for bit
(max error measured 0.0 for all four kinds, both the tiny test models and the full-size presets). That exactness
matters here: the 2D-VAE's phase is unwrapped (a rounding difference near +-pi shifts a whole row by 2 pi) and
Griffin-Lim iterates with momentum 0.99, so neither would reliably stay within 1e-5 of a merely close reimplementation.
The self-check runs at temperature 0 (no noise), and Griffin-Lim starts from zero phase, so all four are
deterministic.
"""

# No ``from __future__ import annotations`` here: TorchScript reads the wrappers' class annotations as objects.
import copy
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from foleyvae.analysis.latent import LatentSpace
from foleyvae.audio.mclt import clip_to_mclt, mclt, mclt_to_clip
from foleyvae.config import Config
from foleyvae.errors import FoleyError
from foleyvae.export.nn_tilde import (
    ExportReport,
    NnTildeBase,
    build_metadata,
    choose_dims,
    script_to_bytes,
    self_check,
    write_export,
)
from foleyvae.models import spectral as sp
from foleyvae.models.base import AutoEncoder, EncoderOutput, LossTerms
from foleyvae.nn.complex import complex_gaussian_params
from foleyvae.playable.adapters import pca_tensors

__all__ = ["ClipNnTildeWrapper", "RealLatentView", "export_clip_model", "usable_latent"]


class RealLatentView(AutoEncoder):
    """An MCLT VAE seen with a real latent: the exported file's convention, and the self-check's eager reference.

    For ``mclt-cvae`` the complex posterior ``[B, L, F]`` becomes ``[B, 2L, F]`` (real parts, then imaginary parts)
    and ``decode`` takes ``[B, 2L, F]``; ``std`` is ``sqrt(gamma / 2)`` per part (exact without pseudo-covariance;
    only the mean is used by the export). The real-valued variants pass through unchanged.
    """

    def __init__(self, model: sp.MCLTVAEBase) -> None:
        super().__init__()
        self.model = model
        self.complex_latent = isinstance(model, sp.MCLTComplexVAE)
        self.kind = model.kind
        self.sample_rate = int(model.sample_rate)
        self.channels = int(model.channels)
        self.hop_length = int(model.hop_length)
        self.delay_samples = int(model.delay_samples)
        self.latent_size = int(model.latent_size) * (2 if self.complex_latent else 1)

    def encode(self, x: Tensor, sample: bool = True) -> EncoderOutput:
        """x ``[B, 1, T]`` -> z/mean/std ``[B, latent_size, ceil(T / clip)]`` (real)."""
        out = self.model.encode(x, sample=sample)
        if not self.complex_latent:
            return out

        def parts(t: Tensor) -> Tensor:
            return torch.cat([t.real, t.imag], dim=1)

        std = out.std / math.sqrt(2.0)
        return EncoderOutput(z=parts(out.z), mean=parts(out.mean), std=torch.cat([std, std], dim=1), kl=out.kl)

    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, latent_size, n]`` (real) -> ``[B, 1, n * clip]``."""
        if self.complex_latent:
            half = z.shape[1] // 2
            z = torch.complex(z[:, :half], z[:, half:])
        return self.model.decode(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)  # type: ignore[no-any-return]

    def compute_losses(self, x: Tensor) -> LossTerms:
        return self.model.compute_losses(x)


class _ClipCodec(nn.Module):
    """Scriptable per-clip coder of a real-valued MCLT VAE: clips ``[B', clip]`` <-> real latents ``[B', D]``.

    Holds the model's own networks; subclasses define ``features`` (clips -> network input image) and ``synthesize``
    (network output image -> clips), mirroring the eager variant's methods of the same names.
    """

    def __init__(self, model: sp.MCLTVAEBase) -> None:
        super().__init__()
        net: Any = model
        self.encoder = net.encoder
        self.to_latent = net.to_latent
        self.from_latent = net.from_latent
        self.decoder = net.decoder
        self.bottom_c, self.bottom_h, self.bottom_w = (int(v) for v in net.bottom)
        self.frame_length = int(model.frame_length)
        self.n_bins = int(model.n_bins)
        self.n_frames = int(model.n_frames)
        self.clip_samples = int(model.clip_samples)
        self.latent_size = int(model.latent_size)
        # spectral.py's module constants, copied into attributes (TorchScript cannot read float globals)
        self.db_eps = float(sp._DB_EPS)
        self.db_center = float(sp._DB_CENTER)
        self.db_range = float(sp._DB_RANGE)
        self.phase_scale = float(sp._PHASE_SCALE)
        self.power = float(sp._POWER)

    # ------------------------------------------------------------------ shared transforms (as in spectral.py)
    def image(self, clips: Tensor) -> Tensor:
        """Complex MCLT ``[B', clip]`` -> ``[B', N, F]``."""
        return clip_to_mclt(clips, self.frame_length, self.n_frames)

    def wave(self, spec: Tensor) -> Tensor:
        """Complex ``[B', N, F]`` -> ``[B', clip]`` (average inverse)."""
        return mclt_to_clip(spec, self.frame_length, self.clip_samples)

    def mag_to_db_norm(self, mag: Tensor) -> Tensor:
        return (20.0 * torch.log10(mag + self.db_eps) - self.db_center) / self.db_range

    def db_norm_to_mag(self, norm: Tensor) -> Tensor:
        db = norm.clamp(max=1.5) * self.db_range + self.db_center
        return (torch.pow(10.0, db / 20.0) - self.db_eps).clamp_min(0.0)

    def compress(self, spec: Tensor) -> Tensor:
        return spec * (spec.abs() + 1e-12) ** (self.power - 1.0)

    def decompress(self, spec: Tensor) -> Tensor:
        return spec * spec.abs() ** (1.0 / self.power - 1.0)

    # ------------------------------------------------------------------ per-variant hooks
    def features(self, clips: Tensor) -> Tensor:  # pragma: no cover - overridden
        return clips

    def synthesize(self, image: Tensor) -> Tensor:  # pragma: no cover - overridden
        return image

    # ------------------------------------------------------------------ latent
    def encode(self, clips: Tensor, temperature: float) -> Tensor:
        """clips ``[B', clip]`` -> latent ``[B', L]``: mean (+ temperature x std x N(0, 1))."""
        mean, scale = self.to_latent(self.encoder(self.features(clips)).flatten(1)).chunk(2, dim=-1)
        if temperature > 0.0:
            std = F.softplus(scale) + 1e-4
            return mean + temperature * std * torch.randn_like(mean)
        return mean

    def decode(self, z: Tensor) -> Tensor:
        """latent ``[B', L]`` -> clips ``[B', clip]``."""
        h = self.from_latent(z).reshape(z.shape[0], self.bottom_c, self.bottom_h, self.bottom_w)
        return self.synthesize(self.decoder(h))


class _PolarCodec(_ClipCodec):
    """mclt-2d: dB magnitude over demodulated, time-unwrapped phase, one image ``[B', 1, 2N, F]``."""

    def features(self, clips: Tensor) -> Tensor:
        spec = self.image(clips)
        adv = sp._advance(self.n_bins, self.n_frames, spec.device)
        demod = spec * torch.polar(torch.ones_like(adv), -adv)
        phase = sp._unwrap(torch.angle(demod), dim=-1) / self.phase_scale
        return torch.cat([self.mag_to_db_norm(spec.abs()), phase], dim=-2).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        mag = self.db_norm_to_mag(image[:, 0, : self.n_bins])
        adv = sp._advance(self.n_bins, self.n_frames, image.device)
        phase = image[:, 0, self.n_bins :] * self.phase_scale + adv
        return self.wave(torch.polar(mag, phase))


class _ReImCodec(_ClipCodec):
    """mclt-3d: real and imaginary parts of the compressed MCLT as two channels ``[B', 2, N, F]``."""

    def features(self, clips: Tensor) -> Tensor:
        spec = self.compress(self.image(clips))
        return torch.stack([spec.real, spec.imag], dim=1)

    def synthesize(self, image: Tensor) -> Tensor:
        return self.wave(self.decompress(torch.complex(image[:, 0], image[:, 1])))


class _MagCodec(_ClipCodec):
    """mclt-gl: dB magnitude ``[B', 1, N, F]``; phase by fast Griffin-Lim from zero phase (deterministic)."""

    def __init__(self, model: sp.MCLTGriffinLimVAE) -> None:
        super().__init__(model)
        self.griffin_lim_iters = int(model.griffin_lim_iters)
        self.griffin_lim_momentum = float(model.griffin_lim_momentum)

    def features(self, clips: Tensor) -> Tensor:
        return self.mag_to_db_norm(self.image(clips).abs()).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        mag = self.db_norm_to_mag(image[:, 0])
        # foleyvae.audio.griffin_lim.griffin_lim with mclt_operators (analysis = MCLT cropped to F frames, synthesis
        # = the clip inverse), restated because it takes Python callables
        phase = torch.polar(torch.ones_like(mag), torch.zeros_like(mag))
        prev = torch.zeros_like(phase)
        for i in range(self.griffin_lim_iters):
            rebuilt = mclt(self.wave(mag * phase), self.frame_length)[..., : self.n_frames]
            t = rebuilt if i == 0 else rebuilt + self.griffin_lim_momentum * (rebuilt - prev)
            prev = rebuilt
            phase = t / (t.abs() + 1e-12)
        return self.wave(mag * phase)


class _ComplexCodec(_ClipCodec):
    """mclt-cvae: complex nets on the compressed complex MCLT ``[B', 1, N, F]``; latent as ``[Re z, Im z]``."""

    def features(self, clips: Tensor) -> Tensor:
        return self.compress(self.image(clips)).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        return self.wave(self.decompress(image[:, 0]))

    def encode(self, clips: Tensor, temperature: float) -> Tensor:
        """clips ``[B', clip]`` -> ``[B', 2L]``: complex mean (+ temperature x CN(0, gamma, c) deviation)."""
        mean, cov_p, pcov_p = self.to_latent(self.encoder(self.features(clips)).flatten(1)).chunk(3, dim=-1)
        z = mean
        if temperature > 0.0:
            # foleyvae.nn.complex.complex_gaussian_sample's deviation a e1 + b e2 (its generator argument is not
            # scriptable): |a|^2 + |b|^2 = gamma, a^2 + b^2 = c
            cov, pcov = complex_gaussian_params(cov_p.real, pcov_p)
            denom = torch.sqrt(2.0 * (cov + pcov.real).clamp_min(1e-12))
            a = (cov + pcov) / denom
            b_mag = torch.sqrt((cov.square() - pcov.abs().square()).clamp_min(0.0)) / denom
            e1 = torch.randn_like(cov)
            e2 = torch.randn_like(cov)
            z = mean + temperature * (a * e1 + torch.complex(torch.zeros_like(b_mag), b_mag * e2))
        return torch.cat([z.real, z.imag], dim=-1)

    def decode(self, z: Tensor) -> Tensor:
        """``[B', 2L]`` (real parts, imaginary parts) -> clips ``[B', clip]``."""
        zc = torch.complex(z[:, : self.latent_size], z[:, self.latent_size :])
        h = self.from_latent(zc).reshape(z.shape[0], self.bottom_c, self.bottom_h, self.bottom_w)
        return self.synthesize(self.decoder(h))


def _codec(model: sp.MCLTVAEBase) -> _ClipCodec:
    if isinstance(model, sp.MCLTComplexVAE):
        return _ComplexCodec(model)
    if isinstance(model, sp.MCLTGriffinLimVAE):
        return _MagCodec(model)
    if isinstance(model, sp.MCLT3DVAE):
        return _ReImCodec(model)
    if isinstance(model, sp.MCLT2DVAE):
        return _PolarCodec(model)
    raise FoleyError(f"no exporter for spectral model {type(model).__name__}")


class ClipNnTildeWrapper(NnTildeBase):
    """The scripted module for a clip model: clip framing and the PCA latent around a :class:`_ClipCodec`.

    Shapes: see the module docstring. Built by :func:`export_clip_model`; not meant to be used un-scripted elsewhere.
    """

    def __init__(
        self,
        view: RealLatentView,
        codec: _ClipCodec,
        pca_mean: Tensor,
        components: Tensor,
        pca_std: Tensor,
        k: int,
        input_labels: list[str],
    ) -> None:
        super().__init__(
            sample_rate=view.sample_rate,
            channels=1,
            hop_length=view.hop_length,
            delay_samples=0,
            full_latent_size=view.latent_size,
            pca_mean=pca_mean,
            components=components,
            pca_std=pca_std,
            k=k,
            streaming=False,
            input_labels=input_labels,
        )
        self.codec = codec
        self.clip_samples = int(view.hop_length)
        self.kind = view.kind

    @torch.jit.export
    def encode(self, x: Tensor) -> Tensor:
        """x ``[B, 1, n]`` -> PCA latent ``[B, k, ceil(n / clip)]`` (one vector per clip)."""
        b, c, t = x.shape
        n = (t + self.clip_samples - 1) // self.clip_samples
        if n * self.clip_samples != t:
            x = F.pad(x, [0, n * self.clip_samples - t])
        z = self.codec.encode(x.reshape(b * c * n, self.clip_samples), self.temperature)  # [B n, D]
        return self._to_pca(z.reshape(b, n, self.full_latent_size).transpose(1, 2))

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, k, F]`` (PCA coords) -> audio ``[B, 1, F * clip]``."""
        b, _, n = z.shape
        latent = self._from_pca(z).transpose(1, 2).reshape(b * n, self.full_latent_size)
        return self.codec.decode(latent).reshape(b, 1, n * self.clip_samples)

    def forward(self, x: Tensor) -> Tensor:
        """decode(encode(x)): ``[B, 1, n]`` -> ``[B, 1, ceil(n / clip) * clip]``."""
        return self.decode(self.encode(x))


def usable_latent(latent: LatentSpace | None, view: RealLatentView) -> tuple[LatentSpace | None, str]:
    """The run's PCA if it matches the file's real latent; else None (identity) and why."""
    if latent is None:
        return None, "identity (the run has no latent analysis)"
    if latent.latent_size == view.latent_size:
        return latent, "pca"
    if view.complex_latent and latent.latent_size == view.latent_size // 2:
        # latent.json of a CVAE run fitted on the real parts of the complex means only: not a basis of [Re, Im]
        return None, f"identity (the run's latent analysis has {latent.latent_size} dims, real parts only)"
    raise FoleyError(f"latent analysis has {latent.latent_size} dims but the model's latent has {view.latent_size}")


def export_clip_model(
    model: sp.MCLTVAEBase,
    config: Config | None,
    latent: LatentSpace | None,
    out_path: str | Path,
    *,
    fidelity: float = 0.95,
    credits: list[str] | None = None,
    name: str | None = None,
    check: bool = True,
    check_block_sizes: tuple[int, ...] | None = None,
) -> ExportReport:
    """Write ``out_path`` and ``out_path.sha256`` for an MCLT VAE; both atomically, only if the self-check passes.

    ``check_block_sizes`` default to one clip (two calls per check: a batch of 1 and of 2). The caller's model is not
    modified. Raises FoleyError if the reloaded file differs from the eager model by more than 1e-5 (relative to
    ``max(1, max |output|)``) or if ``latent`` does not fit the model.
    """
    t0 = time.perf_counter()
    out_path = Path(out_path)
    reference = RealLatentView(copy.deepcopy(model).eval())
    space, pca_note = usable_latent(latent, reference)
    size = reference.latent_size
    k = choose_dims(space, size, fidelity)
    pca_mean, comps, pca_std = pca_tensors(space, size)
    work: sp.MCLTVAEBase = copy.deepcopy(reference.model)
    work.requires_grad_(False)  # plain inference file: outputs carry no autograd graph
    wrapper = ClipNnTildeWrapper(reference, _codec(work), pca_mean, comps, pca_std, k, ["(signal) input 0"]).eval()
    block_size = int(config.stream.block_size) if config is not None else reference.hop_length
    meta = build_metadata(
        reference,
        config,
        space,
        k,
        fidelity,
        False,
        block_size,
        credits,
        name or (config.name if config else model.kind),
    )
    meta.update(
        model_kind=model.kind,
        clip_samples=int(model.clip_samples),
        frame_length=int(model.frame_length),
        stateless=True,
        latent_pca=pca_note,
        latent_layout=(
            f"complex latent as real channels: dims 0..{model.latent_size - 1} = real parts, "
            f"{model.latent_size}..{size - 1} = imaginary parts (before PCA)"
            if reference.complex_latent
            else "real"
        ),
    )
    if isinstance(model, sp.MCLTGriffinLimVAE):
        meta.update(griffin_lim_iters=int(model.griffin_lim_iters), griffin_lim_init="zero")
    data = script_to_bytes(wrapper, meta)
    sizes = check_block_sizes or (reference.hop_length,)
    errors = self_check(data, reference, space, k, False, sizes) if check else {}
    digest = write_export(data, out_path)
    return ExportReport(
        path=str(out_path),
        size_bytes=len(data),
        sha256=digest,
        latent_size=k,
        full_latent_size=size,
        streaming=False,
        model_kind=model.kind,
        hop_length=reference.hop_length,
        max_abs_error=max(errors.values()) if errors else None,
        errors=errors,
        seconds=time.perf_counter() - t0,
    )
