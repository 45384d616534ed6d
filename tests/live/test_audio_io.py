"""Units of the live layer that need no audio device: rings, interactive commands, the streaming writer, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.audio.io import AudioError, StreamWriter
from foleyvae.errors import MissingDependencyError
from foleyvae.inference.controls import Controls
from foleyvae.live.audio_io import BlockRing, apply_command, import_sounddevice


def test_block_ring_counts_over_and_underruns() -> None:
    r = BlockRing(2, 1, 4, prefill=1)
    out = np.zeros((1, 4), np.float32)
    assert r.pop(out) and not r.pop(out) and r.underruns == 1
    assert r.push(np.ones((1, 4), np.float32)) and r.push(np.ones((1, 4), np.float32) * 2)
    assert not r.push(np.ones((1, 4), np.float32)) and r.overruns == 1
    assert r.pop(out) and out[0, 0] == 1.0 and r.pop(out) and out[0, 0] == 2.0
    # a callback's [n, C] buffer goes in through its transpose
    assert r.push(np.arange(4, dtype=np.float32)[:, None].T) and r.pop(out) and out[0, 3] == 3.0


def test_interactive_commands() -> None:
    c = Controls(4)
    assert apply_command(c, "b0=1.5") == "b0 = 1.5" and c.bias[0] == 1.5
    assert apply_command(c, "s2=0.5") and c.scale[2] == 0.5
    assert apply_command(c, "t=0.3") and c.temperature == 0.3
    assert apply_command(c, "w=0.25") and c.dry_wet == 0.25
    assert apply_command(c, "g=-6") and c.input_gain_db == -6.0
    assert apply_command(c, "f=1") and c.freeze
    assert apply_command(c, "b9=1").startswith("error:")
    assert apply_command(c, "zz").startswith("cannot parse")
    assert apply_command(c, "x=1").startswith("unknown command")
    assert apply_command(c, "q") == "quit"
    assert apply_command(c, "r") and c.bias[0] == 0.0 and not c.freeze


def test_stream_writer_is_lossless_and_atomic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    blocks = [rng.standard_normal((2, 100)).astype(np.float32) * 0.5 for _ in range(5)]
    p = tmp_path / "take.wav"
    with StreamWriter(p, 48000, 2) as w:
        for b in blocks:
            w.write(b)
        assert not p.exists()  # only the temporary file exists until close
    y, sr = sf.read(p, always_2d=True, dtype="float32")
    assert sr == 48000 and w.frames == 500
    np.testing.assert_array_equal(y.T, np.concatenate(blocks, axis=1))
    with pytest.raises(RuntimeError), StreamWriter(tmp_path / "gone.wav", 48000, 1) as w2:
        w2.write(np.zeros((1, 10), np.float32))
        raise RuntimeError("boom")
    assert not (tmp_path / "gone.wav").exists() and not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(AudioError):
        StreamWriter(tmp_path / "x.mp3", 48000, 1)
    with pytest.raises(AudioError):
        StreamWriter(p, 48000, 1, overwrite=False)


def test_missing_portaudio_names_the_apt_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(fake))
    with pytest.raises(MissingDependencyError, match="apt-get install libportaudio2"):
        import_sounddevice()
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MissingDependencyError, match=r"foleyvae\[live\]"):
        import_sounddevice()
