"""The waveform VAE (RAVE-style), built for low latency and exact streaming.

x ``[B, C, T]`` -> PQMF analysis ``[B, C*M, T/M]`` -> conv encoder (residual dilated stages, strided convs)
-> Gaussian posterior (mean, std = softplus + 1e-4) ``[B, latent, T/hop]`` -> decoder (transposed convs,
residual stages) -> per band waveform * sigmoid(amplitude) + filtered noise -> PQMF synthesis -> ``[B, C, T]``.

Everything is implemented causally (``foleyvae.nn.streaming``); non-causal presets look ahead by delaying instead.
``delay_samples`` is the exact algorithmic latency of ``decode(encode(x))`` relative to ``x`` (PQMF delay plus any
look-ahead). ``forward`` compensates it, so its output is aligned with the input; streaming blocks are not
compensated (a real-time stream cannot see the future) and equal ``forward``'s output delayed by ``delay_samples``.
Blocks must be multiples of ``hop_length`` samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from foleyvae.audio.distances import MultiScaleSTFT
from foleyvae.audio.pqmf import PQMF
from foleyvae.models.base import AutoEncoder, EncoderOutput, LossTerms
from foleyvae.models.conditioning import MaterialCritic, MaterialFiLM, MaterialJudge, swap_losses
from foleyvae.models.noise import NoiseSynth
from foleyvae.nn.blocks import DownStage, UpStage, wn
from foleyvae.nn.streaming import CachedConv1d

__all__ = ["WaveformVAE", "Encoder", "Decoder", "gaussian_kl"]


def gaussian_kl(mean: Tensor, std: Tensor) -> Tensor:
    """KL(N(mean, std^2) || N(0, 1)) summed over channels, averaged over batch and frames. mean/std: [B, L, F]."""
    var = std * std
    return 0.5 * (mean * mean + var - torch.log(var) - 1.0).sum(1).mean()


class Encoder(nn.Module):
    """bands ``[B, C*M, Tb]`` -> (mean, std) ``[B, latent, Tb / prod(strides)]``."""

    def __init__(
        self,
        in_channels: int,
        capacity: int,
        multipliers: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
        kernel_size: int,
        latent_size: int,
        lookahead: bool,
    ) -> None:
        super().__init__()
        chans = [capacity * m for m in multipliers]
        self.inp = wn(CachedConv1d(in_channels, chans[0], 7))
        self.stages = nn.ModuleList(
            [DownStage(chans[i], chans[i + 1], s, kernel_size, dilations, lookahead) for i, s in enumerate(strides)]
        )
        self.stage_delays: list[int] = [int(st.delay) for st in self.stages]  # type: ignore[arg-type]
        self.act = nn.LeakyReLU(0.2)
        self.out = wn(CachedConv1d(chans[-1], 2 * latent_size, 3))
        self.latent_size = latent_size

    def forward(self, bands: Tensor) -> tuple[Tensor, Tensor]:
        h = self.inp(bands)
        for st in self.stages:
            h = st(h)
        mean, scale = self.out(self.act(h)).chunk(2, dim=1)
        return mean, F.softplus(scale) + 1e-4


class Decoder(nn.Module):
    """z ``[B, latent + K, F]`` -> bands ``[B, C*M, F * prod(strides)]``: waveform * sigmoid(amplitude) + noise.

    With ``n_materials = K > 0`` the last K channels of z are material weights that modulate the hidden signal
    before every stage and before the output layers (:class:`~foleyvae.models.conditioning.MaterialFiLM`).
    """

    def __init__(
        self,
        out_channels: int,
        capacity: int,
        multipliers: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
        kernel_size: int,
        latent_size: int,
        lookahead: bool,
        noise_bands: int,
        use_noise: bool,
        n_materials: int = 0,
    ) -> None:
        super().__init__()
        chans = [capacity * m for m in multipliers]
        self.latent_size = latent_size
        self.inp = wn(CachedConv1d(latent_size, chans[-1], 3))
        n = len(strides)
        self.stages = nn.ModuleList(
            [UpStage(chans[i + 1], chans[i], strides[i], kernel_size, dilations, lookahead) for i in reversed(range(n))]
        )
        # FiLM points: each stage's input (width chans[i + 1], rate = strides applied so far) and the last output
        widths = [chans[i + 1] for i in reversed(range(n))] + [chans[0]]
        rates = [math.prod(strides[i + 1 :]) for i in reversed(range(n))] + [math.prod(strides)]
        # None without materials (TorchScript then compiles only the plain path; old checkpoints keep their keys)
        self.film = MaterialFiLM(n_materials, widths, rates) if n_materials > 0 else None
        self.stage_delays: list[int] = [int(st.delay) for st in self.stages]  # type: ignore[arg-type]
        self.act = nn.LeakyReLU(0.2)
        self.wave = wn(CachedConv1d(chans[0], out_channels, 7))
        self.amp = wn(CachedConv1d(chans[0], out_channels, 7))
        self.use_noise = use_noise
        self.noise = NoiseSynth(chans[0], out_channels, noise_bands, frame=math.prod(strides))

    def forward(self, z: Tensor) -> Tensor:
        film_layer = self.film
        if film_layer is not None:
            film = film_layer(z[:, self.latent_size :])
            h = self.inp(z[:, : self.latent_size])
            i = 0
            for st in self.stages:
                h = st(film_layer.modulate(h, film, i))
                i += 1
            h = film_layer.modulate(h, film, i)
        else:
            h = self.inp(z)
            for st in self.stages:
                h = st(h)
        h = self.act(h)
        out = self.wave(h) * torch.sigmoid(self.amp(h))
        if self.use_noise:
            out = out + self.noise(h)
        return out


class WaveformVAE(AutoEncoder):
    """The RAVE-style waveform VAE. See the module docstring for the signal flow and delay convention."""

    supports_adversarial = True

    def __init__(
        self,
        sample_rate: int = 44100,
        channels: int = 1,
        n_bands: int = 16,
        pqmf_attenuation: float = 100.0,
        capacity: int = 32,
        multipliers: Sequence[int] = (1, 2, 4, 8),
        strides: Sequence[int] = (4, 4, 2),
        dilations: Sequence[int] = (1, 3, 9),
        kernel_size: int = 3,
        latent_size: int = 16,
        causal: bool = True,
        noise_bands: int = 5,
        use_noise: bool = True,
        materials: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.materials: list[str] = [str(m) for m in materials]
        self.n_materials = len(self.materials)
        self.sample_rate = sample_rate
        self.channels = channels
        self.n_bands = n_bands
        self.latent_size = latent_size
        self.hop_length = n_bands * math.prod(strides)
        self.causal = causal
        lookahead = not causal
        self.pqmf = PQMF(n_bands, pqmf_attenuation)
        nb = channels * n_bands
        self.encoder = Encoder(nb, capacity, multipliers, strides, dilations, kernel_size, latent_size, lookahead)
        self.decoder = Decoder(
            nb,
            capacity,
            multipliers,
            strides,
            dilations,
            kernel_size,
            latent_size,
            lookahead,
            noise_bands,
            use_noise,
            self.n_materials,
        )
        self.critic = MaterialCritic(latent_size, self.n_materials) if self.n_materials else None
        self.judge = MaterialJudge(sample_rate, self.n_materials) if self.n_materials else None
        self.delay_samples = self.pqmf.delay_samples + self._lookahead_samples(strides)
        self.multiscale = MultiScaleSTFT()

    def _lookahead_samples(self, strides: Sequence[int]) -> int:
        """Sum of each stage's look-ahead (frames) times the samples per frame at its rate."""
        total = 0
        rate = self.n_bands
        for d, s in zip(self.encoder.stage_delays, strides, strict=True):
            total += d * rate
            rate *= s
        rate = self.n_bands
        for d, s in zip(reversed(self.decoder.stage_delays), strides, strict=True):
            total += d * rate
            rate *= s
        return int(total)

    # -------------------------------------------------------------------------------------------- bands
    def _split(self, x: Tensor) -> Tensor:
        """``[B, C, T]`` -> ``[B, C*M, T/M]``."""
        b, c, t = x.shape
        if t % self.hop_length != 0:
            raise ValueError(f"length {t} is not a multiple of the hop length {self.hop_length}")
        return self.pqmf.analysis(x.reshape(b * c, 1, t)).reshape(b, c * self.n_bands, t // self.n_bands)

    def _merge(self, bands: Tensor) -> Tensor:
        """``[B, C*M, Tb]`` -> ``[B, C, Tb*M]``."""
        b, cm, tb = bands.shape
        c = cm // self.n_bands
        return self.pqmf.synthesis(bands.reshape(b * c, self.n_bands, tb)).reshape(b, c, tb * self.n_bands)

    # -------------------------------------------------------------------------------------------- API
    def encode(self, x: Tensor, sample: bool = True) -> EncoderOutput:
        """x ``[B, C, T]`` (T a multiple of hop_length) -> z/mean/std ``[B, latent, T / hop_length]`` and KL."""
        mean, std = self.encoder(self._split(x))
        z = mean + std * torch.randn_like(mean) if sample else mean
        return EncoderOutput(z=z, mean=mean, std=std, kl=gaussian_kl(mean, std))

    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, latent (+ K), F]`` -> audio ``[B, C, F * hop_length]`` (delayed by ``delay_samples``).

        A conditioned model's z may carry the K material weights after the latent (:meth:`with_materials`);
        without them it decodes with "no material" (zeros).
        """
        if self.n_materials and z.shape[1] == self.latent_size:
            z = self.with_materials(z, None)
        return self._merge(self.decoder(z))

    def with_materials(self, z: Tensor, weights: Tensor | None) -> Tensor:
        """z ``[B, latent, F]`` + weights ``[B, K, F]`` or ``[B, K]`` (None: zeros) -> ``[B, latent + K, F]``."""
        b, _, f = z.shape
        if weights is None:
            weights = z.new_zeros(b, self.n_materials, f)
        elif weights.dim() == 2:
            weights = weights.unsqueeze(-1).expand(b, self.n_materials, f)
        return torch.cat([z, weights.to(z.dtype)], dim=1)

    def pad_length(self, t: int) -> int:
        """Length to run offline so that ``t`` aligned output samples exist."""
        return int(math.ceil((t + self.delay_samples) / self.hop_length) * self.hop_length)

    def forward(self, x: Tensor, sample: bool = False) -> Tensor:
        """Offline reconstruction aligned with x: ``[B, C, T]`` (any T) -> ``[B, C, T]``."""
        t = x.shape[-1]
        xp = F.pad(x, (0, self.pad_length(t) - t))
        y = self.decode(self.encode(xp, sample=sample).z)
        return y[..., self.delay_samples : self.delay_samples + t]

    def compute_losses(
        self,
        x: Tensor,
        weights: Tensor | None = None,
        material: Tensor | None = None,
        critic_weight: float = 0.0,
        judge_weight: float = 0.0,
        envelope_weight: float = 0.0,
    ) -> LossTerms:
        """Phase-1 terms: multiscale spectral distance on the full band and on the PQMF bands, plus KL.

        x: ``[B, C, T]`` with T a multiple of hop_length. The comparison drops the first ``delay_samples`` of the output
        (and the last of the input) so that both are aligned without padding. A conditioned model takes its
        training condition ``weights [B, K, F]`` and the clips' material index ``material [B]`` (-1 = none);
        ``extras`` then holds the weighted conditioning terms the loop adds to the total
        (:mod:`foleyvae.models.conditioning`: ``cond/critic``, the latent adversary's cross-entropy, whose reversed
        gradient reaches the encoder scaled by ``critic_weight``; the swap terms when ``judge_weight > 0``).
        """
        enc = self.encode(x, sample=True)
        z = self.with_materials(enc.z, weights) if self.n_materials else enc.z
        y_raw = self.decode(z)
        extras: dict[str, Tensor] = {}
        if material is not None:
            extras = self.material_losses(x, enc, material, critic_weight, judge_weight, envelope_weight)
        return LossTerms(recon=self.reconstruction_losses(x, y_raw), kl=enc.kl, y=y_raw, extras=extras)

    def material_losses(
        self,
        x: Tensor,
        enc: EncoderOutput,
        material: Tensor,
        critic_weight: float = 0.0,
        judge_weight: float = 0.0,
        envelope_weight: float = 0.0,
    ) -> dict[str, Tensor]:
        """A conditioned model's extra training terms (see :meth:`compute_losses`); {} without materials."""
        out: dict[str, Tensor] = {}
        if self.critic is not None and critic_weight > 0.0:
            out["cond/critic"] = self.critic.loss(enc.mean, material, critic_weight)
        if self.judge is not None and judge_weight > 0.0:
            out.update(swap_losses(self, x, enc.z, material, judge_weight, envelope_weight))
        return out

    def align(self, x: Tensor, y_raw: Tensor) -> tuple[Tensor, Tensor]:
        """Trim x and the delayed reconstruction so that they line up, to a multiple of the hop length."""
        d = self.delay_samples
        n = (x.shape[-1] - d) // self.hop_length * self.hop_length
        return x[..., :n], y_raw[..., d : d + n]

    def reconstruction_losses(self, x: Tensor, y_raw: Tensor) -> dict[str, Tensor]:
        xa, ya = self.align(x, y_raw)
        out = {"spec/multiscale": self.multiscale(xa, ya)}
        if self.n_bands > 1:
            out["spec/bands"] = self.multiscale(self._split(xa), self._split(ya))
        return out
