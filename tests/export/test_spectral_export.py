"""Export of the clip-based MCLT VAEs (mclt-2d/3d/gl/cvae): nn~ contract, metadata, equality with the eager model
(encode, decode, forward), attributes, the StreamingEngine's FIFO, and the CLI (export, transfer, regenerate)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from foleyvae.analysis.latent import LatentSpace, fit_latent_space
from foleyvae.config import Config, apply_overrides, preset, save_config
from foleyvae.errors import FoleyError
from foleyvae.export.loader import TorchScriptStreamModel, load_model
from foleyvae.export.nn_tilde import EXTRA_FILE, file_sha256, sha256_path
from foleyvae.export.spectral import RealLatentView, usable_latent
from foleyvae.export.torchscript import export_model
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.render import regenerate
from foleyvae.models.builders import build_model
from foleyvae.models.spectral import MCLTVAEBase
from foleyvae.playable.adapters import EagerStreamModel
from tests.conftest import SR, footstep

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")

KINDS = ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae")
CLIP = 512
# tiny: 16 bins x 32 frames per clip, 4 latent dims (8 real channels for the CVAE), 4 Griffin-Lim iterations
TINY = [
    "model.frame_length=32",
    f"model.clip_samples={CLIP}",
    "model.capacity=2",
    "model.latent_size=4",
    "model.griffin_lim_iters=4",
]


def _cfg(kind: str) -> Config:
    return apply_overrides(preset(kind), TINY)


def _model(cfg: Config) -> MCLTVAEBase:
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    assert isinstance(model, MCLTVAEBase)
    return model


def _audio(n: int, seed: int = 0) -> torch.Tensor:
    """``[1, 1, n]``: footsteps of two materials plus a little noise."""
    x = np.concatenate([footstep("wood", 0.1, seed=seed)[seed * 300 :], footstep("metal", 0.1, seed=seed + 1)])
    x = np.tile(x, n // len(x) + 1)[:n] + 0.01 * np.random.default_rng(seed).standard_normal(n)
    return torch.from_numpy(x.astype(np.float32)).reshape(1, 1, n)


def _latent(view: RealLatentView) -> LatentSpace:
    """PCA of the real-latent posterior means of 4 labelled sounds of 3 clips each."""
    x = torch.cat([_audio(3 * CLIP, seed=s) for s in range(4)])
    with torch.no_grad():
        means = view.encode(x, sample=False).mean.numpy().astype(np.float64)
    return fit_latent_space(means, labels=["wood", "metal", "wood", "metal"])


@pytest.fixture(scope="module", params=KINDS)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One self-checked export per kind, with a fitted PCA kept at fidelity 0.9 (so k may be < the full size)."""
    kind: str = request.param
    cfg = _cfg(kind)
    model = _model(cfg)
    latent = _latent(RealLatentView(model))
    out = tmp_path_factory.mktemp(kind) / f"{kind}.ts"
    report = export_model(model, cfg, latent, out, fidelity=0.9, credits=["synthetic (CC0)"])
    return {"kind": kind, "cfg": cfg, "model": model, "latent": latent, "path": out, "report": report}


def _eager(ex: dict[str, Any]) -> EagerStreamModel:
    return EagerStreamModel(RealLatentView(ex["model"]), ex["latent"], n_dims=ex["report"]["latent_size"])


def test_nn_tilde_contract_and_metadata(exported: dict[str, Any]) -> None:
    kind, model, path, rep = exported["kind"], exported["model"], exported["path"], exported["report"]
    full = 2 * model.latent_size if kind == "mclt-cvae" else model.latent_size
    k = rep["latent_size"]
    assert rep["full_latent_size"] == full and 1 <= k <= full and rep["streaming"] is False
    # the self-check ran on 1 and 2 clips per call, batch 1 and 2, and found the file equal to the eager model
    assert rep["max_abs_error"] is not None and rep["max_abs_error"] <= 1e-5 and len(rep["errors"]) == 6
    assert sha256_path(path).read_text().split()[0] == file_sha256(path) == rep["sha256"]
    extra = {EXTRA_FILE: ""}
    m = torch.jit.load(str(path), _extra_files=extra)
    assert list(m.get_methods()) == ["encode", "decode", "forward"]
    assert m.encode_params.tolist() == [1, 1, k, CLIP] and m.decode_params.tolist() == [k, CLIP, 1, 1]
    assert m.forward_params.tolist() == [1, 1, 1, 1]
    assert list(m.get_attributes()) == ["none", "temperature", "latent_bias_dim", "latent_scale_dim"]
    assert m.temperature_params.tolist() == [2] and m.latent_scale_dim_params.tolist() == [1, 2]
    assert m.sr == SR and m.hop_length == CLIP and m.delay_samples == 0 and m.full_latent_size == full
    assert len(m.encode_output_labels) == k and len(m.decode_input_labels) == k
    meta = json.loads(extra[EXTRA_FILE])
    assert meta["format"] == "foleyvae-torchscript" and meta["model_kind"] == kind and meta["stateless"] is True
    assert meta["hop_length"] == meta["clip_samples"] == CLIP and meta["frame_length"] == 32
    assert meta["latent_size"] == k and meta["full_latent_size"] == full and len(meta["pca_std"]) == full
    assert meta["labels"] == ["metal", "wood"] and meta["credits"] == ["synthetic (CC0)"]
    assert meta["latent_pca"] == "pca" and meta["config"]["model"]["kind"] == kind
    if kind == "mclt-cvae":
        assert "0..3 = real parts, 4..7 = imaginary parts" in meta["latent_layout"]
    else:
        assert meta["latent_layout"] == "real"
    with torch.no_grad():
        z = m.encode(torch.zeros(2, 1, 2 * CLIP))
        y = m.decode(z)
    assert z.shape == (2, k, 2) and y.shape == (2, 1, 2 * CLIP) and not y.requires_grad


def test_reloaded_file_equals_eager_model(exported: dict[str, Any]) -> None:
    """encode/decode/forward of the loaded file == the eager model, whole clips and a partial last clip."""
    loaded = load_model(exported["path"])
    assert isinstance(loaded, TorchScriptStreamModel) and loaded.hop_length == CLIP
    eager = _eager(exported)
    for n in (3 * CLIP, 2 * CLIP + 100):
        x = torch.cat([_audio(n, seed=5), 0.3 * _audio(n, seed=6)])
        z_ref = eager.encode(x)
        y_ref = eager.decode(z_ref)
        torch.testing.assert_close(loaded.encode(x), z_ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(loaded.decode(z_ref), y_ref, atol=1e-5, rtol=0)
        torch.testing.assert_close(loaded.forward(x), y_ref, atol=1e-5, rtol=0)
        assert z_ref.shape[-1] == 3 and y_ref.shape[-1] == 3 * CLIP
    # the eager model's own reconstruction, through the file's PCA at full size, is the same sound
    if exported["report"]["latent_size"] == exported["report"]["full_latent_size"]:
        with torch.no_grad():
            own = exported["model"](x)
        torch.testing.assert_close(loaded.forward(x)[..., : x.shape[-1]], own, atol=1e-4, rtol=0)


def test_attributes_temperature_and_bias(exported: dict[str, Any]) -> None:
    m = load_model(exported["path"])
    assert isinstance(m, TorchScriptStreamModel)
    k = m.latent_size
    x = _audio(2 * CLIP, seed=3)
    z0, y0 = m.encode(x), m.forward(x)
    torch.testing.assert_close(m.encode(x), z0, atol=0, rtol=0)  # temperature 0 (default): deterministic
    with pytest.raises(FoleyError):
        m.set("temperature", -1.0)
    m.set("temperature", 1.0)
    assert m.get("temperature") == 1.0
    assert not torch.equal(m.encode(x), z0) and not torch.equal(m.forward(x), y0)
    m.set("temperature", 0.0)
    m.set("latent_bias_dim", 0, 2.0)
    assert m.get("latent_bias")[0] == 2.0
    assert not torch.equal(m.decode(z0), y0)
    m.set("latent_bias", [0.0] * k)
    torch.testing.assert_close(m.decode(z0), y0, atol=0, rtol=0)


@pytest.mark.parametrize("block", [384, 2 * CLIP])
def test_streaming_engine_and_regenerate(exported: dict[str, Any], block: int) -> None:
    """The engine plays the file: blocks not dividing the clip go through its FIFO (latency = clip - gcd)."""
    m = load_model(exported["path"])
    eng = StreamingEngine(m, block)
    fifo = 0 if block % CLIP == 0 else CLIP - math.gcd(block, CLIP)
    assert eng.latency().fifo_samples == fifo and eng.latency_samples == fifo
    x = _audio(7 * CLIP + 50, seed=7)
    y = regenerate(m, x[0].numpy(), block)  # delay-compensated, neutral controls, no limiter
    with torch.no_grad():
        ref = _eager(exported).forward(x)[0, :, : x.shape[-1]].numpy()
    assert y.shape == (1, x.shape[-1]) and np.isfinite(y).all()
    np.testing.assert_allclose(y, ref, atol=1e-5)
    blocks = [eng.process(x[0, :, i : i + block].numpy().copy()).copy() for i in range(0, 3 * block, block)]
    assert eng.stats.blocks == 3 and eng.stats.nan_blocks == 0 and np.isfinite(np.concatenate(blocks, 1)).all()


def test_usable_latent() -> None:
    """A CVAE run analysed before the [Re, Im] layout (L dims, real parts only) is exported without PCA."""
    view = RealLatentView(_model(_cfg("mclt-cvae")))
    assert view.latent_size == 8
    four = fit_latent_space(np.random.default_rng(0).standard_normal((6, 4)))
    space, note = usable_latent(four, view)
    assert space is None and "real parts only" in note
    assert usable_latent(None, view)[0] is None
    with pytest.raises(FoleyError, match="latent analysis has 3 dims"):
        usable_latent(fit_latent_space(np.random.default_rng(0).standard_normal((6, 3))), view)


def _write_run(run: Path, model: MCLTVAEBase, cfg: Config, latent: LatentSpace) -> None:
    from foleyvae.training.checkpoint import save_checkpoint

    (run / "checkpoints").mkdir(parents=True)
    save_config(cfg, run / "config.yaml")
    state = {"model": model.state_dict(), "config": cfg.to_dict(), "step": 4, "credits": ["synthetic (CC0)"]}
    save_checkpoint(run / "checkpoints" / "last.ckpt", state)
    latent.save(run / "latent.json")


def test_cli_export_transfer_regenerate(
    tmp_path: Path, write_wav: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved mclt-cvae run -> ``foleyvae export`` -> the file plays in transfer/regenerate, like the run folder."""
    from foleyvae.cli.main import main

    cfg = _cfg("mclt-cvae")
    model = _model(cfg)
    run = tmp_path / "run"
    _write_run(run, model, cfg, _latent(RealLatentView(model)))
    out = tmp_path / "cvae.ts"
    assert main(["export", str(run), "-o", str(out)]) == 0
    assert "mclt-cvae, one latent vector per 512-sample clip" in capsys.readouterr().out
    m = load_model(out)
    assert isinstance(m, TorchScriptStreamModel)
    assert m.metadata["model_kind"] == "mclt-cvae" and m.metadata["credits"] == ["synthetic (CC0)"]
    assert m.hop_length == CLIP and m.metadata["latent_pca"] == "pca"
    # the run folder opens with the same real latent layout (all 8 dims): same first k dims, same sound with the rest 0
    x = _audio(2 * CLIP, seed=9)
    from_run = load_model(run)
    k = m.latent_size
    z = from_run.encode(x)
    assert from_run.latent_size == 8 and k < 8
    torch.testing.assert_close(z[:, :k], m.encode(x), atol=1e-5, rtol=0)
    z[:, k:] = 0.0
    torch.testing.assert_close(from_run.decode(z), m.forward(x), atol=1e-5, rtol=0)
    src = write_wav("in.wav", footstep("wood", 0.1))
    for cmd in (
        ["transfer", str(src), "--model", str(out), "--block", "384"],
        ["regenerate", str(src), "-m", str(out)],
    ):
        wav = tmp_path / f"{cmd[0]}.wav"
        assert main([*cmd, "-o", str(wav)]) == 0
        y, sr = sf.read(wav)
        assert sr == SR and len(y) == int(0.1 * SR) and np.isfinite(y).all() and np.abs(y).max() > 0


def test_cvae_run_analysis_is_the_exported_latent(tmp_path: Path) -> None:
    """The training loop's latent analysis of a CVAE covers [Re z, Im z] (2L dims): the export keeps its PCA."""
    from foleyvae.training.loop import analyze_run_model

    class _Clips:
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> torch.Tensor:
            return _audio(2 * CLIP, seed=i)[0]

        def label_of(self, i: int) -> str:
            return "wood" if i % 2 else "metal"

    cfg = _cfg("mclt-cvae")
    model = _model(cfg)
    space = analyze_run_model(model, _Clips(), tmp_path, torch.device("cpu"))
    assert space.latent_size == 8 and LatentSpace.load(tmp_path / "latent.json").latent_size == 8
    rep = export_model(model, cfg, space, tmp_path / "m.ts", fidelity=1.0)
    assert rep["full_latent_size"] == 8 and rep["max_abs_error"] <= 1e-5
    assert load_model(tmp_path / "m.ts").metadata["latent_pca"] == "pca"
