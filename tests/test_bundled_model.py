"""The bundled model works the moment the package is installed: it loads by name, its card is consistent with the
file, and it regenerates a real footstep (from the sample library) with the right length and loudness envelope."""

import json

import numpy as np
import pytest

from foleyvae.audio import io as aio
from foleyvae.audio.features import loudness
from foleyvae.export.loader import assets_dir, list_bundled, load_model
from foleyvae.inference.render import regenerate


def test_bundled_model_is_listed_and_loads() -> None:
    assert "foley" in list_bundled()
    m = load_model("foley")
    card = json.loads((assets_dir() / "foley" / "card.json").read_text())
    assert m.sample_rate == card["sample_rate"] == 44100
    assert m.latent_size == card["latent_size"] and m.delay_samples == card["delay_samples"]
    assert card["training"]["steps"] > 1000 and card["data"]["corpora"]
    assert (assets_dir() / "foley" / "licences" / "minetest.copyright").is_file()


def test_bundled_model_regenerates_a_footstep() -> None:
    samples = sorted((assets_dir() / "samples").glob("*footstep*.wav")) + sorted(
        (assets_dir() / "samples").glob("*.wav")
    )
    x, sr = aio.load(samples[0], sample_rate=44100, channels=1)
    m = load_model("foley")
    y = regenerate(m, x)
    assert y.shape == x.shape and np.isfinite(y).all()
    lx, ly = loudness(x[0], sr), loudness(y[0], sr)
    assert np.corrcoef(lx, ly)[0, 1] > 0.8  # a trained model follows the input's envelope (random weights do not)
    assert np.abs(y).max() > 0.01


def test_card_md_names_the_licences() -> None:
    md = (assets_dir() / "foley" / "card.md").read_text()
    for needle in ("CC-BY-SA-3.0", "GPL-2+", "minetest-data", "0ad-data", "openarena-data"):
        assert needle in md
    with pytest.raises(Exception, match="no such model"):
        load_model("not-a-model")


ZOO = ("footsteps", "impacts", "water", "electromagnetic", "scifi")


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_loads_by_name_and_has_its_card(name: str) -> None:
    """Each zoo model: listed, checksummed file, card consistent with the file, licences, an evaluation report."""
    assert name in list_bundled()
    folder = assets_dir() / name
    card = json.loads((folder / "card.json").read_text())
    m = load_model(name)
    assert card["name"] == name and m.metadata["name"] == name
    assert m.sample_rate == card["sample_rate"] and m.latent_size == card["latent_size"]
    assert card["training"]["steps"] > 500 and "initialised_from" in card["training"]
    assert card["data"]["corpora"] and any((folder / "licences").iterdir())
    assert "held-out multiscale spectral distance" in card["metrics"]  # evaluated, not assumed
    assert (folder / "eval" / "report.md").is_file() and (folder / "model.ts.sha256").is_file()


def test_zoo_models_transfer_a_footstep_and_stay_small() -> None:
    """A new user's path: a real footstep through every zoo model gives finite, non-silent, enveloped audio; all
    bundled assets together stay under 60 MB (issue #24's budget: the five zoo models, foley, the four MCLT models,
    the samples and the example sounds)."""
    x, sr = aio.load(sorted((assets_dir() / "samples").glob("*.wav"))[0], sample_rate=44100, channels=1)
    lx = loudness(x[0], sr)
    for name in ZOO:
        y = regenerate(load_model(name), x)
        assert y.shape == x.shape and np.isfinite(y).all() and np.abs(y).max() > 0.01, name
        assert np.corrcoef(lx, loudness(y[0], sr))[0, 1] > 0.5, name
    total = sum(p.stat().st_size for p in assets_dir().rglob("*") if p.is_file())
    assert total < 60e6, total
