"""Material control: steer a performance toward wood, metal, snow... while keeping its timing and level.

Method (chosen by ``benchmarks/material_control.py``, which compares it with the older centroid interpolation):
a material is an **offset** in the model's PCA-ordered latent, ``offset[m] = mean(z | active frames of material m)
- mean(z | all active frames)``, computed over *active* (non-silent) frames of the labelled corpus only. Steering
adds ``amount * offset`` to every latent frame, so the frame-to-frame motion of the latent (onsets, the loudness
envelope, silences) is the performance's own; only its average position moves. The earlier method,
``z = (1 - a) z + a * centroid`` with a centroid over all frames (silences included), replaced the performance by
a constant at ``a = 1``: -21 dB median level and 1-2 onsets left (issue #20).

Names an artist knows: a model's labels are ``category/material`` (``footsteps/wood``, ``impacts/wood``); the
short name ``wood`` gathers every label whose material part is wood (or an alias: ``rock`` and ``hard`` are
``stone``, ``splash`` and ``puddle`` are ``water``, ``clank`` is ``metal``...), its offset the frame-weighted mean.

Blends: ``"wood:0.6,metal:0.4"`` -> ``0.6 * offset[wood] + 0.4 * offset[metal]``. Weights must be >= 0 and are
**normalised** to sum to 1 (``wood:3,metal:1`` is 0.75/0.25); a single name is weight 1.

Where the offsets come from: ``metadata["materials"]["offsets"]`` (written by ``scripts/material_offsets.py`` for
the bundled models: active frames of their training corpora); a model without that table falls back to its
per-label ``centroids`` minus their mean (centroids include silent frames, so the fallback is approximate, and
:attr:`MaterialTable.method` says ``"centroid-offset"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foleyvae.data.materials import ALIASES, material_of
from foleyvae.errors import FoleyError

__all__ = [
    "ALIASES",
    "MaterialError",
    "MaterialTable",
    "Blend",
    "blend_weights",
    "material_of",
    "parse_blend",
]

MAX_BLEND_TERMS = 8


class MaterialError(FoleyError, ValueError):
    """An unknown material, a bad blend or a model without material labels."""


@dataclass(frozen=True)
class Blend:
    """A normalised material blend: ``terms`` = ((name or label, weight), ...), weights > 0 summing to 1."""

    terms: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        return ",".join(f"{n}:{w:.3g}" for n, w in self.terms)


def parse_blend(spec: str) -> Blend:
    """``"wood"`` / ``"footsteps/wood"`` / ``"wood:0.6,metal:0.4"`` -> :class:`Blend` (weights normalised).

    Refused with a one-line :class:`MaterialError`: empty names, weights that are not finite numbers or are
    negative, all-zero weights, a name given twice, more than 8 terms.
    """
    text = str(spec).strip()
    if not text:
        raise MaterialError("empty material: give a name such as wood, or a blend such as wood:0.6,metal:0.4")
    raw: list[tuple[str, float]] = []
    for part in text.split(","):
        name, sep, w = part.strip().rpartition(":") if ":" in part else (part.strip(), "", "1")
        name = name.strip()
        if not name:
            raise MaterialError(f"material blend {spec!r}: a term has no name")
        try:
            weight = float(w)
        except ValueError:
            raise MaterialError(f"material blend {spec!r}: weight {w!r} of {name!r} is not a number") from None
        if not math.isfinite(weight) or weight < 0.0:
            raise MaterialError(f"material blend {spec!r}: weight of {name!r} must be a number >= 0, got {w}")
        if any(n == name for n, _ in raw):
            raise MaterialError(f"material blend {spec!r}: {name!r} is given twice")
        raw.append((name, weight))
    if len(raw) > MAX_BLEND_TERMS:
        raise MaterialError(f"material blend {spec!r}: at most {MAX_BLEND_TERMS} materials")
    total = sum(w for _, w in raw)
    if total <= 0.0:
        raise MaterialError(f"material blend {spec!r}: the weights sum to 0")
    return Blend(tuple((n, w / total) for n, w in raw if w > 0.0))


@dataclass
class MaterialTable:
    """Per-label steering offsets of one model, and the short names that gather them.

    offsets: label -> ``[k]`` offset in the model's PCA latent (dims beyond the table's are 0);
    frames: label -> number of active corpus frames behind the offset (weights of a short name's mean);
    method: ``"active-offset"`` (from ``metadata["materials"]``) or ``"centroid-offset"`` (fallback).
    """

    latent_size: int
    model_name: str
    offsets: dict[str, np.ndarray] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    method: str = "active-offset"

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None, latent_size: int, model_name: str) -> MaterialTable:
        """The table of a model's metadata (see the module docstring for the two sources)."""
        meta = metadata or {}
        mat = meta.get("materials")
        if isinstance(mat, Mapping) and isinstance(mat.get("offsets"), Mapping):
            frames = mat.get("frames") if isinstance(mat.get("frames"), Mapping) else {}
            method = str(mat.get("method") or "active-offset")
            return cls.from_offsets(mat["offsets"], latent_size, model_name, frames, method)
        cents = meta.get("centroids")
        if not isinstance(cents, Mapping) or not cents:
            return cls(int(latent_size), str(model_name), method="none")
        vecs: dict[str, np.ndarray] = {}
        for label, vec in cents.items():
            v = _vector(vec, latent_size)
            if v is not None:
                vecs[str(label)] = v
        if not vecs:
            return cls(int(latent_size), str(model_name), method="none")
        mean = np.mean(np.stack(list(vecs.values())), axis=0)
        return cls(int(latent_size), str(model_name), {k: v - mean for k, v in vecs.items()}, {}, "centroid-offset")

    @classmethod
    def from_offsets(
        cls,
        offsets: Mapping[str, Any],
        latent_size: int,
        model_name: str,
        frames: Mapping[str, Any] | None = None,
        method: str = "active-offset",
    ) -> MaterialTable:
        """From a JSON-like ``{label: [dims]}`` table (entries that are not finite vectors are dropped)."""
        table: dict[str, np.ndarray] = {}
        for label, vec in offsets.items():
            v = _vector(vec, latent_size)
            if v is not None:
                table[str(label)] = v
        counts: dict[str, int] = {}
        for label, n in (frames or {}).items():
            try:
                counts[str(label)] = max(0, int(n))
            except (TypeError, ValueError):
                continue
        return cls(int(latent_size), str(model_name), table, counts, method)

    def to_json(self) -> dict[str, Any]:
        """``{"method", "offsets", "frames"}``, JSON-able (what the live engine's child reports)."""
        return {
            "method": self.method,
            "offsets": {k: [float(x) for x in v] for k, v in self.offsets.items()},
            "frames": dict(self.frames),
        }

    # ------------------------------------------------------------------------------------------ names
    def names(self) -> dict[str, list[str]]:
        """Short name -> the labels it gathers (only names with at least one label), sorted."""
        out: dict[str, list[str]] = {}
        for label in sorted(self.offsets):
            name = material_of(label)
            if name is not None:
                out.setdefault(name, []).append(label)
        return dict(sorted(out.items()))

    def known(self) -> str:
        """The names and labels this model knows, for error messages and ``foleyvae models``."""
        names = self.names()
        return ", ".join(list(names) + sorted(self.offsets)) or "(none)"

    def offset(self, name: str) -> np.ndarray:
        """Offset ``[k]`` of a short name (frame-weighted mean of its labels) or of a full label."""
        if not self.offsets:
            raise MaterialError(
                f"model {self.model_name!r} has no material labels (a RAVE file, or a model trained without labels)"
            )
        if name in self.offsets:
            return self.offsets[name].copy()
        labels = self.names().get(name.strip().lower())
        if not labels:
            raise MaterialError(f"unknown material {name!r}; model {self.model_name!r} knows: {self.known()}")
        w = np.array([max(1, self.frames.get(lb, 1)) for lb in labels], np.float64)
        stack = np.stack([self.offsets[lb] for lb in labels]).astype(np.float64)
        return (w[:, None] * stack).sum(0).astype(np.float32) / np.float32(w.sum())

    def choices(self) -> list[str]:
        """What a picker offers (each one :meth:`steer` resolves): every short name, then the labels no short name
        gathers."""
        names = self.names()
        named = {lb for labels in names.values() for lb in labels}
        return list(names) + [lb for lb in sorted(self.offsets) if lb not in named]

    def steer(self, spec: str | Blend) -> np.ndarray:
        """The steering offset ``[k]`` of a name, label or blend (``"wood:0.6,metal:0.4"``)."""
        blend = spec if isinstance(spec, Blend) else parse_blend(spec)
        out = np.zeros(self.latent_size, np.float32)
        for name, weight in blend.terms:
            out += np.float32(weight) * self.offset(name)
        return out


def _vector(vec: Any, latent_size: int) -> np.ndarray | None:
    """A stored vector as ``[latent_size]`` float32 (cut or zero-padded: tables may hold the full latent, the model
    plays the first k PCA dims), or None when it is not a finite numeric vector."""
    try:
        v = np.asarray(vec, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if v.size == 0 or not np.isfinite(v).all():
        return None
    out = np.zeros(int(latent_size), np.float32)
    n = min(v.size, int(latent_size))
    out[:n] = v[:n]
    return out


def blend_weights(spec: str) -> Sequence[tuple[str, float]]:
    """The normalised (name, weight) terms of a blend spec (for reports and the studio)."""
    return parse_blend(spec).terms
