"""The PyTorch training dataset over a prepared dataset folder (see ``prepare.py`` for the format).

Training crops (``split="train"``): crop ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``. It picks a
file uniformly; a file longer than the crop gives the loudest of 3 random windows of it; a shorter one-shot is
*packed*: it is followed by other one-shots of the same label with 10-120 ms gaps until the crop is full, so a
crop is never mostly padding and keeps one label (``label_of(i)``). Optional augmentations: gain +-6 dB, polarity,
a shift of up to 10 ms, and a random first-order allpass or a gentle (+-3 dB) peaking EQ.

Validation crops (``split="valid"``): one example per validation file, always the same audio: the file from its
start (its onset, since prepare trims leading silence), repeated after a fixed 50 ms gap when shorter than the crop.
No augmentation, so validation losses are comparable across steps and per-label centroids can be computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, SequentialSampler

from foleyvae.data.materials import material_of
from foleyvae.data.prepare import read_dataset_info, read_manifest
from foleyvae.errors import FoleyError

__all__ = ["FoleyDataset", "make_loader", "set_loader_epoch"]

GAP_RANGE_S = (0.010, 0.120)
LEAD_MAX_S = 0.010
VALID_GAP_S = 0.050
SHIFT_MAX_S = 0.010
GAIN_DB = 6.0
WINDOW_TRIES = 3


class FoleyDataset(Dataset[torch.Tensor]):
    """Crops ``[C, n_samples]`` float32 from a prepared dataset.

    Args:
        root: dataset folder written by ``foleyvae prepare``.
        split: ``"train"`` or ``"valid"``.
        n_samples: crop length in samples.
        augment: random gain/polarity/shift/allpass-or-EQ (train split only; ignored for valid).
        seed: crops and augmentations are a function of (seed, epoch, index).
        examples_per_epoch: length of the train split; default ``max(n_files, total_samples // n_samples)``.
            The valid split always has one example per file.
        files: whose files to use (default: ``split``'s); ``split="valid", files="train"`` gives validation crops
            of the training files (a dataset too small to have a valid split).
        materials: material names (``data.materials``) of a material-conditioned model; when given, an example is
            ``(crop, material index)``, the index of the crop's label's material in this list, -1 for none.
    Raises:
        FoleyError: folder not prepared / other format version, unknown or empty split, bad n_samples.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        n_samples: int = 32768,
        augment: bool = False,
        seed: int = 0,
        examples_per_epoch: int | None = None,
        files: str | None = None,
        materials: Sequence[str] = (),
    ) -> None:
        if split not in ("train", "valid"):
            raise FoleyError(f"split must be 'train' or 'valid', got {split!r}")
        if n_samples < 1:
            raise FoleyError(f"n_samples must be >= 1, got {n_samples}")
        self.root = Path(root)
        info = read_dataset_info(self.root)
        entries = read_manifest(self.root)
        if not entries:
            raise FoleyError(f"{self.root}: the dataset is empty")
        self._all_labels = sorted({str(e["label"]) for e in entries})
        files = files or split
        if files not in ("train", "valid"):
            raise FoleyError(f"files must be 'train' or 'valid', got {files!r}")
        self.entries = [e for e in entries if e.get("split") == files]
        if not self.entries:
            hint = " (prepare at least 2 files with --valid-fraction > 0 and --force)" if files == "valid" else ""
            raise FoleyError(f"{self.root}: the dataset has no {files!r} files{hint}")
        self.split = split
        self.n_samples = int(n_samples)
        self.augment = bool(augment) and split == "train"
        self.seed = int(seed)
        self.epoch = 0
        self._sample_rate = int(info["sample_rate"])
        self._channels = int(info["channels"])
        self._by_label: dict[str, list[int]] = {}
        for k, e in enumerate(self.entries):
            self._by_label.setdefault(str(e["label"]), []).append(k)
        total = sum(int(e["length"]) for e in self.entries)
        if split == "valid":
            self._len = len(self.entries)
        elif examples_per_epoch is not None:
            if examples_per_epoch < 1:
                raise FoleyError(f"examples_per_epoch must be >= 1, got {examples_per_epoch}")
            self._len = int(examples_per_epoch)
        else:
            self._len = max(len(self.entries), total // self.n_samples)
        self._shards: dict[str, np.ndarray] = {}
        self.materials = list(materials)
        self._material_of_entry = [
            self.materials.index(m) if (m := material_of(str(e["label"]))) in self.materials else -1
            for e in self.entries
        ]

    # ----------------------------------------------------------------------------- properties

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def labels(self) -> list[str]:
        """Sorted label names of the whole dataset (both splits), so indices agree across splits."""
        return list(self._all_labels)

    def set_epoch(self, epoch: int) -> None:
        """Select the crops of another epoch (train split; the valid split never changes)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self._len

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_shards"] = {}  # memory maps are reopened in each DataLoader worker
        return state

    # ----------------------------------------------------------------------------- crops

    def _rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])

    def _plan(self, i: int) -> tuple[int, list[tuple[int, int, int, int]], np.random.Generator]:
        """(first entry, [(entry, src_start, dst_start, length)], rng positioned after the plan)."""
        if not 0 <= i < self._len:
            raise IndexError(f"index {i} out of range for {self._len} examples")
        n, sr = self.n_samples, self._sample_rate
        if self.split == "valid":
            k = i
            length = int(self.entries[k]["length"])
            pieces = []
            pos, gap = 0, int(VALID_GAP_S * sr)
            while pos < n:
                take = min(length, n - pos)
                pieces.append((k, 0, pos, take))
                pos += length + gap
            return k, pieces, self._rng(i)
        rng = self._rng(i)
        k = int(rng.integers(len(self.entries)))
        length = int(self.entries[k]["length"])
        if length >= n:
            # Best of a few random windows by energy: a long one-shot's quiet decay tail is real audio but a poor
            # training example when it fills the whole crop. The choice depends only on the rng and the data.
            starts = [int(rng.integers(length - n + 1)) for _ in range(WINDOW_TRIES)]
            seg = self._segment(k)
            start = max(starts, key=lambda s: float(np.square(seg[:, s : s + n], dtype=np.float64).sum()))
            return k, [(k, start, 0, n)], rng
        same = self._by_label[str(self.entries[k]["label"])]
        pieces = []
        pos = int(rng.integers(int(LEAD_MAX_S * sr) + 1))
        cur = k
        while pos < n:
            cur_len = int(self.entries[cur]["length"])
            take = min(cur_len, n - pos)
            pieces.append((cur, 0, pos, take))
            pos += cur_len + int(rng.integers(int(GAP_RANGE_S[0] * sr), int(GAP_RANGE_S[1] * sr) + 1))
            cur = same[int(rng.integers(len(same)))]
        return k, pieces, rng

    def label_of(self, i: int) -> str:
        """Label of crop ``i`` (of the current epoch)."""
        return str(self.entries[self._plan(i)[0]]["label"])

    def label_index(self, i: int) -> int:
        """Index of ``label_of(i)`` in ``labels``."""
        return self._all_labels.index(self.label_of(i))

    def _segment(self, k: int) -> np.ndarray:
        e = self.entries[k]
        shard = str(e["shard"])
        arr = self._shards.get(shard)
        if arr is None:
            arr = np.load(self.root / shard, mmap_mode="r")
            self._shards[shard] = arr
        off, n = int(e["offset"]), int(e["length"])
        return arr[:, off : off + n]

    def material_index(self, i: int) -> int:
        """Index in ``materials`` of crop ``i``'s material, -1 when its label names none of them."""
        return self._material_of_entry[self._plan(i)[0]]

    def __getitem__(self, i: int) -> Any:
        """Crop ``i``: ``[C, n_samples]`` float32; with ``materials``, ``(crop, material index)``."""
        first, pieces, rng = self._plan(int(i))
        out = np.zeros((self._channels, self.n_samples), np.float32)
        for k, src, dst, take in pieces:
            out[:, dst : dst + take] = self._segment(k)[:, src : src + take]
        if self.augment:
            out = _augment(out, self._sample_rate, rng)
        crop = torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))
        if self.materials:
            return crop, self._material_of_entry[first]
        return crop


def _augment(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Random gain, polarity, shift and allpass-or-EQ of ``x [C, T]``; peaks are kept <= 1."""
    from scipy.signal import lfilter

    x = x * np.float32(10.0 ** (rng.uniform(-GAIN_DB, GAIN_DB) / 20.0))
    if rng.random() < 0.5:
        x = -x
    shift = int(rng.integers(-int(SHIFT_MAX_S * sample_rate), int(SHIFT_MAX_S * sample_rate) + 1))
    if shift > 0:
        x = np.concatenate([np.zeros_like(x[:, :shift]), x[:, :-shift]], axis=1)
    elif shift < 0:
        x = np.concatenate([x[:, -shift:], np.zeros_like(x[:, :-shift])], axis=1)
    if rng.random() < 0.5:
        # First-order allpass: changes phase only, so the model cannot rely on one phase response.
        a = rng.uniform(-0.7, 0.7)
        x = lfilter([a, 1.0], [1.0, a], x, axis=-1)
    else:
        # Gentle peaking EQ (RBJ cookbook), +-3 dB at 150 Hz..8 kHz, Q 0.7..2.
        f0 = math.exp(rng.uniform(math.log(150.0), math.log(min(8000.0, 0.45 * sample_rate))))
        gain = rng.uniform(-3.0, 3.0)
        q = rng.uniform(0.7, 2.0)
        big_a = 10.0 ** (gain / 40.0)
        w = 2.0 * math.pi * f0 / sample_rate
        alpha = math.sin(w) / (2.0 * q)
        b = [1.0 + alpha * big_a, -2.0 * math.cos(w), 1.0 - alpha * big_a]
        a_ = [1.0 + alpha / big_a, -2.0 * math.cos(w), 1.0 - alpha / big_a]
        x = lfilter(b, a_, x, axis=-1)
    peak = float(np.abs(x).max())
    if peak > 1.0:
        x = x / peak
    return np.asarray(x, dtype=np.float32)


def make_loader(
    dataset: Any,
    batch_size: int,
    shuffle: bool,
    seed: int,
    distributed: bool = False,
    num_workers: int = 0,
    drop_last: bool = True,
) -> DataLoader[torch.Tensor]:
    """A DataLoader of ``[B, C, n_samples]`` batches.

    Uses a DistributedSampler (each rank a disjoint share, shuffled by ``seed``) when ``distributed`` and
    torch.distributed is initialised; otherwise a seeded RandomSampler (shuffle) or a SequentialSampler. Call
    :func:`set_loader_epoch` before each epoch so both the sampler and the dataset's crops change with it.
    """
    n = len(dataset)
    if n == 0:
        raise FoleyError("the dataset is empty")
    if batch_size < 1:
        raise FoleyError(f"batch_size must be >= 1, got {batch_size}")
    if drop_last and n < batch_size:
        raise FoleyError(f"the dataset has {n} examples, fewer than one batch of {batch_size} (drop_last)")
    sampler: Any
    use_dist = distributed and torch.distributed.is_available() and torch.distributed.is_initialized()
    if use_dist:
        sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
    elif shuffle:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
        sampler.foleyvae_seed = seed  # type: ignore[attr-defined]  # reseeded per epoch by set_loader_epoch
    else:
        sampler = SequentialSampler(dataset)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=False,
        # its own generator: creating an iterator must not draw from the global RNG (exact resume)
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=False,  # workers must see set_epoch() on the dataset, so they restart each epoch
    )


def set_loader_epoch(loader: DataLoader[torch.Tensor], epoch: int) -> None:
    """Tell the loader's sampler (if distributed) and dataset (if it has set_epoch) about a new epoch."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
    elif isinstance(loader.sampler, RandomSampler) and loader.sampler.generator is not None:
        # the order of epoch e is a function of (seed, e) alone, so a resumed run sees the same batches
        seed = int(getattr(loader.sampler, "foleyvae_seed", 0))
        loader.sampler.generator.manual_seed(seed * 1_000_003 + epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch)
