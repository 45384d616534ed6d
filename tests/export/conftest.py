"""Fixtures for the export tests: a tiny random-weight waveform VAE, a LatentSpace fitted on its posterior means,
and one streaming export of it (with the full self-check) shared by the module's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from foleyvae.analysis.latent import LatentSpace, fit_latent_space
from foleyvae.config import Config, preset
from foleyvae.models.base import AutoEncoder
from foleyvae.models.builders import build_model
from tests.conftest import footstep


@pytest.fixture(scope="session")
def tiny_cfg() -> Config:
    return preset("tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_cfg: Config) -> AutoEncoder:
    torch.manual_seed(0)
    return build_model(tiny_cfg).eval()


@pytest.fixture(scope="session")
def tiny_latent(tiny_model: AutoEncoder) -> LatentSpace:
    """PCA of the model's posterior means on seeded footsteps, with two labels (so centroids exist)."""
    clips = [footstep(m, dur=0.2, seed=i) for i, m in enumerate(["wood", "metal", "gravel", "snow"])]
    n = min(len(c) for c in clips) // tiny_model.hop_length * tiny_model.hop_length
    x = torch.from_numpy(np.stack([c[:n] for c in clips])).unsqueeze(1)
    with torch.no_grad():
        means = tiny_model.encode(x, sample=False).mean.numpy().astype(np.float64)
    return fit_latent_space(means, labels=["wood", "metal", "gravel", "snow"])


@pytest.fixture(scope="session")
def exported(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: AutoEncoder, tiny_cfg: Config, tiny_latent: LatentSpace
) -> dict[str, Any]:
    """One streaming export with k = 2 of 4 dims (fidelity 0.5 -> PCA fill is exercised), fully self-checked."""
    from foleyvae.export.torchscript import export_model

    out: Path = tmp_path_factory.mktemp("export") / "tiny.ts"
    report = export_model(
        tiny_model, tiny_cfg, tiny_latent, out, streaming=True, fidelity=0.5, credits=["test corpus (CC0)"]
    )
    return {"path": out, "report": report}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Opt-in tests: ``slow`` ones here (the RAVE interop test builds a venv) run only when ``-m`` selects them."""
    if config.getoption("markexpr", ""):
        return
    keep, drop = [], []
    for item in items:
        in_here = Path(str(item.fspath)).parent == Path(__file__).parent
        (drop if in_here and item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
