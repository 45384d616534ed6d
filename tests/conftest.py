"""Shared fixtures: seeded synthetic Foley-like audio, temp-dir helpers, and strict-skip mode for CI.

With FOLEYVAE_REQUIRE_ALL=1 (set by .ci/run) a skipped test fails: a missing optional dependency must not
pass silently in CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

SR = 44100
# make soak sets FOLEYVAE_KILL_REPEAT=k: the kill tests (prepare, export, training) kill k times as often
KILL_REPEAT = int(os.environ.get("FOLEYVAE_KILL_REPEAT", "1"))


def pytest_configure(config: pytest.Config) -> None:
    import torch

    torch.set_flush_denormal(True)
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _main_thread_keeps_normal_scheduling() -> Iterator[None]:
    """No test may leave pytest's thread real-time: everything it starts afterwards (Chromium, ffmpeg) would
    inherit SCHED_FIFO, and one spinning child then starves the machine (a CI run timed out that way)."""
    yield
    if hasattr(os, "sched_getscheduler"):
        assert os.sched_getscheduler(0) == os.SCHED_OTHER, "a test left pytest's thread with real-time scheduling"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:  # type: ignore[type-arg]
    outcome = yield
    rep = outcome.get_result()
    if os.environ.get("FOLEYVAE_REQUIRE_ALL") == "1" and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.longrepr = f"skipped under FOLEYVAE_REQUIRE_ALL=1 (a CI dependency is missing): {reason}"


# ------------------------------------------------------------------------------------------- synthesis


def impulses(n: int = SR, every: int = 11025, sr: int = SR) -> np.ndarray:
    """Unit clicks every ``every`` samples: [T]."""
    x = np.zeros(n, np.float32)
    x[every // 2 :: every] = 0.9
    return x


def footstep(material: str = "wood", dur: float = 0.35, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A filtered-noise footstep with material-like resonances (heel + toe): [T] float32."""
    rng = np.random.default_rng(seed)
    modes = {
        "wood": ([180, 420, 960], 0.06),
        "metal": ([650, 1730, 3380, 5210], 0.35),
        "gravel": ([2500, 5200], 0.03),
        "snow": ([1200, 3400], 0.05),
        "water": ([300, 900, 2000], 0.12),
    }[material]
    n = int(dur * sr)
    t = np.arange(n) / sr
    out = np.zeros(n, np.float32)
    for onset, amp in ((0.0, 1.0), (0.09, 0.6)):
        k = int(onset * sr)
        tt = t[: n - k]
        burst = rng.standard_normal(n - k) * np.exp(-tt / 0.012)
        res = sum(np.sin(2 * np.pi * f * tt + rng.uniform(0, 6.28)) * np.exp(-tt / modes[1]) for f in modes[0])
        out[k:] += amp * (0.5 * burst + 0.5 * res / len(modes[0])).astype(np.float32)
    if material == "gravel":
        grains = rng.random(n) < 0.004
        out += 0.4 * grains * rng.standard_normal(n).astype(np.float32) * np.exp(-t / 0.2).astype(np.float32)
    return (0.8 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def chirp(dur: float = 1.0, f0: float = 100.0, f1: float = 8000.0, sr: int = SR) -> np.ndarray:
    """Exponential sine sweep: [T]."""
    t = np.arange(int(dur * sr)) / sr
    k = np.log(f1 / f0) / dur
    return (0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)).astype(np.float32)


def speech_like(dur: float = 1.5, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Syllable-rate bursts of voiced (pulse train through formants) and unvoiced noise: [T]."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(dur * sr)
    out = np.zeros(n, np.float32)
    pos = int(0.05 * sr)
    while pos < n - int(0.1 * sr):
        ln = int(rng.uniform(0.08, 0.22) * sr)
        ln = min(ln, n - pos)
        if rng.random() < 0.7:
            f0 = rng.uniform(90, 220)
            src = np.zeros(ln)
            src[:: max(1, int(sr / f0))] = 1.0
            for fc in (rng.uniform(300, 800), rng.uniform(900, 2400)):
                r = 0.97
                w = 2 * np.pi * fc / sr
                src = lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], src)
        else:
            src = rng.standard_normal(ln) * 0.3
        env = np.hanning(ln)
        seg = src * env
        out[pos : pos + ln] += (seg / (np.abs(seg).max() + 1e-9) * 0.6).astype(np.float32)
        pos += ln + int(rng.uniform(0.03, 0.12) * sr)
    return out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def synth() -> dict[str, Callable[..., np.ndarray]]:
    return {
        "impulses": impulses,
        "footstep": footstep,
        "chirp": chirp,
        "speech_like": speech_like,
        "silence": lambda n=SR: np.zeros(n, np.float32),
    }


@pytest.fixture
def write_wav(tmp_path: Path) -> Callable[..., Path]:
    """Write a [T] or [C, T] array as a WAV under tmp_path and return its path."""
    import soundfile as sf

    def _write(name: str, audio: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        a = np.asarray(audio, np.float32)
        sf.write(str(p), a.T if a.ndim == 2 else a, sr, subtype=subtype)
        return p

    return _write


@pytest.fixture
def foley_folder(tmp_path: Path, write_wav: Callable[..., Path]) -> Path:
    """A small labelled folder of synthetic footsteps, including very short one-shots."""
    root = tmp_path / "sounds"
    for mat in ("wood", "metal", "gravel"):
        for i in range(4):
            dur = [0.12, 0.35, 0.8, 1.6][i]
            write_wav(f"sounds/footsteps/{mat}/{mat}_{i}.wav", footstep(mat, dur=dur, seed=i))
    return root
