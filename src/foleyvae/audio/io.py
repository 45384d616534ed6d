"""Audio file I/O: load, resample, mix down and save. The only module that imports soundfile and soxr.

Arrays here are numpy ``float32`` of shape ``[C, T]`` (channels first, like the model tensors).
Every failure raises :class:`AudioError` with a one-line message naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foleyvae.errors import FoleyError, first_line
from foleyvae.utils.atomic import TMP_PREFIX, _fsync_dir, atomic_path

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioError",
    "AudioInfo",
    "DecodeLimits",
    "check_limits",
    "info",
    "load",
    "resample",
    "save",
    "to_channels",
    "validate",
]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc")
_SAVE_FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24"), ".ogg": ("OGG", "VORBIS")}
MAX_SAMPLE_RATE = 768000
MAX_CHANNELS = 64


class AudioError(FoleyError, ValueError):
    """An audio file cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds for decoding files from untrusted sources (the studio's uploads): a compressed file of a few hundred
    KB can hold hours of many-channel audio (a 795 KB FLAC held 1000 s x 8 ch x 96 kHz = 3 GB of float32).

    The header is checked first (:func:`check_limits`), then decoding goes block by block and stops as soon as the
    decoded frames pass the limit, so a header that understates its length cannot get past it either.
    """

    max_seconds: float = 600.0
    max_channels: int = 8
    max_sample_rate: int = 192000
    block_frames: int = 65536

    def max_frames(self, sample_rate: int) -> int:
        return int(self.max_seconds * sample_rate)


def _sf():  # type: ignore[no-untyped-def]
    import soundfile

    return soundfile


def info(path: str | Path) -> AudioInfo:
    """Header information without decoding the samples."""
    p = Path(path)
    _check_readable(p)
    try:
        i = _sf().info(str(p))
    except Exception as e:
        raise AudioError(f"{p}: not a readable audio file ({first_line(e)})") from None
    return AudioInfo(int(i.samplerate), int(i.channels), int(i.frames))


def _check_readable(p: Path) -> None:
    if not p.exists():
        raise AudioError(f"{p}: file not found")
    if p.is_dir():
        raise AudioError(f"{p}: is a folder, not an audio file")
    if p.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{p}: unsupported format {p.suffix or '(no extension)'!r}; supported: {', '.join(AUDIO_EXTENSIONS)}"
        )
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: empty file (0 bytes)")


def load(
    path: str | Path,
    sample_rate: int | None = None,
    channels: int | None = None,
    limits: DecodeLimits | None = None,
) -> tuple[np.ndarray, int]:
    """Decode an audio file.

    Args:
        path: wav/flac/ogg/mp3/aiff file.
        sample_rate: resample to this rate (soxr, high quality) if given.
        channels: 1 mixes down to mono, 2 duplicates mono / keeps stereo; None keeps the file's channels.
        limits: for untrusted files: checked on the header, then while decoding block by block.
    Returns:
        (audio ``[C, T]`` float32 in [-1, 1]-ish, sample_rate).
    Raises:
        AudioError: missing, empty, corrupt, unsupported, zero-length or non-finite audio.
    """
    p = Path(path)
    _check_readable(p)
    if limits is not None:
        audio, sr = _load_limited(p, limits, channels)
        if sample_rate is not None and sample_rate != sr:
            return resample(audio, sr, sample_rate), sample_rate
        return audio, sr
    try:
        data, sr = _sf().read(str(p), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioError(f"{p}: cannot decode audio ({first_line(e)})") from None
    if sr <= 0 or sr > MAX_SAMPLE_RATE:
        raise AudioError(f"{p}: absurd sample rate {sr} Hz")
    if data.shape[1] < 1 or data.shape[1] > MAX_CHANNELS:
        raise AudioError(f"{p}: unsupported channel count {data.shape[1]}")
    if data.shape[0] == 0:
        raise AudioError(f"{p}: contains no samples (zero length)")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise AudioError(f"{p}: contains {bad} NaN/inf samples")
    audio = np.ascontiguousarray(data.T)
    if channels is not None:
        audio = to_channels(audio, channels)
    if sample_rate is not None and sample_rate != sr:
        audio = resample(audio, int(sr), sample_rate)
        sr = sample_rate
    return audio, int(sr)


def check_limits(path: str | Path, limits: DecodeLimits) -> AudioInfo:
    """Refuse a file whose header (rate, channels, frames) is over ``limits``, before decoding a sample."""
    p = Path(path)
    _check_readable(p)
    try:
        raw = _sf().info(str(p))
    except Exception as e:
        raise AudioError(f"{p}: cannot decode audio ({first_line(e)})") from None
    i = AudioInfo(int(raw.samplerate), int(raw.channels), int(raw.frames))
    if not 0 < i.sample_rate <= limits.max_sample_rate:
        raise AudioError(f"{p}: sample rate {i.sample_rate} Hz is over the {limits.max_sample_rate} Hz limit")
    if not 0 < i.channels <= limits.max_channels:
        raise AudioError(f"{p}: {i.channels} channels; at most {limits.max_channels} are accepted")
    if i.frames > limits.max_frames(i.sample_rate):
        raise AudioError(f"{p}: {i.duration:.0f} s long; at most {limits.max_seconds:g} s are accepted")
    return i


def _blocks(p: Path, limits: DecodeLimits) -> Iterator[tuple[np.ndarray, int]]:
    """Decode ``p`` in blocks ``[n, C]`` float32 (with the rate), refusing past ``limits`` while decoding."""
    i = check_limits(p, limits)
    cap = limits.max_frames(i.sample_rate)
    done = 0
    try:
        with _sf().SoundFile(str(p)) as f:
            while True:
                block = f.read(limits.block_frames, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                done += block.shape[0]
                if done > cap:  # the header understated the length
                    raise AudioError(f"{p}: longer than the {limits.max_seconds:g} s limit")
                if not np.isfinite(block).all():
                    raise AudioError(f"{p}: contains NaN/inf samples")
                yield block, i.sample_rate
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(f"{p}: cannot decode audio ({first_line(e)})") from None
    if done == 0:
        raise AudioError(f"{p}: contains no samples (zero length)")


def validate(path: str | Path, limits: DecodeLimits) -> AudioInfo:
    """Decode the whole file block by block without keeping it (memory: one block); returns its real size.

    Raises:
        AudioError: over the limits (header or decoded length), corrupt, empty or non-finite audio.
    """
    p = Path(path)
    _check_readable(p)
    frames, sr, ch = 0, 0, 0
    for block, rate in _blocks(p, limits):
        frames += block.shape[0]
        sr, ch = rate, block.shape[1]
    return AudioInfo(sr, ch, frames)


def _load_limited(p: Path, limits: DecodeLimits, channels: int | None) -> tuple[np.ndarray, int]:
    """Block-wise decode (mixed to ``channels`` per block, so many-channel files never sit whole in memory)."""
    parts: list[np.ndarray] = []
    sr = 0
    for block, rate in _blocks(p, limits):
        sr = rate
        a = np.ascontiguousarray(block.T)
        parts.append(to_channels(a, channels) if channels is not None else a)
    return np.concatenate(parts, axis=1), int(sr)


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """``[C, T]`` -> ``[channels, T]``: mean for mono, duplicate/truncate otherwise."""
    if audio.ndim != 2:
        raise AudioError(f"expected audio [C, T], got shape {audio.shape}")
    c = audio.shape[0]
    if channels == c:
        return audio
    if channels == 1:
        return audio.mean(axis=0, keepdims=True).astype(np.float32)
    if c == 1:
        return np.repeat(audio, channels, axis=0)
    if c > channels:
        return np.ascontiguousarray(audio[:channels])
    raise AudioError(f"cannot map {c} channels to {channels}")


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample ``[C, T]`` float32 with soxr (VHQ)."""
    if from_rate == to_rate:
        return audio
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"invalid sample rates {from_rate} -> {to_rate}")
    import soxr

    out = soxr.resample(np.ascontiguousarray(audio.T, dtype=np.float32), from_rate, to_rate, quality="VHQ")
    out = np.asarray(out, dtype=np.float32)
    if out.ndim == 1:
        out = out[:, None]
    return np.ascontiguousarray(out.T)


def save(
    path: str | Path, audio: np.ndarray, sample_rate: int, overwrite: bool = True, subtype: str | None = None
) -> Path:
    """Write ``[C, T]`` (or ``[T]``) float audio to .wav (32-bit float), .flac (24-bit) or .ogg (Vorbis, lossy: for
    listening pages), atomically.

    ``subtype``: ``"PCM_24"`` writes a .wav as 24-bit PCM (clipped to full scale; readers such as sox take its
    header without the warning they give float WAVs).

    Raises AudioError for an unknown extension, non-finite samples, or an existing file with overwrite=False.
    """
    p = Path(path)
    fmt = _SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise AudioError(f"{p}: can only write {', '.join(_SAVE_FORMATS)}")
    if p.exists() and not overwrite:
        raise AudioError(f"{p}: already exists (use --force to overwrite)")
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[0] > MAX_CHANNELS:
        raise AudioError(f"{p}: expected audio [C, T], got shape {a.shape}")
    if not np.isfinite(a).all():
        raise AudioError(f"{p}: refusing to write NaN/inf samples")
    if not 0 < sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{p}: invalid sample rate {sample_rate}")
    if subtype is not None:
        if fmt[0] == "OGG":
            raise AudioError(f"{p}: an .ogg file is Vorbis; subtype applies to .wav and .flac")
        if subtype not in ("PCM_16", "PCM_24", "FLOAT"):
            raise AudioError(f"{p}: subtype must be PCM_16, PCM_24 or FLOAT, got {subtype!r}")
        fmt = (fmt[0], subtype)
    if fmt[1].startswith("PCM") or fmt[0] == "OGG":
        a = np.clip(a, -1.0, 1.0)
    with atomic_path(p) as tmp:
        try:
            _sf().write(str(tmp), a.T, sample_rate, format=fmt[0], subtype=fmt[1])
        except Exception as e:
            raise AudioError(f"{p}: cannot write audio ({first_line(e)})") from None
    return p


class StreamWriter:
    """Incremental, lossless writer of a .wav (32-bit float) or .flac (24-bit) file, atomic on :meth:`close`.

    Blocks are ``[C, n]`` float32. The samples go to a temporary file beside ``path`` that is fsynced and renamed
    onto ``path`` when closed; :meth:`abort` (or an exception inside ``with``) deletes it. Not for the audio
    callback: call it from a writer thread.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int, overwrite: bool = True) -> None:
        import os
        import tempfile

        self.path = Path(path)
        fmt = _SAVE_FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise AudioError(f"{self.path}: can only write {', '.join(_SAVE_FORMATS)}")
        if self.path.exists() and not overwrite:
            raise AudioError(f"{self.path}: already exists (use --force to overwrite)")
        if not 0 < sample_rate <= MAX_SAMPLE_RATE or not 0 < channels <= MAX_CHANNELS:
            raise AudioError(f"{self.path}: invalid sample rate {sample_rate} or channel count {channels}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=TMP_PREFIX + self.path.name + ".", suffix=self.path.suffix, dir=self.path.parent
        )
        os.close(fd)
        self._tmp = Path(tmp)
        self.channels = channels
        self.frames = 0
        self._clip = fmt[0] == "FLAC"
        try:
            self._file = _sf().SoundFile(
                str(self._tmp), "w", samplerate=sample_rate, channels=channels, format=fmt[0], subtype=fmt[1]
            )
        except Exception as e:
            self._tmp.unlink(missing_ok=True)
            raise AudioError(f"{self.path}: cannot write audio ({first_line(e)})") from None

    def write(self, block: np.ndarray) -> None:
        """Append ``[C, n]`` samples (non-finite samples are written as 0)."""
        a = np.asarray(block, dtype=np.float32)
        if a.ndim != 2 or a.shape[0] != self.channels:
            raise AudioError(f"{self.path}: expected a block [{self.channels}, n], got shape {a.shape}")
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        if self._clip:
            a = np.clip(a, -1.0, 1.0)
        self._file.write(a.T)
        self.frames += a.shape[1]

    def close(self) -> Path:
        """Finish the file and move it into place; returns the path."""
        import os

        if self._file.closed:
            return self.path
        self._file.close()
        with open(self._tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self._tmp, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Discard what was written."""
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
