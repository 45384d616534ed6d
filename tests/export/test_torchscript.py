"""export_model: nn~ contract, equality with the eager model, state, attributes, metadata, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from foleyvae.analysis.latent import LatentSpace
from foleyvae.config import Config
from foleyvae.errors import FoleyError
from foleyvae.export import nn_tilde
from foleyvae.export.nn_tilde import EXTRA_FILE, choose_dims, synthetic_footstep
from foleyvae.export.torchscript import export_model
from foleyvae.models.base import AutoEncoder
from foleyvae.playable.adapters import EagerStreamModel

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")


def _load(path: Path) -> Any:
    return torch.jit.load(str(path))


def _signal(n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    foot = torch.from_numpy(synthetic_footstep(n, 44100, seed=seed)).reshape(1, 1, n)
    return foot + 0.05 * torch.randn(1, 1, n, generator=g)


def test_nn_tilde_contract(exported: dict[str, Any], tiny_model: AutoEncoder) -> None:
    m = _load(exported["path"])
    k = exported["report"]["latent_size"]
    hop = tiny_model.hop_length
    assert 1 <= k < tiny_model.latent_size  # fidelity 0.5 keeps fewer dims: the fill is exercised
    assert list(m.get_methods()) == ["encode", "decode", "forward"]
    assert m.encode_params.tolist() == [1, 1, k, hop]
    assert m.decode_params.tolist() == [k, hop, 1, 1]
    assert m.forward_params.tolist() == [1, 1, 1, 1]
    assert len(m.encode_output_labels) == k and len(m.decode_input_labels) == k
    assert len(m.encode_input_labels) == 1 and len(m.forward_output_labels) == 1
    assert m.sr == 44100 and m.latent_size == k and m.full_latent_size == tiny_model.latent_size
    assert m.hop_length == hop and m.delay_samples == tiny_model.delay_samples
    assert list(m.get_attributes()) == ["none", "temperature", "latent_bias_dim", "latent_scale_dim"]
    assert m.temperature_params.tolist() == [2] and m.latent_bias_dim_params.tolist() == [1, 2]
    with torch.no_grad():
        z = m.encode(torch.zeros(2, 1, 2048))
        y = m.decode(z)
    assert z.shape == (2, k, 2048 // hop) and y.shape == (2, 1, 2048) and y.dtype == torch.float32
    assert not y.requires_grad


def test_export_matches_eager_for_all_block_sizes(exported: dict[str, Any], tiny_model: AutoEncoder) -> None:
    rep = exported["report"]
    assert rep["max_abs_error"] is not None and rep["max_abs_error"] <= 1e-5
    for block in (256, 2048, 4096, 8192):
        for b in (1, 2):
            for meth in ("encode", "decode", "forward"):
                assert f"{block}/b{b}/{meth}" in rep["errors"]
    assert exported["path"].with_name("tiny.ts.sha256").read_text().split()[0] == rep["sha256"]


def test_real_ish_audio_matches_eager_and_original_model_untouched(
    exported: dict[str, Any], tiny_model: AutoEncoder, tiny_latent: LatentSpace
) -> None:
    m = _load(exported["path"])
    k = exported["report"]["latent_size"]
    x = _signal(4096)
    eager = EagerStreamModel(tiny_model, tiny_latent, n_dims=k)
    try:
        with torch.no_grad():
            y_ts = torch.cat([m.forward(x[..., i : i + 512]) for i in range(0, 4096, 512)], -1)
            y_ref = torch.cat([eager.forward(x[..., i : i + 512]) for i in range(0, 4096, 512)], -1)
    finally:
        eager.close()
    assert float(y_ref.abs().max()) > 1e-4
    torch.testing.assert_close(y_ts, y_ref, atol=1e-5, rtol=1e-5)
    # the caller's model still has its weight norm and works (the exporter worked on a copy)
    assert any("parametrizations" in n for n, _ in tiny_model.named_modules())
    with torch.no_grad():
        tiny_model(x)


def test_streaming_keeps_state(exported: dict[str, Any]) -> None:
    x = _signal(4096)
    whole = _load(exported["path"]).forward(x)
    m = _load(exported["path"])
    halves = torch.cat([m.forward(x[..., :2048]), m.forward(x[..., 2048:])], -1)
    torch.testing.assert_close(halves, whole, atol=1e-6, rtol=0)
    fresh_second = _load(exported["path"]).forward(x[..., 2048:])
    assert float((fresh_second - whole[..., 2048:]).abs().max()) > 1e-6


def test_non_streaming_is_stateless(
    tmp_path: Path, tiny_model: AutoEncoder, tiny_cfg: Config, tiny_latent: LatentSpace
) -> None:
    out = tmp_path / "offline.ts"
    rep = export_model(tiny_model, tiny_cfg, tiny_latent, out, streaming=False, check_block_sizes=(2048,))
    assert rep["streaming"] is False
    m = _load(out)
    x = _signal(4096)
    first = m.forward(x[..., 2048:])
    m.forward(x[..., :2048])
    again = m.forward(x[..., 2048:])
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    eager = EagerStreamModel(tiny_model, tiny_latent, n_dims=rep["latent_size"], stream=False)
    torch.testing.assert_close(first, eager.forward(x[..., 2048:]), atol=1e-5, rtol=1e-5)
    assert json.loads(_extra(out))["streaming"] is False


def _extra(path: Path) -> str:
    extra = {EXTRA_FILE: ""}
    torch.jit.load(str(path), _extra_files=extra)
    return extra[EXTRA_FILE]


def test_attributes_change_the_output(exported: dict[str, Any]) -> None:
    k = exported["report"]["latent_size"]
    z = torch.zeros(1, k, 8)
    base = _load(exported["path"]).decode(z)
    m = _load(exported["path"])
    assert m.set_latent_bias_dim(0, 2.0) == 0
    assert m.get_latent_bias()[0] == 2.0 and tuple(m.get_latent_bias_dim()) == (0, 2.0)
    biased = m.decode(z)
    assert float((biased - base).abs().max()) > 1e-4
    # the list form is the same control
    m2 = _load(exported["path"])
    assert m2.set_latent_bias([2.0] + [0.0] * (k - 1)) == 0
    torch.testing.assert_close(m2.decode(z), biased, atol=0, rtol=0)
    assert m2.set_latent_bias([0.0] * (k + 1)) == -1  # wrong length refused
    assert m2.set_latent_scale_dim(k, 1.0) == -1
    m3 = _load(exported["path"])
    assert m3.set_latent_scale([0.0] * k) == 0
    torch.testing.assert_close(m3.decode(torch.randn(1, k, 8)), base, atol=1e-6, rtol=0)  # scale 0 == zeros


def test_temperature(exported: dict[str, Any]) -> None:
    x = _signal(2048)
    a = _load(exported["path"]).forward(x)
    b = _load(exported["path"]).forward(x)
    torch.testing.assert_close(a, b, atol=0, rtol=0)  # temperature 0 (default): deterministic
    m = _load(exported["path"])
    assert m.get_temperature() == 0.0
    assert m.set_temperature(-1.0) == -1
    assert m.set_temperature(1.0) == 0
    c = m.forward(x)
    assert float((c - a).abs().max()) > 1e-6


def test_metadata_round_trip(exported: dict[str, Any], tiny_latent: LatentSpace, tiny_cfg: Config) -> None:
    meta = json.loads(_extra(exported["path"]))
    assert meta["format"] == "foleyvae-torchscript"
    assert meta["sample_rate"] == 44100 and meta["block_size"] == tiny_cfg.stream.block_size
    assert meta["latent_size"] == exported["report"]["latent_size"] and meta["full_latent_size"] == 4
    assert meta["fidelity"] == pytest.approx(tiny_latent.fidelity)
    assert meta["labels"] == sorted(tiny_latent.centroids) and meta["centroids"]["wood"] == pytest.approx(
        tiny_latent.centroids["wood"]
    )
    assert meta["credits"] == ["test corpus (CC0)"]
    assert meta["config"]["name"] == "tiny" and meta["foleyvae_version"]


def test_choose_dims() -> None:
    lat = LatentSpace(
        mean=[0.0] * 8,
        components=torch.eye(8).tolist(),
        explained_variance=[1.0] * 8,
        fidelity=[0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0],
        std=[1.0] * 8,
    )
    assert choose_dims(lat, 8, 0.95) == 8  # 5 dims -> next power of two 8
    assert choose_dims(lat, 8, 0.9) == 4
    assert choose_dims(lat, 8, 0.5) == 1
    assert choose_dims(None, 8, 0.95) == 8
    with pytest.raises(FoleyError):
        choose_dims(lat, 8, 1.5)


def test_failed_self_check_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: AutoEncoder, tiny_cfg: Config
) -> None:
    monkeypatch.setattr(nn_tilde, "TOLERANCE", -1.0)
    out = tmp_path / "bad.ts"
    with pytest.raises(FoleyError, match="self-check failed"):
        export_model(tiny_model, tiny_cfg, None, out, check_block_sizes=(256,))
    assert list(tmp_path.iterdir()) == []


def test_non_waveform_model_refused(tmp_path: Path) -> None:
    with pytest.raises(FoleyError, match="waveform"):
        export_model(torch.nn.Linear(2, 2), None, None, tmp_path / "x.ts")  # type: ignore[arg-type]
