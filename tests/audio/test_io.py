from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from foleyvae.audio import io as aio
from tests.conftest import SR, footstep


def test_round_trip_wav_and_flac(tmp_path: Path) -> None:
    x = np.stack([footstep("wood"), footstep("metal")])
    for ext, tol in ((".wav", 0.0), (".flac", 2e-7 * 2**1 + 1.0 / 2**23)):
        p = aio.save(tmp_path / f"a{ext}", x, SR)
        y, sr = aio.load(p)
        assert sr == SR and y.shape == x.shape and y.dtype == np.float32
        assert np.max(np.abs(y - x)) <= tol
    mono, _ = aio.load(tmp_path / "a.wav", channels=1)
    np.testing.assert_allclose(mono[0], x.mean(0), atol=1e-6)


def test_resample_preserves_a_sine(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    p = aio.save(tmp_path / "s.wav", x, 48000)
    y, sr = aio.load(p, sample_rate=44100)
    assert sr == 44100 and abs(y.shape[1] - 44100) <= 1
    spec = np.abs(np.fft.rfft(y[0, 1000:-1000]))
    peak_hz = np.argmax(spec) * 44100 / (y.shape[1] - 2000)
    assert abs(peak_hz - 1000) < 3


def test_ogg_and_aiff_load(tmp_path: Path) -> None:
    import soundfile as sf

    x = footstep("gravel")
    sf.write(str(tmp_path / "a.ogg"), x, SR, format="OGG", subtype="VORBIS")
    sf.write(str(tmp_path / "a.aiff"), x, SR, format="AIFF", subtype="PCM_16")
    for name in ("a.ogg", "a.aiff"):
        y, sr = aio.load(tmp_path / name)
        assert sr == SR and y.shape[0] == 1 and abs(y.shape[1] - len(x)) < 2048


def _put(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: d / "missing.wav", "file not found"),
        (lambda d: _put(d / "empty.wav", b""), "empty file"),
        (lambda d: _put(d / "junk.wav", b"RIFF\x00\x01garbage" * 10), "cannot decode"),
        (lambda d: _put(d / "a.txt", b"hi"), "unsupported format"),
        (lambda d: d, "is a folder"),
    ],
)
def test_bad_inputs_give_one_line_errors(tmp_path: Path, make: Callable[[Path], Path], needle: str) -> None:
    p = make(tmp_path)
    with pytest.raises(aio.AudioError, match=needle) as ei:
        aio.load(p)
    msg = str(ei.value)
    assert "\n" not in msg and str(p) in msg


def test_truncated_and_nan_files(tmp_path: Path, write_wav: Callable[..., Path]) -> None:
    x = footstep("wood")
    x[100] = np.nan
    p = write_wav("nan.wav", x)
    with pytest.raises(aio.AudioError, match="NaN/inf"):
        aio.load(p)
    good = write_wav("good.wav", footstep("wood"), subtype="PCM_16")
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(good.read_bytes()[:40])
    with pytest.raises(aio.AudioError, match="trunc.wav"):
        aio.load(trunc)
    header_only = tmp_path / "zero.wav"
    write_wav("zero.wav", np.zeros(0, np.float32))
    with pytest.raises(aio.AudioError, match="zero.wav"):
        aio.load(header_only)


def test_save_is_atomic_and_refuses_bad_data(tmp_path: Path) -> None:
    target = aio.save(tmp_path / "t.wav", footstep("wood"), SR)
    before = target.read_bytes()
    with pytest.raises(aio.AudioError, match="NaN/inf"):
        aio.save(target, np.full(100, np.nan, np.float32), SR)
    with pytest.raises(aio.AudioError, match="already exists"):
        aio.save(target, footstep("metal"), SR, overwrite=False)
    with pytest.raises(aio.AudioError, match="can only write"):
        aio.save(tmp_path / "t.mp4", footstep("metal"), SR)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.wav"]


def test_decode_limits_header_and_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Untrusted files: refused on the header (rate, channels, length), then while decoding block by block, so a
    header that understates the length cannot get past the limit; a file inside the limits loads as without them."""
    import soundfile as sf

    x = np.stack([footstep("wood"), footstep("metal"), footstep("gravel")])  # [3, T]
    p = aio.save(tmp_path / "a.wav", x, SR)
    seconds = x.shape[1] / SR
    ok = aio.DecodeLimits(max_seconds=seconds + 0.01, max_channels=3, block_frames=1000)
    y, sr = aio.load(p, limits=ok)
    np.testing.assert_array_equal(y, aio.load(p)[0])
    mono, _ = aio.load(p, channels=1, limits=ok)  # mixed down block by block
    np.testing.assert_allclose(mono, aio.load(p, channels=1)[0], atol=1e-7)
    assert aio.validate(p, ok) == aio.AudioInfo(SR, 3, x.shape[1])
    refusals = {
        "3 channels; at most 2": aio.DecodeLimits(max_channels=2),
        f"at most {seconds / 2:g} s": aio.DecodeLimits(max_seconds=seconds / 2),
        "over the 22050 Hz limit": aio.DecodeLimits(max_sample_rate=22050),
    }
    for needle, lim in refusals.items():
        for fn in (aio.validate, lambda q, lim=lim: aio.load(q, limits=lim)):
            with pytest.raises(aio.AudioError, match=needle) as e:
                fn(p, lim)
            assert "\n" not in str(e.value) and str(p) in str(e.value)
    # a lying header: it claims 100 frames; decoding stops (and refuses) at the first block past the limit
    real_info = sf.info

    def lying_info(path: str) -> object:
        i = real_info(path)
        return type("Info", (), {"samplerate": i.samplerate, "channels": i.channels, "frames": 100})()

    monkeypatch.setattr(sf, "info", lying_info)
    short = aio.DecodeLimits(max_seconds=2000 / SR, block_frames=1000)
    for fn in (aio.validate, lambda q: aio.load(q, limits=short)):
        with pytest.raises(aio.AudioError, match="longer than the"):
            fn(p, short) if fn is aio.validate else fn(p)
