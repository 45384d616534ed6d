"""What the evaluation sections share: the figure type, audio shaping for a model, example picking, JSON cleaning.

Used by :mod:`foleyvae.eval.reconstruction`, :mod:`foleyvae.eval.transfer`, :mod:`foleyvae.eval.mixing_sweeps`,
:mod:`foleyvae.eval.suite` and :mod:`foleyvae.eval.zoo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from foleyvae.audio.io import resample, to_channels
from foleyvae.playable.protocol import StreamModel

__all__ = ["Figure", "mono", "to_model", "round_robin", "clean"]


@dataclass
class Figure:
    """Audio to draw as stacked spectrograms: ``panels`` = [(caption, mono audio [T])]."""

    name: str  # file stem
    title: str
    sample_rate: int
    panels: list[tuple[str, np.ndarray]]


def mono(x: np.ndarray) -> np.ndarray:
    """``[C, T]`` or ``[T]`` -> float32 ``[T]`` (channel mean)."""
    a = np.asarray(x, np.float32)
    return a.mean(axis=0) if a.ndim == 2 else a


def to_model(model: StreamModel, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[C', T]`` or ``[T]`` at ``sample_rate`` -> ``[model.channels, T']`` at the model's rate."""
    x = np.asarray(audio, np.float32)
    if x.ndim == 1:
        x = x[None]
    if int(sample_rate) != int(model.sample_rate):
        x = resample(x, int(sample_rate), int(model.sample_rate))
    return np.ascontiguousarray(to_channels(x, int(model.channels)), dtype=np.float32)


def round_robin(labels: list[str], limit: int) -> list[int]:
    """Indices taking one example per label in turn (labels sorted), up to ``limit``."""
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    queues = [by[k] for k in sorted(by)]
    out: list[int] = []
    depth = 0
    while len(out) < limit and any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q) and len(out) < limit:
                out.append(q[depth])
        depth += 1
    return out


def clean(v: Any) -> Any:
    """JSON-safe: numpy scalars -> float, nan/inf -> None, recursively."""
    if isinstance(v, dict):
        return {str(k): clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return [clean(x) for x in v.tolist()]
    if isinstance(v, bool | str) or v is None:
        return v
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else None
    return v
