"""Fixtures for the evaluation tests: a tiny random-weights StreamModel and a tiny prepared footstep dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import SR, footstep


@pytest.fixture
def tiny_model():  # type: ignore[no-untyped-def]
    """``build_model(preset("tiny"))`` with seeded random weights, opened as an EagerStreamModel."""
    from foleyvae.config import preset
    from foleyvae.models.builders import build_model
    from foleyvae.playable.adapters import EagerStreamModel

    torch.manual_seed(0)
    return EagerStreamModel(build_model(preset("tiny")), name="tiny-random")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared dataset of synthetic footsteps: 3 materials x 3 files, one held-out file per material."""
    from foleyvae.data.prepare import PrepareOptions, prepare_dataset

    root = tmp_path_factory.mktemp("evaldata")
    for mat in ("wood", "metal", "gravel"):
        for i, dur in enumerate((0.25, 0.4, 0.6)):
            p = root / "sounds" / mat / f"{mat}_{i}.wav"
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, footstep(mat, dur=dur, seed=i), SR)
    out = root / "ds"
    prepare_dataset([root / "sounds"], out, PrepareOptions(valid_fraction=0.34), warn=lambda _m: None)
    return out


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.3
