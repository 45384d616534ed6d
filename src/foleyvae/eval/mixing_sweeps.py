"""Section 3 of ``foleyvae evaluate``: latent mixing sweeps between held-out sounds of different labels.

For each pair ``(a, b)``, ``inference.mixing.mix(a, b, alpha)`` over an alpha sweep; the embedding distance to ``a``
should grow with alpha and the distance to ``b`` shrink (Spearman correlation with alpha, fraction of monotone
steps, and the range each distance moves over).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foleyvae.eval import metrics as M
from foleyvae.eval.common import Figure, mono
from foleyvae.eval.embeddings import Embedder
from foleyvae.eval.reconstruction import HeldOut
from foleyvae.inference.mixing import mix
from foleyvae.playable.protocol import StreamModel

__all__ = ["MIX_KEYS", "mixing_pairs", "mixing_section"]

MIX_KEYS = ("spearman_a", "spearman_b", "monotone_a", "monotone_b", "range_a", "range_b")


def mixing_pairs(held: HeldOut, n_pairs: int) -> list[tuple[int, int]]:
    """Up to ``n_pairs`` index pairs ``(ia, ib)`` into ``held``, one per distinct label pair ``la < lb``."""
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[str, str]] = set()
    for ia, (la, _) in enumerate(held):
        for ib, (lb, _) in enumerate(held):
            if la < lb and (la, lb) not in seen and len(pairs) < n_pairs:
                seen.add((la, lb))
                pairs.append((ia, ib))
    return pairs


def _sweep(
    model: StreamModel, a: np.ndarray, b: np.ndarray, alphas: list[float], embedder: Embedder
) -> tuple[list[float], list[float], list[np.ndarray]]:
    """``a``, ``b``: ``[C, T]``. Returns the embedding distances of each mix to a and to b, and the mono mixes."""
    sr = int(model.sample_rate)
    ea, eb = embedder(mono(a), sr), embedder(mono(b), sr)
    d_a: list[float] = []
    d_b: list[float] = []
    sweep: list[np.ndarray] = []
    for alpha in alphas:
        y = mix(model, a, b, alpha)
        e = embedder(mono(y), sr)
        d_a.append(float(np.linalg.norm(e - ea)))
        d_b.append(float(np.linalg.norm(e - eb)))
        sweep.append(mono(y))
    return d_a, d_b, sweep


def mixing_section(
    model: StreamModel,
    held: HeldOut,
    pairs: list[tuple[int, int]],
    alphas: list[float],
    embedder: Embedder,
    figures: list[Figure],
) -> dict[str, Any]:
    """Sweep every pair of ``held`` in ``pairs``; append the first pair's sweep as a figure.

    Returns:
        ``{"alphas", "pairs", "summary", "note"}``.
    """
    rows: list[dict[str, Any]] = []
    for n, (ia, ib) in enumerate(pairs):
        (la, a), (lb, b) = held[ia], held[ib]
        d_a, d_b, sweep = _sweep(model, a, b, alphas, embedder)
        rows.append(
            {
                "a": la,
                "b": lb,
                "dist_to_a": d_a,
                "dist_to_b": d_b,
                "spearman_a": M.spearman(alphas, d_a),
                "spearman_b": M.spearman(alphas, d_b),
                "monotone_a": M.monotone_fraction(d_a, increasing=True),
                "monotone_b": M.monotone_fraction(d_b, increasing=False),
                # how far the sweep moves at all: ranks of a flat sweep are noise (e.g. an untrained model)
                "range_a": max(d_a) - min(d_a),
                "range_b": max(d_b) - min(d_b),
            }
        )
        if n == 0:
            panels = [(f"alpha={al:g}", s) for al, s in zip(alphas, sweep, strict=True)]
            title = f"Mixing sweep: {la} (alpha=0) -> {lb} (alpha=1)"
            figures.append(Figure("mix_sweep", title, int(model.sample_rate), panels))
    return {
        "alphas": alphas,
        "pairs": rows,
        "summary": M.aggregate(rows, MIX_KEYS),
        "note": "" if pairs else "fewer than two labels among the held-out examples: no mixing pairs",
    }
