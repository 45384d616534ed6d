"""Fuzzing of the parsers a user can feed: audio files, config overrides/YAML, dataset preparation.

Every input must give either a result or the project's one-line FoleyError, never another exception, a crash or a
half-written file. Counts: 300 audio byte strings, 200 crafted WAV headers, 300 override strings, 150 YAML
documents, 25 prepare runs over fuzzed folders (hypothesis, derandomized so CI is reproducible).
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foleyvae.audio import io as aio
from foleyvae.config import ConfigError, apply_overrides, load_config, preset
from foleyvae.errors import FoleyError


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def _wav_header(sr: int, ch: int, bits: int, fmt: int, data_len: int, riff_len: int) -> bytes:
    byte_rate = (sr * ch * bits // 8) & 0xFFFFFFFF
    block = (ch * bits // 8) & 0xFFFF
    fmt_chunk = struct.pack("<4sIHHIIHH", b"fmt ", 16, fmt, ch, sr, byte_rate, block, bits)
    return struct.pack("<4sI4s", b"RIFF", riff_len, b"WAVE") + fmt_chunk + struct.pack("<4sI", b"data", data_len)


@fuzz(300)
@given(data=st.binary(min_size=0, max_size=2048), ext=st.sampled_from([".wav", ".flac", ".ogg", ".mp3", ".aiff"]))
def test_random_bytes_never_crash_the_loader(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x{ext}"
        p.write_bytes(data)
        try:
            audio, sr = aio.load(p)
        except aio.AudioError as e:
            assert str(p) in str(e) and "\n" not in str(e)
        else:
            assert np.isfinite(audio).all() and audio.shape[1] > 0 and sr > 0


@fuzz(200)
@given(
    sr=st.one_of(st.integers(0, 200), st.integers(1_000_000, 2**32 - 1), st.just(44100)),
    ch=st.integers(0, 70000 & 0xFFFF),
    bits=st.sampled_from([0, 1, 8, 16, 24, 32, 64, 12]),
    fmt=st.sampled_from([1, 3, 0, 0xFFFE, 7]),
    data_len=st.one_of(st.integers(0, 64), st.just(2**32 - 1)),
    riff_len=st.one_of(st.integers(0, 100), st.just(2**32 - 1)),
    payload=st.binary(max_size=256),
)
def test_crafted_wav_headers(
    sr: int, ch: int, bits: int, fmt: int, data_len: int, riff_len: int, payload: bytes
) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "h.wav"
        p.write_bytes(_wav_header(sr, ch, bits, fmt, data_len, riff_len) + payload)
        try:
            audio, rate = aio.load(p, sample_rate=44100, channels=1)
        except aio.AudioError as e:
            assert "h.wav" in str(e)
        else:
            assert rate == 44100 and audio.shape[0] == 1 and np.isfinite(audio).all()


@fuzz(300)
@given(
    key=st.sampled_from(
        [
            "model.n_bands",
            "model.strides",
            "train.lr",
            "audio.sample_rate",
            "model.causal",
            "train.batch_size",
            "model.kind",
            "nope.x",
            "model",
            "stream.block_size",
            "",
        ]
    ),
    value=st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=True, allow_subnormal=False)).map(str),
)
def test_config_overrides_fail_cleanly(key: str, value: str) -> None:
    try:
        cfg = apply_overrides(preset("foley-small"), [f"{key}={value}"])
    except ConfigError as e:
        assert "\n" not in str(e)
    else:
        assert cfg.model.n_bands in (2, 4, 8, 16, 32)


@fuzz(150)
@given(doc=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_yaml_documents_fail_cleanly(doc: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.yaml"
        p.write_text(doc, encoding="utf-8", errors="surrogateescape")
        try:
            load_config(p)
        except ConfigError as e:
            assert "c.yaml" in str(e)


@fuzz(25)
@given(
    files=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=12).filter(
                lambda s: "/" not in s and "\x00" not in s and s not in (".", "..")
            ),
            st.binary(max_size=512),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_prepare_survives_fuzzed_folders(files: list[tuple[str, bytes]]) -> None:
    import soundfile as sf

    from foleyvae.data.prepare import prepare_dataset

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in" / "lab"
        src.mkdir(parents=True)
        for name, data in files:
            try:
                (src / f"{name}.wav").write_bytes(data)
            except OSError:
                pass
        sf.write(str(src / "good.wav"), np.sin(np.arange(4410) * 0.1).astype(np.float32) * 0.5, 44100)
        out = Path(d) / "ds"
        try:
            rep = prepare_dataset([src.parent], out)
        except FoleyError:
            return
        assert rep is not None and (out / "dataset.json").is_file()
        assert not [p for p in Path(d).iterdir() if p.name.startswith(".tmp")]
