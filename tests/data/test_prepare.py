from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from foleyvae.cli.main import main
from foleyvae.data import prepare as prep
from foleyvae.data.prepare import (
    DatasetFormatError,
    PrepareOptions,
    assign_splits,
    k_weighted_loudness,
    prepare_dataset,
    read_manifest,
    trim_silence,
)
from foleyvae.errors import FoleyError
from tests.conftest import SR, footstep


def _entries(ds: Path) -> list[dict]:  # type: ignore[type-arg]
    return read_manifest(ds)


def _audio(ds: Path, e: dict) -> np.ndarray:  # type: ignore[type-arg]
    arr = np.load(ds / e["shard"], mmap_mode="r")
    return np.array(arr[:, e["offset"] : e["offset"] + e["length"]])


def test_prepare_keeps_every_file_labels_and_stratified_split(
    foley_folder: Path, write_wav: Callable[..., Path], tmp_path: Path
) -> None:
    write_wav("sounds/footsteps/wood/tick.wav", footstep("wood", dur=0.2, seed=9)[: int(0.05 * SR)])  # a 50 ms one-shot
    ds = tmp_path / "ds"
    rep = prepare_dataset([foley_folder], ds, PrepareOptions(valid_fraction=0.1), workers=0)
    assert rep.n_files == 13 and not rep.failed
    assert rep.label_counts == {"footsteps/wood": 5, "footsteps/metal": 4, "footsteps/gravel": 4}
    es = _entries(ds)
    tick = next(e for e in es if e["file"].endswith("tick.wav"))
    assert 0.02 < tick["duration"] <= 0.05 + 1e-9 and rep.shortest[0].endswith("tick.wav")
    for label in rep.label_counts:
        splits = [e["split"] for e in es if e["label"] == label]
        assert splits.count("valid") == 1 and splits.count("train") >= 3
    info = json.loads((ds / "dataset.json").read_text())
    assert info["format_version"] == prep.FORMAT_VERSION and info["sample_rate"] == SR and info["channels"] == 1
    assert sum(e["length"] for e in es) / SR == pytest.approx(rep.total_seconds)
    assert _audio(ds, es[0]).shape == (1, es[0]["length"])
    assert "shortest" in rep.summary() and "footsteps/wood" in rep.summary()


def test_assign_splits_deterministic_and_order_free() -> None:
    items = [(f"l{i % 3}", f"f{i}") for i in range(30)] + [("solo", "x")]
    a = assign_splits(items, 0.2, seed=1)
    b = assign_splits(items[::-1], 0.2, seed=1)[::-1]
    assert a == b and a[-1] == "train"
    for lab in ("l0", "l1", "l2"):
        assert [s for (la, _), s in zip(items, a, strict=True) if la == lab].count("valid") == 2
    assert a != assign_splits(items, 0.2, seed=2)
    assert assign_splits([("a", "1"), ("a", "2")], 0.9, 0).count("train") == 1  # never all of a label
    # one file per label: still one valid file once there are two files (was train 2 / valid 0)
    assert sorted(assign_splits([("a", "1"), ("b", "2")], 0.5, 0)) == ["train", "valid"]
    assert assign_splits([("a", "1"), ("b", "2")], 0.0, 0) == ["train", "train"]
    assert assign_splits([("a", "1")], 0.5, 0) == ["train"]


def test_rerun_with_other_options_is_refused_naming_them(foley_folder: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    prepare_dataset([foley_folder], ds, PrepareOptions(valid_fraction=0.25), workers=0)
    with pytest.raises(FoleyError, match=r"--valid-fraction 0.25 \(now 0.5\).*--force"):
        prepare_dataset([foley_folder], ds, PrepareOptions(valid_fraction=0.5), workers=0)
    with pytest.raises(FoleyError, match=r"--sample-rate 44100 \(now 22050\)"):
        prepare_dataset([foley_folder], ds, PrepareOptions(valid_fraction=0.25, sample_rate=22050), workers=0)
    rep = prepare_dataset([foley_folder], ds, PrepareOptions(valid_fraction=0.5), workers=0, force=True)
    assert rep.split_counts == {"train": 6, "valid": 6}
    assert json.loads((ds / "dataset.json").read_text())["options"]["valid_fraction"] == 0.5
    assert not rep.warnings or "small dataset" in rep.warnings[0]


def test_trim_keeps_onset_and_resamples_and_mixes_down(write_wav: Callable[..., Path], tmp_path: Path) -> None:
    step = footstep("metal", dur=0.3, seed=1)
    pad = np.zeros(int(0.4 * 48000), np.float32)
    stereo = np.stack([np.concatenate([pad, step[: len(step)], pad])] * 2)
    write_wav("in/metal/a.wav", stereo, sr=48000)
    ds = tmp_path / "ds"
    prepare_dataset([tmp_path / "in"], ds, PrepareOptions(sample_rate=SR, valid_fraction=0.0), workers=0)
    (e,) = _entries(ds)
    assert e["label"] == "metal" and e["channels"] == 1
    x = _audio(ds, e)[0]
    first = int(np.flatnonzero(np.abs(x) > np.abs(x).max() * 1e-3)[0])
    assert first <= int(prep.PRE_ROLL_S * SR) + 5  # onset right after the short pre-roll
    assert 0.25 < e["duration"] < 0.35
    assert e["source_duration"] == pytest.approx((2 * len(pad) + len(step)) / 48000, abs=1e-3)
    t, start = trim_silence(np.zeros((1, 100), np.float32), SR)
    assert t.shape == (1, 0) and start == 0


def test_loudness_and_normalisation(write_wav: Callable[..., Path], tmp_path: Path) -> None:
    t = np.arange(SR) / SR
    sine = np.sin(2 * np.pi * 997 * t)[None].astype(np.float32)
    assert k_weighted_loudness(sine, SR) == pytest.approx(-3.01, abs=0.1)  # BS.1770: full-scale 1 kHz sine
    write_wav("in/a/s.wav", 0.1 * sine[0])
    for mode, target, check in (
        ("peak", -1.0, lambda x: 20 * np.log10(np.abs(x).max())),
        ("lufs", -20.0, lambda x: k_weighted_loudness(x, SR)),
    ):
        ds = tmp_path / mode
        prepare_dataset([tmp_path / "in"], ds, PrepareOptions(normalize=mode, target_db=target), workers=0)
        assert check(_audio(ds, _entries(ds)[0])) == pytest.approx(target, abs=0.05)


def test_incremental_rerun_skips_and_updates(
    foley_folder: Path, write_wav: Callable[..., Path], tmp_path: Path
) -> None:
    ds = tmp_path / "ds"
    prepare_dataset([foley_folder], ds, workers=0)
    before = {e["file"]: _audio(ds, e) for e in _entries(ds)}
    decoded: list[str] = []
    real = prep._process_file

    def spy(path: str, options: PrepareOptions):  # type: ignore[no-untyped-def]
        decoded.append(path)
        return real(path, options)

    prep._process_file = spy  # type: ignore[assignment]
    try:
        rep = prepare_dataset([foley_folder], ds, workers=0)
        assert (rep.n_new, rep.n_reused) == (0, 12) and decoded == []
        write_wav("sounds/footsteps/snow/s.wav", footstep("snow", seed=3))
        (foley_folder / "footsteps/wood/wood_0.wav").unlink()
        rep = prepare_dataset([foley_folder], ds, workers=0)
        assert (rep.n_new, rep.n_reused, rep.n_removed, rep.n_files) == (1, 11, 1, 12)
        assert len(decoded) == 1 and decoded[0].endswith("s.wav")
    finally:
        prep._process_file = real  # type: ignore[assignment]
    after = {e["file"]: _audio(ds, e) for e in _entries(ds)}
    for f, a in after.items():
        if f in before:
            np.testing.assert_array_equal(a, before[f])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unreadable_files_counted_and_skipped(foley_folder: Path, tmp_path: Path) -> None:
    (foley_folder / "footsteps/wood/broken.wav").write_bytes(b"RIFF....garbage")
    (foley_folder / "footsteps/wood/empty.ogg").write_bytes(b"")
    (foley_folder / "notes.txt").write_text("not audio")
    lines: list[str] = []
    rep = prepare_dataset([foley_folder], tmp_path / "ds", workers=0, warn=lines.append)
    assert rep.n_files == 12 and len(rep.failed) == 2 and len(lines) == 2
    assert all(x.startswith("skipped: ") and "\n" not in x for x in lines)
    assert "skipped 2 unreadable" in rep.summary()


def test_no_audio_is_an_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    (tmp_path / "in/readme.txt").write_text("x")
    with pytest.raises(FoleyError, match="no audio files"):
        prepare_dataset([tmp_path / "in"], tmp_path / "ds")
    (tmp_path / "in/bad.wav").write_bytes(b"xx")
    with pytest.raises(FoleyError, match="none of the 1 audio files"):
        prepare_dataset([tmp_path / "in"], tmp_path / "ds", warn=lambda m: None)
    assert main(["prepare", str(tmp_path / "nope"), "-o", str(tmp_path / "ds")]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_other_format_version_refused(foley_folder: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    prepare_dataset([foley_folder], ds, workers=0)
    info = json.loads((ds / "dataset.json").read_text())
    info["format_version"] = prep.FORMAT_VERSION + 1
    (ds / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(DatasetFormatError, match="newer than the supported"):
        prepare_dataset([foley_folder], ds, workers=0)
    prepare_dataset([foley_folder], ds, workers=0, force=True)  # --force rebuilds
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("mine")
    with pytest.raises(DatasetFormatError, match="not a prepared dataset"):
        prepare_dataset([foley_folder], other, workers=0)


def test_interrupted_prepare_leaves_dataset_intact(
    foley_folder: Path, write_wav: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = tmp_path / "ds"
    prepare_dataset([foley_folder], ds, PrepareOptions(seed=1), workers=0)
    snapshot = {p.relative_to(ds): p.read_bytes() for p in ds.rglob("*") if p.is_file()}
    for i in range(3):
        write_wav(f"sounds/footsteps/snow/s{i}.wav", footstep("snow", seed=i))
    calls = []
    real = prep._process_file

    def boom(path: str, options: PrepareOptions):  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C mid-run
        return real(path, options)

    monkeypatch.setattr(prep, "_process_file", boom)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset([foley_folder], ds, PrepareOptions(seed=1), workers=0)
    assert {p.relative_to(ds): p.read_bytes() for p in ds.rglob("*") if p.is_file()} == snapshot
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_worker_pool_gives_the_same_dataset(foley_folder: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a", tmp_path / "b"
    prepare_dataset([foley_folder], a, workers=0)
    assert main(["prepare", str(foley_folder), "-o", str(b), "--workers", "2", "--seed", "0"]) == 0
    assert "12 files" in capsys.readouterr().out
    ea, eb = _entries(a), _entries(b)
    assert [(e["file"], e["label"], e["split"], e["length"]) for e in ea] == [
        (e["file"], e["label"], e["split"], e["length"]) for e in eb
    ]
    np.testing.assert_array_equal(np.load(a / ea[0]["shard"]), np.load(b / eb[0]["shard"]))


@pytest.mark.network_apt
def test_real_minetest_every_footstep_kept(minetest_dir: Path, minetest_dataset: Path) -> None:
    fetched = [json.loads(x) for x in (minetest_dir / "manifest.jsonl").read_text().splitlines()]
    es = {e["file"]: e for e in _entries(minetest_dataset)}
    assert len(es) == len(fetched)
    steps = [f for f in fetched if f["label"].startswith("footsteps/")]
    assert len(steps) == 32
    for f in steps:
        assert es[f["file"]]["label"] == f["label"]
    shortest_step = min((es[f["file"]] for f in steps), key=lambda e: e["duration"])
    assert shortest_step["duration"] < 0.2  # the 0.16 s wood steps are kept
    shortest = min(es.values(), key=lambda e: e["duration"])
    assert shortest["duration"] < 0.1 and shortest["length"] > 0
    labels = {e["label"] for e in es.values()}
    for lab in labels:
        n = sum(e["label"] == lab for e in es.values())
        if n >= 2:
            assert any(e["split"] == "valid" for e in es.values() if e["label"] == lab)


def test_assign_splits_fixed_items_stay_valid_and_the_rest_split_as_before() -> None:
    items = [(f"l{i % 3}", f"f{i}") for i in range(30)]
    fixed = [i in (0, 1, 7) for i in range(30)]
    a = assign_splits(items, 0.2, seed=1, fixed=fixed)
    assert [a[i] for i in (0, 1, 7)] == ["valid"] * 3
    free = [i for i in range(30) if not fixed[i]]
    assert [a[i] for i in free] == assign_splits([items[i] for i in free], 0.2, seed=1)
    assert assign_splits(items, 0.2, 1, [False] * 30) == assign_splits(items, 0.2, 1)


def test_fixed_valid_keeps_old_held_out_files_when_files_are_added(
    foley_folder: Path, write_wav: Callable[..., Path], tmp_path: Path
) -> None:
    old = tmp_path / "old"
    prepare_dataset([foley_folder], old, PrepareOptions(valid_fraction=0.25), workers=0)
    held = {f"sounds/{e['file']}" for e in _entries(old) if e["split"] == "valid"}
    assert prep.read_fixed_valid(old) == tuple(sorted(held)) == prep.read_fixed_valid(old / "manifest.jsonl")
    # a larger corpus: new files in the old labels (their hashes would move the stratified picks) and a new label
    for i in range(6):
        write_wav(f"sounds/footsteps/wood/new_{i}.wav", footstep("wood", dur=0.2, seed=20 + i))
        write_wav(f"sounds/impacts/stone/hit_{i}.wav", footstep("gravel", dur=0.2, seed=40 + i))
    lst = tmp_path / "heldout.txt"
    lst.write_text("# today's held-out clips\n" + "\n".join(sorted(held)) + "\nsounds/footsteps/wood/gone.wav\n")
    keys = prep.read_fixed_valid(lst)
    new = tmp_path / "new"
    rep = prepare_dataset([foley_folder], new, PrepareOptions(valid_fraction=0.25, fixed_valid=keys), workers=0)
    es = _entries(new)
    assert {f"{e['root']}/{e['file']}" for e in es if e.get("fixed_valid")} == held
    assert all(e["split"] == "valid" for e in es if e.get("fixed_valid"))
    assert {e["label"] for e in es if e["split"] == "valid" and not e.get("fixed_valid")} >= {"impacts/stone"}
    assert rep.fixed_valid == (len(held), 1) and any("not among the inputs" in w for w in rep.warnings)
    assert "fixed valid set" in rep.summary()
    with pytest.raises(FoleyError, match="--fixed-valid"):  # another list is another split: refused
        prepare_dataset([foley_folder], new, PrepareOptions(valid_fraction=0.25), workers=0)
    prepare_dataset([foley_folder], new, PrepareOptions(valid_fraction=0.25, fixed_valid=keys), workers=0)
    assert main(["prepare", str(foley_folder), "-o", str(tmp_path / "cli"), "--valid-fraction", "0.25",
                 "--fixed-valid", str(lst), "--workers", "0"]) == 0  # fmt: skip
    assert sum(1 for e in _entries(tmp_path / "cli") if e.get("fixed_valid")) == len(held)
    with pytest.raises(FoleyError, match="no such fixed-valid list"):
        prep.read_fixed_valid(tmp_path / "nope.txt")


def test_bundled_heldout_list_is_well_formed() -> None:
    keys = prep.read_fixed_valid(Path(__file__).parents[2] / "benchmarks/heldout/foley_v1.txt")
    assert len(keys) == 38 and {k.split("/", 1)[0] for k in keys} == {"minetest", "0ad", "openarena"}
    assert "0ad/footsteps/gravel/fs_gravel2.ogg" in keys
    assert all(k.split("/")[1] in ("footsteps", "impacts", "water") for k in keys)
