"""Material offsets of a trained model: where each labelled material sits in the latent, over active frames only.

``offset[label] = mean(z | active frames of label) - mean(z | all active frames)`` in the model's PCA coordinates
(``inference.materials`` adds ``amount * offset`` to a performance's latent). Silent frames are left out: they are
the same for every material, and a mean that includes them pulls every material toward the latent of silence
(the old centroids did, which made steering at amount 1 quiet: issue #20).

A frame is active when its RMS is within ``range_db`` of its clip's loudest frame and above ``floor_db`` dBFS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from foleyvae.errors import FoleyError

__all__ = ["MaterialOffsets", "active_frames", "fit_material_offsets"]

FLOOR_DB = -60.0
RANGE_DB = 40.0


@dataclass
class MaterialOffsets:
    """offsets: label -> ``[k]``; frames: label -> active frames behind it; mean: ``[k]`` all-active mean."""

    offsets: dict[str, list[float]]
    frames: dict[str, int]
    mean: list[float]
    floor_db: float = FLOOR_DB
    range_db: float = RANGE_DB

    def to_json(self) -> dict[str, object]:
        """The ``metadata["materials"]`` entry of an exported model."""
        return {
            "method": "active-offset",
            "offsets": self.offsets,
            "frames": self.frames,
            "active_mean": self.mean,
            "activity": {"floor_db": self.floor_db, "range_db": self.range_db},
        }


def active_frames(
    audio: np.ndarray, n_frames: int, hop: int, floor_db: float = FLOOR_DB, range_db: float = RANGE_DB
) -> np.ndarray:
    """audio ``[C, T]`` -> ``[n_frames]`` bool: frame f covers samples ``[f * hop, (f + 1) * hop)`` (zero-padded)."""
    x = np.asarray(audio, np.float32).mean(axis=0)
    buf = np.zeros(n_frames * hop, np.float32)
    buf[: min(len(x), len(buf))] = x[: len(buf)]
    db = 10.0 * np.log10((buf.reshape(n_frames, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    return (db > floor_db) & (db > db.max(initial=-120.0) - range_db)


def fit_material_offsets(
    latents: Sequence[np.ndarray], active: Sequence[np.ndarray], labels: Sequence[str], min_frames: int = 8
) -> MaterialOffsets:
    """latents: one ``[k, F_i]`` per clip; active: ``[F_i]`` bool each; labels: one per clip.

    Labels with fewer than ``min_frames`` active frames get no offset (too few to be more than one sound's noise).
    """
    if not (len(latents) == len(active) == len(labels)) or not latents:
        raise FoleyError("material offsets need one latent, activity mask and label per clip (and at least one clip)")
    per: dict[str, list[np.ndarray]] = {}
    for z, a, lab in zip(latents, active, labels, strict=True):
        zz = np.asarray(z, np.float64)
        m = np.asarray(a, bool)[: zz.shape[1]]
        if m.any():
            per.setdefault(str(lab), []).append(zz[:, : len(m)][:, m].T)
    if not per:
        raise FoleyError("material offsets: no active frames in any clip (all silent?)")
    frames_all = np.concatenate([np.concatenate(v) for v in per.values()])
    mean = frames_all.mean(axis=0)
    offsets, counts = {}, {}
    for lab, chunks in sorted(per.items()):
        f = np.concatenate(chunks)
        if len(f) >= min_frames:
            offsets[lab] = (f.mean(axis=0) - mean).round(5).tolist()
            counts[lab] = int(len(f))
    return MaterialOffsets(offsets, counts, mean.round(5).tolist())
