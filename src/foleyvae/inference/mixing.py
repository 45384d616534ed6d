"""Latent-space mixing of sounds: blend two sounds, morph one into another, steer one toward a material.

Method of :func:`mix` (and :func:`morph`):

1. Encode both sounds (whole sound at once, the model reset first; the end padded with zeros to a whole number of
   latent frames plus the model delay, so that the decoder can flush the tail): ``z_a [k, F_a]``, ``z_b [k, F_b]``.
2. Detect each sound's first onset (``audio.features.onsets`` on the mono mix; 0 s when none is found) and
   shift b's latent by ``round((onset_a - onset_b) * sample_rate / hop_length)`` frames: a positive shift puts
   frames of the *latent of silence* in front of b, a negative one drops b's first frames. The shift is in whole
   latent frames, so the alignment is exact to within half a hop.
3. Pad the shorter latent at the end with the latent of silence (the encoder's steady-state output for zeros).
4. ``z = (1 - alpha) * z_a + alpha * z_b`` frame by frame (``alpha`` a number, or a ramp 0 -> 1 for a morph).
5. Decode (model reset first) and drop the model's ``delay_samples`` so the result lines up with a.

All latents are the model's PCA-ordered latent (the StreamModel interface), so a material offset
(:mod:`foleyvae.inference.materials`) lives in the same coordinates (:func:`towards`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from foleyvae.audio.features import onsets
from foleyvae.errors import FoleyError
from foleyvae.inference.materials import MaterialTable
from foleyvae.playable.protocol import StreamModel

__all__ = [
    "MixError",
    "decode_latent",
    "encode_sound",
    "first_onset",
    "latent_of_silence",
    "material_table",
    "mix",
    "morph",
    "towards",
]


class MixError(FoleyError, ValueError):
    """Bad mixing input (channels, alpha, unknown material label...)."""


def _check(model: StreamModel, x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] != int(model.channels) or a.shape[1] == 0:
        raise MixError(f"{name}: expected audio [{model.channels}, T>0], got shape {list(a.shape)}")
    return a


@torch.no_grad()
def encode_sound(model: StreamModel, audio: np.ndarray) -> np.ndarray:
    """audio ``[C, T]`` -> PCA latent ``[k, F]``, F = ceil((T + delay) / hop) (the tail flushes the delay)."""
    x = _check(model, audio, "audio")
    hop = int(model.hop_length)
    n = -(-(x.shape[1] + int(model.delay_samples)) // hop) * hop
    xp = np.zeros((1, x.shape[0], n), np.float32)
    xp[0, :, : x.shape[1]] = x
    model.reset()
    z = model.encode(torch.from_numpy(xp))[0].numpy().copy()
    model.reset()
    return z


@torch.no_grad()
def decode_latent(model: StreamModel, z: np.ndarray, length: int) -> np.ndarray:
    """PCA latent ``[k, F]`` -> audio ``[C, length]``, delay-compensated (zero-padded if F is too short)."""
    model.reset()
    y = model.decode(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))[None])[0].numpy()
    model.reset()
    d = int(model.delay_samples)
    out = np.zeros((y.shape[0], length), np.float32)
    seg = y[:, d : d + length]
    out[:, : seg.shape[1]] = seg
    return out


def latent_of_silence(model: StreamModel, frames: int = 32) -> np.ndarray:
    """The encoder's steady-state latent for digital silence: ``[k]`` (last frame of encoded zeros)."""
    hop = int(model.hop_length)
    n = max(frames * hop, -(-int(model.delay_samples) // hop) * hop + 4 * hop)
    z = encode_sound(model, np.zeros((int(model.channels), n), np.float32))
    return z[:, -1].copy()


def first_onset(audio: np.ndarray, sample_rate: int) -> float:
    """Time (s) of the first onset of ``audio [C, T]`` (mono mix), 0.0 when there is none."""
    t = onsets(np.asarray(audio, np.float32).mean(axis=0), sample_rate)
    return float(t[0]) if len(t) else 0.0


def _aligned_latents(model: StreamModel, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(z_a, z_b) of equal length with b shifted onto a's first onset; plus the output length and the shift."""
    sr, hop = int(model.sample_rate), int(model.hop_length)
    za, zb = encode_sound(model, a), encode_sound(model, b)
    sil = latent_of_silence(model)
    shift = round((first_onset(a, sr) - first_onset(b, sr)) * sr / hop)
    if shift > 0:
        zb = np.concatenate([np.repeat(sil[:, None], shift, axis=1), zb], axis=1)
    elif shift < 0:
        zb = zb[:, min(-shift, zb.shape[1] - 1) :]
    f = max(za.shape[1], zb.shape[1])

    def pad(z: np.ndarray) -> np.ndarray:
        return np.concatenate([z, np.repeat(sil[:, None], f - z.shape[1], axis=1)], axis=1)

    length = max(a.shape[1], b.shape[1] + shift * hop)
    return pad(za), pad(zb), length, shift


def mix(model: StreamModel, a: np.ndarray, b: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend two sounds in latent space after aligning their first onsets (method: module docstring).

    a: ``[C, Ta]``, b: ``[C, Tb]`` at ``model.sample_rate``; alpha in [0, 1] (0 = a, 1 = b).
    Returns ``[C, max(Ta, Tb + shift)]`` aligned with a.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise MixError(f"alpha must be in [0, 1], got {alpha}")
    a, b = _check(model, a, "a"), _check(model, b, "b")
    za, zb, length, _ = _aligned_latents(model, a, b)
    return decode_latent(model, (1.0 - alpha) * za + alpha * zb, length)


def morph(model: StreamModel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Like :func:`mix` with alpha ramping linearly 0 -> 1 over the length: starts as a, ends as b."""
    a, b = _check(model, a, "a"), _check(model, b, "b")
    za, zb, length, _ = _aligned_latents(model, a, b)
    hop = int(model.hop_length)
    f_used = max(1, -(-length // hop))
    ramp = np.clip(np.arange(za.shape[1], dtype=np.float32) / max(1, f_used - 1), 0.0, 1.0)[None]
    return decode_latent(model, (1.0 - ramp) * za + ramp * zb, length)


def material_table(model: StreamModel) -> MaterialTable:
    """The model's material offsets (:class:`~foleyvae.inference.materials.MaterialTable`)."""
    return MaterialTable.from_metadata(model.metadata, int(model.latent_size), str(model.name))


def towards(
    model: StreamModel, a: np.ndarray, material: str | Sequence[float] | np.ndarray, amount: float
) -> np.ndarray:
    """Steer ``a [C, T]`` toward a material: ``z = z_a + amount * offset`` on every frame -> ``[C, T]``.

    material: a name (``"wood"``), a label (``"footsteps/wood"``), a blend (``"wood:0.6,metal:0.4"``) or an
    offset in PCA coords ``[<=k]``; amount in [0, 1]. The offset moves the latent's average position and keeps its
    motion, so the performance's onsets and level survive (method: :mod:`foleyvae.inference.materials`).
    """
    if not 0.0 <= float(amount) <= 1.0:
        raise MixError(f"amount must be in [0, 1], got {amount}")
    a = _check(model, a, "a")
    off = material_table(model).steer(material) if isinstance(material, str) else _pad(model, material)
    za = encode_sound(model, a)
    return decode_latent(model, za + float(amount) * off[:, None], a.shape[1])


def _pad(model: StreamModel, vec: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vec, dtype=np.float32).reshape(-1)
    k = int(model.latent_size)
    if v.size == 0 or v.size > k or not np.isfinite(v).all():
        raise MixError(f"a material offset needs 1..{k} finite values, got {v.size}")
    out = np.zeros(k, np.float32)
    out[: v.size] = v
    return out
