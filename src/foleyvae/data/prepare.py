"""Turn folders of sounds into a training dataset: decoded, resampled, trimmed one-shots in memory-mappable shards.

Layout of a dataset folder (format version :data:`FORMAT_VERSION`)::

    DATASET/
      dataset.json        format name + version, sample rate, channels, options, per-label and per-split counts
      manifest.jsonl      one line per sound: id, file, path, label, split, shard, offset, length (samples),
                          duration (s), sample_rate, source key (size, mtime_ns) for incremental re-runs
      shards/shard-00000.npy   float32 [C, T] arrays: the sounds of the manifest, concatenated end to end

Pad or pack? **Pack.** Every sound is stored once, trimmed, as its own segment (no padding on disk), however short
(a 0.05 s tick is kept: RAVE's preprocessor drops files shorter than its ~6 s chunk, which throws away most Foley
one-shots). The training dataset (``dataset.py``) builds each crop by packing several one-shots *of the same label*
one after another with short random gaps, so a 0.74 s crop of 0.16 s footsteps holds 3-4 steps instead of one
step and 80 % zeros: the model sees onsets and decays, not padding, and the crop keeps a single material label.
Storing segments rather than fixed crops keeps this choice at training time (crop length can change without
re-preparing).

float32 (not int16) because loudness normalisation may push peaks past full scale and the shards are small
(2 min of mono 44.1 kHz audio is 23 MB).

Leading/trailing silence is trimmed against a threshold relative to the file's peak (``silence_db``, default
-60 dB), keeping :data:`PRE_ROLL_S` before the first sample above it so that attacks are intact, and
:data:`POST_ROLL_S` after the last.

Re-running on the same input is incremental: a file whose (path, size, mtime) is already in the dataset is copied
from the old shards without decoding. Re-running with other options (audio or split) is refused, naming them,
unless ``force`` rebuilds the dataset: a dataset never changes its split or audio behind a run that trains on it.
Small datasets (under :data:`SMALL_DATASET_FILES` files or :data:`SMALL_DATASET_SECONDS` s) and a missing valid
split are reported as warnings with the way forward. The new dataset is always built in a temporary
folder beside the target and swapped in with one atomic exchange (two renames where the OS has none), so a crash,
Ctrl-C or SIGKILL leaves the previous dataset or the new one, never a mix; the next run removes what a killed run
left beside the dataset. Decoding workers die with the prepare process (Linux), so a killed run leaves no orphans.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.audio import io as audio_io
from foleyvae.errors import FoleyError
from foleyvae.utils.atomic import remove_dead_staging, staging_dir, swap_in_dir

__all__ = [
    "DATASET_FORMAT",
    "FORMAT_VERSION",
    "DatasetFormatError",
    "PrepareOptions",
    "PrepareReport",
    "assign_splits",
    "find_audio",
    "read_fixed_valid",
    "k_weighted_loudness",
    "prepare_dataset",
    "read_dataset_info",
    "read_manifest",
    "trim_silence",
]

DATASET_FORMAT = "foleyvae-dataset"
FORMAT_VERSION = 1
INFO_FILE = "dataset.json"
MANIFEST_FILE = "manifest.jsonl"
SHARD_DIR = "shards"
PRE_ROLL_S = 0.005
POST_ROLL_S = 0.010
SHARD_SAMPLES = 16 * 1024 * 1024  # ~64 MB of float32 per shard (mono)
# Below these a model trained from scratch learns little (issue 26: 106 files / 12 min collapsed to 2 latent
# dimensions); fine-tuning a bundled model is the way forward for smaller folders.
SMALL_DATASET_FILES = 50
SMALL_DATASET_SECONDS = 30.0
# The CLI flag of each prepare option (for messages).
OPTION_FLAGS = {
    "sample_rate": "--sample-rate",
    "channels": "--channels",
    "silence_db": "--silence-db",
    "normalize": "--normalize-lufs/--peak-normalize",
    "target_db": "--normalize-lufs/--peak-normalize value",
    "valid_fraction": "--valid-fraction",
    "seed": "--seed",
    "fixed_valid": "--fixed-valid",
}


class DatasetFormatError(FoleyError):
    """A folder is not a prepared dataset, or one of another format version."""


@dataclass(frozen=True)
class PrepareOptions:
    """What ``prepare`` does to each file. Changing any audio option invalidates the incremental cache."""

    sample_rate: int = 44100
    channels: int = 1
    silence_db: float = -60.0
    normalize: str = "none"  # "none" | "peak" | "lufs"
    target_db: float = -1.0  # dBFS peak for "peak", LUFS for "lufs"
    valid_fraction: float = 0.1
    seed: int = 0
    # "ROOT/file" keys (ROOT: the input folder's name, file: its path below it) that always go to valid: a
    # fixed comparison set that survives adding files (see read_fixed_valid).
    fixed_valid: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 8000 <= self.sample_rate <= 192000:
            raise FoleyError(f"--sample-rate must be in 8000..192000 Hz, got {self.sample_rate}")
        if not 1 <= self.channels <= 8:
            raise FoleyError(f"--channels must be in 1..8, got {self.channels}")
        if not -120.0 <= self.silence_db < 0.0:
            raise FoleyError(f"--silence-db must be in -120..0 dB, got {self.silence_db}")
        if self.normalize not in ("none", "peak", "lufs"):
            raise FoleyError(f"normalize must be none, peak or lufs, got {self.normalize!r}")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise FoleyError(f"--valid-fraction must be in [0, 1), got {self.valid_fraction}")

    def audio_key(self) -> dict[str, Any]:
        """The options that change the stored audio (not the split)."""
        return {
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "silence_db": self.silence_db,
            "normalize": self.normalize,
            "target_db": self.target_db,
        }


@dataclass
class PrepareReport:
    """Summary of one ``prepare`` run."""

    out_dir: Path
    n_files: int = 0
    n_new: int = 0
    n_reused: int = 0
    n_removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    label_counts: dict[str, int] = field(default_factory=dict)
    split_counts: dict[str, int] = field(default_factory=dict)
    total_seconds: float = 0.0
    shortest: tuple[str, float] = ("", 0.0)
    longest: tuple[str, float] = ("", 0.0)
    warnings: list[str] = field(default_factory=list)  # what stands in the way of training, with what to do
    fixed_valid: tuple[int, int] = (0, 0)  # (found, missing) files of the --fixed-valid list

    def summary(self) -> str:
        lines = [
            f"{self.out_dir}: {self.n_files} files ({self.n_new} new, {self.n_reused} unchanged, "
            f"{self.n_removed} removed), {self.total_seconds:.1f} s of audio",
            f"  shortest {self.shortest[1] * 1000:.0f} ms ({self.shortest[0]}), "
            f"longest {self.longest[1]:.2f} s ({self.longest[0]})",
            "  splits: " + ", ".join(f"{k} {v}" for k, v in sorted(self.split_counts.items())),
        ]
        if sum(self.fixed_valid):
            lines.append(f"  fixed valid set: {self.fixed_valid[0]} files kept in valid")
        width = max((len(k) for k in self.label_counts), default=5)
        lines += [f"  {k:{width}s} {v:5d}" for k, v in sorted(self.label_counts.items())]
        if self.failed:
            lines.append(f"  skipped {len(self.failed)} unreadable file(s)")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- signal helpers


def trim_silence(audio: np.ndarray, sample_rate: int, silence_db: float = -60.0) -> tuple[np.ndarray, int]:
    """Cut leading/trailing silence of ``audio [C, T]``; returns (trimmed [C, T'], start sample in the input).

    Silence = every channel below ``silence_db`` relative to the file's peak. Keeps PRE_ROLL_S before the first
    loud sample (so the onset is intact) and POST_ROLL_S after the last. All-zero audio returns length 0.
    """
    level = np.abs(audio).max(axis=0)
    peak = float(level.max()) if level.size else 0.0
    if peak <= 0.0:
        return audio[:, :0], 0
    loud = np.flatnonzero(level > peak * 10.0 ** (silence_db / 20.0))
    start = max(0, int(loud[0]) - int(PRE_ROLL_S * sample_rate))
    end = min(audio.shape[1], int(loud[-1]) + 1 + int(POST_ROLL_S * sample_rate))
    return np.ascontiguousarray(audio[:, start:end]), start


def _biquad(b: Sequence[float], a: Sequence[float], x: np.ndarray) -> np.ndarray:
    from scipy.signal import lfilter

    return np.asarray(lfilter(b, a, x, axis=-1))


def k_weighted_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Ungated K-weighted loudness in LUFS of ``audio [C, T]`` (ITU-R BS.1770 filters, channel weights 1).

    Ungated on purpose: gating works on 400 ms blocks, longer than many trimmed one-shots. The two K filters are
    designed for any rate from the standard's analog parameters (high shelf +4 dB at ~1.68 kHz, Q 0.707; high
    pass at ~38 Hz, Q 0.5) with the RBJ biquad formulas.
    """
    fs = float(sample_rate)
    # Stage 1: high shelf.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b1 = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    a1 = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # Stage 2: high pass (RLB).
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    b2 = [1.0, -2.0, 1.0]
    a2 = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    y = _biquad(b2, a2, _biquad(b1, a1, audio.astype(np.float64)))
    power = float(np.mean(y**2, axis=-1).sum())
    return -0.691 + 10.0 * math.log10(max(power, 1e-20))


def _normalize(audio: np.ndarray, sample_rate: int, mode: str, target_db: float) -> np.ndarray:
    if mode == "none":
        return audio
    peak = float(np.abs(audio).max())
    if peak <= 0.0:
        return audio
    if mode == "peak":
        gain = 10.0 ** (target_db / 20.0) / peak
    else:
        gain = 10.0 ** ((target_db - k_weighted_loudness(audio, sample_rate)) / 20.0)
        gain = min(gain, 0.999 / peak)  # never clip: a loud short click cannot reach the target anyway
    return (audio * gain).astype(np.float32)


def _process_file(path: str, options: PrepareOptions) -> tuple[np.ndarray, float, int]:
    """Decode -> channels -> resample -> trim -> normalise. Returns (audio [C, T] float32, source seconds, start)."""
    audio, sr = audio_io.load(path, sample_rate=options.sample_rate, channels=options.channels)
    source_seconds = audio.shape[1] / sr
    trimmed, start = trim_silence(audio, sr, options.silence_db)
    if trimmed.shape[1] == 0:
        raise audio_io.AudioError(f"{path}: digital silence (nothing above {options.silence_db} dB)")
    return _normalize(trimmed, sr, options.normalize, options.target_db), source_seconds, start


def _worker(args: tuple[int, str, PrepareOptions]) -> tuple[int, np.ndarray | None, float, int, str]:
    """Process-pool entry point; errors come back as text so one bad file never stops the run."""
    i, path, options = args
    try:
        audio, secs, start = _process_file(path, options)
        return i, audio, secs, start, ""
    except audio_io.AudioError as e:
        return i, None, 0.0, 0, str(e)
    except Exception as e:  # a decoder crash on a hostile file is reported like any unreadable file
        return i, None, 0.0, 0, f"{path}: {type(e).__name__}: {e}"


# ------------------------------------------------------------------------------------------- scanning + split


@dataclass(frozen=True)
class _Input:
    path: str  # absolute
    file: str  # relative to its root (posix), shown to users
    label: str
    size: int
    mtime_ns: int
    root: str = ""  # the name of the input folder the file was found under ("ROOT/file" keys --fixed-valid)


def find_audio(roots: Iterable[str | Path]) -> list[_Input]:
    """Every audio file under the roots (recursive, sorted), labelled by its folder relative to its root.

    A file directly in a root gets the root folder's name as label. Hidden files and folders are ignored.
    """
    out: list[_Input] = []
    seen: set[str] = set()
    for root in roots:
        r = Path(root)
        if not r.exists():
            raise FoleyError(f"{r}: no such folder")
        if r.is_file():
            files, base = [r], r.parent
        else:
            files, base = sorted(p for p in r.rglob("*") if p.is_file()), r
        for p in files:
            rel = p.relative_to(base)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if p.suffix.lower() not in audio_io.AUDIO_EXTENSIONS:
                continue
            ap = str(p.resolve())
            if ap in seen:
                continue
            seen.add(ap)
            parent = rel.parent.as_posix()
            label = parent if parent != "." else (base.resolve().name or "sounds")
            st = p.stat()
            root_name = base.resolve().name
            out.append(_Input(ap, rel.as_posix(), label, st.st_size, st.st_mtime_ns, root_name))
    return out


def _rank(seed: int, label: str, file: str) -> str:
    return hashlib.sha256(f"{seed}\0{label}\0{file}".encode()).hexdigest()


def assign_splits(
    items: Sequence[tuple[str, str]], valid_fraction: float, seed: int, fixed: Sequence[bool] | None = None
) -> list[str]:
    """``"train"``/``"valid"`` for each ``(label, file)``, stratified by label and deterministic in ``seed``.

    Per label with n files: ``max(1, round(valid_fraction * n))`` go to valid when n >= 2 and valid_fraction > 0
    (so every label has a validation example), never all of them; a label with one file trains. When that leaves
    no valid file at all (every label has one file) but there are >= 2 files, the one with the smallest hash goes
    to valid, so a valid split exists whenever it can. The files picked are those with the smallest hash of (seed,
    label, file), so a file's split does not depend on list order.

    ``fixed[i]`` True puts item i in valid whatever the rest; the others are split as above among themselves, so a
    fixed comparison set stays in valid as files are added, next to the new files' own valid share.
    """
    if fixed is not None and any(fixed):
        free = [i for i in range(len(items)) if not fixed[i]]
        sub = assign_splits([items[i] for i in free], valid_fraction, seed)
        out = ["valid"] * len(items)
        for i, s in zip(free, sub, strict=True):
            out[i] = s
        return out
    by_label: dict[str, list[int]] = {}
    for i, (label, _) in enumerate(items):
        by_label.setdefault(label, []).append(i)
    out = ["train"] * len(items)
    for label, idx in by_label.items():
        n = len(idx)
        if n < 2 or valid_fraction <= 0.0:
            continue
        k = min(n - 1, max(1, round(valid_fraction * n)))
        for i in sorted(idx, key=lambda i: _rank(seed, label, items[i][1]))[:k]:
            out[i] = "valid"
    if "valid" not in out and len(items) >= 2 and valid_fraction > 0.0:
        out[min(range(len(items)), key=lambda i: _rank(seed, *items[i]))] = "valid"
    return out


def read_fixed_valid(path: str | Path) -> tuple[str, ...]:
    """The ``ROOT/file`` keys of a fixed valid set, sorted: from a text file (one key per line, ``#`` comments) or
    from a prepared dataset's ``manifest.jsonl`` (or its folder): the keys of its ``valid`` files.

    ROOT is the name of the folder given to ``prepare`` and file the sound's path below it, e.g.
    ``minetest/footsteps/wood/default_wood_footstep.1.ogg``: both stay the same when a corpus is fetched again.
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_FILE
    if not p.is_file():
        raise FoleyError(f"{p}: no such fixed-valid list (a text file of ROOT/file lines or a manifest.jsonl)")
    keys: set[str] = set()
    if p.suffix == ".jsonl":
        for e in read_manifest(p.parent):
            if e.get("split") == "valid":
                file, full = str(e["file"]), str(e["path"])
                root = str(e.get("root") or Path(full[: -len(file)] if full.endswith(file) else full).name)
                keys.add(f"{root}/{file}")
    else:
        for line in p.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                keys.add(line)
    if not keys:
        raise FoleyError(f"{p}: lists no held-out files")
    return tuple(sorted(keys))


# ------------------------------------------------------------------------------------------- dataset I/O


def read_dataset_info(root: str | Path) -> dict[str, Any]:
    """``dataset.json`` of a prepared dataset; DatasetFormatError when missing or of another format version."""
    r = Path(root)
    p = r / INFO_FILE
    if not r.is_dir():
        raise DatasetFormatError(f"{r}: no such dataset folder (run `foleyvae prepare` first)")
    if not p.is_file():
        raise DatasetFormatError(f"{r}: not a prepared dataset (no {INFO_FILE}; run `foleyvae prepare` first)")
    try:
        info = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise DatasetFormatError(f"{p}: unreadable ({e})") from None
    if not isinstance(info, dict) or info.get("format") != DATASET_FORMAT:
        raise DatasetFormatError(f"{r}: not a foleyvae dataset ({INFO_FILE} has no format {DATASET_FORMAT!r})")
    version = info.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise DatasetFormatError(
            f"{r}: dataset format version {version} is {'newer than' if newer else 'not'} the supported "
            f"version {FORMAT_VERSION}; {'upgrade foleyvae or ' if newer else ''}re-run prepare with --force"
        )
    return info


def read_manifest(root: str | Path) -> list[dict[str, Any]]:
    """The manifest lines of a prepared dataset (after checking its format)."""
    read_dataset_info(root)
    p = Path(root) / MANIFEST_FILE
    if not p.is_file():
        raise DatasetFormatError(f"{root}: dataset has no {MANIFEST_FILE}; re-run prepare with --force")
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


class _ShardWriter:
    """Appends ``[C, T]`` segments and writes ``shards/shard-NNNNN.npy`` files of about SHARD_SAMPLES each."""

    def __init__(self, folder: Path, channels: int, shard_samples: int = SHARD_SAMPLES) -> None:
        self.folder, self.channels, self.shard_samples = folder, channels, shard_samples
        self.folder.mkdir(parents=True, exist_ok=True)
        self._parts: list[np.ndarray] = []
        self._filled = 0
        self._index = 0

    @property
    def shard_name(self) -> str:
        return f"{SHARD_DIR}/shard-{self._index:05d}.npy"

    def add(self, audio: np.ndarray) -> tuple[str, int]:
        """Store one segment; returns (shard file relative to the dataset, offset in samples)."""
        if self._filled and self._filled + audio.shape[1] > self.shard_samples:
            self.flush()
        where = (self.shard_name, self._filled)
        self._parts.append(np.ascontiguousarray(audio, dtype=np.float32))
        self._filled += audio.shape[1]
        return where

    def flush(self) -> None:
        if not self._parts:
            return
        data = np.concatenate(self._parts, axis=1)
        np.save(self.folder.parent / self.shard_name, data)
        self._parts, self._filled = [], 0
        self._index += 1


# ------------------------------------------------------------------------------------------- prepare


def prepare_dataset(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    options: PrepareOptions | None = None,
    workers: int = 0,
    force: bool = False,
    progress: Callable[[Iterable[object], int], Iterable[object]] | None = None,
    warn: Callable[[str], None] | None = None,
) -> PrepareReport:
    """Prepare ``inputs`` (folders or files) into the dataset folder ``out_dir``; see the module docstring.

    Args:
        workers: decoding processes; 0 decodes in this process (no pool start-up cost).
        force: rebuild from scratch and replace whatever is at ``out_dir`` (even another format version).
        progress: wraps the iterable of decoded files (e.g. a progress bar); called as progress(iterable, total).
        warn: called with one line per unreadable file (default: print to stderr).
    Raises:
        FoleyError: no audio files at all, every file unreadable, out_dir is not a dataset (without force).
    """
    opts = options or PrepareOptions()
    out = Path(out_dir)
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    found = find_audio(inputs)
    if not found:
        raise FoleyError(f"no audio files (.wav/.flac/.ogg/.mp3/.aiff) under {', '.join(str(i) for i in inputs)}")

    old_entries: dict[tuple[str, int, int], dict[str, Any]] = {}
    if out.exists() and not force:
        if out.is_file():
            raise FoleyError(f"{out}: is a file, not a dataset folder")
        if any(out.iterdir()):
            info = read_dataset_info(out)  # refuses other format versions and non-dataset folders
            _refuse_changed_options(out, info, opts)
            for e in read_manifest(out):
                k = (str(e["path"]), int(e["size"]), int(e["mtime_ns"]))
                old_entries[k] = e

    report = PrepareReport(out)
    remove_dead_staging(out)
    staging = staging_dir(out, "prepare")
    _chmod_like_mkdir(staging)
    try:
        results = _build(found, old_entries, out, staging, opts, workers, progress, warn, report)
        swap_in_dir(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    report.n_removed = len({k for k in old_entries} - {(i.path, i.size, i.mtime_ns) for i in found})
    report.warnings += _size_warnings(report)
    del results
    return report


def _refuse_changed_options(out: Path, info: dict[str, Any], opts: PrepareOptions) -> None:
    """An existing dataset is updated only with the options it was made with; others need --force (named)."""
    old = info.get("options", {})
    saved = {**old.get("audio", {}), **{k: v for k, v in old.items() if k != "audio"}}
    saved.setdefault("fixed_valid", [])  # datasets from before --fixed-valid had none
    now = json.loads(json.dumps(asdict(opts)))  # tuples as lists, like the saved JSON
    diffs = [f"{OPTION_FLAGS.get(k, k)} {saved[k]} (now {now[k]})" for k in now if k in saved and saved[k] != now[k]]
    if diffs:
        raise FoleyError(
            f"{out}: was prepared with other options: {', '.join(diffs)}; re-run with --force to rebuild it with "
            "the new ones (a run resumed on it would then see other audio or another split), or use another -o"
        )


def _size_warnings(report: PrepareReport) -> list[str]:
    """What makes this dataset hard to train on, each with the way forward."""
    out = []
    n, secs = report.n_files, report.total_seconds
    if n < SMALL_DATASET_FILES or secs < SMALL_DATASET_SECONDS:
        out.append(
            f"a small dataset ({n} file{'s' if n != 1 else ''}, {secs:.1f} s of audio): a model trained from scratch "
            f"wants {SMALL_DATASET_FILES}+ files and {SMALL_DATASET_SECONDS:.0f}+ s; fine-tune a bundled model "
            "instead (foleyvae train --init-from foley --preset foley-small ...)"
        )
    if report.split_counts.get("valid", 0) == 0:
        why = "one file" if n < 2 else "--valid-fraction 0"
        out.append(
            f"no 'valid' split ({why}): training will validate on the training files, which measures fit, not "
            "generalisation (add files, or --valid-fraction 0.1 with --force)"
        )
    if report.fixed_valid[1]:
        out.append(
            f"{report.fixed_valid[1]} file(s) of the --fixed-valid list are not among the inputs (pass the same "
            "corpus folders, named as before: keys are ROOT/file)"
        )
    return out


def _build(
    found: list[_Input],
    old_entries: dict[tuple[str, int, int], dict[str, Any]],
    out: Path,
    staging: Path,
    opts: PrepareOptions,
    workers: int,
    progress: Callable[[Iterable[object], int], Iterable[object]] | None,
    warn: Callable[[str], None],
    report: PrepareReport,
) -> int:
    """Unchanged files copied from ``out``, new ones decoded, into ``staging``; then the manifest and info."""
    writer = _ShardWriter(staging / SHARD_DIR, opts.channels)
    entries: list[dict[str, Any]] = []

    def record(i: int, audio: np.ndarray, source_seconds: float, start: int, reused: bool) -> None:
        item = found[i]
        shard, offset = writer.add(audio)
        entries.append(
            {
                "file": item.file,
                "root": item.root,
                "path": item.path,
                "label": item.label,
                "size": item.size,
                "mtime_ns": item.mtime_ns,
                "shard": shard,
                "offset": offset,
                "length": int(audio.shape[1]),
                "duration": audio.shape[1] / opts.sample_rate,
                "source_duration": source_seconds,
                "trim_start": start,
                "sample_rate": opts.sample_rate,
                "channels": opts.channels,
            }
        )
        if reused:
            report.n_reused += 1
        else:
            report.n_new += 1

    todo = _copy_unchanged(found, old_entries, out, record)
    _decode_new(found, todo, opts, workers, progress, warn, report, record)
    writer.flush()
    if not entries:
        raise FoleyError(f"none of the {len(found)} audio files could be read ({len(report.failed)} unreadable)")
    _write_manifest_and_info(found, entries, staging, opts, report)
    return len(entries)


_Record = Callable[[int, np.ndarray, float, int, bool], None]


def _copy_unchanged(
    found: list[_Input], old_entries: dict[tuple[str, int, int], dict[str, Any]], out: Path, record: _Record
) -> list[int]:
    """Unchanged files, copied from the old shards (memory-mapped), never decoded again; returns the others."""
    old_shards: dict[str, np.ndarray] = {}
    todo: list[int] = []
    for i, item in enumerate(found):
        e = old_entries.get((item.path, item.size, item.mtime_ns))
        if e is None:
            todo.append(i)
            continue
        shard = str(e["shard"])
        if shard not in old_shards:
            old_shards[shard] = np.load(out / shard, mmap_mode="r")
        off, n = int(e["offset"]), int(e["length"])
        audio = np.array(old_shards[shard][:, off : off + n])
        record(i, audio, float(e["source_duration"]), int(e["trim_start"]), True)
    return todo


def _decode_new(
    found: list[_Input],
    todo: list[int],
    opts: PrepareOptions,
    workers: int,
    progress: Callable[[Iterable[object], int], Iterable[object]] | None,
    warn: Callable[[str], None],
    report: PrepareReport,
    record: _Record,
) -> None:
    """Decode the files ``todo`` (in a process pool when workers > 0); unreadable ones are warned and counted."""
    jobs = [(i, found[i].path, opts) for i in todo]
    results: Iterable[tuple[int, np.ndarray | None, float, int, str]]
    pool: cf.ProcessPoolExecutor | None = None
    if workers > 0 and len(jobs) > 1:
        pool = cf.ProcessPoolExecutor(
            max_workers=min(workers, len(jobs)), initializer=_die_with_parent, initargs=(os.getpid(),)
        )
        results = pool.map(_worker, jobs, chunksize=max(1, min(8, len(jobs) // (4 * workers))))
    else:
        results = map(_worker, jobs)
    try:
        it: Iterable[Any] = progress(results, len(jobs)) if progress else results
        for res in it:
            i, audio, secs, start, err = res
            if audio is None:
                warn(f"skipped: {err}")
                report.failed.append((found[i].path, err))
                continue
            record(i, audio, secs, start, False)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _write_manifest_and_info(
    found: list[_Input], entries: list[dict[str, Any]], staging: Path, opts: PrepareOptions, report: PrepareReport
) -> None:
    """Input order, splits, ``manifest.jsonl``, the report's counts and ``dataset.json``."""
    order = {it.path: k for k, it in enumerate(found)}
    entries.sort(key=lambda e: order[str(e["path"])])
    wanted = set(opts.fixed_valid)
    fixed = [f"{e['root']}/{e['file']}" in wanted for e in entries]
    splits = assign_splits([(str(e["label"]), str(e["file"])) for e in entries], opts.valid_fraction, opts.seed, fixed)
    for k, (e, s, is_fixed) in enumerate(zip(entries, splits, fixed, strict=True)):
        e["id"] = k
        e["split"] = s
        if is_fixed:
            e["fixed_valid"] = True  # a member of the fixed comparison set (evaluate can select it)
    if wanted:
        missing = len(wanted) - sum(fixed)
        report.fixed_valid = (sum(fixed), missing)
    with open(staging / MANIFEST_FILE, "w") as f:
        for e in entries:
            f.write(json.dumps(e, sort_keys=True) + "\n")

    report.n_files = len(entries)
    report.label_counts = dict(Counter(str(e["label"]) for e in entries))
    report.split_counts = dict(Counter(str(e["split"]) for e in entries))
    report.total_seconds = float(sum(float(e["duration"]) for e in entries))
    shortest = min(entries, key=lambda e: float(e["duration"]))
    longest = max(entries, key=lambda e: float(e["duration"]))
    report.shortest = (str(shortest["file"]), float(shortest["duration"]))
    report.longest = (str(longest["file"]), float(longest["duration"]))
    split_labels: dict[str, dict[str, int]] = {}
    for e in entries:
        d = split_labels.setdefault(str(e["split"]), {})
        d[str(e["label"])] = d.get(str(e["label"]), 0) + 1
    info = {
        "format": DATASET_FORMAT,
        "format_version": FORMAT_VERSION,
        "sample_rate": opts.sample_rate,
        "channels": opts.channels,
        "dtype": "float32",
        "n_files": len(entries),
        "total_seconds": report.total_seconds,
        "labels": dict(sorted(report.label_counts.items())),
        "splits": {k: dict(sorted(v.items())) for k, v in sorted(split_labels.items())},
        "options": {"audio": opts.audio_key(), **{k: v for k, v in asdict(opts).items() if k not in opts.audio_key()}},
        "shards": sorted({str(e["shard"]) for e in entries}),
    }
    (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: the worker gets SIGKILL when the prepare process dies (Linux ``PR_SET_PDEATHSIG``).

    Without it a prepare killed mid-run leaves its workers blocked on the task queue forever (they hold the
    queue's pipe open themselves, so they never see EOF).
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    # The parent died before the signal was armed: this worker was already handed to another parent. (Not
    # os.kill(parent_pid, 0): a killed parent that its own parent has not reaped yet is a zombie, which still
    # "exists"; a run beside a second copy of the test suite left two workers behind that way.)
    if os.getppid() != parent_pid:
        os._exit(1)


def _chmod_like_mkdir(path: Path) -> None:
    """mkdtemp creates 0700 folders; give the final folder the permissions a plain mkdir would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
