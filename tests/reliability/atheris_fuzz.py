"""Coverage-guided fuzzing (atheris / libFuzzer) of the parsers a user or a browser can feed.

Run one target per process (libFuzzer owns the process and exits when done)::

    python tests/reliability/atheris_fuzz.py TARGET -runs=N -artifact_prefix=DIR/ [other libFuzzer flags]

Targets (each input is libFuzzer's byte string):

* ``audio``: the bytes as a .wav/.flac/.ogg/.mp3 file (the first byte picks the suffix) -> ``audio.io.load``;
* ``wav_header``: a RIFF/WAVE header built from the bytes (absurd rates, channel counts, declared sizes) + payload;
* ``config``: the bytes as YAML -> ``config.load_config``, and as ``key=value`` overrides -> ``apply_overrides``;
* ``controls``: a JSON-shaped studio control message built from the bytes -> ``studio.security.validate_controls``;
* ``checkpoint``: a valid checkpoint with bytes overwritten/truncated -> ``checkpoints.load_checkpoint``;
* ``export``: the bundled-model loader on a corrupted copy of a small exported file with its ``.sha256``.

Allowed outcome per input: a result, or the project's one-line :class:`FoleyError`. Anything else (another
exception type, a multi-line message, a crash) is a finding: libFuzzer prints it and writes the input to
``artifact_prefix``. At exit libFuzzer prints ``Done N runs``; the tests parse it to report the count.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris
import numpy  # noqa: F401  (heavy dependencies load uninstrumented: coverage is wanted in foleyvae only)
import soundfile  # noqa: F401
import torch
import yaml  # noqa: F401

with atheris.instrument_imports(include=["foleyvae"], enable_loader_override=False):
    from foleyvae.audio import io as aio
    from foleyvae.checkpoints import load_checkpoint
    from foleyvae.config import apply_overrides, load_config, preset
    from foleyvae.errors import FoleyError
    from foleyvae.studio.security import validate_controls
    from foleyvae.training.checkpoint import save_checkpoint

WORK = Path(tempfile.mkdtemp(prefix="foleyvae-atheris-"))
SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff")


def _one_line(e: FoleyError) -> None:
    if "\n" in str(e) or not str(e):
        raise AssertionError(f"error message is not one non-empty line: {str(e)!r}")


def _expect_clean(fn: Callable[[], object]) -> None:
    try:
        fn()
    except FoleyError as e:
        _one_line(e)


def fuzz_audio(data: bytes) -> None:
    suffix = SUFFIXES[data[0] % len(SUFFIXES)] if data else ".wav"
    p = WORK / f"in{suffix}"
    p.write_bytes(data[1:])

    def run() -> None:
        audio, sr = aio.load(p)
        assert audio.ndim == 2 and audio.shape[1] > 0 and sr > 0, (audio.shape, sr)
        assert bool((abs(audio) < float("inf")).all()), "non-finite samples came out of the loader"

    _expect_clean(run)


def fuzz_wav_header(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    sr = fdp.ConsumeIntInRange(0, 2**32 - 1)
    ch = fdp.ConsumeIntInRange(0, 0xFFFF)
    bits = fdp.PickValueInList([0, 1, 8, 12, 16, 24, 32, 64, fdp.ConsumeIntInRange(0, 0xFFFF)])
    fmt = fdp.PickValueInList([1, 3, 0, 6, 7, 0xFFFE, fdp.ConsumeIntInRange(0, 0xFFFF)])
    data_len = fdp.ConsumeIntInRange(0, 2**32 - 1)
    riff_len = fdp.ConsumeIntInRange(0, 2**32 - 1)
    payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    byte_rate = (sr * max(ch, 1) * bits // 8) & 0xFFFFFFFF
    block = (ch * bits // 8) & 0xFFFF
    head = struct.pack("<4sI4s", b"RIFF", riff_len, b"WAVE")
    head += struct.pack("<4sIHHIIHH", b"fmt ", 16, fmt, ch, sr, byte_rate, block, bits)
    head += struct.pack("<4sI", b"data", data_len)
    p = WORK / "hdr.wav"
    p.write_bytes(head + payload)
    _expect_clean(lambda: aio.load(p))


def fuzz_config(data: bytes) -> None:
    text = data.decode("utf-8", errors="surrogateescape")
    p = WORK / "cfg.yaml"
    p.write_bytes(data)
    _expect_clean(lambda: load_config(p))
    base = preset("tiny")
    _expect_clean(lambda: apply_overrides(base, text.splitlines()[:8]))


_KEYS = ["bias", "scale", "temperature", "dry_wet", "input_gain_db", "freeze", "limiter", "towards", "type", "id",
         "label", "amount"]  # fmt: skip


def _json_value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> object:
    """A JSON-shaped value built from the fuzzer's bytes: the control keys, odd numbers, nesting."""
    kind = fdp.ConsumeIntInRange(0, 7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(8)
    if kind == 3:
        return fdp.PickValueInList([fdp.ConsumeFloat(), float("nan"), float("inf"), -1e308, 0.5, 1e-320])
    if kind == 4:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 12))
    if kind == 5:
        return [_json_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 12))]
    return {
        (fdp.PickValueInList(_KEYS) if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(6)): _json_value(
            fdp, depth + 1
        )
        for _ in range(fdp.ConsumeIntInRange(0, 6))
    }


def fuzz_controls(data: bytes) -> None:
    """A control message as the page would send it (after JSON decoding) -> the studio's validator."""
    fdp = atheris.FuzzedDataProvider(data)
    msg = _json_value(fdp) if fdp.ConsumeBool() else {k: _json_value(fdp, 1) for k in _KEYS if fdp.ConsumeBool()}

    def run() -> None:
        out = validate_controls(msg, 8, ["wood", "metal"])
        for v in out.get("bias", []) + out.get("scale", []):
            assert isinstance(v, float) and abs(v) < float("inf"), out

    _expect_clean(run)


_CKPT: bytes | None = None


def fuzz_checkpoint(data: bytes) -> None:
    global _CKPT
    if _CKPT is None:
        save_checkpoint(WORK / "good.ckpt", {"step": 3, "weights": torch.arange(64.0), "note": "fuzz"})
        _CKPT = (WORK / "good.ckpt").read_bytes()
    fdp = atheris.FuzzedDataProvider(data)
    raw = bytearray(_CKPT)
    for _ in range(fdp.ConsumeIntInRange(1, 8)):  # flip a few bytes ...
        i = fdp.ConsumeIntInRange(0, len(raw) - 1)
        raw[i] = fdp.ConsumeIntInRange(0, 255)
    if fdp.ConsumeBool():  # ... and maybe truncate
        del raw[fdp.ConsumeIntInRange(0, len(raw) - 1) :]
    p = WORK / "bad.ckpt"
    p.write_bytes(bytes(raw))
    if bytes(raw) == _CKPT:
        assert load_checkpoint(p)["step"] == 3
        return
    _expect_clean(lambda: load_checkpoint(p))


_TS: bytes | None = None


def fuzz_export(data: bytes) -> None:
    """Our exported files ship a ``.sha256``: any changed byte must be refused before TorchScript parses it."""
    global _TS
    from foleyvae.export.loader import assets_dir, load_file

    if _TS is None:  # the sidecar never changes: written once, the file itself per input
        src = min(assets_dir().glob("*/model.ts"), key=lambda p: p.stat().st_size)
        (WORK / "model.ts.sha256").write_text(src.with_name(src.name + ".sha256").read_text())
        _TS = src.read_bytes()
    good = _TS
    fdp = atheris.FuzzedDataProvider(data)
    raw = bytearray(good)
    i = fdp.ConsumeIntInRange(0, len(raw) - 1)
    raw[i] = (raw[i] + fdp.ConsumeIntInRange(1, 255)) % 256  # at least one byte differs
    if fdp.ConsumeBool():
        del raw[fdp.ConsumeIntInRange(0, len(raw) - 1) :]
    p = WORK / "model.ts"
    p.write_bytes(bytes(raw))
    try:
        load_file(p)
    except FoleyError as e:
        _one_line(e)
        assert "checksum" in str(e), str(e)
    else:
        raise AssertionError("a corrupted export loaded")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "audio": fuzz_audio,
    "wav_header": fuzz_wav_header,
    "config": fuzz_config,
    "controls": fuzz_controls,
    "checkpoint": fuzz_checkpoint,
    "export": fuzz_export,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: atheris_fuzz.py {{{','.join(TARGETS)}}} [libFuzzer flags]")
    target = TARGETS[sys.argv.pop(1)]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.stderr = io.TextIOWrapper(sys.stderr.buffer, line_buffering=True)
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
