"""Material-steering scorecard: does ``--towards MATERIAL`` keep the performance, and does it move the timbre?

For each input (performances: taps, speech; recorded footsteps) and each material, the input is steered at each
amount and scored against the input and the unsteered regeneration:

- ``level_change_db``: RMS level of the steered output minus the unsteered one's;
- ``onset_f1_vs_input``: onset F1 (30 ms) of the output's onsets against the input's;
- ``loudness_corr_vs_input``: correlation of the A-weighted loudness envelopes (``eval.metrics``);
- ``heard_as_active`` / ``hit_active`` (when a second classifier is given): the same on the statistics of the
  non-silent frames only (``"handmade-active"``). A performance keeps its gaps, so a classifier over all frames also
  hears how much of the take is silence, which steering must not change (``benchmarks/material_control.py``
  measures this confound on the corpus clips themselves);
- ``heard_as`` / ``hit``: the material an **independent classifier** hears. :class:`MaterialClassifier` is a nearest
  centroid over standardised hand-made log-mel/MFCC statistics (``eval.embeddings``, peak-normalised audio), fitted
  on the raw labelled clips of a corpus folder made by ``foleyvae data fetch`` (never on the model's latents); its
  leave-one-out accuracy on those clips says how far to trust it.

Ways of steering scored side by side: ``offset`` (active-frame latent offsets, ``inference.materials``) and
``centroid`` (the pre-#20 interpolation toward the stored all-frame centroids) on an unconditioned model;
``conditioned`` on a material-conditioned model (``models.conditioning``: the material weights are latent channels
of their own, set by the same table), so a regression shows at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.audio.io import load
from foleyvae.errors import FoleyError
from foleyvae.eval.embeddings import embed
from foleyvae.eval.metrics import loudness_correlation, onset_scores
from foleyvae.export.loader import assets_dir
from foleyvae.inference.materials import MaterialTable, material_of
from foleyvae.inference.mixing import decode_latent, encode_sound, material_table
from foleyvae.playable.protocol import StreamModel

__all__ = [
    "DEFAULT_MATERIALS",
    "MaterialClassifier",
    "SteeringInput",
    "library_inputs",
    "scorecard",
    "summarise",
    "table_lines",
]

DEFAULT_MATERIALS = ("wood", "metal", "gravel", "snow", "stone", "water")
APPROACHES = ("offset", "centroid", "conditioned")


@dataclass
class SteeringInput:
    """One input: ``audio [C, T]`` at the model's rate; group ``"performance"`` or ``"footsteps"``."""

    name: str
    audio: np.ndarray
    group: str


def library_inputs(sample_rate: int, channels: int = 1) -> list[SteeringInput]:
    """The sample library's performances (taps, English and French speech) and recorded footsteps."""
    folder = assets_dir() / "samples"
    out = []
    for path in sorted(folder.glob("*.wav")):
        group = "footsteps" if path.stem.startswith("footsteps") else "performance"
        x, _ = load(path, sample_rate=sample_rate, channels=channels)
        out.append(SteeringInput(path.stem, x, group))
    return out


class MaterialClassifier:
    """Nearest centroid over standardised hand-made embeddings of a corpus's labelled raw clips.

    corpus: a folder with ``manifest.jsonl`` (``foleyvae data fetch``); only ``footsteps/*`` and ``impacts/*`` clips
    whose short material name is in ``materials`` are used. ``loo_accuracy``: leave-one-out accuracy on them.
    """

    def __init__(
        self,
        corpus: str | Path,
        sample_rate: int,
        materials: Sequence[str] = DEFAULT_MATERIALS,
        backend: str = "handmade",
    ) -> None:
        corpus = Path(corpus)
        self.backend = backend
        self.files: list[tuple[Path, str]] = []  # the clips it was fitted on, with their materials
        manifest = corpus / "manifest.jsonl"
        if not manifest.is_file():
            raise FoleyError(f"{corpus}: no manifest.jsonl (make one with `foleyvae data fetch minetest -o {corpus}`)")
        self.sample_rate = int(sample_rate)
        feats: list[np.ndarray] = []
        names: list[str] = []
        for row in map(json.loads, manifest.read_text().splitlines()):
            mat = material_of(row["label"]) if row["label"].split("/")[0] in ("footsteps", "impacts") else None
            if mat is not None and mat in materials:
                x, _ = load(corpus / row["file"], sample_rate=self.sample_rate, channels=1)
                feats.append(embed(x, self.sample_rate, backend))
                names.append(mat)
                self.files.append((corpus / row["file"], mat))
        found = sorted(set(names))
        if len(found) < 2:
            raise FoleyError(f"{corpus}: the classifier needs clips of 2+ materials of {', '.join(materials)}")
        e, y = np.array(feats), np.array(names)
        self.mu, self.sd = e.mean(0), e.std(0) + 1e-6
        en = (e - self.mu) / self.sd
        self.materials = tuple(found)
        self.centroids = {m: en[y == m].mean(0) for m in self.materials}
        self.n_clips = len(en)
        self.loo_accuracy = self._leave_one_out(en, y)

    def _leave_one_out(self, en: np.ndarray, y: np.ndarray) -> float:
        hits = 0
        for i in range(len(en)):
            rest = np.arange(len(en)) != i
            cents = {m: en[rest & (y == m)].mean(0) for m in self.materials if (rest & (y == m)).any()}
            hits += min(cents, key=lambda m: float(np.linalg.norm(en[i] - cents[m]))) == y[i]
        return hits / len(en)

    def __call__(self, audio: np.ndarray) -> str:
        """audio ``[C, T]`` or ``[T]`` at the classifier's rate -> the nearest material."""
        e = (embed(audio, self.sample_rate, self.backend) - self.mu) / self.sd
        return str(min(self.centroids, key=lambda m: float(np.linalg.norm(e - self.centroids[m]))))


def _old_centroid(model: StreamModel, table: MaterialTable, material: str) -> np.ndarray | None:
    cents = model.metadata.get("centroids") or {}
    labels = [lb for lb in table.names().get(material, []) if lb in cents]
    if not labels:
        return None
    k = int(model.latent_size)
    return np.mean([np.asarray(cents[lb], np.float32)[:k] for lb in labels], axis=0)


def _db(y: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(y, dtype=np.float64)) + 1e-12))


def _scores(
    x: np.ndarray, y: np.ndarray, y0: np.ndarray, sr: int, clf: MaterialClassifier, active: MaterialClassifier | None
) -> dict[str, Any]:
    on = onset_scores(x, y, sr)
    out = {
        "level_change_db": _db(y) - _db(y0),
        "onset_f1_vs_input": on["f1"],
        "onsets": int(on["n_est"]),
        "loudness_corr_vs_input": loudness_correlation(x, y, sr),
        "heard_as": clf(y),
    }
    if active is not None:
        out["heard_as_active"] = active(y)
    return out


def scorecard(
    model: StreamModel,
    inputs: Sequence[SteeringInput],
    classifier: MaterialClassifier,
    materials: Sequence[str] = DEFAULT_MATERIALS,
    amounts: Sequence[float] = (0.5, 1.0),
    log: Callable[[str], None] | None = None,
    active: MaterialClassifier | None = None,
) -> list[dict[str, Any]]:
    """One row per (input, approach, material, amount), plus an ``unsteered`` row per input (see module doc).

    active: a second classifier (``backend="handmade-active"``: statistics of the non-silent frames only, blind to
    the performance's share of silence); its verdict is ``heard_as_active`` / ``hit_active``.
    """
    sr = int(model.sample_rate)
    table = material_table(model)
    unknown = [m for m in materials if m not in table.names()]
    if unknown:
        raise FoleyError(f"model {model.name!r} has no {', '.join(unknown)}; it knows {', '.join(table.names())}")
    rows: list[dict[str, Any]] = []
    for item in inputs:
        if log is not None:
            log(f"steering {item.name}")
        z = encode_sound(model, item.audio)
        y0 = decode_latent(model, z, item.audio.shape[1])
        base = {"input": item.name, "group": item.group}
        rows.append({**base, "approach": "unsteered", "material": "-", "amount": 0.0,
                     **_scores(item.audio, y0, y0, sr, classifier, active)})  # fmt: skip
        for mat in materials:
            targets: dict[str, np.ndarray | None]
            if table.method == "conditioned":
                targets = {"conditioned": table.steer(mat)}
            else:
                targets = {"offset": table.steer(mat), "centroid": _old_centroid(model, table, mat)}
            for a in amounts:
                for approach, vec in targets.items():
                    if vec is None:
                        continue
                    zz = (1 - a) * z + a * vec[:, None] if approach == "centroid" else z + a * vec[:, None]
                    y = decode_latent(model, zz.astype(np.float32), item.audio.shape[1])
                    row = {**base, "approach": approach, "material": mat, "amount": float(a),
                           **_scores(item.audio, y, y0, sr, classifier, active)}  # fmt: skip
                    row["hit"] = row["heard_as"] == mat
                    if active is not None:
                        row["hit_active"] = row["heard_as_active"] == mat
                    rows.append(row)
    return rows


def summarise(rows: Sequence[dict[str, Any]], by_material: bool = False) -> list[dict[str, Any]]:
    """Medians per (approach, group, amount[, material]): hit rate, level change (median, worst), onset F1, envelope."""
    order = ("unsteered",) + APPROACHES
    found = {(r["approach"], r["group"], r["amount"], r["material"] if by_material else "*") for r in rows}
    keys = sorted(found, key=lambda k: (order.index(k[0]), k[2], k[3], k[1] == "footsteps"))
    out = []
    for approach, group, amount, mat in keys:
        sel = [r for r in rows if (r["approach"], r["group"], r["amount"]) == (approach, group, amount)
               and (mat == "*" or r["material"] == mat)]  # fmt: skip
        lv = [r["level_change_db"] for r in sel]
        out.append({
            "approach": approach, "group": group, "amount": amount, "material": mat, "renders": len(sel),
            "hit_rate": float(np.mean([r["hit"] for r in sel])) if approach != "unsteered" else None,
            "hit_rate_active": float(np.mean([r["hit_active"] for r in sel]))
            if approach != "unsteered" and all("hit_active" in r for r in sel) else None,
            "level_change_db_median": float(np.median(lv)), "level_change_db_min": float(np.min(lv)),
            "onset_f1_median": float(np.median([r["onset_f1_vs_input"] for r in sel])),
            "loudness_corr_median": float(np.median([r["loudness_corr_vs_input"] for r in sel])),
        })  # fmt: skip
    return out


def table_lines(summary: Sequence[dict[str, Any]]) -> list[str]:
    """The summary as a fixed-width text table."""
    lines = [f"{'approach':11s} {'group':12s} {'material':9s} {'amount':>6s} {'hit':>5s} {'hitA':>5s} {'dB med':>7s} "
             f"{'dB min':>7s} {'onsetF1':>8s} {'env r':>6s}"]  # fmt: skip
    for s in summary:
        hit = "-" if s["hit_rate"] is None else f"{s['hit_rate']:.2f}"
        hit_a = "-" if s.get("hit_rate_active") is None else f"{s['hit_rate_active']:.2f}"
        lines.append(
            f"{s['approach']:11s} {s['group']:12s} {s['material']:9s} {s['amount']:6.1f} {hit:>5s} {hit_a:>5s} "
            f"{s['level_change_db_median']:+7.1f} {s['level_change_db_min']:+7.1f} {s['onset_f1_median']:8.2f} "
            f"{s['loudness_corr_median']:6.2f}"
        )
    return lines
