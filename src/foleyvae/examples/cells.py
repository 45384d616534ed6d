"""The examples page's data: tables of rows of cells, each cell one sound (Ogg Vorbis), its spectrogram (PNG) and
its metrics; and the :class:`CellWriter` that writes those files under the page's folder with relative paths."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.audio.io import save
from foleyvae.eval import metrics as M
from foleyvae.examples.spectrogram import write_spectrogram

__all__ = ["Cell", "CellWriter", "Row", "Table", "align_to", "reconstruction_metrics", "segment_distances"]


@dataclass
class Cell:
    """One player: ``caption`` (its label), ``audio`` and ``image`` (paths relative to the page), ``metrics``."""

    caption: str
    audio: str
    image: str
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    """A table row: ``header`` (first column), one cell per remaining column, an optional ``note``; a summary row
    has no cells but ``numbers``, one metrics dict per remaining column."""

    header: str
    cells: list[Cell]
    note: str = ""
    numbers: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Table:
    """A section of the page: ``key`` (HTML id, file prefix), ``columns`` (headers, the first over row headers)."""

    key: str
    title: str
    intro: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class CellWriter:
    """Writes ``audio/<table>/<name>.ogg`` and ``img/<table>/<name>.png`` under ``root`` and returns the Cell.

    A name already written in a table is reused, not rewritten (the MCLT tables share their originals).
    """

    def __init__(self, root: Path, sample_rate: int) -> None:
        self.root = root
        self.sample_rate = int(sample_rate)
        self._done: dict[str, Cell] = {}

    def cell(
        self, table: str, name: str, caption: str, audio: np.ndarray, metrics: dict[str, float] | None = None
    ) -> Cell:
        """audio ``[C, T]`` or ``[T]`` float at ``sample_rate`` -> a Cell (files written once per table + name)."""
        stem = f"{_slug(table)}/{_slug(name)}"
        if stem in self._done:
            old = self._done[stem]
            return Cell(caption, old.audio, old.image, old.seconds, dict(metrics or {}))
        x = np.asarray(audio, np.float32)
        x = x[None] if x.ndim == 1 else x
        save(self.root / "audio" / f"{stem}.ogg", x, self.sample_rate)
        write_spectrogram(self.root / "img" / f"{stem}.png", x, self.sample_rate)
        clean = {k: float(v) for k, v in (metrics or {}).items() if math.isfinite(float(v))}
        out = Cell(caption, f"audio/{stem}.ogg", f"img/{stem}.png", round(x.shape[1] / self.sample_rate, 3), clean)
        self._done[stem] = out
        return out


def reconstruction_metrics(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> dict[str, float]:
    """The evaluation suite's four reconstruction numbers (``eval.reconstruction``) for ``est`` against ``ref``."""
    return {
        "multiscale": M.multiscale_distance(ref, est),
        "mel": M.mel_distance(ref, est, sample_rate),
        "si_sdr": M.si_sdr(ref, est),
        "loudness_corr": M.loudness_correlation(ref, est, sample_rate),
    }


def align_to(b: np.ndarray, shift: int, length: int) -> np.ndarray:
    """``b [C, T]`` moved right by ``shift`` samples (left when negative), cut or zero-padded to ``length``."""
    out = np.zeros((b.shape[0], length), np.float32)
    src = b[:, max(0, -shift) :]
    start = max(0, shift)
    n = max(0, min(src.shape[1], length - start))
    out[:, start : start + n] = src[:, :n]
    return out


def segment_distances(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, sample_rate: int, part: slice | None = None
) -> dict[str, float]:
    """Mel distance of ``y`` to ``a`` and to ``b`` (all ``[C, T]``, same length) over ``part`` of the samples."""
    sl = part or slice(None)
    return {
        "mel_to_a": M.mel_distance(a[:, sl], y[:, sl], sample_rate),
        "mel_to_b": M.mel_distance(b[:, sl], y[:, sl], sample_rate),
    }
