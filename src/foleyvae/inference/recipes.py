"""The original work's 18 two-material footstep mixes as a recipe, mapped onto the materials a model knows.

The Foley-VAE examples page (Cámara & Blanco's work, see ARCHITECTURE.md) published 18 mixes of footsteps on two
surfaces. Our corpora name fewer surfaces, so each surface maps to the nearest short material name
(``inference.materials``); a mapping that is not the same surface is marked ``approximate`` (asphalt, marble,
concrete and linoleum are hard and smooth: ``stone``; mud is wet ``dirt``; carpet is soft and muffled: ``cloth``
where the model knows it, else ``sand``, else ``grass``; a puddle is shallow ``water``).

Each mix renders two ways: a **latent mix** of one recording of each material (``mixing.mix``, onsets aligned) and a
**material blend** of one neutral performance (``towards(perf, "a:0.5,b:0.5")``, the performance's timing kept).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from foleyvae.errors import FoleyError
from foleyvae.inference.materials import material_of

__all__ = [
    "MIXES",
    "SURFACES",
    "Recipe",
    "assign_recordings",
    "library_recordings",
    "pick_recordings",
    "plan_recipes",
    "recipe_index",
]

# the 18 pairs in the order the original page lists them (asphalt + wood appears twice: two different pairs)
MIXES: tuple[tuple[str, str], ...] = (
    ("asphalt", "wood"), ("asphalt", "mud"), ("asphalt", "wood"), ("carpet", "grass"), ("carpet", "wood"),
    ("carpet", "water"), ("mud", "rock"), ("mud", "wood"), ("grass", "gravel"), ("grass", "wood"), ("wood", "snow"),
    ("wood", "puddle"), ("wood", "linoleum"), ("marble", "wood"), ("metal", "concrete"), ("metal", "wood"),
    ("metal", "puddle"), ("wood", "rock"),
)  # fmt: skip

# surface -> candidate short names, nearest first; the surface is "exact" only when it is its first candidate
SURFACES: dict[str, tuple[str, ...]] = {
    "asphalt": ("stone", "gravel"),
    "wood": ("wood",),
    "mud": ("dirt", "sand"),
    "carpet": ("cloth", "sand", "grass"),
    "grass": ("grass",),
    "water": ("water",),
    "rock": ("stone",),
    "gravel": ("gravel",),
    "snow": ("snow",),
    "puddle": ("water",),
    "linoleum": ("stone", "wood"),
    "marble": ("stone",),
    "metal": ("metal",),
    "concrete": ("stone",),
}
_EXACT = {"wood", "grass", "water", "gravel", "snow", "metal", "rock"}  # rock: our corpora file rock under stone


@dataclass(frozen=True)
class Recipe:
    """One of the 18 mixes: the original surfaces, the model's names for them, and whether that is approximate."""

    index: int
    surfaces: tuple[str, str]
    materials: tuple[str, str]
    approximate: tuple[bool, bool]

    @property
    def slug(self) -> str:
        return f"{self.index:02d}_{self.surfaces[0]}+{self.surfaces[1]}"

    @property
    def blend(self) -> str:
        a, b = self.materials
        return f"{a}:0.5,{b}:0.5" if a != b else a


def plan_recipes(known: Sequence[str]) -> list[Recipe]:
    """The 18 recipes mapped onto ``known`` short names (a model's ``MaterialTable.names()``).

    A surface none of whose candidates the model knows is an error naming it and the model's names.
    """
    names = set(known)
    out = []
    for i, pair in enumerate(MIXES, start=1):
        mats, approx = [], []
        for surface in pair:
            pick = next((m for m in SURFACES[surface] if m in names), None)
            if pick is None:
                raise FoleyError(
                    f"mix {i} ({'+'.join(pair)}): the model knows none of {', '.join(SURFACES[surface])} for "
                    f"{surface}; it knows {', '.join(sorted(names)) or 'no materials'}"
                )
            mats.append(pick)
            approx.append(not (surface in _EXACT and pick == SURFACES[surface][0]))
        out.append(Recipe(i, (pair[0], pair[1]), (mats[0], mats[1]), (approx[0], approx[1])))
    return out


def library_recordings(library: Path) -> dict[str, list[Path]]:
    """Short material name -> its recordings in one fetched corpus (``manifest.jsonl`` read once): the footsteps of
    that material, or its impacts when the corpus has no footsteps of it; sorted by file name."""
    manifest = library / "manifest.jsonl"
    if not manifest.is_file():
        raise FoleyError(f"{library}: no manifest.jsonl (make one with `foleyvae data fetch minetest -o {library}`)")
    found: dict[tuple[str, str], list[str]] = {}  # (category, material) -> files
    for line in manifest.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            category, material = row["label"].split("/")[0], material_of(row["label"])
            if category in ("footsteps", "impacts") and material is not None:
                found.setdefault((category, material), []).append(row["file"])
    out: dict[str, list[Path]] = {}
    for category in ("impacts", "footsteps"):  # footsteps last: they win over impacts of the same material
        for (cat, material), files in found.items():
            if cat == category:
                out[material] = [library / f for f in sorted(files)]
    return out


def pick_recordings(libraries: Sequence[Path], recipes: Sequence[Recipe]) -> dict[str, tuple[Path, Path]]:
    """slug -> (recording of material a, recording of material b), from the first library that has each material;
    a recipe that repeats a pair takes the next recordings. Everything is resolved before anything is rendered."""
    indexes = [library_recordings(lib) for lib in libraries]

    def pool(material: str) -> list[Path]:
        found = next((ix[material] for ix in indexes if material in ix), None)
        if found is None:
            raise FoleyError(f"no footsteps or impacts recording of {material} in {', '.join(map(str, libraries))}")
        return found

    return assign_recordings(recipes, pool)


def assign_recordings(recipes: Sequence[Recipe], pool: Callable[[str], Sequence[Path]]) -> dict[str, tuple[Path, Path]]:
    """slug -> (A, B): each recipe's two recordings from ``pool(material)``. A pair that recurs takes the next
    recordings of its pool, and a same-material pair takes two different ones."""
    out: dict[str, tuple[Path, Path]] = {}
    seen: dict[tuple[str, str], int] = {}
    for r in recipes:
        nth = seen.get(r.materials, 0)
        seen[r.materials] = nth + 1
        a, b = pool(r.materials[0]), pool(r.materials[1])
        out[r.slug] = (a[nth % len(a)], b[(nth + (r.materials[0] == r.materials[1])) % len(b)])
    return out


def recipe_index(recipes: Sequence[Recipe], files: Mapping[str, Mapping[str, str]]) -> str:
    """JSON of the rendered recipes: each with its mapping, approximations and output files."""
    return json.dumps([{**asdict(r), "slug": r.slug, "blend": r.blend, "files": dict(files.get(r.slug, {}))}
                       for r in recipes], indent=1)  # fmt: skip
