"""The native route's meter (``studio.native.NativeMeter``): the spectrogram the page draws is computed from the
output blocks the engine thread hands it, in the poll's thread, and shows where the energy is."""

from __future__ import annotations

import numpy as np

from foleyvae.studio.native import SPEC_BANDS, SPEC_HOP, NativeMeter, spectrogram_bands


def _feed(meter: NativeMeter, y: np.ndarray, block: int) -> None:
    for i in range(0, y.shape[1] - block + 1, block):
        meter.monitor(np.zeros((1, block), np.float32), y[:, i : i + block])


def test_a_tone_lights_its_band_and_columns_follow_the_output() -> None:
    sr, block = 48000, 256
    meter = NativeMeter(sample_rate=sr)
    t = np.arange(sr // 2) / sr
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)[None, :]
    _feed(meter, tone, block)
    snap = meter.snapshot()["spectrogram"]
    cols = np.array(snap["columns"])
    assert cols.shape[1] == SPEC_BANDS and len(cols) >= (sr // 2 - 1024) // SPEC_HOP - 1
    band = int(np.argmax(cols.mean(axis=0)))
    lo, hi = snap["band_hz"][band], (snap["band_hz"] + [sr / 2])[band + 1]
    assert lo <= 1000.0 <= hi + 47, (lo, hi)  # the 1 kHz band (bins are 47 Hz wide)
    assert cols[:, band].min() > 200  # -6 dBFS: near the top of 0..255 (-100..0 dB)
    assert np.median(cols[:, -8:]) < cols[:, band].min() - 100  # far bands: the window's leakage only
    assert meter.snapshot()["spectrogram"]["columns"] == []  # nothing new since
    _feed(meter, np.zeros((1, 4096), np.float32), block)  # silence: the floor
    quiet = np.array(meter.snapshot()["spectrogram"]["columns"])
    assert len(quiet) >= 4 and quiet[-1].max() == 0


def test_a_late_poll_keeps_only_the_newest_columns() -> None:
    meter = NativeMeter(sample_rate=44100)
    rng = np.random.default_rng(0)
    _feed(meter, rng.standard_normal((1, 200_000)).astype(np.float32) * 0.1, 512)  # 4.5 s: more than the ring
    cols = meter.snapshot()["spectrogram"]["columns"]
    assert 0 < len(cols) <= 64
    assert np.all(np.diff(spectrogram_bands(44100)) >= 1)
