"""Material-conditioned training (issue #20): labels reach the decoder, the file plays its materials as channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from foleyvae.checkpoints import load_checkpoint
from foleyvae.cli.main import main
from foleyvae.config import ConfigError, apply_overrides, preset
from foleyvae.data.dataset import FoleyDataset
from foleyvae.export.loader import load_model
from foleyvae.inference.mixing import material_table
from foleyvae.models.builders import build_model
from foleyvae.models.conditioning import envelope_db, material_weights, swap_losses
from foleyvae.nn.streaming import set_streaming
from tests.training.test_training import dataset  # noqa: F401  (the module's tiny labelled dataset fixture)

MATERIALS = ["gravel", "metal", "wood"]


def _tiny(*overrides: str) -> torch.nn.Module:
    cfg = apply_overrides(preset("tiny"), list(overrides))
    torch.manual_seed(0)
    return build_model(cfg).eval()


def test_zero_film_decodes_like_the_unconditioned_model_and_streams_exactly() -> None:
    plain = _tiny()
    cond = _tiny("model.materials=[wood,metal]")
    missing = cond.load_state_dict(plain.state_dict(), strict=False)
    assert set(missing.missing_keys) == {
        k for k in cond.state_dict() if k.startswith(("decoder.film", "critic", "judge"))
    }
    z = torch.randn(2, plain.latent_size, 16)
    w = torch.rand(2, 2, 16)
    with torch.no_grad():
        torch.testing.assert_close(cond.decode(cond.with_materials(z, w)), plain.decode(z))
        cond.decoder.film.proj.weight.normal_(0.0, 0.5)
        zw = cond.with_materials(z, w)
        offline = cond.decode(zw)
        assert float((offline - plain.decode(z)).abs().max()) > 1e-3  # the weights now change the sound
        set_streaming(cond, True)
        blocks = torch.cat([cond.decode(zw[..., i : i + 4]) for i in range(0, 16, 4)], dim=-1)
        set_streaming(cond, False)
    torch.testing.assert_close(blocks, offline)


def test_swap_terms_teach_the_decoder_not_the_judge() -> None:
    """The judge learns from real crops only; the swap decode's gradient reaches the decoder's FiLM, not the judge."""
    model = _tiny("model.materials=[wood,metal,snow]").train()
    x = 0.1 * torch.randn(4, 1, 8192)
    material = torch.tensor([0, 1, -1, 2])
    enc = model.encode(x)
    terms = swap_losses(model, x, enc.z, material, judge_weight=1.0, envelope_weight=0.1)
    assert set(terms) == {"cond/judge_real", "cond/judge_swap", "cond/envelope"}
    terms["cond/judge_swap"].backward(retain_graph=True)
    assert all(p.grad is None for p in model.judge.parameters())
    assert float(model.decoder.film.proj.weight.grad.abs().sum()) > 0
    model.zero_grad()
    terms["cond/judge_real"].backward()
    assert all(p.grad is not None for p in model.judge.net.parameters())
    assert model.decoder.film.proj.weight.grad is None  # real crops: nothing to learn for the decoder
    w = material_weights(material, 3, 5, dropout=0.0)
    assert w.shape == (4, 3, 5) and w[2].abs().sum() == 0 and w[3, 2].tolist() == [1.0] * 5


def test_envelope_is_rms_in_db_per_frame() -> None:
    x = torch.zeros(1, 1, 1024)
    x[..., 256:512] = 0.5  # -6.02 dB RMS in frame 1
    env = envelope_db(x, frame=256, floor_db=-70.0)
    torch.testing.assert_close(env[0, 0], torch.tensor([-70.0, -6.0206, -70.0, -70.0]), atol=1e-3, rtol=0)


def test_material_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="model.materials"):
        apply_overrides(preset("tiny"), ["model.materials=[wood,wood]"])
    with pytest.raises(ConfigError, match="waveform VAE only"):
        apply_overrides(preset("mclt-2d"), ["model.materials=[wood]"])
    with pytest.raises(ConfigError, match="material_dropout"):
        apply_overrides(preset("tiny"), ["train.material_dropout=1.0"])


def test_dataset_gives_each_crop_its_material(dataset: Path) -> None:  # noqa: F811
    ds = FoleyDataset(dataset, "train", 8192, materials=["metal", "wood"])
    for i in range(len(ds)):
        crop, idx = ds[i]
        label = ds.label_of(i)
        assert crop.shape == (1, 8192)
        assert idx == {"footsteps/metal": 0, "footsteps/wood": 1, "footsteps/gravel": -1}[label]
        assert idx == ds.material_index(i)
    assert isinstance(FoleyDataset(dataset, "train", 8192)[0], torch.Tensor)  # unconditioned: crops only


def test_conditioned_fine_tune_exports_materials_as_channels(dataset: Path, tmp_path: Path) -> None:  # noqa: F811
    """An unconditioned export -> --init-from with materials=auto and the critic -> export -> the file's material
    table steers by its material channels, and --towards through the CLI changes the sound."""
    src, ts = tmp_path / "src", tmp_path / "src.ts"
    base = ["--data", str(dataset), "--preset", "tiny", "--no-progress", "--threads", "1"]
    assert main(["train", *base, "--out", str(src), "--max-steps", "2", "--phase1-steps", "2"]) == 0
    assert main(["export", str(src), "-o", str(ts)]) == 0
    run = tmp_path / "cond"
    extra = ["--set", "model.materials=auto", "--set", "train.material_critic=0.5", "--set", "train.material_judge=1"]
    extra += ["--set", "train.lr=0.01"]
    assert (
        main(
            [
                "train",
                *base,
                "--out",
                str(run),
                "--init-from",
                str(ts),
                "--max-steps",
                "6",
                "--phase1-steps",
                "4",
                *extra,
            ]
        )
        == 0
    )
    st = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert st["config"]["model"]["materials"] == MATERIALS and st["phase"] == 2
    assert float(st["model"]["decoder.film.proj.weight"].abs().max()) > 0  # the FiLM learned from zero
    assert any(k.startswith("critic.") for k in st["model"]) and any(k.startswith("judge.") for k in st["model"])
    out = tmp_path / "cond.ts"
    assert main(["export", str(run), "-o", str(out)]) == 0
    model = load_model(out)
    table = material_table(model)
    k = int(model.latent_size) - len(MATERIALS)
    assert table.method == "conditioned" and list(table.names()) == MATERIALS
    np.testing.assert_allclose(table.steer("wood:3,metal:1")[k:], [0.0, 0.25, 0.75])
    assert model.metadata["material_conditioning"] == MATERIALS
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 8192)).astype(np.float32) * 0.1)
    z = model.encode(x)
    assert z.shape[1] == model.latent_size and float(z[:, k:].abs().max()) == 0.0  # encode: "no material"
    wav = tmp_path / "in.wav"
    import soundfile as sf

    sf.write(str(wav), x[0, 0].numpy(), 44100)
    plain, steered = tmp_path / "plain.wav", tmp_path / "steered.wav"
    assert main(["transfer", str(wav), "--model", str(out), "-o", str(plain)]) == 0
    assert main(["transfer", str(wav), "--model", str(out), "-o", str(steered), "--towards", "wood"]) == 0
    a, b = sf.read(str(plain))[0], sf.read(str(steered))[0]
    assert a.shape == b.shape and float(np.abs(a - b).max()) > 1e-4
    # a user's fine-tune of the conditioned file, with no material setting (as `--init-from foley` on any folder)
    again = tmp_path / "again"
    assert main(["train", *base, "--out", str(again), "--init-from", str(out), "--max-steps", "2"]) == 0
    kept = load_checkpoint(again / "checkpoints" / "last.ckpt")
    assert kept["config"]["model"]["materials"] == MATERIALS
