"""Non-Foley inputs for the timbre-transfer scorecard: synthetic speech (espeak-ng), taps and music-like sounds.

Each set is a list of :class:`TransferInput` (mono ``[T]`` float32 at the requested sample rate). Taps and
arpeggios carry their *known* onset times (the synthesis times), so onset preservation is measured against the
truth; speech and chirps use the onsets detected on the input.

Speech is rendered by the ``espeak-ng`` program (a formant synthesiser: no model download) into a cache folder,
once per sentence/voice; a missing program raises :class:`SpeechSynthError` naming the package to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foleyvae.audio.io import load
from foleyvae.errors import FoleyError

__all__ = [
    "SENTENCES",
    "SpeechSynthError",
    "TransferInput",
    "default_speech_cache",
    "music_set",
    "speech_set",
    "taps_set",
    "transfer_inputs",
]

SENTENCES = (
    "The door creaked open and footsteps crossed the floor.",
    "Put the glass down gently.",
    "Seven quick knocks, then silence.",
)


class SpeechSynthError(FoleyError):
    """espeak-ng is missing or failed."""


@dataclass
class TransferInput:
    """One scorecard input: ``audio [T]`` float32 in [-1, 1]; ``onset_times`` in s (None: detect on the input)."""

    name: str
    kind: str  # "speech", "taps" or "music"
    audio: np.ndarray
    onset_times: np.ndarray | None = field(default=None)


def default_speech_cache() -> Path:
    """``$XDG_CACHE_HOME/foleyvae/speech`` (``~/.cache/foleyvae/speech``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "foleyvae" / "speech"


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechSynthError(
            "espeak-ng is not installed (needed for the speech transfer set); install it with: "
            "sudo apt-get install -y espeak-ng (or brew install espeak-ng), or pass --no-speech"
        )
    return exe


def speech_set(
    cache_dir: str | Path, sample_rate: int, sentences: tuple[str, ...] = SENTENCES, voice: str = "en"
) -> list[TransferInput]:
    """Sentences spoken by espeak-ng (cached as WAVs under ``cache_dir``), resampled to ``sample_rate``.

    Raises:
        SpeechSynthError: espeak-ng missing or failing.
    """
    exe = _espeak()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for i, text in enumerate(sentences):
        key = hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:16]
        wav = cache / f"espeak-{voice}-{key}.wav"
        if not wav.is_file():
            tmp = cache / f".{wav.name}.{os.getpid()}.tmp.wav"
            try:
                res = subprocess.run(
                    [exe, "-v", voice, "-s", "150", "-w", str(tmp), text],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                if res.returncode != 0 or not tmp.is_file():
                    msg = (res.stderr or res.stdout).strip().splitlines()
                    raise SpeechSynthError(f"espeak-ng failed (exit {res.returncode}): {msg[0] if msg else ''}")
                os.replace(tmp, wav)  # atomic: a concurrent run never reads a half-written file
            finally:
                tmp.unlink(missing_ok=True)
        audio, _ = load(wav, sample_rate=sample_rate, channels=1)
        x = audio[0]
        peak = float(np.abs(x).max())
        x = (0.7 * x / peak if peak > 0 else x).astype(np.float32)
        out.append(TransferInput(f"speech_{i}", "speech", x))
    return out


def _knock(sample_rate: int, freq: float, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A knock: a decaying low resonance plus a 2 ms noise click at the start: ``[T]``."""
    n = int(5 * decay * sample_rate)
    t = np.arange(n) / sample_rate
    body = np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)
    click = rng.standard_normal(n) * np.exp(-t / 0.002)
    return (0.6 * body + 0.4 * click).astype(np.float32)


def taps_set(sample_rate: int, duration: float = 1.5, seed: int = 0) -> list[TransferInput]:
    """Clicks, knocks and a fast roll at known times (onsets at least 90 ms apart)."""
    rng = np.random.default_rng(seed)
    n = int(duration * sample_rate)
    out = []
    specs = [
        ("clicks", [0.10, 0.45, 0.80, 1.15], lambda: _knock(sample_rate, 2500.0, 0.003, rng)),
        ("knocks", [0.12, 0.40, 0.65, 1.05], lambda: _knock(sample_rate, 220.0, 0.05, rng)),
        ("roll", [0.10 + 0.11 * k for k in range(11)], lambda: _knock(sample_rate, 600.0, 0.02, rng)),
    ]
    for name, times, make in specs:
        x = np.zeros(n, np.float32)
        for i, t0 in enumerate(times):
            ev = make() * (1.0 if i % 2 == 0 else 0.7)
            k = int(t0 * sample_rate)
            m = min(len(ev), n - k)
            x[k : k + m] += ev[:m]
        x *= 0.8 / max(float(np.abs(x).max()), 1e-9)
        out.append(TransferInput(f"taps_{name}", "taps", x, np.asarray(times, np.float64)))
    return out


def _note(sample_rate: int, f0: float, dur: float) -> np.ndarray:
    """A plucked harmonic note (5 partials, 5 ms attack, exponential decay, 10 ms release): ``[T]``."""
    t = np.arange(int(dur * sample_rate)) / sample_rate
    env = np.minimum(t / 0.005, 1.0) * np.exp(-t / (dur / 4)) * np.clip((dur - t) / 0.01, 0.0, 1.0)
    tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6) if f0 * h < sample_rate / 2.2)
    return (env * tone).astype(np.float32)


def music_set(sample_rate: int, duration: float = 1.5) -> list[TransferInput]:
    """An exponential chirp (onsets detected), and two arpeggios whose note onsets are known."""
    n = int(duration * sample_rate)
    t = np.arange(n) / sample_rate
    f0, f1 = 110.0, 4000.0
    k = np.log(f1 / f0) / duration
    env = np.minimum(t / 0.01, 1.0) * np.minimum((duration - t) / 0.05, 1.0)
    chirp = (0.6 * env * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)).astype(np.float32)
    out = [TransferInput("music_chirp", "music", chirp)]
    for name, root, step in (("arpeggio_up", 220.0, 0.18), ("arpeggio_wide", 130.81, 0.25)):
        x = np.zeros(n, np.float32)
        times = []
        semis = [0, 4, 7, 12, 16, 19, 24]
        pos, i = 0.05, 0
        while pos + step <= duration - 0.05:
            note = _note(sample_rate, root * 2 ** (semis[i % len(semis)] / 12), step)
            kk = int(pos * sample_rate)
            m = min(len(note), n - kk)
            x[kk : kk + m] += note[:m]
            times.append(pos)
            pos += step
            i += 1
        x *= 0.7 / max(float(np.abs(x).max()), 1e-9)
        out.append(TransferInput(f"music_{name}", "music", x, np.asarray(times, np.float64)))
    return out


def transfer_inputs(
    sample_rate: int, speech_cache: str | Path | None = None, speech: bool = True
) -> list[TransferInput]:
    """All scorecard inputs: speech (unless ``speech=False``), taps, music."""
    items: list[TransferInput] = []
    if speech:
        items += speech_set(speech_cache or default_speech_cache(), sample_rate)
    return items + taps_set(sample_rate) + music_set(sample_rate)
