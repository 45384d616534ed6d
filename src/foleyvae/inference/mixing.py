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

All latents are the model's PCA-ordered latent (the StreamModel interface), so a material centroid from
``metadata["centroids"]`` lives in the same coordinates (:func:`towards`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from foleyvae.errors import FoleyError
from foleyvae.inference.protocol import StreamModel

__all__ = [
    "MixError",
    "centroid_for",
    "decode_latent",
    "encode_sound",
    "first_onset",
    "latent_of_silence",
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
    from foleyvae.audio.features import onsets

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


def centroid_for(model: StreamModel, label: str) -> np.ndarray:
    """``metadata["centroids"][label]`` as ``[k]`` (zero-padded); unknown label -> error listing the labels."""
    cents = (model.metadata or {}).get("centroids") or {}
    return centroid_from_table(cents, int(model.latent_size), str(model.name), label)


def centroid_from_table(cents: Mapping[str, Any], latent_size: int, model_name: str, label: str) -> np.ndarray:
    """:func:`centroid_for` from a model's centroid table (``{label: [dims]}``) when only that table is at hand (the
    live engine's child reports it; the audio process never loads the model) -> ``[latent_size]``."""
    if label not in cents:
        known = ", ".join(sorted(cents)) or "(none: this model has no material centroids)"
        raise MixError(f"unknown material {label!r}; model {model_name!r} knows: {known}")
    return _pad_centroid(latent_size, cents[label])


def _pad_centroid(latent_size: int, centroid: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.asarray(centroid, dtype=np.float32).reshape(-1)
    k = int(latent_size)
    if c.size > k:  # centroids may be stored for the full latent; the model plays the first k PCA dims
        c = c[:k]
    out = np.zeros(k, np.float32)
    out[: c.size] = c
    if not np.isfinite(out).all():
        raise MixError("centroid must be finite")
    return out


def towards(
    model: StreamModel, a: np.ndarray, centroid: Sequence[float] | np.ndarray | str, amount: float
) -> np.ndarray:
    """Steer ``a [C, T]`` toward a material: ``z = (1 - amount) z_a + amount * centroid`` -> ``[C, T]``.

    centroid: PCA coords ``[<=k]`` or a label of ``metadata["centroids"]``; amount in [0, 1].
    """
    if not 0.0 <= float(amount) <= 1.0:
        raise MixError(f"amount must be in [0, 1], got {amount}")
    a = _check(model, a, "a")
    c = centroid_for(model, centroid) if isinstance(centroid, str) else _pad_centroid(int(model.latent_size), centroid)
    za = encode_sound(model, a)
    return decode_latent(model, (1.0 - amount) * za + amount * c[:, None], a.shape[1])
