"""Evaluation metrics: reconstruction distances, SI-SDR, loudness-envelope correlation, onset F1, Frechet distance,
monotonicity of morph sweeps, and the delay of a model's output estimated from its envelope.

All functions take NumPy audio (``[T]`` or ``[C, T]`` float) and return plain Python floats (or small dicts), so
that results go straight into JSON. A metric that is undefined for its input (e.g. a correlation with a constant
curve) returns ``nan``; aggregation (:func:`aggregate`) ignores nans and counts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from foleyvae.audio.distances import MelDistance, MultiScaleSTFT
from foleyvae.audio.features import loudness, onset_f1, onsets

__all__ = [
    "aggregate",
    "envelope",
    "estimate_delay",
    "frechet_distance",
    "loudness_correlation",
    "mel_distance",
    "monotone_fraction",
    "multiscale_distance",
    "onset_scores",
    "pearson",
    "si_sdr",
    "spearman",
]


def _as_2d(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ValueError(f"expected audio [T] or [C, T], got shape {list(a.shape)}")
    return a


def _pair(ref: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, e = _as_2d(ref), _as_2d(est)
    if r.shape != e.shape:
        raise ValueError(f"reference and estimate shapes differ: {list(r.shape)} vs {list(e.shape)}")
    return r, e


def si_sdr(ref: np.ndarray, est: np.ndarray, eps: float = 1e-10) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, "SDR -- half-baked or well done?"), mean over channels.

    Both signals are made zero-mean; ``alpha = <est, ref> / |ref|^2``; SI-SDR = 10 log10(|alpha ref|^2 / |alpha ref
    - est|^2). Identical signals give a very large value (capped by ``eps``: ~+100 dB and more); independent noise
    gives a strongly negative one. A silent reference gives nan.
    """
    r, e = _pair(ref, est)
    out = []
    for rc, ec in zip(r, e, strict=True):
        rc = rc - rc.mean()
        ec = ec - ec.mean()
        energy = float(np.dot(rc, rc))
        if energy < eps:
            out.append(math.nan)
            continue
        alpha = float(np.dot(ec, rc)) / energy
        target = alpha * rc
        noise = target - ec
        out.append(10.0 * math.log10((float(np.dot(target, target)) + eps) / (float(np.dot(noise, noise)) + eps)))
    return float(np.nanmean(out)) if not all(math.isnan(v) for v in out) else math.nan


def multiscale_distance(ref: np.ndarray, est: np.ndarray) -> float:
    """RAVE's multiscale STFT distance (``audio.distances.MultiScaleSTFT``, scales 2048..128): 0 for identical."""
    import torch

    r, e = _pair(ref, est)
    with torch.no_grad():
        d = MultiScaleSTFT()(torch.from_numpy(r).float()[None], torch.from_numpy(e).float()[None])
    return float(d)


def mel_distance(ref: np.ndarray, est: np.ndarray, sample_rate: int) -> float:
    """Log-mel L1 + linear-mel relative L2 (``audio.distances.MelDistance``, 80 Slaney bands): 0 for identical."""
    import torch

    r, e = _pair(ref, est)
    with torch.no_grad():
        d = MelDistance(int(sample_rate))(torch.from_numpy(r).float()[None], torch.from_numpy(e).float()[None])
    return float(d)


def pearson(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Pearson correlation of two equal-length curves; nan when either is constant (or shorter than 2)."""
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"curves differ in length: {x.shape[0]} vs {y.shape[0]}")
    if len(x) < 2:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt(float(np.dot(x, x)) * float(np.dot(y, y)))
    return float(np.dot(x, y)) / den if den > 1e-12 else math.nan


def loudness_correlation(ref: np.ndarray, est: np.ndarray, sample_rate: int, range_db: float = 60.0) -> float:
    """Pearson correlation of the A-weighted loudness curves (``audio.features.loudness``, mono mixes).

    Each curve is clipped at ``range_db`` below its own maximum, so that the exact depth of near-silence (-120 dB
    digital silence vs a -90 dB noise floor) does not dominate the correlation of the audible envelope, and a
    gain change leaves the value unchanged.
    """
    r, e = _as_2d(ref).mean(axis=0), _as_2d(est).mean(axis=0)
    n = min(len(r), len(e))
    lr, le = loudness(r[:n], sample_rate), loudness(e[:n], sample_rate)
    lr = np.maximum(lr, lr.max(initial=-120.0) - range_db)
    le = np.maximum(le, le.max(initial=-120.0) - range_db)
    return pearson(lr, le)


def envelope(x: np.ndarray, win: int = 128, range_db: float = 60.0) -> np.ndarray:
    """Log RMS envelope of ``x [T]`` or ``[C, T]`` (mono mix) at every sample: ``[T]`` in dB over ``win`` samples,
    floored ``range_db`` below its maximum (as :func:`loudness_correlation`), so near-silence does not dominate a
    correlation of it."""
    m = _as_2d(x).mean(axis=0)
    power = np.convolve(m * m, np.ones(win) / win, mode="same")
    db = 10.0 * np.log10(power + 1e-12)
    return np.maximum(db, db.max(initial=-120.0) - range_db)


def estimate_delay(
    refs: Sequence[np.ndarray],
    outs: Sequence[np.ndarray],
    max_lag: int,
    min_lag: int = 0,
    kind: str = "envelope",
    win: int = 128,
) -> tuple[int, float]:
    """The lag in ``[min_lag, max_lag]`` maximising the mean normalised cross-correlation of outputs with inputs.

    refs, outs: pairs of ``[T]`` or ``[C, T]`` audio (mono mixes are compared). ``kind="waveform"`` correlates the
    samples, ``kind="envelope"`` the log RMS envelopes (:func:`envelope`, both made zero-mean). Models trained on
    spectral losses reproduce magnitudes, not phases, so the waveform peak is weak (~0.05) and can sit far from
    the true delay (4 samples for the bundled model, whose declared delay is 92); the envelope finds 86 there.
    Returns (lag in samples, its mean correlation coefficient), with ``c_i[l] = sum_t x_i[t] y_i[t + l] /
    (|x_i||y_i|)``; pairs with a silent side are skipped.
    """
    if kind not in ("envelope", "waveform"):
        raise ValueError(f"kind must be 'envelope' or 'waveform', got {kind!r}")
    if min_lag > max_lag:
        raise ValueError(f"min_lag {min_lag} > max_lag {max_lag}")
    pairs = [(_as_2d(x).mean(axis=0), _as_2d(y).mean(axis=0)) for x, y in zip(refs, outs, strict=True)]
    longest = max((len(x) + len(y) for x, y in pairs), default=1)
    n = 1 << math.ceil(math.log2(max(longest + max(max_lag, -min_lag), 2)))  # no circular wrap into the lags
    acc = np.zeros(n)
    count = 0
    for x, y in pairs:
        if kind == "envelope":
            x, y = envelope(x, win), envelope(y, win)
        x, y = (x - x.mean(), y - y.mean()) if kind == "envelope" else (x, y)
        den = float(np.linalg.norm(x) * np.linalg.norm(y))
        if den < 1e-12:
            continue
        acc += np.fft.irfft(np.conj(np.fft.rfft(x, n)) * np.fft.rfft(y, n), n) / den
        count += 1
    acc /= max(count, 1)
    lags = np.arange(min_lag, max_lag + 1)
    vals = acc[lags % n]  # negative lags wrap to the end of the circular correlation
    best = int(np.argmax(vals))
    return int(lags[best]), float(vals[best])


def onset_scores(
    ref: np.ndarray,
    est: np.ndarray,
    sample_rate: int,
    ref_times: Sequence[float] | np.ndarray | None = None,
    tolerance: float = 0.03,
) -> dict[str, float]:
    """Onset precision/recall/F1 of ``est``'s detected onsets against ``ref_times`` (default: ``ref``'s detected
    onsets), one-to-one within ``tolerance`` seconds (``audio.features.onset_f1``); also the onset counts."""
    r_t = onsets(_as_2d(ref).mean(axis=0), sample_rate) if ref_times is None else np.asarray(ref_times, np.float64)
    e_t = onsets(_as_2d(est).mean(axis=0), sample_rate)
    p, rc, f1 = onset_f1(r_t, e_t, tolerance)
    return {"precision": p, "recall": rc, "f1": f1, "n_ref": float(len(r_t)), "n_est": float(len(e_t))}


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two embedding sets ``a: [N, D]``, ``b: [M, D]``.

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (Heusel et al. 2017; FAD, Kilgour et al. 2019).
    With fewer examples than dimensions the covariances are singular, so ``eps * I`` is added to both (the
    value is then biased upward for small sets; compare distances computed with similar set sizes). A set
    with one example has zero covariance. The result is clipped at 0 (round-off).
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(x) == 0 or len(y) == 0:
        raise ValueError(f"expected embeddings [N, D] and [M, D], got {list(x.shape)} and {list(y.shape)}")
    diff = x.mean(0) - y.mean(0)
    xc, yc = x - x.mean(0), y - y.mean(0)
    # Both covariances live in the span of the centred examples (plus eps * I everywhere). In the orthogonal
    # complement S_x = S_y = eps * I, whose trace terms cancel exactly (eps + eps - 2 eps), so the trace term is
    # computed on an orthonormal basis Q of that span: r <= N + M - 2 dims instead of D (fast at D = 512).
    u, sv, _ = np.linalg.svd(np.concatenate([xc, yc]).T, full_matrices=False)
    q = u[:, sv > sv.max(initial=0.0) * 1e-10] if sv.size else u[:, :0]
    r = q.shape[1]
    px, py = xc @ q, yc @ q
    s_x = px.T @ px / max(len(x) - 1, 1) + eps * np.eye(r)
    s_y = py.T @ py / max(len(y) - 1, 1) + eps * np.eye(r)
    # tr((S_x S_y)^(1/2)) = sum of sqrt(eigenvalues of S_x^(1/2) S_y S_x^(1/2)), a symmetric PSD matrix.
    w, v = np.linalg.eigh(s_x)
    root_x = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
    inner = root_x @ s_y @ root_x
    tr_covmean = float(np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0))))
    value = float(diff @ diff + np.trace(s_x) + np.trace(s_y) - 2.0 * tr_covmean)
    return max(0.0, value)


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); nan when either sequence is constant."""
    from scipy.stats import rankdata

    return pearson(rankdata(np.asarray(a, np.float64)), rankdata(np.asarray(b, np.float64)))


def monotone_fraction(values: Sequence[float] | np.ndarray, increasing: bool = True) -> float:
    """Fraction of consecutive steps that move in the expected direction (ties count as failures)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return math.nan
    steps = np.diff(v)
    return float(np.mean(steps > 0 if increasing else steps < 0))


def aggregate(rows: Iterable[Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    """Mean (ignoring nans) of each key over rows; ``n`` = number of rows; ``<key>/nan`` when some were nan."""
    rows = list(rows)
    out: dict[str, float] = {"n": float(len(rows))}
    for k in keys:
        vals = np.array([float(r[k]) for r in rows if k in r], dtype=np.float64)
        finite = vals[np.isfinite(vals)]
        out[k] = float(finite.mean()) if len(finite) else math.nan
        if len(finite) < len(vals):
            out[f"{k}/nan"] = float(len(vals) - len(finite))
    return out
