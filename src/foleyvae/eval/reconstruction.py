"""Section 1 of ``foleyvae evaluate``: reconstruction of the held-out split, per label and overall.

Each chosen held-out example (``FoleyDataset(split="valid")``: one deterministic example per held-out file) goes
through the streaming engine (``inference.render.regenerate``, delay-compensated) and is scored against its input:
multiscale STFT distance, mel distance, SI-SDR, loudness-envelope correlation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from foleyvae.data.dataset import FoleyDataset
from foleyvae.eval import metrics as M
from foleyvae.eval.common import Figure, mono, to_model
from foleyvae.inference.render import regenerate
from foleyvae.playable.protocol import StreamModel

__all__ = ["RECON_KEYS", "HeldOut", "reconstruction_section"]

RECON_KEYS = ("multiscale", "mel", "si_sdr", "loudness_corr")

# (label, audio [C, T] at the model's rate): the held-out inputs, reused by the transfer reference and mixing
HeldOut = list[tuple[str, np.ndarray]]


def reconstruction_section(
    model: StreamModel,
    valid: FoleyDataset,
    chosen: list[int],
    block: int | None,
    n_figures: int,
    figures: list[Figure],
) -> tuple[dict[str, Any], HeldOut]:
    """Score the reconstruction of ``valid``'s examples ``chosen``; append up to ``n_figures`` figures (one per label).

    Returns:
        ``({"overall", "per_label", "examples"}, held)`` with ``held`` the inputs as :data:`HeldOut`.
    """
    sr = int(model.sample_rate)
    rows: list[dict[str, Any]] = []
    held: HeldOut = []
    fig_labels: set[str] = set()
    for i in chosen:
        label = valid.label_of(i)
        x = to_model(model, valid[i].numpy(), valid.sample_rate)
        y = regenerate(model, x, block)
        rows.append(
            {
                "index": i,
                "label": label,
                "file": str(valid.entries[i].get("path", "")),
                "multiscale": M.multiscale_distance(x, y),
                "mel": M.mel_distance(x, y, sr),
                "si_sdr": M.si_sdr(x, y),
                "loudness_corr": M.loudness_correlation(x, y, sr),
            }
        )
        held.append((label, x))
        if label not in fig_labels and len(fig_labels) < n_figures:
            fig_labels.add(label)
            figures.append(
                Figure(
                    f"recon_{len(fig_labels)}",
                    f"Reconstruction: held-out '{label}' example",
                    sr,
                    [("input", mono(x)), ("reconstruction", mono(y))],
                )
            )
    labels = sorted({r["label"] for r in rows})
    per_label = {lab: M.aggregate([r for r in rows if r["label"] == lab], RECON_KEYS) for lab in labels}
    return {"overall": M.aggregate(rows, RECON_KEYS), "per_label": per_label, "examples": rows}, held
