"""load_model: our exports, run folders, bundled names; clear errors for bad files; the eager adapter."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from foleyvae.analysis.latent import LatentSpace
from foleyvae.config import Config, save_config
from foleyvae.errors import FoleyError
from foleyvae.export import loader
from foleyvae.export.loader import TorchScriptStreamModel, list_bundled, load_model
from foleyvae.models.base import AutoEncoder
from foleyvae.playable.adapters import EagerStreamModel

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")


def test_load_our_export(exported: dict[str, Any], tiny_model: AutoEncoder, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        m = load_model(exported["path"])
    assert "only load files you trust" in caplog.text
    assert isinstance(m, TorchScriptStreamModel) and m.kind == "foleyvae"
    assert m.sample_rate == 44100 and m.hop_length == tiny_model.hop_length
    assert m.delay_samples == tiny_model.delay_samples and m.latent_size == exported["report"]["latent_size"]
    assert m.metadata["labels"] and m.metadata["credits"] == ["test corpus (CC0)"]
    x = 0.1 * torch.randn(2, 1, 1024)
    y1 = m.decode(m.encode(x))
    m.decode(m.encode(torch.randn(2, 1, 1024)))  # more stream: the caches now hold other audio
    module = m.module
    m.reset()
    assert m.module is module  # cleared in place: a reloaded module would recompile on its first calls
    y2 = m.decode(m.encode(x))
    torch.testing.assert_close(y1, y2, atol=0, rtol=0)  # reset forgets the stream's past
    m.set("latent_bias_dim", 0, 1.0)
    assert m.get("latent_bias")[0] == 1.0
    with pytest.raises(FoleyError, match="refused"):
        m.set("temperature", -1.0)
    with pytest.raises(FoleyError, match="no attribute"):
        m.set("nope", 1)


def test_corrupted_file_checksum(exported: dict[str, Any], tmp_path: Path) -> None:
    p = tmp_path / "m.ts"
    shutil.copy(exported["path"], p)
    shutil.copy(exported["path"].with_name("tiny.ts.sha256"), tmp_path / "m.ts.sha256")
    load_model(p)  # intact copy with its sidecar loads
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(FoleyError, match="checksum mismatch"):
        load_model(p)
    # (without the sidecar a flipped byte inside tensor data goes unnoticed by torch.jit.load: that is why the
    # exporter writes the checksum)


def test_truncated_and_foreign_files(exported: dict[str, Any], tmp_path: Path) -> None:
    trunc = tmp_path / "trunc.ts"
    trunc.write_bytes(exported["path"].read_bytes()[:5000])
    with pytest.raises(FoleyError, match="cannot load as TorchScript"):
        load_model(trunc)
    wav = tmp_path / "sound.wav"
    wav.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(FoleyError, match="not a TorchScript file"):
        load_model(wav)
    with pytest.raises(FoleyError, match="no such model file"):
        load_model(tmp_path / "missing.ts")
    plain = tmp_path / "plain.ts"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(plain))
    with pytest.raises(FoleyError, match="no encode method"):
        load_model(plain)
    with pytest.raises(FoleyError, match="neither a run folder"):
        load_model(tmp_path)


def test_bundled_names(exported: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "assets"
    (assets / "footsteps").mkdir(parents=True)
    shutil.copy(exported["path"], assets / "footsteps" / "model.ts")
    (assets / "footsteps" / "card.json").write_text('{"licence": "CC-BY-4.0"}')
    (assets / "empty").mkdir()
    monkeypatch.setattr(loader, "assets_dir", lambda: assets)
    assert list_bundled() == ["footsteps"]
    m = load_model("footsteps")
    assert m.name == "footsteps" and m.metadata["card"]["licence"] == "CC-BY-4.0"
    with pytest.raises(FoleyError, match="bundled: footsteps"):
        load_model("nope")


def _write_run(run: Path, model: AutoEncoder, cfg: Config, latent: LatentSpace) -> None:
    from foleyvae.training.checkpoint import save_checkpoint

    (run / "checkpoints").mkdir(parents=True)
    save_config(cfg, run / "config.yaml")
    save_checkpoint(
        run / "checkpoints" / "last.ckpt",
        {"model": model.state_dict(), "config": cfg.to_dict(), "step": 8, "credits": ["synthetic (CC0)"]},
    )
    latent.save(run / "latent.json")


def test_load_run_folder(tmp_path: Path, tiny_model: AutoEncoder, tiny_cfg: Config, tiny_latent: LatentSpace) -> None:
    run = tmp_path / "run"
    _write_run(run, tiny_model, tiny_cfg, tiny_latent)
    m = load_model(run)
    assert isinstance(m, EagerStreamModel) and m.metadata["step"] == 8
    assert m.latent_size == tiny_model.latent_size and m.metadata["credits"] == ["synthetic (CC0)"]
    x = 0.1 * torch.randn(1, 1, 1024)
    ref = EagerStreamModel(tiny_model, tiny_latent)
    try:
        torch.testing.assert_close(m.decode(m.encode(x)), ref.decode(ref.encode(x)), atol=1e-6, rtol=1e-5)
    finally:
        ref.close()
        m.close()


def test_cli_export(tmp_path: Path, tiny_model: AutoEncoder, tiny_cfg: Config, tiny_latent: LatentSpace) -> None:
    from foleyvae.cli.main import main

    run = tmp_path / "run"
    _write_run(run, tiny_model, tiny_cfg, tiny_latent)
    out = tmp_path / "model.ts"
    out.write_bytes(b"old")
    assert main(["export", str(run), "-o", str(out), "--no-streaming", "--fidelity", "0.99"]) == 1  # no --force
    assert out.read_bytes() == b"old"
    assert main(["export", str(run), "-o", str(out), "--no-streaming", "--fidelity", "0.99", "--force"]) == 0
    m = load_model(out)
    assert m.metadata["streaming"] is False and m.metadata["credits"] == ["synthetic (CC0)"]
    assert m.metadata["fidelity_target"] == 0.99


def test_adapter_pca_round_trip(tiny_model: AutoEncoder, tiny_latent: LatentSpace) -> None:
    """With all PCA dims, encode -> decode through the adapter equals the model's own decode(mean)."""
    x = 0.2 * torch.randn(2, 1, 2048)
    a = EagerStreamModel(tiny_model, tiny_latent, stream=False)
    with torch.no_grad():
        ref = tiny_model.decode(tiny_model.encode(x, sample=False).mean)
        z = a.encode(x)
        assert z.shape == (2, 4, 2048 // tiny_model.hop_length)
        torch.testing.assert_close(a.decode(z), ref, atol=1e-5, rtol=1e-5)
    # identity without a LatentSpace; n_dims crops and decode refuses a wrong size
    b = EagerStreamModel(tiny_model, None, n_dims=2, stream=False)
    with torch.no_grad():
        torch.testing.assert_close(b.encode(x), tiny_model.encode(x, sample=False).mean[:, :2])
    with pytest.raises(FoleyError, match="expects 2"):
        b.decode(torch.zeros(1, 3, 4))
    with pytest.raises(FoleyError):
        EagerStreamModel(tiny_model, None, n_dims=9)


def test_adapter_streams(tiny_model: AutoEncoder, tiny_latent: LatentSpace) -> None:
    """Blocks through the streaming adapter == the offline model's output (same delay convention)."""
    x = 0.2 * torch.randn(1, 1, 2048)
    a = EagerStreamModel(tiny_model, tiny_latent)
    try:
        y = torch.cat([a.forward(x[..., i : i + 256]) for i in range(0, 2048, 256)], -1)
    finally:
        a.close()
    with torch.no_grad():
        ref = tiny_model.decode(tiny_model.encode(x, sample=False).mean)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    assert not any(getattr(m, "is_streaming", False) for m in tiny_model.modules())
