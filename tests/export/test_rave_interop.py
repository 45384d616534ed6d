"""Our loader opens real RAVE exports (acids-rave 2.3.1, v2_small config, random weights).

Opt-in (``-m slow``): the files are built by tests/export/make_rave_export.sh in a separate venv (acids-rave pins
old numpy/scipy/lightning, so it cannot live in the project's venv); the first run installs it (minutes).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch

from foleyvae.export.loader import TorchScriptStreamModel, load_model

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("FOLEYVAE_RAVE_EXPORT_DIR", ROOT / ".cache" / "rave-export"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rave_files() -> dict[str, Path]:
    files = {"streaming": OUT / "rave_v2_small_streaming.ts", "offline": OUT / "rave_v2_small.ts"}
    if not all(p.is_file() for p in files.values()):
        subprocess.run(["bash", str(ROOT / "tests" / "export" / "make_rave_export.sh"), str(OUT)], check=True)
    return files


@pytest.mark.parametrize("variant", ["streaming", "offline"])
def test_loader_runs_rave_export(rave_files: dict[str, Path], variant: str) -> None:
    m = load_model(rave_files[variant])
    assert isinstance(m, TorchScriptStreamModel) and m.kind == "rave"
    assert m.sample_rate == 44100 and m.channels == 1
    assert m.hop_length == 16 * 4 * 2 * 2 * 2  # v2_small: 16 bands, ratios [4, 2, 2, 2]
    assert m.full_latent_size == 16 and 1 <= m.latent_size <= 16
    assert "encode" in m.methods() and "decode" in m.methods()
    for batch in (1, 2):
        m.reset()
        for _ in range(2):  # two consecutive blocks (state carried in the streaming file)
            x = 0.1 * torch.randn(batch, 1, 4096)
            z = m.encode(x)
            assert z.shape == (batch, m.latent_size, 4096 // m.hop_length)
            y = m.decode(z)
            assert y.shape == (batch, 1, 4096) and bool(torch.isfinite(y).all())
    assert m.metadata["delay_known"] is False


def test_native_host_runs_rave_export(rave_files: dict[str, Path]) -> None:
    """The same C++ nn~-style host that checks our exports accepts RAVE's (sanity check of the host itself)."""
    from tests.native.test_native_host import _build_host

    host = _build_host()
    res = subprocess.run([str(host), str(rave_files["streaming"]), "2048"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "PASSED: 0 failure(s)" in res.stdout, res.stdout + res.stderr
