from pathlib import Path

import pytest

from foleyvae.config import (
    ConfigError,
    apply_overrides,
    load_config,
    preset,
    preset_names,
    save_config,
)


def test_every_preset_validates_and_has_a_name() -> None:
    names = preset_names()
    for required in ("tiny", "foley-small", "foley-base", "rave-v2-like", "foley-small-48k", "mclt-2d", "mclt-cvae"):
        assert required in names
    for n in names:
        assert preset(n).name == n


def test_rave_numbers() -> None:
    c = preset("rave-v2-like")
    assert c.model.hop_length == 2048 and c.model.n_bands == 16 and c.model.latent_size == 128
    assert c.train.batch_size == 8 and c.train.n_samples == 131072


def test_yaml_round_trip(tmp_path: Path) -> None:
    c = apply_overrides(
        preset("foley-small"), ["model.capacity=12", "model.strides=[2,2,4]", "model.multipliers=[1,2,3,4]"]
    )
    save_config(c, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == c
    assert c.model.strides == (2, 2, 4)


@pytest.mark.parametrize(
    "override,needle",
    [
        ("model.n_bands=12", "model.n_bands: must be a power of two"),
        ("model.n_bands=64", "model.n_bands"),
        ("model.kind=banana", "model.kind"),
        ("model.capacitty=3", "unknown key"),
        ("train.batch_size=0", "train.batch_size"),
        ("train.lr=nan", "train.lr"),
        ("train.batch_size=2.5", "expected an integer"),
        ("model.causal=maybe", "expected true/false"),
        ("audio.sample_rate=100", "audio.sample_rate"),
        ("nodots", "expected key.sub=value"),
        ("train.n_samples=1000", "multiple of the model hop length"),
    ],
)
def test_bad_values_are_refused_with_the_key(override: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace("[", r"\[")):
        apply_overrides(preset("foley-small"), [override])


def test_unknown_preset_lists_known() -> None:
    with pytest.raises(ConfigError, match="known presets: .*foley-small"):
        preset("nope")


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {n_bands: 3}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: model.n_bands"):
        load_config(bad)
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(bad)
