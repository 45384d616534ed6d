"""Cross-model evaluation of a model zoo, ``foleyvae evaluate --zoo``: every model on every category's sounds.

For models ``M`` (each with its own prepared dataset) and source categories ``S`` (the same datasets), held-out
examples of ``S`` are rendered through ``M`` with the streaming engine (``inference.render.regenerate``):

- diagonal (``S == M``): reconstruction, multiscale STFT distance and mel distance (as ``foleyvae evaluate``);
- every cell: onset F1 of the output against the input (30 ms), loudness-envelope correlation, and the embedding
  distance to ``M``'s training corpus (mean of ``corpus_examples`` crop embeddings) of the output, next to the
  input's. A model that imposes its timbre moves foreign sounds toward its corpus: ``dist_out < dist_in`` off the
  diagonal (``closer`` is the fraction of examples where that holds), while onsets keep the input's rhythm.

Spectrogram pictures show one foreign input per model: footsteps through every other model (through ``water``,
``scifi``, ...), and the next category through ``footsteps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.data.dataset import FoleyDataset
from foleyvae.errors import FoleyError
from foleyvae.eval import metrics as M
from foleyvae.eval.common import Figure, clean, mono, round_robin, to_model
from foleyvae.eval.embeddings import get_embedder
from foleyvae.eval.reports import Section, _f, write_sections
from foleyvae.eval.suite import EvalResult
from foleyvae.inference.render import regenerate
from foleyvae.playable.protocol import StreamModel

__all__ = ["ZooOptions", "evaluate_zoo", "zoo_sections", "write_zoo_report"]

CELL_KEYS = ("onset_f1", "loudness_corr", "dist_in", "dist_out")


@dataclass
class ZooOptions:
    examples: int = 6  # held-out examples per source category (round-robin over its labels)
    n_samples: int = 32768  # example length (0.743 s at 44.1 kHz)
    corpus_examples: int = 24  # training crops per model for its corpus embedding
    embedding: str = "auto"
    block_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.examples < 1 or self.corpus_examples < 2:
            raise FoleyError("--zoo needs at least 1 example per category and 2 corpus examples")


def evaluate_zoo(
    models: dict[str, StreamModel],
    datasets: dict[str, Path],
    options: ZooOptions | None = None,
    log: Callable[[str], None] | None = None,
) -> EvalResult:
    """``models`` and ``datasets`` keyed by the same names (the dataset each model was trained on)."""
    if set(models) != set(datasets) or len(models) < 2:
        raise FoleyError("--zoo needs two or more models, each with its dataset")
    opts = options or ZooOptions()
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    names = sorted(models)
    embedder = get_embedder(opts.embedding)
    say(f"embedding: {embedder.description}")

    corpus_mean: dict[str, np.ndarray] = {}
    held: dict[str, list[tuple[str, np.ndarray, int]]] = {}  # category -> [(label, audio [C, T], sample rate)]
    for n in names:
        tr = FoleyDataset(
            datasets[n],
            split="train",
            n_samples=opts.n_samples,
            seed=opts.seed,
            examples_per_epoch=opts.corpus_examples,
        )
        k = min(len(tr), opts.corpus_examples)
        corpus_mean[n] = np.mean([embedder(mono(tr[i].numpy()), tr.sample_rate) for i in range(k)], axis=0)
        va = FoleyDataset(datasets[n], split="valid", n_samples=opts.n_samples)
        labels = [va.label_of(i) for i in range(len(va))]
        held[n] = [(labels[i], va[i].numpy(), va.sample_rate) for i in round_robin(labels, opts.examples)]

    cells: dict[str, dict[str, dict[str, Any]]] = {}
    figures: list[Figure] = []
    for m in names:
        model = models[m]
        sr = int(model.sample_rate)
        cells[m] = {}
        for s in names:
            say(f"{s} -> {m}: {len(held[s])} examples")
            rows = []
            for label, audio, data_sr in held[s]:
                x = to_model(model, audio, data_sr)
                y = regenerate(model, x, opts.block_size)
                xm, ym = mono(x), mono(y)
                row: dict[str, Any] = {
                    "label": label,
                    "onset_f1": M.onset_scores(xm, ym, sr)["f1"],
                    "loudness_corr": M.loudness_correlation(xm, ym, sr),
                    "dist_in": float(np.linalg.norm(embedder(xm, sr) - corpus_mean[m])),
                    "dist_out": float(np.linalg.norm(embedder(ym, sr) - corpus_mean[m])),
                }
                if s == m:
                    row["multiscale"] = M.multiscale_distance(x, y)
                    row["mel"] = M.mel_distance(x, y, sr)
                rows.append(row)
            agg = M.aggregate(rows, CELL_KEYS + (("multiscale", "mel") if s == m else ()))
            agg["closer"] = float(np.mean([r["dist_out"] < r["dist_in"] for r in rows]))
            cells[m][s] = agg
            if s == _figure_source(m, names):
                label, audio, data_sr = held[s][0]
                x = mono(to_model(model, audio, data_sr))
                y = mono(regenerate(model, to_model(model, audio, data_sr), opts.block_size))
                figures.append(
                    Figure(f"cross_{s}_to_{m}", f"'{label}' ({s}) through the {m} model", sr, [("input", x), (m, y)])
                )
    numbers = {
        "models": {n: {"name": str(models[n].name), "dataset": str(datasets[n])} for n in names},
        "embedding": {"backend": embedder.backend, "dim": embedder.dim, "description": embedder.description},
        "settings": {"examples": opts.examples, "n_samples": opts.n_samples, "corpus_examples": opts.corpus_examples},
        "cells": cells,  # cells[model][source category]
        "seconds": time.perf_counter() - t0,
    }
    return EvalResult(clean(numbers), figures)


def _figure_source(model: str, names: list[str]) -> str:
    """The foreign category drawn for ``model``: footsteps (the Foley artist's usual input, e.g. footsteps through
    water), or for the footsteps model itself the next category in name order."""
    if "footsteps" in names and model != "footsteps":
        return "footsteps"
    return names[(names.index(model) + 1) % len(names)]


def zoo_sections(numbers: dict[str, Any], images: dict[str, str]) -> list[Section]:
    """Report content: reconstruction per model, then the transfer matrices (rows: model, columns: input)."""
    cells = numbers["cells"]
    names = sorted(cells)
    out: list[Section] = []
    s = Section("Models and their own sounds (held-out reconstruction)")
    s.paragraphs.append(
        f"{numbers['settings']['examples']} held-out examples per category, rendered through the streaming engine. "
        f"Embedding: {numbers['embedding']['description']}."
    )
    s.tables.append(
        (
            ["model", "dataset", "multiscale", "mel", "loudness r"],
            [
                [n, numbers["models"][n]["dataset"], _f(cells[n][n].get("multiscale")), _f(cells[n][n].get("mel")),
                 _f(cells[n][n]["loudness_corr"])]
                for n in names
            ],
        )
    )  # fmt: skip
    out.append(s)
    s = Section("Cross-model transfer: distance to the model's corpus, input -> output")
    s.paragraphs.append(
        "Rows: the model; columns: the category the input sounds come from. Each cell: mean embedding distance of "
        "the inputs to the model's training corpus -> of the outputs, and the fraction of examples brought closer. "
        "Off the diagonal a model that imposes its timbre brings foreign sounds closer to its own corpus."
    )
    s.tables.append(
        (
            ["model \\ input"] + names,
            [
                [m] + [f"{_f(cells[m][c]['dist_in'], 2)} -> {_f(cells[m][c]['dist_out'], 2)} "
                       f"({_f(cells[m][c]['closer'], 2)})" for c in names]
                for m in names
            ],
        )
    )  # fmt: skip
    out.append(s)
    s = Section("Cross-model transfer: rhythm kept (onset F1, 30 ms) and loudness-envelope correlation")
    s.tables.append(
        (
            ["model \\ input"] + names,
            [
                [m] + [f"F1 {_f(cells[m][c]['onset_f1'], 2)}, r {_f(cells[m][c]['loudness_corr'], 2)}"
                       for c in names]
                for m in names
            ],
        )
    )  # fmt: skip
    s.images += [(images[n], n) for n in sorted(images)]
    out.append(s)
    return out


def write_zoo_report(result: EvalResult, path: str | Path) -> Path:
    return write_sections("Foley-VAE model zoo: cross-model evaluation", zoo_sections, result, path)
