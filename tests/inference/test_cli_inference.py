"""End to end: ``foleyvae transfer / regenerate / mix`` on temp files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.cli.main import main
from tests.conftest import SR, footstep
from tests.inference.toy import ToyStream


@pytest.fixture
def toy_loader(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``load_model(anything)`` return a ToyStream; records the names asked for."""
    import foleyvae.export.loader as loader

    asked: list[str] = []

    def fake(name: str | Path) -> ToyStream:
        asked.append(str(name))
        return ToyStream()

    monkeypatch.setattr(loader, "load_model", fake)
    return asked


def _step(write_wav: Callable[..., Path], name: str, offset: float = 0.05, sr: int = SR, ch: int = 1) -> Path:
    x = np.zeros(int(0.4 * sr), np.float32)
    f = footstep("wood", 0.3, sr=sr)
    k = int(offset * sr)
    x[k : k + len(f)] = f[: len(x) - k]
    return write_wav(name, np.stack([x] * ch) if ch > 1 else x, sr)


def test_transfer_one_file_resamples_and_refuses_overwrite(
    toy_loader: list[str], write_wav: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _step(write_wav, "in/step.wav", sr=48000, ch=2)  # resampled to 44.1k mono
    out = tmp_path / "out.wav"
    args = ["transfer", str(src), "--model", "toy", "-o", str(out), "--bias", "0=1.5", "--scale", "1=0.5"]
    assert main(args + ["--temperature", "0.1", "--block", "256"]) == 0
    y, sr = sf.read(out, always_2d=True)
    assert sr == SR and y.shape == (int(0.4 * SR), 1) and np.abs(y).max() > 1e-4 and np.isfinite(y).all()
    assert toy_loader == ["toy"]
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--force", "--dry-wet", "0", "--no-limiter"]) == 0
    y2, _ = sf.read(out, always_2d=True)
    from foleyvae.audio.io import load

    x, _ = load(src, sample_rate=SR, channels=1)
    np.testing.assert_allclose(y2[:, 0], x[0], atol=1e-6)  # dry only: the resampled mono input, aligned


def test_transfer_folder_mirrors_layout(toy_loader: list[str], write_wav: Callable[..., Path], tmp_path: Path) -> None:
    _step(write_wav, "lib/a/one.wav")
    _step(write_wav, "lib/b/two.wav")
    out = tmp_path / "outdir"
    assert main(["transfer", str(tmp_path / "lib"), "--model", "toy", "-o", str(out), "--towards", "metal"]) == 0
    assert (out / "a" / "one.wav").exists() and (out / "b" / "two.wav").exists()
    assert main(["transfer", str(tmp_path / "lib"), "--model", "toy", "-o", str(out)]) == 1  # exists
    assert main(["transfer", str(tmp_path / "nope.wav"), "--model", "toy", "-o", str(out)]) == 1
    assert main(["transfer", str(tmp_path / "lib"), "--model", "toy", "-o", str(out), "--bias", "9=1", "--force"]) == 1


def test_regenerate_and_mix_cli(
    toy_loader: list[str], write_wav: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _step(write_wav, "a.wav", 0.05)
    b = _step(write_wav, "b.wav", 0.15)
    assert main(["regenerate", str(a), "--model", "toy", "-o", str(tmp_path / "r.wav")]) == 0
    r, _ = sf.read(tmp_path / "r.wav")
    assert r.shape == (int(0.4 * SR),)
    assert main(["mix", str(a), str(b), "--model", "toy", "--alpha", "0.3", "-o", str(tmp_path / "m.wav")]) == 0
    assert main(["mix", str(a), str(b), "--model", "toy", "--morph", "-o", str(tmp_path / "mo.wav")]) == 0
    assert (
        main(["mix", str(a), "--towards", "metal", "--amount", "0.6", "--model", "toy", "-o", str(tmp_path / "t.wav")])
        == 0
    )
    for name in ("m.wav", "mo.wav", "t.wav"):
        y, sr = sf.read(tmp_path / name)
        assert sr == SR and np.isfinite(y).all() and np.abs(y).max() > 1e-4
    capsys.readouterr()
    assert main(["mix", str(a), "--towards", "glass", "--model", "toy", "-o", str(tmp_path / "g.wav")]) == 1
    err = capsys.readouterr().err
    assert "unknown material 'glass'" in err and "metal, wood" in err
    assert main(["mix", str(a), "--model", "toy", "-o", str(tmp_path / "g.wav")]) == 1
    assert main(["mix", str(a), str(b), "--model", "toy", "-o", str(tmp_path / "m.wav")]) == 1  # exists
