"""Latent analysis after phase 1: PCA of posterior means, fidelity curve, per-label centroids.

The exported latent is PCA-ordered: dimension 0 carries the most variance. ``fidelity[k-1]`` is the fraction of
variance kept by the first k dims (RAVE's ``fidelity``); the export keeps the dims reaching a fidelity (0.95 by
default) rounded up to a power of two, and fills the rest from the prior (ARCHITECTURE.md section 3).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from foleyvae.errors import FoleyError
from foleyvae.utils.atomic import atomic_write_text

__all__ = ["LatentSpace", "fit_latent_space", "dims_for_fidelity"]


@dataclass
class LatentSpace:
    """PCA of the posterior means.

    mean: ``[L]``; components: ``[L, L]`` (row i = i-th principal direction); explained_variance: ``[L]``;
    fidelity: ``[L]`` cumulative explained-variance ratio; centroids: label -> ``[L]`` mean in PCA coordinates;
    std: ``[L]`` per-PCA-dim standard deviation of the means (scales the studio's sliders).
    """

    mean: list[float]
    components: list[list[float]]
    explained_variance: list[float]
    fidelity: list[float]
    std: list[float]
    centroids: dict[str, list[float]] = field(default_factory=dict)
    n_frames: int = 0

    @property
    def latent_size(self) -> int:
        return len(self.mean)

    def dims_at(self) -> dict[str, int]:
        return {str(f): dims_for_fidelity(self.fidelity, f) for f in (0.9, 0.95, 0.99)}

    def to_pca(self, z: np.ndarray) -> np.ndarray:
        """z ``[..., L, F]`` (latent-major) -> PCA coordinates, same shape."""
        m = np.asarray(self.mean)[:, None]
        return np.einsum("kl,...lf->...kf", np.asarray(self.components), z - m)

    def from_pca(self, p: np.ndarray) -> np.ndarray:
        m = np.asarray(self.mean)[:, None]
        return np.einsum("kl,...kf->...lf", np.asarray(self.components), p) + m

    def save(self, path: str | Path) -> None:
        d = asdict(self)
        d["dims_at"] = self.dims_at()
        atomic_write_text(path, json.dumps(d))

    @classmethod
    def load(cls, path: str | Path) -> LatentSpace:
        try:
            d = json.loads(Path(path).read_text())
            d.pop("dims_at", None)
            return cls(**d)
        except (OSError, ValueError, TypeError) as e:
            raise FoleyError(f"{path}: not a latent analysis file ({e})") from None


def dims_for_fidelity(fidelity: list[float] | np.ndarray, target: float) -> int:
    """Smallest k with fidelity[k-1] >= target."""
    f = np.asarray(fidelity)
    idx = int(np.searchsorted(f, target - 1e-9))
    return min(idx + 1, len(f))


def fit_latent_space(means: np.ndarray, labels: list[str] | None = None) -> LatentSpace:
    """PCA over posterior means.

    means: ``[N, L, F]`` (N examples, F frames each) or ``[M, L]`` frames; labels: one per example (N) for centroids.
    """
    if means.ndim == 3:
        frames = means.transpose(0, 2, 1).reshape(-1, means.shape[1])
    else:
        frames = means
    if frames.shape[0] < 2:
        raise FoleyError("latent analysis needs at least 2 latent frames")
    mu = frames.mean(0)
    centred = frames - mu
    cov = centred.T @ centred / (frames.shape[0] - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals = np.clip(evals[order], 0.0, None)
    comps = evecs[:, order].T
    # deterministic sign: largest-magnitude coefficient of each direction positive
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    total = float(evals.sum()) or 1.0
    fidelity = np.cumsum(evals) / total
    proj = centred @ comps.T
    centroids: dict[str, list[float]] = {}
    if labels is not None and means.ndim == 3:
        per_ex = means.transpose(0, 2, 1)  # [N, F, L]
        for lab in sorted(set(labels)):
            sel = np.concatenate([per_ex[i] for i, lb in enumerate(labels) if lb == lab])
            centroids[lab] = ((sel.mean(0) - mu) @ comps.T).tolist()
    return LatentSpace(
        mean=mu.tolist(),
        components=comps.tolist(),
        explained_variance=evals.tolist(),
        fidelity=fidelity.tolist(),
        std=proj.std(0).tolist(),
        centroids=centroids,
        n_frames=int(frames.shape[0]),
    )
