"""Audio features for evaluation and control: A-weighted loudness, onsets (+ F1), spectral centroid and flatness.

NumPy implementation (evaluation and control are offline, CPU-side work): inputs are array-likes (a torch tensor
on the CPU works through ``np.asarray``); outputs are float64 NumPy arrays. Framed features use centred frames:
``x`` is zero padded by ``frame // 2`` on both sides, so frame ``i`` is centred on sample ``i * hop`` and a signal of
``T`` samples gives ``1 + T // hop`` frames.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "a_weighting_db",
    "loudness",
    "onset_f1",
    "onset_strength",
    "onsets",
    "spectral_centroid",
    "spectral_flatness",
]

_SILENCE_DB = -120.0  # loudness floor (digital silence)


def _frames(x: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """Centred frames ``[..., 1 + T // hop, frame]`` of ``x: [..., T]`` (a strided view of a padded copy)."""
    if frame < 1 or hop < 1:
        raise ValueError(f"frame and hop must be positive, got {frame}, {hop}")
    pad = [(0, 0)] * (x.ndim - 1) + [(frame // 2, frame - frame // 2)]
    xp = np.pad(x, pad)
    n_frames = 1 + x.shape[-1] // hop
    view = np.lib.stride_tricks.sliding_window_view(xp, frame, axis=-1)
    return view[..., : n_frames * hop : hop, :]


def _power_spectrum(x: ArrayLike, frame: int, hop: int) -> np.ndarray:
    """Hann-windowed one-sided power ``[..., frames, frame // 2 + 1]``, scaled so that summing it over bins gives
    the frame's (window-weighted) mean square: a full-scale sine sums to 0.5."""
    xa = np.asarray(x, dtype=np.float64)
    window = np.hanning(frame + 2)[1:-1]  # symmetric Hann without the zero end points
    spec = np.fft.rfft(_frames(xa, frame, hop) * window, axis=-1)
    power = np.abs(spec) ** 2 / (frame * np.sum(window**2))
    power[..., 1 : (frame + 1) // 2] *= 2.0  # one-sided: count negative frequencies (not DC / Nyquist)
    return power


def a_weighting_db(freqs: ArrayLike) -> np.ndarray:
    """A-weighting gain in dB at ``freqs`` (Hz), IEC 61672-1 analytic form (0 dB at 1 kHz; -inf at 0 Hz)."""
    f2 = np.asarray(freqs, dtype=np.float64) ** 2
    num = (12194.0**2) * f2**2
    den = (f2 + 20.6**2) * np.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(num / den) + 2.0


def loudness(x: ArrayLike, sample_rate: int, frame: int = 2048, hop: int = 512) -> np.ndarray:
    """A-weighted RMS level in dB (re full scale) per frame: ``x: [..., T] -> [..., 1 + T // hop]``.

    A full-scale 1 kHz sine reads -3.0 dB; digital silence reads -120 dB (the floor).
    """
    power = _power_spectrum(x, frame, hop)
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate)
    weight = 10.0 ** (a_weighting_db(freqs) / 10.0)  # 0 at DC
    ms = np.sum(power * weight, axis=-1)
    return np.maximum(10.0 * np.log10(np.maximum(ms, 1e-30)), _SILENCE_DB)


def spectral_centroid(x: ArrayLike, sample_rate: int, frame: int = 2048, hop: int = 512) -> np.ndarray:
    """Power-weighted mean frequency in Hz per frame: ``x: [..., T] -> [..., frames]`` (0 for silent frames)."""
    power = _power_spectrum(x, frame, hop)
    freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate)
    total = power.sum(axis=-1)
    return np.where(total > 1e-20, (power * freqs).sum(axis=-1) / np.maximum(total, 1e-20), 0.0)


def spectral_flatness(x: ArrayLike, frame: int = 2048, hop: int = 512, eps: float = 1e-12) -> np.ndarray:
    """Wiener entropy per frame: geometric / arithmetic mean of the power spectrum, in [0, 1].

    ``x: [..., T] -> [..., frames]``; ~0.5-0.6 for white noise with a Hann window, ~0 for a sine; silence gives 1
    (all bins equal to ``eps``).
    """
    power = _power_spectrum(x, frame, hop) + eps
    return np.exp(np.mean(np.log(power), axis=-1)) / np.mean(power, axis=-1)


# ------------------------------------------------------------------------------------------------- onsets

# Onset detector parameters (times in seconds). A short window (11.6 ms at 44.1 kHz) and a 2.9 ms hop keep the
# timing error of a sharp attack below 5 ms; a frame is timed at its *newest* hop of samples (the part that just
# entered the window), which is where a rise in level first shows.
_ONSET_FRAME_S = 512 / 44100
_ONSET_HOP_S = 128 / 44100
_FLOOR_DB = -90.0  # level floor per bin: silence and dither below it give no flux
_DELTA_DB = 3.0  # a peak must exceed the local mean by this many dB (mean rise per bin)
_PRE_AVG_S, _POST_AVG_S = 0.10, 0.07  # local-mean window of the adaptive threshold


def onset_strength(x: ArrayLike, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Spectral flux: mean half-wave-rectified rise of log magnitude (dB) per bin, and each frame's time (s).

    ``x: [T]`` -> ``(flux [frames], times [frames])``.
    """
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim != 1:
        raise ValueError(f"onsets expect mono audio [T], got shape {list(xa.shape)}")
    frame = max(16, round(_ONSET_FRAME_S * sample_rate))
    hop = max(1, round(_ONSET_HOP_S * sample_rate))
    # frames end at the newest hop: pad frame - hop zeros in front (causal framing)
    xp = np.concatenate([np.zeros(frame - hop), xa, np.zeros(hop)])
    n_frames = max(0, (len(xp) - frame) // hop + 1)
    view = np.lib.stride_tricks.sliding_window_view(xp, frame)[: n_frames * hop : hop]
    window = np.hanning(frame + 2)[1:-1]
    power = np.abs(np.fft.rfft(view * window, axis=-1)) ** 2 / np.sum(window**2)
    level = 10.0 * np.log10(power + 10.0 ** (_FLOOR_DB / 10.0))
    rise = np.maximum(np.diff(level, axis=0, prepend=np.full_like(level[:1], _FLOOR_DB)), 0.0)  # silence before
    flux = rise.mean(axis=-1)
    times = (np.arange(n_frames) * hop + hop / 2.0) / sample_rate  # middle of the newest hop
    return flux, times


def onsets(x: ArrayLike, sample_rate: int, min_gap: float = 0.03, delta_db: float = _DELTA_DB) -> np.ndarray:
    """Onset times in seconds of mono audio ``x: [T]`` (spectral flux + adaptive threshold + peak picking).

    A frame is an onset when its flux is the maximum within +-``min_gap``, exceeds the local mean (100 ms before,
    70 ms after) by ``delta_db``, and comes at least ``min_gap`` after the previous onset. Silence gives ``[]``.
    """
    flux, times = onset_strength(x, sample_rate)
    if len(flux) == 0:
        return np.zeros(0)
    dt = times[1] - times[0] if len(times) > 1 else 1.0
    gap = max(1, round(min_gap / dt))
    pre_avg, post_avg = round(_PRE_AVG_S / dt), round(_POST_AVG_S / dt)
    padded = np.pad(flux, (gap, gap), constant_values=-np.inf)
    local_max = np.lib.stride_tricks.sliding_window_view(padded, 2 * gap + 1).max(axis=-1)
    csum = np.concatenate([[0.0], np.cumsum(flux)])
    idx = np.arange(len(flux))
    lo, hi = np.maximum(idx - pre_avg, 0), np.minimum(idx + post_avg + 1, len(flux))
    local_mean = (csum[hi] - csum[lo]) / (hi - lo)
    candidates = np.flatnonzero((flux >= local_max) & (flux >= local_mean + delta_db))
    picked: list[int] = []
    for i in candidates:
        if not picked or i - picked[-1] >= gap:
            picked.append(int(i))
    return times[picked]


def onset_f1(ref_times: ArrayLike, est_times: ArrayLike, tolerance: float = 0.03) -> tuple[float, float, float]:
    """(precision, recall, F1) of estimated onsets against reference onsets, one-to-one within ``tolerance`` s.

    Matching is a maximum matching (greedy on sorted times, optimal for a 1-D tolerance window). Both lists empty
    counts as perfect (1, 1, 1); one empty gives zeros.
    """
    ref = np.sort(np.asarray(ref_times, dtype=np.float64).ravel())
    est = np.sort(np.asarray(est_times, dtype=np.float64).ravel())
    if len(ref) == 0 and len(est) == 0:
        return 1.0, 1.0, 1.0
    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0
    i = j = matched = 0
    while i < len(ref) and j < len(est):
        if abs(ref[i] - est[j]) <= tolerance:
            matched += 1
            i += 1
            j += 1
        elif est[j] < ref[i]:
            j += 1
        else:
            i += 1
    precision = matched / len(est)
    recall = matched / len(ref)
    f1 = 0.0 if matched == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1
