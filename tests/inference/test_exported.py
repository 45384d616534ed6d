"""The engine and the CLIs on a real TorchScript export opened by ``export.loader.load_model`` (no stand-ins)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from foleyvae.cli.main import main
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.render import regenerate
from tests.conftest import SR, footstep
from tests.inference.toy import ToyStream


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from foleyvae.export.torchscript import export_model

    toy = ToyStream(seed=0)  # same seed and config: the same weights as the file
    torch.manual_seed(0)
    from foleyvae.config import apply_overrides, preset
    from foleyvae.models.builders import build_model

    cfg = apply_overrides(preset("tiny"), [f"audio.sample_rate={SR}", "model.latent_size=4"])
    net = build_model(cfg)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), toy.net.state_dict().values(), strict=True))
    path = tmp_path_factory.mktemp("export") / "tiny.ts"
    export_model(net, cfg, None, path, check=False, name="tiny")
    return path


def test_engine_on_export_matches_eager(exported: Path) -> None:
    from foleyvae.export.loader import load_model

    model = load_model(exported)
    x = np.zeros((1, 6000), np.float32)
    x[0, 500 : 500 + 4000] = footstep("metal", 4000 / SR)
    for block in (64, 100):
        np.testing.assert_allclose(regenerate(model, x, block), regenerate(ToyStream(), x, block), atol=1e-5)
    eng = StreamingEngine(model, 256)
    assert eng.latency_samples == ToyStream().delay_samples


def test_transfer_cli_on_export(exported: Path, write_wav: Callable[..., Path], tmp_path: Path) -> None:
    src = write_wav("in.wav", footstep("wood", 0.3))
    out = tmp_path / "out.wav"
    assert main(["transfer", str(src), "--model", str(exported), "-o", str(out), "--block", "128"]) == 0
    y, sr = sf.read(out)
    assert sr == SR and len(y) == int(0.3 * SR) and np.abs(y).max() > 1e-4
