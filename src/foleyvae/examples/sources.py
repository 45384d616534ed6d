"""The recordings the examples page starts from, with their provenance.

``foleyvae/assets/example_sounds/`` (built by ``scripts/example_sounds.py``): held-out files of the bundled models'
dataset (never trained on), copied byte for byte from the Debian packages minetest-data and 0ad-data
(CC-BY-SA-3.0), with ``manifest.jsonl`` (file, label, material, package, version, licence, path in the package,
sha256) and the packages' copyright files in ``licences/``. The folder is also a corpus in the
:func:`foleyvae.inference.recipes.library_recordings` format, so the 18 mixes pick their recordings from it.

The performances for "voice and taps" come from the studio's sample library (``assets/samples``, CC0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foleyvae.audio.io import load
from foleyvae.errors import FoleyError
from foleyvae.export.loader import assets_dir

__all__ = ["MATERIAL_ORDER", "ExampleSound", "Performance", "example_library", "example_sounds", "performances"]

# the page's order: the original work's materials first (wood, metal, rock, earth...), then the others
MATERIAL_ORDER = ("wood", "metal", "stone", "dirt", "gravel", "grass", "sand", "snow", "water", "ice", "glass")


@dataclass(frozen=True)
class ExampleSound:
    """One source recording: ``path`` on disk and its provenance (see the module docstring)."""

    path: Path
    label: str
    material: str
    package: str
    version: str
    licence: str
    source: str
    split: str

    def audio(self, sample_rate: int) -> np.ndarray:
        """The recording as mono ``[1, T]`` float32 at ``sample_rate``."""
        x, _ = load(self.path, sample_rate=sample_rate, channels=1)
        return x


@dataclass(frozen=True)
class Performance:
    """A neutral performance to steer into materials: ``name`` (shown), ``path``, ``credit``."""

    name: str
    path: Path
    credit: str

    def audio(self, sample_rate: int) -> np.ndarray:
        x, _ = load(self.path, sample_rate=sample_rate, channels=1)
        return x


def example_library() -> Path:
    """``foleyvae/assets/example_sounds``."""
    return assets_dir() / "example_sounds"


def example_sounds(library: Path | None = None) -> list[ExampleSound]:
    """Every recording of the library: by material (:data:`MATERIAL_ORDER`, others after), then manifest order."""
    root = library or example_library()
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise FoleyError(f"{root}: no manifest.jsonl (rebuild it with scripts/example_sounds.py)")
    out = []
    for line in manifest.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        path = root / row["file"]
        if not path.is_file():
            raise FoleyError(f"{root}: manifest names {row['file']}, which is missing")
        out.append(
            ExampleSound(
                path, row["label"], row["material"], row["package"], row["version"], row["licence"], row["source"],
                row["split"],
            )
        )  # fmt: skip
    if not out:
        raise FoleyError(f"{root}: the manifest lists no sounds")
    rank = {m: i for i, m in enumerate(MATERIAL_ORDER)}
    return sorted(out, key=lambda s: rank.get(s.material, len(rank)))  # stable: manifest order within a material


def performances() -> list[Performance]:
    """The voice and taps performances of the sample library (CC0, see ``assets/samples/README.md``)."""
    folder = assets_dir() / "samples"
    out = [
        Performance("voice (English)", folder / "speech_en.wav", "eSpeak NG speech, CC0 (assets/samples)"),
        Performance("voice (French)", folder / "speech_fr.wav", "eSpeak NG speech, CC0 (assets/samples)"),
        Performance("finger taps", folder / "taps.wav", "synthetic taps, CC0 (assets/samples)"),
    ]
    for p in out:
        if not p.path.is_file():
            raise FoleyError(f"{p.path}: missing from the sample library")
    return out
