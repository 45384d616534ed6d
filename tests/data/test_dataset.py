from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from foleyvae.data.dataset import FoleyDataset, make_loader, set_loader_epoch
from foleyvae.data.prepare import PrepareOptions, prepare_dataset
from foleyvae.errors import FoleyError

N = 16384


@pytest.fixture
def synth_ds(foley_folder: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    prepare_dataset([foley_folder], out, PrepareOptions(valid_fraction=0.25, seed=0), workers=0)
    return out


def test_train_crops_shape_determinism_and_packing(synth_ds: Path) -> None:
    ds = FoleyDataset(synth_ds, "train", n_samples=N, seed=3)
    assert ds.sample_rate == 44100 and ds.channels == 1
    assert ds.labels == ["footsteps/gravel", "footsteps/metal", "footsteps/wood"]
    assert len(ds) >= 9
    x = ds[0]
    assert x.shape == (1, N) and x.dtype == torch.float32
    torch.testing.assert_close(x, FoleyDataset(synth_ds, "train", n_samples=N, seed=3)[0], rtol=0, atol=0)
    assert not torch.equal(x, FoleyDataset(synth_ds, "train", n_samples=N, seed=4)[0])
    zero_fractions, peaks = [], []
    for i in range(len(ds)):
        xi = ds[i]
        zero_fractions.append(float((xi == 0).float().mean()))
        peaks.append(float(xi.abs().max()))
        # packing keeps one label: every piece of the crop comes from the crop's label
        _, pieces, _ = ds._plan(i)
        assert {ds.entries[k]["label"] for k, *_ in pieces} == {ds.label_of(i)}
    assert max(zero_fractions) < 0.5 and np.mean(zero_fractions) < 0.25  # never mostly padding
    assert min(peaks) > 1e-3 and np.median(peaks) > 0.1  # not silent
    ds.set_epoch(1)
    assert not torch.equal(ds[0], x)
    ds.set_epoch(0)
    torch.testing.assert_close(ds[0], x, rtol=0, atol=0)


def test_augment_is_deterministic_and_bounded(synth_ds: Path) -> None:
    plain = FoleyDataset(synth_ds, "train", n_samples=N, seed=0, examples_per_epoch=20)
    aug = FoleyDataset(synth_ds, "train", n_samples=N, seed=0, augment=True, examples_per_epoch=20)
    assert len(aug) == 20
    diffs = 0
    for i in range(20):
        a = aug[i]
        torch.testing.assert_close(a, aug[i], rtol=0, atol=0)
        assert float(a.abs().max()) <= 1.0 + 1e-6 and torch.isfinite(a).all()
        diffs += int(not torch.allclose(a, plain[i]))
    assert diffs == 20


def test_valid_split_one_fixed_example_per_file(synth_ds: Path) -> None:
    v = FoleyDataset(synth_ds, "valid", n_samples=N, augment=True, seed=1, examples_per_epoch=99)
    manifest = [json.loads(x) for x in (synth_ds / "manifest.jsonl").read_text().splitlines()]
    valid = [e for e in manifest if e["split"] == "valid"]
    assert len(v) == len(valid) == 3  # one per label at 25 % of 4 files
    assert sorted(v.label_of(i) for i in range(len(v))) == v.labels
    for i in range(len(v)):
        a = v[i]
        v.set_epoch(7)
        torch.testing.assert_close(v[i], a, rtol=0, atol=0)  # same audio every call, no augmentation
        e = v.entries[i]
        seg = np.load(synth_ds / e["shard"], mmap_mode="r")[:, e["offset"] : e["offset"] + min(N, e["length"])]
        np.testing.assert_array_equal(a.numpy()[:, : seg.shape[1]], seg)  # starts at the file's onset
        assert float((a == 0).float().mean()) < 0.5
    assert v.label_index(0) == v.labels.index(v.label_of(0))


def test_loader_batches_and_seeded_shuffle(synth_ds: Path) -> None:
    ds = FoleyDataset(synth_ds, "train", n_samples=4096, seed=0, examples_per_epoch=10)
    order = [b for b in make_loader(ds, 4, shuffle=True, seed=5)]
    assert len(order) == 2 and order[0].shape == (4, 1, 4096)
    again = [b for b in make_loader(ds, 4, shuffle=True, seed=5)]
    torch.testing.assert_close(order[0], again[0], rtol=0, atol=0)
    loader = make_loader(ds, 4, shuffle=False, seed=0, drop_last=False)
    assert [b.shape[0] for b in loader] == [4, 4, 2]
    set_loader_epoch(loader, 2)
    assert ds.epoch == 2
    with pytest.raises(FoleyError, match="fewer than one batch"):
        make_loader(ds, 64, shuffle=True, seed=0)


def test_loader_uses_distributed_sampler_when_initialised(synth_ds: Path, tmp_path: Path) -> None:
    import torch.distributed as dist
    from torch.utils.data import DistributedSampler

    ds = FoleyDataset(synth_ds, "train", n_samples=2048, examples_per_epoch=8)
    assert not isinstance(make_loader(ds, 2, True, 0, distributed=True).sampler, DistributedSampler)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        loader = make_loader(ds, 2, shuffle=True, seed=0, distributed=True)
        assert isinstance(loader.sampler, DistributedSampler)
        set_loader_epoch(loader, 3)
        assert loader.sampler.epoch == 3 and len(list(loader)) == 4
    finally:
        dist.destroy_process_group()


def test_dataset_errors(synth_ds: Path, foley_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FoleyError, match="not a prepared dataset"):
        FoleyDataset(foley_folder, "train", n_samples=N)
    with pytest.raises(FoleyError, match="no such dataset folder"):
        FoleyDataset(tmp_path / "missing", "train", n_samples=N)
    with pytest.raises(FoleyError, match="split must be"):
        FoleyDataset(synth_ds, "test", n_samples=N)
    no_valid = tmp_path / "nv"
    prepare_dataset([foley_folder], no_valid, PrepareOptions(valid_fraction=0.0), workers=0)
    with pytest.raises(FoleyError, match="no 'valid' files"):
        FoleyDataset(no_valid, "valid", n_samples=N)
    info = json.loads((synth_ds / "dataset.json").read_text())
    info["format_version"] = 0
    (synth_ds / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(FoleyError, match="format version 0"):
        FoleyDataset(synth_ds, "train", n_samples=N)
    (no_valid / "manifest.jsonl").write_text("")
    with pytest.raises(FoleyError, match="empty"):
        FoleyDataset(no_valid, "train", n_samples=N)


@pytest.mark.network_apt
def test_real_minetest_crops(minetest_dataset: Path) -> None:
    n = 32768
    ds = FoleyDataset(minetest_dataset, "train", n_samples=n, augment=True, seed=0, examples_per_epoch=64)
    assert "footsteps/wood" in ds.labels
    zeros = []
    for i in range(64):
        x = ds[i]
        assert x.shape == (1, n) and torch.isfinite(x).all()
        zeros.append(float((x == 0).float().mean()))
    assert np.mean(zeros) < 0.3 and max(zeros) < 0.6
    v = FoleyDataset(minetest_dataset, "valid", n_samples=n)
    assert len(v) == sum(1 for e in v.entries) and all(v[i].abs().max() > 0 for i in range(len(v)))
