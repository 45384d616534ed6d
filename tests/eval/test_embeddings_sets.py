"""eval.embeddings (aisfx and the hand-made fallback) and eval.transfer_sets (espeak-ng speech, taps, music)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from foleyvae.audio.features import onset_f1, onsets
from foleyvae.eval import embeddings as E
from foleyvae.eval import transfer_sets as T
from foleyvae.eval.metrics import frechet_distance
from tests.conftest import SR, chirp, footstep

HAS_AISFX = importlib.util.find_spec("aisfx") is not None


def _check_backend(backend: str, dim: int) -> None:
    wood = [footstep("wood", 0.5, seed=s) for s in range(3)]
    metal = [footstep("metal", 0.5, seed=s) for s in range(3)]
    e = E.get_embedder(backend)
    assert e.backend == backend and e.dim == dim
    ew = np.stack([E.embed(x, SR, backend) for x in wood])
    em = np.stack([E.embed(x, SR, backend) for x in metal])
    assert ew.shape == (3, dim) and np.isfinite(ew).all()
    np.testing.assert_allclose(E.embed(wood[0], SR, backend), ew[0])  # deterministic
    np.testing.assert_allclose(E.embed(0.1 * wood[0], SR, backend), ew[0], rtol=1e-5, atol=1e-6)  # level-free
    within = np.linalg.norm(ew[0] - ew[1])
    across = np.linalg.norm(ew[0] - em[0])
    assert within < across  # same material closer than another material
    assert frechet_distance(ew, ew) < 1e-6 < frechet_distance(ew, em)
    # other rates and stereo are accepted
    assert E.embed(np.stack([wood[0], wood[0]]), SR, backend).shape == (dim,)
    assert E.embed(footstep("wood", 0.5, sr=22050), 22050, backend).shape == (dim,)
    assert np.isfinite(E.embed(np.zeros(1000, np.float32), SR, backend)).all()  # silence, shorter than a frame


def test_handmade_embedding() -> None:
    _check_backend("handmade", 172)


@pytest.mark.skipif(not HAS_AISFX, reason="aisfx not installed (pip install --no-deps aisfx)")
def test_aisfx_embedding() -> None:
    _check_backend("aisfx", 512)
    assert E.available_backends()[0] == "aisfx"
    assert E.get_embedder("auto").backend == "aisfx"
    frames = E.get_embedder("aisfx").frames(chirp(6.0), SR)  # 6 s: several 2.3 s blocks (50 % hop)
    assert frames.shape[0] >= 4 and frames.shape[1] == 512


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        E.get_embedder("vggish")


def test_taps_and_music_have_detectable_known_onsets() -> None:
    items = T.taps_set(SR) + T.music_set(SR)
    assert {i.kind for i in items} == {"taps", "music"}
    for it in items:
        assert it.audio.dtype == np.float32 and 0.5 < np.abs(it.audio).max() <= 1.0
        if it.onset_times is not None:
            assert onset_f1(it.onset_times, onsets(it.audio, SR))[2] == 1.0, it.name
    assert T.taps_set(22050)[0].audio.shape == (int(1.5 * 22050),)


@pytest.mark.skipif(T.shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_speech_set_is_cached(tmp_path: Path) -> None:
    items = T.speech_set(tmp_path, SR)
    assert len(items) == len(T.SENTENCES) and all(i.kind == "speech" for i in items)
    wavs = sorted(tmp_path.glob("espeak-*.wav"))
    assert len(wavs) == len(T.SENTENCES)
    for it in items:
        assert 0.5 < len(it.audio) / SR < 6.0 and len(onsets(it.audio, SR)) >= 3  # syllables
    mtimes = [w.stat().st_mtime_ns for w in wavs]
    again = T.speech_set(tmp_path, SR)  # from the cache
    assert [w.stat().st_mtime_ns for w in wavs] == mtimes
    np.testing.assert_array_equal(again[0].audio, items[0].audio)


def test_missing_espeak_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(T.shutil, "which", lambda _name: None)
    with pytest.raises(T.SpeechSynthError, match="apt-get install -y espeak-ng"):
        T.transfer_inputs(SR, tmp_path)
    assert [i.kind for i in T.transfer_inputs(SR, tmp_path, speech=False)].count("speech") == 0
