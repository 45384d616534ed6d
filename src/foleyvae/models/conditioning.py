"""Material conditioning of the waveform VAE's decoder (issue #20: steer timbre, keep the performance).

The decoder of a conditioned model reads ``K`` extra latent channels after the ``L`` learned ones: the material
weights ``c [B, K, F]`` (one-hot of a clip's material in training, any blend at play time, zeros = "no material").
They act through FiLM (Perez et al. 2018): before each decoder stage, and before its output layers,
``h <- h * (1 + gamma(c)) + beta(c)`` per channel, ``gamma``/``beta`` from one 1x1 convolution. The projection
starts at zero, so a conditioned model initialised from an unconditioned one starts out decoding exactly like it.

The timing and level of a performance are carried by the learned latent (its frames); the material by ``c``.
Reconstruction alone hardly teaches the decoder to use ``c`` (the latent already tells it the material), so
training adds, with weights of their own (``train.material_*``):

- **swap losses** (:func:`swap_losses`): each clip is also decoded with a *random* material; a material classifier
  on the audio (:class:`MaterialJudge`, log-mel statistics, trained on the real labelled crops and frozen for this
  pass, as the auxiliary classifier of AC-GAN, Odena et al. 2017) must hear that material, while the output's
  loudness envelope (dB per 256-sample frame) must stay the input's: the timbre moves, the performance stays;
- an optional latent adversary (:class:`MaterialCritic`, a per-frame classifier behind a gradient-reversal layer,
  as in Fader networks, Lample et al. 2017) that pushes the encoder to hide the material.

Label dropout (``c = 0`` for some clips) keeps "no material" a trained state. The judge is a training device: it is
not exported, and the steering scorecard (``eval.steering``) uses a classifier of its own, fitted on other features
of raw corpus clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from foleyvae.audio.distances import MelDistance

__all__ = ["MaterialCritic", "MaterialFiLM", "MaterialJudge", "envelope_db", "material_weights", "swap_losses"]


class MaterialFiLM(nn.Module):
    """Scale/shift of the decoder's hidden signal at several points, from the material weights.

    channels[i] / upsample[i]: width of the hidden signal at point i and its rate in latent frames (the product of
    the strides before it). ``modulate(h, film, i)`` with ``film = self(c)`` computed once per call.
    """

    def __init__(self, n_materials: int, channels: Sequence[int], upsample: Sequence[int]) -> None:
        super().__init__()
        self.channels: list[int] = [int(c) for c in channels]
        self.upsample: list[int] = [int(u) for u in upsample]
        offsets = [0]
        for c in self.channels:
            offsets.append(offsets[-1] + 2 * c)
        self.offsets: list[int] = offsets
        self.proj = nn.Conv1d(int(n_materials), offsets[-1], 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)  # type: ignore[arg-type]  # Conv1d's default bias=True: never None here

    def forward(self, c: Tensor) -> Tensor:
        """c ``[B, K, F]`` -> all points' (gamma, beta) ``[B, sum(2 * channels), F]``."""
        return self.proj(c)

    def modulate(self, h: Tensor, film: Tensor, i: int) -> Tensor:
        """h ``[B, channels[i], F * upsample[i]]`` -> the same, scaled and shifted by point i's slice of ``film``."""
        gb = film[:, self.offsets[i] : self.offsets[i + 1]]
        up = self.upsample[i]
        if up > 1:
            gb = gb.repeat_interleave(up, dim=-1)
        gamma, beta = gb.chunk(2, dim=1)
        return h * (1.0 + gamma) + beta


class _ReverseGrad(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by ``-weight`` on the way back (gradient reversal)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor, weight: float) -> Tensor:  # type: ignore[override]
        ctx.weight = weight  # type: ignore[attr-defined]
        return x.view_as(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return -ctx.weight * grad, None  # type: ignore[attr-defined]


class MaterialCritic(nn.Module):
    """Per-frame material classifier on the posterior mean, behind gradient reversal (training only).

    ``loss(mean, material)``: mean ``[B, L, F]``, material ``[B]`` (index, -1 = unlabelled) -> cross-entropy over
    the labelled clips' frames. Minimising it trains the critic; the reversed gradient (times ``weight``) makes the
    encoder hide the material from it.
    """

    def __init__(self, latent_size: int, n_materials: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(latent_size, hidden, 1), nn.LeakyReLU(0.2), nn.Conv1d(hidden, n_materials, 1)
        )

    def loss(self, mean: Tensor, material: Tensor, weight: float) -> Tensor:
        keep = material >= 0
        if not bool(keep.any()):
            return mean.new_zeros(())
        logits = self.net(_ReverseGrad.apply(mean[keep], weight))  # [b, K, F]
        target = material[keep].unsqueeze(-1).expand(-1, logits.shape[-1])
        return F.cross_entropy(logits, target)


def material_weights(material: Tensor, n_materials: int, frames: int, dropout: float = 0.0) -> Tensor:
    """Training condition: material ``[B]`` (index, -1 = none) -> one-hot ``[B, K, frames]``; each clip's
    condition is zeroed with probability ``dropout`` (label dropout: "no material" stays a trained state)."""
    b = material.shape[0]
    c = torch.zeros(b, n_materials, device=material.device)
    known = material >= 0
    if bool(known.any()):
        c[known] = F.one_hot(material[known], n_materials).to(c.dtype)
    if dropout > 0.0:
        c = c * (torch.rand(b, 1, device=c.device) >= dropout).to(c.dtype)
    return c.unsqueeze(-1).expand(b, n_materials, frames)


class MaterialJudge(nn.Module):
    """Material classifier on audio, level-free: ``[B, C, T]`` -> logits ``[B, K]`` (training only).

    Log-mel (64 bands, 1024/256), minus the clip's mean log level, two convolutions over time, mean and std pooled,
    one linear layer.
    """

    def __init__(self, sample_rate: int, n_materials: int, width: int = 64) -> None:
        super().__init__()
        self.mel = MelDistance(sample_rate, n_fft=1024, hop_length=256, n_mels=64)
        self.net = nn.Sequential(
            nn.Conv1d(64, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(width, width, 3, padding=2, dilation=2),
            nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(2 * width, n_materials)

    def forward(self, x: Tensor) -> Tensor:
        m = torch.log(self.mel.mel(x) + 1e-5)  # [B*C, 64, frames]
        m = m - m.mean(dim=(1, 2), keepdim=True)
        h = self.net(m)
        logits = self.out(torch.cat([h.mean(-1), h.std(-1)], dim=1))
        return logits.reshape(x.shape[0], -1, logits.shape[-1]).mean(1)


def envelope_db(x: Tensor, frame: int = 256, floor_db: float = -70.0) -> Tensor:
    """Loudness envelope: RMS in dB per ``frame`` samples, floored. ``[B, C, T]`` -> ``[B, C, T // frame]``."""
    n = x.shape[-1] // frame * frame
    power = x[..., :n].reshape(*x.shape[:-1], -1, frame).pow(2).mean(-1)
    return (10.0 * torch.log10(power + 1e-12)).clamp_min(floor_db)


def swap_losses(
    model: nn.Module, x: Tensor, z: Tensor, material: Tensor, judge_weight: float, envelope_weight: float
) -> dict[str, Tensor]:
    """The swap terms (module docstring) for one batch of a conditioned waveform VAE.

    x ``[B, C, T]``; z: its latent ``[B, L, F]``; material ``[B]`` (-1 = unlabelled). Returns weighted terms:
    ``cond/judge_real`` (the judge learns the real crops' materials), ``cond/judge_swap`` (the judge, frozen, on
    the decode with a random material), ``cond/envelope`` (L1 between that decode's and the input's envelopes).
    """
    m: Any = model
    judge: MaterialJudge = m.judge
    out: dict[str, Tensor] = {}
    keep = material >= 0
    if bool(keep.any()):
        out["cond/judge_real"] = F.cross_entropy(judge(x[keep]), material[keep])
    target = torch.randint(m.n_materials, (x.shape[0],), device=x.device)
    weights = F.one_hot(target, m.n_materials).to(z.dtype)
    xa, ya = m.align(x, m.decode(m.with_materials(z, weights)))
    judge.requires_grad_(False)  # the decoder learns to be heard right; the judge does not learn from its output
    try:
        out["cond/judge_swap"] = judge_weight * F.cross_entropy(judge(ya), target)
    finally:
        judge.requires_grad_(True)
    out["cond/envelope"] = envelope_weight * (envelope_db(ya) - envelope_db(xa)).abs().mean()
    return out
