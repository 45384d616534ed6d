"""An untrained demo model, so that the studio (and its tests) work before any model is trained.

:func:`demo_model` is the tiny preset with seeded random weights, opened as a StreamModel through
:class:`~foleyvae.playable.adapters.EagerStreamModel`, with a real latent analysis (PCA, fidelity and per-material
centroids) fitted on synthetic footsteps (:func:`synth_footstep`), so every control of the page has something to
act on. It does not sound like anything: it is for trying the interface and for tests.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from foleyvae.analysis.latent import fit_latent_space
from foleyvae.config import preset
from foleyvae.models.base import AutoEncoder, EncoderOutput
from foleyvae.models.builders import build_model
from foleyvae.playable.adapters import EagerStreamModel
from foleyvae.playable.protocol import StreamModel

__all__ = ["MATERIALS", "demo_model", "synth_footstep"]

MATERIALS: dict[str, tuple[list[float], float]] = {
    # resonant modes (Hz) and their decay time (s): rough, audible stand-ins for each surface
    "wood": ([180.0, 420.0, 960.0], 0.06),
    "metal": ([650.0, 1730.0, 3380.0, 5210.0], 0.35),
    "gravel": ([2500.0, 5200.0], 0.03),
    "water": ([300.0, 900.0, 2000.0], 0.12),
}


def synth_footstep(material: str, dur: float = 0.5, sample_rate: int = 44100, seed: int = 0) -> np.ndarray:
    """A heel + toe footstep: noise bursts exciting the material's modes -> ``[T]`` float32, peak 0.8."""
    rng = np.random.default_rng(seed)
    freqs, decay = MATERIALS[material]
    n = int(dur * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for onset, amp in ((0.02, 1.0), (0.11, 0.6)):
        k = int(onset * sample_rate)
        tt = t[: n - k]
        burst = rng.standard_normal(n - k) * np.exp(-tt / 0.012)
        res = sum(np.sin(2 * np.pi * f * tt + rng.uniform(0, 6.28)) * np.exp(-tt / decay) for f in freqs)
        out[k:] += amp * (0.5 * burst + 0.5 * res / len(freqs))
    if material == "gravel":
        grains = rng.random(n) < 0.004
        out += 0.4 * grains * rng.standard_normal(n) * np.exp(-t / 0.2)
    if material == "water":
        for _ in range(6):  # small bubbles: rising sine chirps
            k = int(rng.uniform(0.05, dur - 0.05) * sample_rate)
            m = min(n - k, int(0.03 * sample_rate))
            tt = t[:m]
            f = rng.uniform(600, 1500) * (1 + 3 * tt / 0.03)
            out[k : k + m] += 0.3 * np.sin(2 * np.pi * np.cumsum(f) / sample_rate) * np.exp(-tt / 0.01)
    return (0.8 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def demo_model(seed: int = 0, name: str = "demo (untrained, random weights)") -> StreamModel:
    """The tiny preset with random weights, PCA and material centroids fitted on synthetic footsteps."""
    torch.manual_seed(seed)
    inner = build_model(preset("tiny")).eval()
    model = _LoudLatent(inner)
    sr = int(model.sample_rate)
    hop = int(model.hop_length)
    n = (int(0.3 * sr) // hop) * hop
    clips, labels = [], []
    for mat in MATERIALS:
        for i in range(2):
            clips.append(synth_footstep(mat, 0.3, sr, seed=i)[:n])
            labels.append(mat)
    with torch.no_grad():
        x = torch.from_numpy(np.stack(clips))[:, None, :].repeat(1, model.channels, 1)
        means = inner.encode(x, sample=False).mean.numpy()
    # random weights give posterior means ~1e-3: rescale so the latent (and the sliders) span the decoder's range
    model.gain = float(1.0 / (means.std() + 1e-9))
    means = means * model.gain
    space = fit_latent_space(means, labels)
    metadata = {
        "centroids": space.centroids,
        "fidelity": space.fidelity,
        "latent_std": space.std,
        "description": "untrained demo: random weights, for trying the studio and for tests",
        "training_data": "none (random weights); PCA fitted on synthetic footsteps",
        "licences": {"model": "MIT (Foley-VAE)"},
        "version": "demo",
    }
    return EagerStreamModel(model, space, name=name, metadata=metadata)


class _LoudLatent(AutoEncoder):
    """Random weights, made audible: encoder means times ``gain`` (unit std), decoder input times 30 (so the
    latent controls move the sound instead of disappearing under the noise synth)."""

    def __init__(self, inner: AutoEncoder) -> None:
        super().__init__()
        self.inner = inner
        self.gain = 1.0
        for name in ("sample_rate", "channels", "latent_size", "hop_length", "delay_samples"):
            setattr(self, name, getattr(inner, name))

    def encode(self, x: Tensor, sample: bool = True) -> EncoderOutput:
        out = self.inner.encode(x, sample=False)
        return EncoderOutput(z=out.mean * self.gain, mean=out.mean * self.gain, std=out.std, kl=out.kl)

    def decode(self, z: Tensor) -> Tensor:
        return self.inner.decode(z * 30.0)
