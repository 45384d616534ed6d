"""The MCLT spectral VAE family (Cámara & Blanco, "Phase-Aware Transformations in VAEs for Audio Effects", 2022).

Four variants encode a fixed-length clip (default 32768 samples -> an MCLT image of 512 bins x 64 frames, frame
1024, edge frame dropped; see :func:`foleyvae.audio.mclt.clip_to_mclt`) into ONE latent vector, and decode it back
through the inverse MCLT:

``mclt-2d``  (:class:`MCLT2DVAE`)  magnitude and phase stacked as one image ``[B, 1, 2N, F]`` (magnitude rows over phase
             rows), real conv encoder / transposed-conv decoder.
``mclt-3d``  (:class:`MCLT3DVAE`)  real and imaginary parts as two channels ``[B, 2, N, F]`` (why: see the class).
``mclt-gl``  (:class:`MCLTGriffinLimVAE`)  magnitude only ``[B, 1, N, F]``; phase by fast Griffin-Lim on the MCLT.
``mclt-cvae`` (:class:`MCLTComplexVAE`)  complex layers on the complex MCLT ``[B, 1, N, F]`` and a complex Gaussian
             latent with covariance and pseudo-covariance (Nakashika 2020).

The :class:`~foleyvae.models.base.AutoEncoder` contract: audio ``[B, 1, T]``; ``hop_length`` = clip_samples (one
latent vector per clip); latents ``[B, latent_size, n_clips]`` with ``n_clips = ceil(T / clip_samples)``. Shorter
sounds are zero-padded to a whole clip, longer ones are cut into consecutive clips that are coded independently;
``forward`` crops the result back to T. ``compute_losses`` returns ``"spec/feature"`` (L1 in the model's own image
domain) and ``"spec/multiscale"`` (multiscale STFT distance on the decoded waveform).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from foleyvae.audio.distances import MultiScaleSTFT
from foleyvae.audio.griffin_lim import griffin_lim, mclt_operators
from foleyvae.audio.mclt import clip_to_mclt, mclt_to_clip
from foleyvae.errors import FoleyError
from foleyvae.models.base import AutoEncoder, EncoderOutput, LossTerms
from foleyvae.nn.complex import (
    ComplexConv2d,
    ComplexConvTranspose2d,
    ComplexLinear,
    CReLU,
    ModReLU,
    complex_gaussian_kl,
    complex_gaussian_params,
    complex_gaussian_sample,
)

__all__ = [
    "SPECTRAL_KINDS",
    "MCLT2DVAE",
    "MCLT3DVAE",
    "MCLTComplexVAE",
    "MCLTGriffinLimVAE",
    "MCLTVAEBase",
    "build_spectral",
    "interpolate",
]

SPECTRAL_KINDS = ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae")

# Magnitude normalisation: dB with a -100 dB floor, mapped so that [-100, +20] dB -> [-1, 1]. With the sqrt(1/N)
# MCLT scaling a full-scale sinusoid peaks near +20 dB at N = 512, and -100 dB is far below 16-bit quantisation.
_DB_EPS = 1e-5
_DB_CENTER = -40.0
_DB_RANGE = 60.0
# Phase normalisation (2D-VAE): the time-unwrapped demodulated phase of noise is a random walk of ~pi/sqrt(3) rad per
# frame, ~14.5 rad std over 64 frames; 8 pi brings it to ~0.6.
_PHASE_SCALE = 8.0 * math.pi
# 3D-VAE / CVAE amplitude compression |X|^0.5 (keeps the phase; as in compressed-spectrum speech enhancement).
_POWER = 0.5
_CHANNEL_MULT = (1, 2, 4, 4, 8)


def _plan(height: int, width: int, n_layers: int = 5) -> list[tuple[int, int]]:
    """Per-layer (freq, time) strides that shrink an ``[height, width]`` image; freq by 4 while it is >= 16x wider."""
    strides: list[tuple[int, int]] = []
    for _ in range(n_layers):
        sw = 2 if width % 2 == 0 and width > 1 else 1
        if height % 4 == 0 and height >= 16 * width:
            sh = 4
        elif height % 2 == 0 and height > 1:
            sh = 2
        else:
            sh = 1
        if sh == sw == 1:
            break
        strides.append((sh, sw))
        height //= sh
        width //= sw
    return strides


def _kernel_padding(stride: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Kernel 2s and padding s/2 (3 and 1 for stride 1): exact /s in a conv, exact x s in a transposed conv."""
    k = tuple(3 if s == 1 else 2 * s for s in stride)
    p = tuple(1 if s == 1 else s // 2 for s in stride)
    return (k[0], k[1]), (p[0], p[1])


def _mag_to_db_norm(mag: Tensor) -> Tensor:
    return (20.0 * torch.log10(mag + _DB_EPS) - _DB_CENTER) / _DB_RANGE


def _db_norm_to_mag(norm: Tensor) -> Tensor:
    # clamp to +50 dB: an untrained decoder must not produce 1e7 amplitudes that blow up the waveform loss
    # and subtract the floor so that silence decodes to exact zeros (the exact inverse of _mag_to_db_norm)
    db = norm.clamp(max=1.5) * _DB_RANGE + _DB_CENTER
    return (torch.pow(10.0, db / 20.0) - _DB_EPS).clamp_min(0.0)


def _compress(spec: Tensor) -> Tensor:
    """``X |X|^(p - 1)``: amplitude ``|X|^p``, phase kept."""
    return spec * (spec.abs() + 1e-12) ** (_POWER - 1.0)


def _decompress(spec: Tensor) -> Tensor:
    return spec * spec.abs() ** (1.0 / _POWER - 1.0)


def _advance(n_bins: int, n_frames: int, device: torch.device) -> Tensor:
    """Deterministic phase advance of bin k over frame m, ``pi (k + 1/2) m`` (a stationary bin-centred sinusoid):
    ``[N, F]``."""
    k = torch.arange(n_bins, dtype=torch.float64, device=device)
    m = torch.arange(n_frames, dtype=torch.float64, device=device)
    return (math.pi * torch.outer(k + 0.5, m)).remainder(2 * math.pi).float()


def _unwrap(phase: Tensor, dim: int = -1) -> Tensor:
    """numpy.unwrap for tensors: add multiples of 2 pi so that consecutive differences lie in [-pi, pi)."""
    d = torch.diff(phase, dim=dim)
    wrapped = torch.remainder(d + math.pi, 2 * math.pi) - math.pi
    first = phase.narrow(dim, 0, 1)
    return torch.cat([first, first + torch.cumsum(wrapped, dim=dim)], dim=dim)


class MCLTVAEBase(AutoEncoder):
    """Shared clip handling, chunking and losses; subclasses define the image domain and the networks.

    Subclasses implement ``features(clips [B', clip]) -> image``, ``synthesize(image) -> [B', clip]``,
    ``feature_loss(image_hat, image) -> scalar``, ``_encode_image(image, sample) -> (z, mean, std, kl)`` with
    latents ``[B', latent_size]`` and ``_decode_image(z [B', latent_size]) -> image``.
    """

    kind: str = ""

    def __init__(
        self,
        sample_rate: int,
        latent_size: int,
        capacity: int,
        frame_length: int,
        clip_samples: int,
        multiscale: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if frame_length < 16 or frame_length & (frame_length - 1):
            raise FoleyError(f"frame_length must be a power of two >= 16, got {frame_length}")
        n_bins = frame_length // 2
        if clip_samples < frame_length or clip_samples % n_bins:
            raise FoleyError(f"clip_samples must be a multiple of frame_length/2 = {n_bins}, got {clip_samples}")
        if latent_size < 1 or capacity < 1:
            raise FoleyError("latent_size and capacity must be >= 1")
        self.sample_rate = sample_rate
        self.channels = 1
        self.latent_size = latent_size
        self.hop_length = clip_samples
        self.delay_samples = 0
        self.supports_adversarial = False
        self.capacity = capacity
        self.frame_length = frame_length
        self.clip_samples = clip_samples
        self.n_bins = n_bins
        self.n_frames = clip_samples // n_bins
        if multiscale is None:
            multiscale = MultiScaleSTFT(scales=(2048, 1024, 512, 256, 128))
        self.multiscale = multiscale

    # ------------------------------------------------------------------ per-variant hooks
    def features(self, clips: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def synthesize(self, image: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def feature_loss(self, image_hat: Tensor, image: Tensor) -> Tensor:
        return (image_hat - image).abs().mean()

    def _encode_image(self, image: Tensor, sample: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _decode_image(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ clips
    def _to_clips(self, x: Tensor) -> tuple[Tensor, int]:
        """``[B, 1, T]`` -> (``[B * n, clip_samples]`` zero-padded consecutive clips, n)."""
        if x.dim() != 3 or x.shape[1] != 1:
            raise FoleyError(f"{self.kind} models take mono audio [B, 1, T], got shape {tuple(x.shape)}")
        if x.shape[-1] < 1:
            raise FoleyError("cannot encode an empty signal")
        n = -(-x.shape[-1] // self.clip_samples)
        x = F.pad(x, (0, n * self.clip_samples - x.shape[-1]))
        return x.reshape(x.shape[0] * n, self.clip_samples), n

    def _image(self, clips: Tensor) -> Tensor:
        """Complex MCLT image of each clip: ``[B', clip]`` -> ``[B', N, F]``."""
        return clip_to_mclt(clips, self.frame_length, self.n_frames)

    def _wave(self, spec: Tensor) -> Tensor:
        """Complex ``[B', N, F]`` -> ``[B', clip]``."""
        return mclt_to_clip(spec, self.frame_length, self.clip_samples)

    # ------------------------------------------------------------------ AutoEncoder API
    def encode(self, x: Tensor, sample: bool = True) -> EncoderOutput:
        """x: ``[B, 1, T]`` -> z/mean/std ``[B, latent_size, ceil(T / clip_samples)]``, kl scalar."""
        clips, n = self._to_clips(x)
        z, mean, std, kl = self._encode_image(self.features(clips), sample)

        def per_clip(t: Tensor) -> Tensor:
            return t.reshape(x.shape[0], n, -1).transpose(1, 2)

        return EncoderOutput(z=per_clip(z), mean=per_clip(mean), std=per_clip(std), kl=kl)

    def decode(self, z: Tensor) -> Tensor:
        """z: ``[B, latent_size, n]`` -> ``[B, 1, n * clip_samples]``."""
        if z.dim() != 3 or z.shape[1] != self.latent_size:
            raise FoleyError(f"expected a latent [B, {self.latent_size}, n], got shape {tuple(z.shape)}")
        b, _, n = z.shape
        clips = self.synthesize(self._decode_image(z.transpose(1, 2).reshape(b * n, self.latent_size)))
        return clips.reshape(b, 1, n * self.clip_samples)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction (posterior mean): ``[B, 1, T]`` -> ``[B, 1, T]``."""
        return self.decode(self.encode(x, sample=False).z)[..., : x.shape[-1]]

    def compute_losses(self, x: Tensor) -> LossTerms:
        """Phase-1 terms for ``x: [B, 1, T]``: recon {"spec/feature", "spec/multiscale"}, kl, y ``[B, 1, T]``."""
        clips, n = self._to_clips(x)
        with torch.no_grad():
            image = self.features(clips)
        z, _, _, kl = self._encode_image(image, True)
        image_hat = self._decode_image(z)
        y = self.synthesize(image_hat).reshape(x.shape[0], 1, n * self.clip_samples)[..., : x.shape[-1]]
        recon = {"spec/feature": self.feature_loss(image_hat, image), "spec/multiscale": self.multiscale(x, y)}
        return LossTerms(recon=recon, kl=kl, y=y)


# ---------------------------------------------------------------------------------------- real-valued networks


class _ConvVAE(MCLTVAEBase):
    """Real conv encoder -> Gaussian latent -> transposed-conv decoder on an image ``[B', C, H, W]``."""

    def _build(self, in_channels: int, height: int, width: int) -> None:
        strides = _plan(height, width)
        chans = [self.capacity * _CHANNEL_MULT[min(i, len(_CHANNEL_MULT) - 1)] for i in range(len(strides))]
        enc: list[nn.Module] = []
        c_in = in_channels
        h, w = height, width
        for c, s in zip(chans, strides, strict=True):
            k, p = _kernel_padding(s)
            enc += [nn.Conv2d(c_in, c, k, s, p), nn.LeakyReLU(0.2)]
            c_in, h, w = c, h // s[0], w // s[1]
        self.encoder = nn.Sequential(*enc)
        self.bottom = (c_in, h, w)
        flat = c_in * h * w
        self.to_latent = nn.Linear(flat, 2 * self.latent_size)
        self.from_latent = nn.Linear(self.latent_size, flat)
        dec: list[nn.Module] = [nn.LeakyReLU(0.2)]
        for i in reversed(range(len(strides))):
            k, p = _kernel_padding(strides[i])
            dec += [nn.ConvTranspose2d(chans[i], chans[i - 1] if i else chans[0], k, strides[i], p), nn.LeakyReLU(0.2)]
        dec.append(nn.Conv2d(chans[0], in_channels, 3, 1, 1))
        self.decoder = nn.Sequential(*dec)
        self.image_shape = (in_channels, height, width)

    def _encode_image(self, image: Tensor, sample: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        mean, scale = self.to_latent(self.encoder(image).flatten(1)).chunk(2, dim=-1)
        std = F.softplus(scale) + 1e-4  # RAVE's parameterisation (ARCHITECTURE.md section 3)
        var = std.square()
        kl = 0.5 * (mean.square() + var - torch.log(var) - 1.0).sum(-1).mean()
        z = mean + std * torch.randn_like(mean) if sample else mean
        return z, mean, std, kl

    def _decode_image(self, z: Tensor) -> Tensor:
        return self.decoder(self.from_latent(z).reshape(z.shape[0], *self.bottom))


class MCLT2DVAE(_ConvVAE):
    """2D-VAE: normalised dB magnitude over normalised phase as ONE image ``[B', 1, 2N, F]``.

    Phase choice: unwrapped along *time* after removing each bin's deterministic advance ``pi (k + 1/2)`` per hop
    (the phase a stationary bin-centred sinusoid would have). Along frequency the unwrapped phase of a transient is a
    ramp of slope ~pi x (position in frame) / N per bin, accumulating hundreds of radians over 512 bins, and of noise a
    512-step random walk; along time, demodulated, stationary partials give flat rows and noise a 64-step walk,
    ~3x smaller. The decoder's phase error is multiplied by the normalisation constant, so the smaller range wins.
    """

    kind = "mclt-2d"

    def __init__(
        self,
        sample_rate: int,
        latent_size: int,
        capacity: int,
        frame_length: int,
        clip_samples: int,
        multiscale: nn.Module | None = None,
    ) -> None:
        super().__init__(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale)
        self._build(1, 2 * self.n_bins, self.n_frames)

    def features(self, clips: Tensor) -> Tensor:
        spec = self._image(clips)
        adv = _advance(self.n_bins, self.n_frames, spec.device)
        demod = spec * torch.polar(torch.ones_like(adv), -adv)  # zero bins keep phase 0: silence stays flat
        phase = _unwrap(torch.angle(demod), dim=-1) / _PHASE_SCALE
        return torch.cat([_mag_to_db_norm(spec.abs()), phase], dim=-2).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        mag = _db_norm_to_mag(image[:, 0, : self.n_bins])
        phase = image[:, 0, self.n_bins :] * _PHASE_SCALE + _advance(self.n_bins, self.n_frames, image.device)
        return self._wave(torch.polar(mag, phase))


class MCLT3DVAE(_ConvVAE):
    """3D-VAE: real and imaginary parts of the amplitude-compressed MCLT as two channels ``[B', 2, N, F]``.

    Why real/imaginary rather than magnitude/phase channels: the 2D-VAE already covers the magnitude/phase
    representation, and real/imag has no wrapping discontinuities and maps smoothly (``X = Xc |Xc|``) to the waveform,
    so the waveform loss's gradient reaches every output without going through an angle. The ``|X|^0.5`` compression
    (phase kept) tames the dynamic range that raw real/imag parts would have.
    """

    kind = "mclt-3d"

    def __init__(
        self,
        sample_rate: int,
        latent_size: int,
        capacity: int,
        frame_length: int,
        clip_samples: int,
        multiscale: nn.Module | None = None,
    ) -> None:
        super().__init__(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale)
        self._build(2, self.n_bins, self.n_frames)

    def features(self, clips: Tensor) -> Tensor:
        spec = _compress(self._image(clips))
        return torch.stack([spec.real, spec.imag], dim=1)

    def synthesize(self, image: Tensor) -> Tensor:
        return self._wave(_decompress(torch.complex(image[:, 0], image[:, 1])))


class MCLTGriffinLimVAE(_ConvVAE):
    """Magnitude-only VAE (normalised dB ``[B', 1, N, F]``); phase by fast Griffin-Lim on the MCLT.

    Griffin-Lim (``griffin_lim_iters``, momentum ``griffin_lim_momentum``, zero-phase start: deterministic) runs
    without gradients; the waveform is then ``IMCLT(mag_hat * phase)`` so the waveform loss still trains the magnitude.
    """

    kind = "mclt-gl"

    def __init__(
        self,
        sample_rate: int,
        latent_size: int,
        capacity: int,
        frame_length: int,
        clip_samples: int,
        griffin_lim_iters: int = 32,
        griffin_lim_momentum: float = 0.99,
        multiscale: nn.Module | None = None,
    ) -> None:
        super().__init__(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale)
        self.griffin_lim_iters = griffin_lim_iters
        self.griffin_lim_momentum = griffin_lim_momentum
        self._build(1, self.n_bins, self.n_frames)

    def features(self, clips: Tensor) -> Tensor:
        return _mag_to_db_norm(self._image(clips).abs()).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        mag = _db_norm_to_mag(image[:, 0])
        analysis, synthesis = mclt_operators(self.frame_length, self.n_frames, self.clip_samples)
        with torch.no_grad():
            phase = griffin_lim(mag.detach(), analysis, synthesis, self.griffin_lim_iters, self.griffin_lim_momentum)
        return synthesis(mag * phase)


# ---------------------------------------------------------------------------------------- complex-valued network


class MCLTComplexVAE(MCLTVAEBase):
    """CVAE: complex convs on the amplitude-compressed complex MCLT ``[B', 1, N, F]`` and a complex Gaussian latent.

    The posterior is ``CN(mu, gamma, c)`` per latent dimension (covariance gamma, pseudo-covariance c; Nakashika 2020),
    sampled by :func:`~foleyvae.nn.complex.complex_gaussian_sample`, KL to ``CN(0, 1, 0)`` summed over dimensions.
    ``encode`` returns complex ``z``/``mean`` and real ``std = sqrt(gamma)``. Hidden channels are
    ``round(capacity / sqrt 2)`` so that the parameter count (a complex weight is two reals) matches the real models.
    """

    kind = "mclt-cvae"

    def __init__(
        self,
        sample_rate: int,
        latent_size: int,
        capacity: int,
        frame_length: int,
        clip_samples: int,
        activation: str = "crelu",
        multiscale: nn.Module | None = None,
    ) -> None:
        super().__init__(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale)
        if activation not in ("crelu", "modrelu"):
            raise FoleyError(f"activation must be 'crelu' or 'modrelu', got {activation!r}")
        base = max(1, round(capacity / math.sqrt(2)))
        strides = _plan(self.n_bins, self.n_frames)
        chans = [base * _CHANNEL_MULT[min(i, len(_CHANNEL_MULT) - 1)] for i in range(len(strides))]

        def act(c: int) -> nn.Module:
            return CReLU(0.2) if activation == "crelu" else ModReLU(c, init_bias=-0.05)

        enc: list[nn.Module] = []
        c_in, h, w = 1, self.n_bins, self.n_frames
        for c, s in zip(chans, strides, strict=True):
            k, p = _kernel_padding(s)
            enc += [ComplexConv2d(c_in, c, k, s, p), act(c)]
            c_in, h, w = c, h // s[0], w // s[1]
        self.encoder = nn.Sequential(*enc)
        self.bottom = (c_in, h, w)
        flat = c_in * h * w
        self.to_latent = ComplexLinear(flat, 3 * latent_size)
        self.from_latent = ComplexLinear(latent_size, flat)
        dec: list[nn.Module] = [act(c_in)]
        for i in reversed(range(len(strides))):
            k, p = _kernel_padding(strides[i])
            c_out = chans[i - 1] if i else chans[0]
            dec += [ComplexConvTranspose2d(chans[i], c_out, k, strides[i], p), act(c_out)]
        dec.append(ComplexConv2d(chans[0], 1, 3, 1, 1))
        self.decoder = nn.Sequential(*dec)

    def features(self, clips: Tensor) -> Tensor:
        return _compress(self._image(clips)).unsqueeze(1)

    def synthesize(self, image: Tensor) -> Tensor:
        return self._wave(_decompress(image[:, 0]))

    def _encode_image(self, image: Tensor, sample: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        mean, cov_p, pcov_p = self.to_latent(self.encoder(image).flatten(1)).chunk(3, dim=-1)
        cov, pcov = complex_gaussian_params(cov_p.real, pcov_p)
        kl = complex_gaussian_kl(mean, cov, pcov).sum(-1).mean()
        z = complex_gaussian_sample(mean, cov, pcov) if sample else mean
        return z, mean, cov.sqrt(), kl

    def _decode_image(self, z: Tensor) -> Tensor:
        if not z.is_complex():
            z = z.to(torch.cfloat)
        return self.decoder(self.from_latent(z).reshape(z.shape[0], *self.bottom))


# ---------------------------------------------------------------------------------------- builder and mixing


def build_spectral(
    kind: str,
    sample_rate: int,
    latent_size: int,
    capacity: int,
    frame_length: int,
    clip_samples: int,
    griffin_lim_iters: int = 32,
    griffin_lim_momentum: float = 0.99,
    multiscale: nn.Module | None = None,
) -> MCLTVAEBase:
    """One of the four MCLT VAEs from plain arguments (``kind`` as ``config.ModelConfig.kind``)."""
    if kind == "mclt-2d":
        return MCLT2DVAE(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale=multiscale)
    if kind == "mclt-3d":
        return MCLT3DVAE(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale=multiscale)
    if kind == "mclt-gl":
        return MCLTGriffinLimVAE(
            sample_rate,
            latent_size,
            capacity,
            frame_length,
            clip_samples,
            griffin_lim_iters=griffin_lim_iters,
            griffin_lim_momentum=griffin_lim_momentum,
            multiscale=multiscale,
        )
    if kind == "mclt-cvae":
        return MCLTComplexVAE(sample_rate, latent_size, capacity, frame_length, clip_samples, multiscale=multiscale)
    raise FoleyError(f"unknown spectral model kind {kind!r}; expected one of {', '.join(SPECTRAL_KINDS)}")


@torch.no_grad()
def interpolate(model: AutoEncoder, a: Tensor, b: Tensor, alpha: float) -> Tensor:
    """Latent mix of two sounds ("mezclas": asphalt + wood, metal + concrete): ``[1, 1, Ta]``, ``[1, 1, Tb]`` ->
    ``[1, 1, max(Ta, Tb)]``.

    Both are encoded to their posterior means (the shorter zero-padded to the longer), mixed as
    ``(1 - alpha) z_a + alpha z_b`` (complex latents mix the same way) and decoded.
    """
    if not 0.0 <= alpha <= 1.0:
        raise FoleyError(f"alpha must be in [0, 1], got {alpha}")
    length = max(a.shape[-1], b.shape[-1])
    za = model.encode(F.pad(a, (0, length - a.shape[-1])), sample=False).z
    zb = model.encode(F.pad(b, (0, length - b.shape[-1])), sample=False).z
    return model.decode((1.0 - alpha) * za + alpha * zb)[..., :length]
