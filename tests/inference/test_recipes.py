"""The 18 mixes recipe: surfaces mapped onto a model's materials (approximations marked), recordings resolved
before anything is written, and `foleyvae recipes` rendering a mix and a blend for each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from foleyvae.cli.main import main
from foleyvae.errors import FoleyError
from foleyvae.inference.recipes import MIXES, pick_recordings, plan_recipes
from tests.conftest import SR, footstep
from tests.inference.toy import ToyStream

KNOWN = ("stone", "wood", "dirt", "sand", "grass", "water", "gravel", "snow", "metal")


def test_plan_maps_every_surface_and_marks_approximations() -> None:
    plan = plan_recipes(KNOWN)
    assert len(plan) == len(MIXES) == 18
    first = plan[0]
    assert first.surfaces == ("asphalt", "wood") and first.materials == ("stone", "wood")
    assert first.approximate == (True, False) and first.blend == "stone:0.5,wood:0.5"
    assert plan[17].materials == ("wood", "stone") and plan[17].approximate == (False, False)  # rock is stone
    assert plan[3].materials == ("sand", "grass") and plan[3].approximate[0]  # carpet: no cloth here, sand next
    assert plan_recipes((*KNOWN, "cloth"))[3].materials == ("cloth", "grass")
    with pytest.raises(FoleyError, match="knows none of metal for metal"):
        plan_recipes(("stone", "wood", "dirt", "sand", "grass", "water", "gravel", "snow"))


def _library(root: Path, materials: tuple[str, ...], per: int = 2) -> Path:
    rows = []
    for mat in materials:
        for i in range(per):
            f = f"footsteps/{mat}/{i}.wav"
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / f, footstep("wood", seed=i), SR)
            rows.append({"file": f, "label": f"footsteps/{mat}"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_recordings_resolved_across_libraries_before_rendering(tmp_path: Path) -> None:
    lib1 = _library(tmp_path / "one", ("stone", "wood"))
    lib2 = _library(tmp_path / "two", tuple(m for m in KNOWN if m not in ("stone", "wood")))
    picks = pick_recordings([lib1, lib2], plan_recipes(KNOWN))
    assert picks["01_asphalt+wood"][0].parent == lib1 / "footsteps" / "stone"
    assert picks["01_asphalt+wood"] != picks["03_asphalt+wood"]  # the repeated pair takes the next recordings
    assert picks["04_carpet+grass"][0].parent == lib2 / "footsteps" / "sand"
    with pytest.raises(FoleyError, match="no footsteps or impacts recording of dirt in "):  # mix 2: asphalt + mud
        pick_recordings([lib1], plan_recipes(KNOWN))


def test_recipes_cli_renders_mix_and_blend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import foleyvae.export.loader as loader

    def toy(name: str) -> ToyStream:
        m = ToyStream()
        rng = np.random.default_rng(0)
        m.metadata["materials"] = {"offsets": {f"footsteps/{n}": rng.normal(size=4).tolist() for n in KNOWN}}
        return m

    monkeypatch.setattr(loader, "load_model", toy)
    lib = _library(tmp_path / "lib", KNOWN)
    out = tmp_path / "out"
    assert main(["recipes", "--model", "toy", "--list"]) == 0 and not out.exists()
    assert main(["recipes", "--model", "toy", "--library", str(tmp_path / "nope"), "-o", str(out)]) == 1
    assert not out.exists()  # nothing written when a library is missing
    assert main(["recipes", "--model", "toy", "--library", str(lib), "-o", str(out)]) == 0
    index = json.loads((out / "index.json").read_text())
    assert len(index) == 18
    for entry in index:
        for key in ("a", "b", "mix", "blend"):
            y, sr = sf.read(out / entry["files"][key])
            assert sr == SR and np.isfinite(y).all() and np.abs(y).max() > 1e-4, (entry["slug"], key)
