"""The evaluation suite behind ``foleyvae evaluate``: reconstruction, timbre-transfer scorecard, mixing sweeps.

:func:`evaluate` runs a :class:`~foleyvae.playable.protocol.StreamModel` on a prepared dataset and returns an
:class:`EvalResult`: ``numbers`` (a JSON-ready dict of every measurement) and ``figures`` (audio to draw as
spectrograms in the report). Everything is rendered through the same streaming engine that plays live
(``inference.render.regenerate``, delay-compensated) and mixed with ``inference.mixing.mix``.

1. Reconstruction, on the held-out split (``FoleyDataset(split="valid")``: one deterministic example per held-out
   file), per label and overall: multiscale STFT distance, mel distance, SI-SDR, loudness-envelope correlation.
2. Timbre transfer of non-Foley inputs (``eval.transfer_sets``: espeak-ng speech, taps, music-like sounds): onset
   F1 of the output against the input's onsets (30 ms), loudness-envelope correlation, and closeness to the
   training corpus -- Frechet distance between embeddings (``eval.embeddings``) of the outputs and of training
   crops, compared with the same distance for the inputs (a transfer should move audio toward the corpus), plus
   each item's Euclidean distance to the corpus mean embedding before/after.
3. Mixing: for pairs of held-out sounds with different labels, ``mix(a, b, alpha)`` over an alpha sweep; the
   embedding distance to a should grow with alpha and the distance to b shrink (Spearman correlation with alpha,
   fraction of monotone steps).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.audio.io import resample, to_channels
from foleyvae.data.dataset import FoleyDataset
from foleyvae.errors import FoleyError
from foleyvae.eval import metrics as M
from foleyvae.eval.embeddings import get_embedder
from foleyvae.eval.transfer_sets import transfer_inputs
from foleyvae.inference.mixing import mix
from foleyvae.inference.render import regenerate
from foleyvae.playable.protocol import StreamModel

__all__ = ["EvalOptions", "EvalResult", "Figure", "evaluate", "RECON_KEYS", "TRANSFER_KEYS"]

RECON_KEYS = ("multiscale", "mel", "si_sdr", "loudness_corr")
TRANSFER_KEYS = ("onset_f1", "onset_precision", "onset_recall", "loudness_corr", "corpus_dist_in", "corpus_dist_out")


@dataclass
class EvalOptions:
    """Settings of one evaluation run (all recorded in the JSON)."""

    max_examples: int = 32  # held-out examples for reconstruction (round-robin over labels)
    n_samples: int = 32768  # held-out example length (0.743 s at 44.1 kHz)
    corpus_examples: int = 32  # training crops embedded as the corpus reference
    n_pairs: int = 3  # mixing pairs (different labels)
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    speech: bool = True
    speech_cache: str | None = None
    embedding: str = "auto"  # "auto" | "aisfx" | "handmade"
    block_size: int | None = None  # engine block (default: the model's hop multiple near 2048)
    seed: int = 0
    n_figures: int = 3  # spectrogram pictures per section

    def __post_init__(self) -> None:
        if self.max_examples < 1:
            raise FoleyError(f"--max-examples must be >= 1, got {self.max_examples}")
        if self.corpus_examples < 2:
            raise FoleyError(f"corpus_examples must be >= 2, got {self.corpus_examples}")
        if self.n_pairs < 0:
            raise FoleyError(f"n_pairs must be >= 0, got {self.n_pairs}")


@dataclass
class Figure:
    """Audio to draw as stacked spectrograms: ``panels`` = [(caption, mono audio [T])]."""

    name: str  # file stem
    title: str
    sample_rate: int
    panels: list[tuple[str, np.ndarray]]


@dataclass
class EvalResult:
    numbers: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)


def _mono(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, np.float32)
    return a.mean(axis=0) if a.ndim == 2 else a


def _to_model(model: StreamModel, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[C', T]`` or ``[T]`` at ``sample_rate`` -> ``[model.channels, T']`` at the model's rate."""
    x = np.asarray(audio, np.float32)
    if x.ndim == 1:
        x = x[None]
    if int(sample_rate) != int(model.sample_rate):
        x = resample(x, int(sample_rate), int(model.sample_rate))
    return np.ascontiguousarray(to_channels(x, int(model.channels)), dtype=np.float32)


def _round_robin(labels: list[str], limit: int) -> list[int]:
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


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars -> float, nan/inf -> None, recursively."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_clean(x) for x in v.tolist()]
    if isinstance(v, bool | str) or v is None:
        return v
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def evaluate(
    model: StreamModel,
    data_root: str | Path,
    options: EvalOptions | None = None,
    log: Callable[[str], None] | None = None,
) -> EvalResult:
    """Run the three evaluations (module docstring) of ``model`` on the prepared dataset ``data_root``.

    Raises:
        FoleyError: dataset missing/unprepared or without a held-out split; espeak-ng missing (speech set).
    """
    opts = options or EvalOptions()
    say = log or (lambda _msg: None)
    t_start = time.perf_counter()
    sr = int(model.sample_rate)
    block = opts.block_size
    valid = FoleyDataset(data_root, split="valid", n_samples=opts.n_samples)
    data_sr = valid.sample_rate
    labels_all = [valid.label_of(i) for i in range(len(valid))]
    chosen = _round_robin(labels_all, opts.max_examples)
    # the transfer sets need the speech cache before anything slow runs: fail fast when espeak-ng is missing
    inputs = transfer_inputs(sr, opts.speech_cache, speech=opts.speech)
    embedder = get_embedder(opts.embedding)
    say(f"embedding: {embedder.description}")
    figures: list[Figure] = []

    # ------------------------------------------------------------------ 1. reconstruction
    say(f"reconstruction: {len(chosen)} held-out examples")
    recon_rows: list[dict[str, Any]] = []
    held: list[tuple[str, np.ndarray]] = []  # (label, audio [C, T] at the model rate) for mixing
    fig_labels: set[str] = set()
    for i in chosen:
        label = labels_all[i]
        x = _to_model(model, valid[i].numpy(), data_sr)
        y = regenerate(model, x, block)
        rec_row: dict[str, Any] = {
            "index": i,
            "label": label,
            "file": str(valid.entries[i].get("path", "")),
            "multiscale": M.multiscale_distance(x, y),
            "mel": M.mel_distance(x, y, sr),
            "si_sdr": M.si_sdr(x, y),
            "loudness_corr": M.loudness_correlation(x, y, sr),
        }
        recon_rows.append(rec_row)
        held.append((label, x))
        if label not in fig_labels and len(fig_labels) < opts.n_figures:
            fig_labels.add(label)
            figures.append(
                Figure(
                    f"recon_{len(fig_labels)}",
                    f"Reconstruction: held-out '{label}' example",
                    sr,
                    [("input", _mono(x)), ("reconstruction", _mono(y))],
                )
            )
    per_label = {
        lab: M.aggregate([r for r in recon_rows if r["label"] == lab], RECON_KEYS)
        for lab in sorted({r["label"] for r in recon_rows})
    }
    reconstruction = {"overall": M.aggregate(recon_rows, RECON_KEYS), "per_label": per_label, "examples": recon_rows}

    # ------------------------------------------------------------------ 2. transfer scorecard
    say(f"corpus: embedding {opts.corpus_examples} training crops")
    try:
        corpus_ds = FoleyDataset(
            data_root, split="train", n_samples=opts.n_samples, seed=opts.seed, examples_per_epoch=opts.corpus_examples
        )
        corpus_split = "train"
    except FoleyError:
        corpus_ds = valid  # a dataset without a train split: the held-out files stand for the corpus
        corpus_split = "valid"
    n_corpus = min(len(corpus_ds), opts.corpus_examples)
    corpus_emb = np.stack([embedder(_mono(corpus_ds[i].numpy()), corpus_ds.sample_rate) for i in range(n_corpus)])
    corpus_mean = corpus_emb.mean(axis=0)

    say(f"transfer: {len(inputs)} non-Foley inputs")
    transfer_rows: list[dict[str, Any]] = []
    emb_in: dict[str, list[np.ndarray]] = {}
    emb_out: dict[str, list[np.ndarray]] = {}
    fig_kinds: set[str] = set()
    for item in inputs:
        x = _to_model(model, item.audio, sr)
        y = regenerate(model, x, block)
        xm, ym = _mono(x), _mono(y)
        ons = M.onset_scores(xm, ym, sr)
        e_in, e_out = embedder(xm, sr), embedder(ym, sr)
        emb_in.setdefault(item.kind, []).append(e_in)
        emb_out.setdefault(item.kind, []).append(e_out)
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
        transfer_rows.append(row)
        if item.kind not in fig_kinds:
            fig_kinds.add(item.kind)
            figures.append(
                Figure(f"transfer_{item.kind}", f"Transfer: {item.name}", sr, [("input", xm), ("output", ym)])
            )

    def frechet_block(kinds: list[str]) -> dict[str, float]:
        ins = np.stack([e for k in kinds for e in emb_in[k]])
        outs = np.stack([e for k in kinds for e in emb_out[k]])
        fd_in, fd_out = M.frechet_distance(ins, corpus_emb), M.frechet_distance(outs, corpus_emb)
        return {"fd_in": fd_in, "fd_out": fd_out, "fd_ratio": fd_out / fd_in if fd_in > 0 else math.nan}

    per_kind: dict[str, dict[str, float]] = {}
    for kind in emb_in:
        rows_k = [r for r in transfer_rows if r["kind"] == kind]
        agg = M.aggregate(rows_k, TRANSFER_KEYS)
        agg.update(frechet_block([kind]))
        agg["closer_fraction"] = float(np.mean([r["corpus_dist_out"] < r["corpus_dist_in"] for r in rows_k]))
        per_kind[kind] = agg
    overall_t = M.aggregate(transfer_rows, TRANSFER_KEYS)
    overall_t.update(frechet_block(list(emb_in)))
    overall_t["closer_fraction"] = float(np.mean([r["corpus_dist_out"] < r["corpus_dist_in"] for r in transfer_rows]))
    # reference point: the held-out Foley examples themselves against the corpus
    held_emb = np.stack([embedder(_mono(x), sr) for _, x in held])
    transfer = {
        "overall": overall_t,
        "per_kind": per_kind,
        "items": transfer_rows,
        "corpus": {
            "split": corpus_split,
            "n": n_corpus,
            "fd_heldout_foley": M.frechet_distance(held_emb, corpus_emb),
            "heldout_dist_mean": float(np.mean(np.linalg.norm(held_emb - corpus_mean, axis=1))),
        },
    }

    # ------------------------------------------------------------------ 3. mixing sweeps
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[str, str]] = set()
    for ia, (la, _) in enumerate(held):
        for ib, (lb, _) in enumerate(held):
            if la < lb and (la, lb) not in seen and len(pairs) < opts.n_pairs:
                seen.add((la, lb))
                pairs.append((ia, ib))
    say(f"mixing: {len(pairs)} pairs x {len(opts.alphas)} alphas")
    alphas = [float(a) for a in opts.alphas]
    pair_rows: list[dict[str, Any]] = []
    for n, (ia, ib) in enumerate(pairs):
        (la, a), (lb, b) = held[ia], held[ib]
        ea, eb = embedder(_mono(a), sr), embedder(_mono(b), sr)
        d_a, d_b = [], []
        sweep = []
        for alpha in alphas:
            y = mix(model, a, b, alpha)
            e = embedder(_mono(y), sr)
            d_a.append(float(np.linalg.norm(e - ea)))
            d_b.append(float(np.linalg.norm(e - eb)))
            sweep.append(_mono(y))
        pair_rows.append(
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
            figures.append(Figure("mix_sweep", f"Mixing sweep: {la} (alpha=0) -> {lb} (alpha=1)", sr, panels))
    mixing = {
        "alphas": alphas,
        "pairs": pair_rows,
        "summary": M.aggregate(
            pair_rows, ("spearman_a", "spearman_b", "monotone_a", "monotone_b", "range_a", "range_b")
        ),
        "note": "" if pairs else "fewer than two labels among the held-out examples: no mixing pairs",
    }

    numbers = {
        "model": {
            "name": str(model.name),
            "sample_rate": sr,
            "channels": int(model.channels),
            "hop_length": int(model.hop_length),
            "latent_size": int(model.latent_size),
            "delay_samples": int(model.delay_samples),
        },
        "data": {"root": str(data_root), "sample_rate": data_sr, "n_valid": len(valid), "labels": valid.labels},
        "embedding": {"backend": embedder.backend, "dim": embedder.dim, "description": embedder.description},
        "settings": {
            "max_examples": opts.max_examples,
            "n_samples": opts.n_samples,
            "corpus_examples": opts.corpus_examples,
            "n_pairs": opts.n_pairs,
            "speech": opts.speech,
            "block_size": block,
            "seed": opts.seed,
            "onset_tolerance_s": 0.03,
        },
        "reconstruction": reconstruction,
        "transfer": transfer,
        "mixing": mixing,
        "seconds": time.perf_counter() - t_start,
    }
    return EvalResult(_clean(numbers), figures)
