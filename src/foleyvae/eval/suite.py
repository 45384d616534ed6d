"""The evaluation suite behind ``foleyvae evaluate``: reconstruction, timbre-transfer scorecard, mixing sweeps.

:func:`evaluate` runs a :class:`~foleyvae.playable.protocol.StreamModel` on a prepared dataset and returns an
:class:`EvalResult`: ``numbers`` (a JSON-ready dict of every measurement) and ``figures`` (audio to draw as
spectrograms in the report). The sections live in their own modules (:mod:`foleyvae.eval.reconstruction`,
:mod:`foleyvae.eval.transfer`, :mod:`foleyvae.eval.mixing_sweeps`); this one runs them in order. Everything is
rendered through the same streaming engine that plays live (``inference.render.regenerate``, delay-compensated)
and mixed with ``inference.mixing.mix``.

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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foleyvae.data.dataset import FoleyDataset
from foleyvae.errors import FoleyError
from foleyvae.eval.common import Figure, clean, round_robin
from foleyvae.eval.embeddings import Embedder, get_embedder
from foleyvae.eval.mixing_sweeps import mixing_pairs, mixing_section
from foleyvae.eval.reconstruction import RECON_KEYS, reconstruction_section
from foleyvae.eval.transfer import TRANSFER_KEYS, embed_corpus, transfer_section
from foleyvae.eval.transfer_sets import transfer_inputs
from foleyvae.playable.protocol import StreamModel

__all__ = ["EvalOptions", "EvalResult", "Figure", "evaluate", "RECON_KEYS", "TRANSFER_KEYS"]


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
class EvalResult:
    numbers: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)


def _header(
    model: StreamModel, data_root: str | Path, valid: FoleyDataset, embedder: Embedder, opts: EvalOptions
) -> dict[str, Any]:
    """The JSON's ``model``, ``data``, ``embedding`` and ``settings`` blocks."""
    return {
        "model": {
            "name": str(model.name),
            "sample_rate": int(model.sample_rate),
            "channels": int(model.channels),
            "hop_length": int(model.hop_length),
            "latent_size": int(model.latent_size),
            "delay_samples": int(model.delay_samples),
        },
        "data": {
            "root": str(data_root),
            "sample_rate": valid.sample_rate,
            "n_valid": len(valid),
            "labels": valid.labels,
        },
        "embedding": {"backend": embedder.backend, "dim": embedder.dim, "description": embedder.description},
        "settings": {
            "max_examples": opts.max_examples,
            "n_samples": opts.n_samples,
            "corpus_examples": opts.corpus_examples,
            "n_pairs": opts.n_pairs,
            "speech": opts.speech,
            "block_size": opts.block_size,
            "seed": opts.seed,
            "onset_tolerance_s": 0.03,
        },
    }


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
    block = opts.block_size
    valid = FoleyDataset(data_root, split="valid", n_samples=opts.n_samples)
    chosen = round_robin([valid.label_of(i) for i in range(len(valid))], opts.max_examples)
    # the transfer sets need the speech cache before anything slow runs: fail fast when espeak-ng is missing
    inputs = transfer_inputs(int(model.sample_rate), opts.speech_cache, speech=opts.speech)
    embedder = get_embedder(opts.embedding)
    say(f"embedding: {embedder.description}")
    figures: list[Figure] = []

    say(f"reconstruction: {len(chosen)} held-out examples")
    reconstruction, held = reconstruction_section(model, valid, chosen, block, opts.n_figures, figures)

    say(f"corpus: embedding {opts.corpus_examples} training crops")
    corpus = embed_corpus(data_root, valid, opts.n_samples, opts.seed, opts.corpus_examples, embedder)
    say(f"transfer: {len(inputs)} non-Foley inputs")
    transfer = transfer_section(model, inputs, block, embedder, corpus, held, figures)

    pairs = mixing_pairs(held, opts.n_pairs)
    say(f"mixing: {len(pairs)} pairs x {len(opts.alphas)} alphas")
    mixing = mixing_section(model, held, pairs, [float(a) for a in opts.alphas], embedder, figures)

    numbers = _header(model, data_root, valid, embedder, opts)
    numbers.update({"reconstruction": reconstruction, "transfer": transfer, "mixing": mixing})
    numbers["seconds"] = time.perf_counter() - t_start
    return EvalResult(clean(numbers), figures)
