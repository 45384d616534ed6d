"""Procedural corpora (foleyvae.data.synth): determinism, layout, audio sanity, spectra, CLI, prepare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foleyvae.audio import io as audio_io
from foleyvae.cli.main import main
from foleyvae.data.synth import KINDS, LICENCE, MAX_SECONDS, MIN_SECONDS, render_sound, synth_corpus
from foleyvae.errors import FoleyError

MINUTES = 0.2  # 12 s per corpus: about 2.4 s per sub-type


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    out = {}
    for kind in KINDS:
        out[kind] = root / kind
        synth_corpus(kind, out[kind], minutes=MINUTES, seed=7)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", list(KINDS))
def test_same_seed_gives_identical_bytes_and_other_seed_differs(
    kind: str, corpora: dict[str, Path], tmp_path: Path
) -> None:
    synth_corpus(kind, tmp_path / "again", minutes=MINUTES, seed=7)
    first, again = _files(corpora[kind]), _files(tmp_path / "again")
    assert first.keys() == again.keys()
    for name in first:
        assert first[name] == again[name], name  # wav files, manifest, source.json, LICENSE, README
    synth_corpus(kind, tmp_path / "other", minutes=MINUTES, seed=8)
    other = _files(tmp_path / "other")
    wavs = [n for n in first if n.endswith(".wav") and n in other]
    assert wavs and all(first[n] != other[n] for n in wavs)


@pytest.mark.parametrize("kind", list(KINDS))
def test_layout_manifest_and_durations(kind: str, corpora: dict[str, Path]) -> None:
    folder = corpora[kind]
    assert (folder / "LICENSE").read_text().startswith("CC0 1.0")
    assert "foleyvae data synth" in (folder / "README.md").read_text()
    entries = _manifest(folder)
    labels = {e["label"] for e in entries}
    assert labels == {f"{kind}/{s}" for s in KINDS[kind]}
    wavs = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.wav"))
    assert wavs == sorted(e["file"] for e in entries)
    for e in entries:
        assert e["licence"] == LICENCE
        assert e["file"].startswith(e["label"] + "/")
        assert isinstance(e["params"], dict) and e["params"]
        assert MIN_SECONDS - 1e-3 <= e["duration_s"] <= MAX_SECONDS + 1e-3
    total = sum(e["duration_s"] for e in entries)
    assert total == pytest.approx(MINUTES * 60, abs=0.05)
    info = json.loads((folder / "source.json").read_text())
    assert info["n_files"] == len(entries) and set(info["counts"]) == labels


@pytest.mark.parametrize("kind", list(KINDS))
def test_files_load_finite_nonsilent_with_quiet_edges(kind: str, corpora: dict[str, Path]) -> None:
    for e in _manifest(corpora[kind]):
        audio, sample_rate = audio_io.load(corpora[kind] / e["file"])
        assert sample_rate == 44100 and audio.shape == (1, round(e["duration_s"] * 44100))
        assert np.isfinite(audio).all()
        peak = float(np.abs(audio).max())
        assert peak == pytest.approx(10 ** (-1 / 20), rel=1e-3), e["file"]  # -1 dBFS
        assert float(np.sqrt(np.mean(audio**2))) > 3e-3, e["file"]
        assert abs(float(audio[0, 0])) < 1e-2 and abs(float(audio[0, -1])) < 1e-2, e["file"]
        assert abs(float(audio.mean())) < 0.05, e["file"]  # high-passed: no DC


def _peak_hz(audio: np.ndarray) -> float:
    x = audio[0].astype(np.float64) * np.hanning(audio.shape[1])
    spec = np.abs(np.fft.rfft(x, 4 * len(x)))
    return float(np.fft.rfftfreq(4 * len(x), 1 / 44100)[spec.argmax()])


@pytest.mark.parametrize(("subtype", "multiple"), [("hum", 1), ("transformer", 2)])
def test_mains_recipes_peak_at_a_mains_harmonic(subtype: str, multiple: int) -> None:
    """Hum: energy peak at 50/60 Hz or a harmonic; transformer buzz: at a harmonic of 2x mains."""
    for seed in range(6):
        audio, params = render_sound("electromagnetic", subtype, seed=seed, seconds=2.0)
        base = multiple * params["mains_hz"]
        f = _peak_hz(audio)
        k = max(round(f / base), 1)
        assert abs(f - k * base) < 0.01 * k * base + 1.0, (seed, f, base)


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / 44100)).sum() / power.sum())


def test_laser_centroid_falls_over_time() -> None:
    for seed in range(6):
        audio, params = render_sound("scifi", "laser", seed=seed)
        x = audio[0].astype(np.float64)
        q = len(x) // 4
        assert _centroid(x[:q]) > 2.0 * _centroid(x[-q:]), (seed, params)


@pytest.mark.parametrize("radius_mm", [1.0, 3.0, 8.0])
def test_bubble_rings_at_the_minnaert_frequency(radius_mm: float) -> None:
    """A bubble of radius r rings at 3.26/r Hz (van den Doel 2005); with no rise (xi = 0) its spectrum peaks there."""
    from foleyvae.data.synth_water import bubble, minnaert_hz

    x = bubble(radius_mm * 1e-3, 0.0, 44100)
    spec = np.abs(np.fft.rfft(x, 1 << 18))
    peak = float(np.fft.rfftfreq(1 << 18, 1 / 44100)[np.argmax(spec)])
    assert peak == pytest.approx(minnaert_hz(radius_mm * 1e-3), rel=0.01)
    assert abs(x[-1]) < 1e-3 * np.max(np.abs(x))  # rendered until it has decayed


def test_pour_resonance_rises_as_the_vessel_fills() -> None:
    """The air column shortens, so the quarter-wave resonance (c / 4L) rises; params record start and end."""
    for seed in range(4):
        _, p = render_sound("water", "pour", seed=seed)
        lo, hi = p["resonance_hz"]
        assert hi > lo * 1.3 and lo == pytest.approx(343.0 / (4 * p["column_start_m"]), rel=1e-3)


def test_tesla_pulses_at_its_prf() -> None:
    """The gated noise's envelope repeats at the pulse rate: its autocorrelation peaks near 1/PRF."""
    checked = 0
    for seed in range(60):
        if checked == 3:
            break
        audio, p = render_sound("electromagnetic", "tesla", seed=seed, seconds=1.0)
        if p["prf_mode"] != "steady":
            continue
        checked += 1
        env = np.abs(audio[0].astype(np.float64))
        env -= env.mean()
        ac = np.fft.irfft(np.abs(np.fft.rfft(env, 2 * len(env))) ** 2)[: len(env)]
        lag = 1 / p["prf_start_hz"] * 44100
        lo = int(lag * 0.5)
        best = lo + int(np.argmax(ac[lo : int(lag * 1.5)]))
        assert abs(best - lag) < 0.05 * lag + 2, (seed, best, lag)
    assert checked == 3


def test_render_sound_matches_the_corpus_file(corpora: dict[str, Path]) -> None:
    e = _manifest(corpora["scifi"])[0]
    audio, params = render_sound("scifi", e["subtype"], seed=7, index=e["index"], seconds=e["duration_s"])
    loaded, _ = audio_io.load(corpora["scifi"] / e["file"])
    np.testing.assert_array_equal(audio, loaded)
    assert params == e["params"]


def test_refuses_nonempty_folder_without_force_and_replaces_with_it(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(FoleyError, match="--force"):
        synth_corpus("electromagnetic", out, minutes=0.05)
    assert (out / "keep.txt").exists()
    synth_corpus("electromagnetic", out, minutes=0.05, force=True)
    assert not (out / "keep.txt").exists() and (out / "manifest.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]  # no staging or old folder left behind
    empty = tmp_path / "empty"
    empty.mkdir()
    synth_corpus("scifi", empty, minutes=0.05)  # an empty folder is fine without --force
    assert (empty / "manifest.jsonl").exists()


@pytest.mark.parametrize(("kind", "minutes"), [("plasma", 1.0), ("scifi", 0.0), ("scifi", -1.0), ("scifi", 1e6)])
def test_bad_arguments_are_user_errors(kind: str, minutes: float, tmp_path: Path) -> None:
    with pytest.raises(FoleyError):
        synth_corpus(kind, tmp_path / "x", minutes=minutes)
    assert not (tmp_path / "x").exists()


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "em"
    assert main(["data", "synth", "electromagnetic", "-o", str(out), "--minutes", "0.05", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    for s in KINDS["electromagnetic"]:
        assert f"electromagnetic/{s}" in text
    assert "total" in text and "3.0 s" in text
    assert main(["data", "synth", "electromagnetic", "-o", str(out), "--minutes", "0.05"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["data", "synth", "electromagnetic", "-o", str(out), "--minutes", "0.05", "--force"]) == 0


def test_prepare_accepts_the_folder_with_subtype_labels(corpora: dict[str, Path], tmp_path: Path) -> None:
    from foleyvae.data.prepare import PrepareOptions, prepare_dataset

    report = prepare_dataset(list(corpora.values()), tmp_path / "ds", PrepareOptions(valid_fraction=0.2), workers=0)
    expected = {f"{k}/{s}" for k, subs in KINDS.items() for s in subs}
    assert set(report.label_counts) == expected
    n_files = sum(len(_manifest(f)) for f in corpora.values())
    assert sum(report.label_counts.values()) == n_files
