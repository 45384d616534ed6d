"""Section 2 of ``foleyvae evaluate``: the timbre-transfer scorecard on non-Foley inputs (speech, taps, music).

Each input (``eval.transfer_sets``) goes through the streaming engine; the output is scored by onset F1 against the
input's onsets (30 ms), loudness-envelope correlation, and closeness to the training corpus -- Frechet distance
between embeddings (``eval.embeddings``) of the outputs and of training crops, compared with the same distance for
the inputs (a transfer should move audio toward the corpus), plus each item's Euclidean distance to the corpus mean
embedding before/after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.data.dataset import FoleyDataset
from foleyvae.errors import FoleyError
from foleyvae.eval import metrics as M
from foleyvae.eval.common import Figure, mono, to_model
from foleyvae.eval.embeddings import Embedder
from foleyvae.eval.reconstruction import HeldOut
from foleyvae.eval.transfer_sets import TransferInput
from foleyvae.inference.render import regenerate
from foleyvae.playable.protocol import StreamModel

__all__ = ["TRANSFER_KEYS", "Corpus", "embed_corpus", "transfer_section"]

TRANSFER_KEYS = ("onset_f1", "onset_precision", "onset_recall", "loudness_corr", "corpus_dist_in", "corpus_dist_out")


@dataclass
class Corpus:
    """Embeddings of training crops, the reference a transfer should move toward."""

    emb: np.ndarray  # [N, D]
    split: str  # "train", or "valid" when the dataset has no train split
    n: int

    @property
    def mean(self) -> np.ndarray:
        """``[D]``: the corpus mean embedding."""
        return np.asarray(self.emb.mean(axis=0))


def embed_corpus(
    data_root: str | Path, valid: FoleyDataset, n_samples: int, seed: int, n_examples: int, embedder: Embedder
) -> Corpus:
    """Embed up to ``n_examples`` training crops of ``data_root`` (the held-out ``valid`` set without a train split)."""
    try:
        ds = FoleyDataset(data_root, split="train", n_samples=n_samples, seed=seed, examples_per_epoch=n_examples)
        split = "train"
    except FoleyError:
        ds = valid  # a dataset without a train split: the held-out files stand for the corpus
        split = "valid"
    n = min(len(ds), n_examples)
    emb = np.stack([embedder(mono(ds[i].numpy()), ds.sample_rate) for i in range(n)])
    return Corpus(emb, split, n)


def _score_item(
    model: StreamModel, item: TransferInput, block: int | None, embedder: Embedder, corpus_mean: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Render one input; returns (row, mono input [T], mono output [T'], input embedding [D], output embedding [D])."""
    sr = int(model.sample_rate)
    x = to_model(model, item.audio, sr)
    y = regenerate(model, x, block)
    xm, ym = mono(x), mono(y)
    ons = M.onset_scores(xm, ym, sr)
    e_in, e_out = embedder(xm, sr), embedder(ym, sr)
    row: dict[str, Any] = {
        "name": item.name,
        "kind": item.kind,
        "seconds": len(xm) / sr,
        "onset_f1": ons["f1"],
        "onset_precision": ons["precision"],
        "onset_recall": ons["recall"],
        "onsets_in": ons["n_ref"],
        "onsets_out": ons["n_est"],
        "loudness_corr": M.loudness_correlation(xm, ym, sr),
        "corpus_dist_in": float(np.linalg.norm(e_in - corpus_mean)),
        "corpus_dist_out": float(np.linalg.norm(e_out - corpus_mean)),
    }
    if item.onset_times is not None:  # known synthesis times: score the output against the truth as well
        row["onset_f1_truth"] = M.onset_scores(xm, ym, sr, ref_times=item.onset_times)["f1"]
    return row, xm, ym, e_in, e_out


def _summary(
    rows: list[dict[str, Any]], ins: list[np.ndarray], outs: list[np.ndarray], corpus: Corpus
) -> dict[str, float]:
    """Aggregate of ``rows`` + Frechet distances of the input/output embeddings to the corpus + closer fraction."""
    agg = M.aggregate(rows, TRANSFER_KEYS)
    fd_in, fd_out = M.frechet_distance(np.stack(ins), corpus.emb), M.frechet_distance(np.stack(outs), corpus.emb)
    agg.update({"fd_in": fd_in, "fd_out": fd_out, "fd_ratio": fd_out / fd_in if fd_in > 0 else math.nan})
    agg["closer_fraction"] = float(np.mean([r["corpus_dist_out"] < r["corpus_dist_in"] for r in rows]))
    return agg


def transfer_section(
    model: StreamModel,
    inputs: list[TransferInput],
    block: int | None,
    embedder: Embedder,
    corpus: Corpus,
    held: HeldOut,
    figures: list[Figure],
) -> dict[str, Any]:
    """Score every input; append one figure per input kind.

    Returns:
        ``{"overall", "per_kind", "items", "corpus"}``; ``corpus`` holds the held-out Foley examples' own distance
        to the corpus as the reference point.
    """
    sr = int(model.sample_rate)
    corpus_mean = corpus.mean
    rows: list[dict[str, Any]] = []
    emb_in: dict[str, list[np.ndarray]] = {}
    emb_out: dict[str, list[np.ndarray]] = {}
    for item in inputs:
        row, xm, ym, e_in, e_out = _score_item(model, item, block, embedder, corpus_mean)
        rows.append(row)
        if item.kind not in emb_in:
            figures.append(
                Figure(f"transfer_{item.kind}", f"Transfer: {item.name}", sr, [("input", xm), ("output", ym)])
            )
        emb_in.setdefault(item.kind, []).append(e_in)
        emb_out.setdefault(item.kind, []).append(e_out)
    per_kind = {k: _summary([r for r in rows if r["kind"] == k], emb_in[k], emb_out[k], corpus) for k in emb_in}
    flat_in = [e for k in emb_in for e in emb_in[k]]
    flat_out = [e for k in emb_in for e in emb_out[k]]
    held_emb = np.stack([embedder(mono(x), sr) for _, x in held])
    return {
        "overall": _summary(rows, flat_in, flat_out, corpus),
        "per_kind": per_kind,
        "items": rows,
        "corpus": {
            "split": corpus.split,
            "n": corpus.n,
            "fd_heldout_foley": M.frechet_distance(held_emb, corpus.emb),
            "heldout_dist_mean": float(np.mean(np.linalg.norm(held_emb - corpus_mean, axis=1))),
        },
    }
