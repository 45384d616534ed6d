"""Small spectrogram pictures for the examples page, written as palette PNGs with ``zlib`` (no plotting library).

A picture is ``width x height`` pixels: time left to right over the whole sound, frequency bottom to top on a log
axis from 40 Hz to Nyquist (footsteps and impacts live in the low kHz; a linear axis would squash them into the
bottom rows), colour = dB re the sound's loudest bin over a fixed 80 dB range (``PALETTE``: black -> purple ->
orange -> pale yellow, like matplotlib's magma). One byte per pixel and a 64-entry palette keep a picture at
3-8 KB.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from foleyvae.utils.atomic import atomic_write_bytes

__all__ = ["PALETTE", "png_bytes", "spectrogram_image", "write_spectrogram"]

_ANCHORS = np.array(
    [[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39],
     [252, 253, 191]],
    dtype=np.float64,
)  # fmt: skip
_N_COLOURS = 64
PALETTE: np.ndarray = np.stack(
    [np.interp(np.linspace(0, 1, _N_COLOURS), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)],
    axis=1,
).astype(np.uint8)  # [64, 3] RGB
RANGE_DB = 80.0


def spectrogram_image(
    audio: np.ndarray, sample_rate: int, width: int = 240, height: int = 80, n_fft: int = 1024
) -> np.ndarray:
    """audio ``[T]`` or ``[C, T]`` (mono mix) -> palette indices ``[height, width]`` uint8 (row 0 = top = Nyquist).

    Frames are centred at ``width`` evenly spaced times over the sound, so every picture has the same size
    whatever the duration; silence is the palette's first colour.
    """
    x = np.asarray(audio, np.float64)
    x = x.mean(axis=0) if x.ndim == 2 else x
    if x.ndim != 1 or width < 1 or height < 2:
        raise ValueError(f"expected audio [T] or [C, T] and a picture of at least 1 x 2, got {list(x.shape)}")
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    centres = np.linspace(0, max(0, len(x) - 1), width).astype(np.int64)
    frames = padded[centres[:, None] + np.arange(n_fft)[None]] * np.hanning(n_fft)[None]
    mag = np.abs(np.fft.rfft(frames, axis=-1))  # [width, n_fft // 2 + 1]
    freqs = np.geomspace(40.0, sample_rate / 2, height)
    rows = np.clip(np.round(freqs / (sample_rate / n_fft)).astype(np.int64), 0, mag.shape[1] - 1)
    db = 20.0 * np.log10(mag[:, rows].T + 1e-9)  # [height, width], low frequency first
    peak = db.max() if np.isfinite(db.max()) and db.max() > -160.0 else 0.0
    level = np.clip((db - peak + RANGE_DB) / RANGE_DB, 0.0, 1.0)
    return np.ascontiguousarray((level * (_N_COLOURS - 1)).round().astype(np.uint8)[::-1])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(indices: np.ndarray, palette: np.ndarray = PALETTE) -> bytes:
    """An 8-bit palette PNG of ``indices [H, W]`` (uint8 indices into ``palette [N, 3]``, N <= 256)."""
    img = np.asarray(indices, np.uint8)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + _chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def write_spectrogram(
    path: str | Path, audio: np.ndarray, sample_rate: int, width: int = 240, height: int = 80
) -> Path:
    """Write the spectrogram picture of ``audio`` to ``path`` (atomically); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, png_bytes(spectrogram_image(audio, sample_rate, width, height)))
    return p
