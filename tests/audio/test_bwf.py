"""Broadcast WAV: written by hand, read back (time reference, iXML, 24-bit 48 kHz), and accepted by sox and ffprobe
without a header warning."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.audio.bwf import BwfError, BwfMeta, read_bwf, write_bwf
from foleyvae.audio.timecode import to_samples


def _audio(channels: int = 1, n: int = 4801) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.5 * rng.standard_normal((channels, n))).clip(-1, 1).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
def test_round_trip(tmp_path: Path, channels: int) -> None:
    a = _audio(channels)
    tr = to_samples("01:00:00;00", "29.97", 48000) + 12345
    p = write_bwf(tmp_path / "t.wav", a, 48000, BwfMeta(tr, "29.97", scene="12A", take="3", tape="day1",
                                                          track_names=("L", "R")[:channels]))  # fmt: skip
    info = read_bwf(p)
    assert info.chunks == ("bext", "fmt ", "iXML", "data")
    assert (info.sample_rate, info.channels, info.bits, info.frames) == (48000, channels, 24, 4801)
    assert info.time_reference == tr
    x = info.ixml
    assert (x["SCENE"], x["TAKE"], x["TAPE"]) == ("12A", "3", "day1")
    assert (x["TIMECODE_RATE"], x["TIMECODE_FLAG"]) == ("30000/1001", "DF")
    assert int(x["TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO"]) + (int(x["TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"]) << 32) == tr
    assert x["TIMESTAMP_SAMPLE_RATE"] == "48000" and x["TRACK_COUNT"] == str(channels)
    assert info.coding_history.startswith("A=PCM,F=48000,W=24")
    y, sr = sf.read(str(p), dtype="float64", always_2d=True)
    assert sr == 48000 and sf.info(str(p)).subtype == "PCM_24"
    assert np.abs(y.T - a).max() <= 1.0 / 2**23  # 24-bit rounding
    assert p.stat().st_size % 2 == 0 and len(list(tmp_path.iterdir())) == 1  # no temp file left


def test_a_time_reference_past_32_bits(tmp_path: Path) -> None:
    tr = to_samples("23:59:59:24", "25", 192000)  # > 2**32
    assert tr > 2**32
    info = read_bwf(write_bwf(tmp_path / "t.wav", _audio(), 192000, BwfMeta(tr, "25")))
    assert info.time_reference == tr and info.ixml["TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"] == str(tr >> 32)


def test_full_scale_is_clipped_not_wrapped(tmp_path: Path) -> None:
    a = np.array([[1.5, 1.0, -1.0, -1.5, 0.0]], np.float32)
    y, _ = sf.read(str(write_bwf(tmp_path / "t.wav", a, 48000, BwfMeta(0))), dtype="float64")
    assert y.tolist() == pytest.approx([1 - 2**-23, 1 - 2**-23, -1.0, -1.0, 0.0])


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BwfError, match="NaN"):
        write_bwf(tmp_path / "t.wav", np.full((1, 4), np.nan, np.float32), 48000, BwfMeta(0))
    with pytest.raises(BwfError, match="unknown timecode rate"):
        write_bwf(tmp_path / "t.wav", _audio(), 48000, BwfMeta(0, "50"))
    with pytest.raises(BwfError, match="time reference"):
        write_bwf(tmp_path / "t.wav", _audio(), 48000, BwfMeta(-1))
    (tmp_path / "junk.wav").write_bytes(b"RIFX" + b"\0" * 40)
    with pytest.raises(BwfError, match="not a RIFF/WAVE"):
        read_bwf(tmp_path / "junk.wav")
    assert not (tmp_path / "t.wav").exists()


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_sox_reads_the_header_without_a_warning(tmp_path: Path) -> None:
    p = write_bwf(tmp_path / "t.wav", _audio(2), 48000, BwfMeta(3600 * 48000, "24"))
    r = subprocess.run(["sox", "--i", str(p)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "Sample Rate    : 48000" in r.stdout and "Precision      : 24-bit" in r.stdout
    assert "Channels       : 2" in r.stdout and "= 4801 samples" in r.stdout


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
def test_ffprobe_reads_the_time_reference(tmp_path: Path) -> None:
    tr = 3600 * 48000 + 24000
    p = write_bwf(tmp_path / "t.wav", _audio(), 48000, BwfMeta(tr, "25"))
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags=time_reference:stream=codec_name,sample_rate",
         "-of", "default=nw=1", str(p)], capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    lines = set(r.stdout.split())
    assert {"codec_name=pcm_s24le", "sample_rate=48000", f"TAG:time_reference={tr}"} <= lines, r.stdout
