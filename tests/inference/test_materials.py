"""Material control: names, blends, offset tables, and steering that keeps the performance (bundled model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from foleyvae.inference.materials import MaterialError, MaterialTable, material_of, parse_blend

META = {
    "materials": {
        "method": "active-offset",
        "offsets": {
            "footsteps/wood": [1.0, 0.0, 0.0],
            "impacts/wood": [0.0, 1.0, 0.0],
            "footsteps/metal": [0.0, 0.0, 2.0],
            "footsteps/rock": [-1.0, -1.0, 0.0],
            "water/flow": [0.0, 0.0, -1.0],
            "fire/burning": [0.5, 0.5, 0.5],
        },
        "frames": {"footsteps/wood": 300, "impacts/wood": 100},
    }
}


def _table(k: int = 4) -> MaterialTable:
    return MaterialTable.from_metadata(META, k, "m")


def test_short_names_gather_labels_across_categories() -> None:
    assert material_of("impacts/wood") == "wood" and material_of("footsteps/rock") == "stone"
    assert material_of("water/flow") == "water" and material_of("fire/burning") is None
    t = _table()
    assert t.method == "active-offset"
    assert t.names() == {
        "metal": ["footsteps/metal"],
        "stone": ["footsteps/rock"],
        "water": ["water/flow"],
        "wood": ["footsteps/wood", "impacts/wood"],
    }
    # frame-weighted mean of footsteps/wood (300 frames) and impacts/wood (100), zero-padded to k = 4
    np.testing.assert_allclose(t.steer("wood"), [0.75, 0.25, 0.0, 0.0])
    np.testing.assert_allclose(t.steer("footsteps/wood"), [1.0, 0.0, 0.0, 0.0])  # full labels keep working
    assert t.choices() == ["metal", "stone", "water", "wood", "fire/burning"]  # unnamed labels stay offered


def test_blends_are_normalised_weighted_sums() -> None:
    t = _table()
    np.testing.assert_allclose(t.steer("wood:0.6,metal:0.4"), 0.6 * t.steer("wood") + 0.4 * t.steer("metal"))
    np.testing.assert_allclose(t.steer("wood:3, metal:1"), 0.75 * t.steer("wood") + 0.25 * t.steer("metal"))
    assert parse_blend("wood:0,metal:2").terms == (("metal", 1.0),)
    assert str(parse_blend("wood:1,metal:1")) == "wood:0.5,metal:0.5"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "empty material"),
        ("wood:-1", ">= 0"),
        ("wood:x", "not a number"),
        ("wood:nan", ">= 0"),
        ("wood:0,metal:0", "sum to 0"),
        ("wood:1,wood:1", "twice"),
        (":1", "no name"),
        (",".join(f"m{i}" for i in range(9)), "at most 8"),
    ],
)
def test_bad_blends_are_one_line_errors(spec: str, match: str) -> None:
    with pytest.raises(MaterialError, match=match) as e:
        _table().steer(spec)
    assert "\n" not in str(e.value)


def test_unknown_material_lists_the_known_ones_and_rave_files_say_why() -> None:
    with pytest.raises(MaterialError, match=r"unknown material 'brass'; model 'm' knows: metal, stone, water, wood"):
        _table().steer("brass")
    with pytest.raises(MaterialError, match="no material labels"):
        MaterialTable.from_metadata({"format": "rave"}, 8, "rave").steer("wood")


def test_fallback_from_centroids_and_bad_entries_dropped() -> None:
    t = MaterialTable.from_metadata({"centroids": {"a/wood": [2.0, 0.0], "a/metal": [0.0, 2.0], "bad": "x"}}, 2, "m")
    assert t.method == "centroid-offset"
    np.testing.assert_allclose(t.steer("wood"), [1.0, -1.0])
    t2 = MaterialTable.from_offsets({"x/wood": [float("nan")], "x/metal": [1.0] * 9}, 3, "m")
    assert list(t2.offsets) == ["x/metal"] and t2.offsets["x/metal"].shape == (3,)  # cut to the played dims


def test_bundled_model_steering_keeps_the_performance() -> None:
    """The artist's check on the real model: taps steered fully toward each material keep their level and onsets."""
    from foleyvae.audio.io import load
    from foleyvae.eval.metrics import onset_scores
    from foleyvae.export.loader import assets_dir, load_model
    from foleyvae.inference.mixing import material_table, towards

    torch.set_flush_denormal(True)
    model = load_model("foley")
    sr = int(model.sample_rate)
    x, _ = load(assets_dir() / "samples" / "taps.wav", sample_rate=sr, channels=1)
    y0 = towards(model, x, "wood", 0.0)  # the unsteered regeneration
    table = material_table(model)
    # the bundled model is material-conditioned (models/conditioning.py): the names are its material channels
    assert table.method == "conditioned" and {"wood", "metal", "stone", "gravel", "snow", "water"} <= set(table.names())

    def db(y: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(y**2) + 1e-12))

    for mat in ("wood", "metal", "snow", "wood:0.5,metal:0.5"):
        y = towards(model, x, mat, 1.0)
        assert abs(db(y) - db(y0)) < 3.0, mat  # level within 3 dB of the unsteered output
        assert onset_scores(y0, y, sr)["f1"] >= 0.8, mat  # the unsteered output's onsets survive
        moved = np.abs(y - y0).mean() / np.abs(y0).mean()
        assert moved > 0.02, (mat, moved)  # and the sound did change (snow, the nearest to the mean: 4.5 %)
