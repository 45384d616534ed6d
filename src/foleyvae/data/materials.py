"""The material vocabulary an artist knows: short names (wood, metal, snow...) and the label words they gather.

Labels of the prepared corpora are ``category/material`` (``footsteps/wood``, ``impacts/wood``, ``water/flow``; see
``data/sources.py``). :func:`material_of` maps a label to its short name. Used by material steering
(``inference/materials.py``) and by the training of material-conditioned models (``models/conditioning.py``).
"""

from __future__ import annotations

__all__ = ["ALIASES", "material_of", "materials_of_labels"]

# short material names and the label words they gather (label words come from the corpora's file names, see
# data/sources.py); a word maps to one name
ALIASES: dict[str, tuple[str, ...]] = {
    "wood": ("wood", "wooden", "plank", "planks", "lumber", "tree"),
    "metal": ("metal", "clank", "steel", "iron", "mech", "chain"),
    "stone": ("stone", "rock", "hard", "concrete", "marble", "tile", "brick", "cobble"),
    "gravel": ("gravel", "pebbles"),
    "snow": ("snow",),
    "grass": ("grass", "foliage", "leaves", "hay"),
    "sand": ("sand",),
    "dirt": ("dirt", "earth", "mud", "soil"),
    "water": ("water", "splash", "puddle", "flow", "drip"),
    "glass": ("glass",),
    "ice": ("ice",),
    "cloth": ("cloth", "fabric", "carpet", "leather"),
    "flesh": ("flesh", "body"),
    "boot": ("boot",),
}
_WORD_TO_NAME = {w: name for name, words in ALIASES.items() for w in words}


def material_of(label: str) -> str | None:
    """The short material name of a model label (``"impacts/wood"`` -> ``"wood"``, ``"water/flow"`` ->
    ``"water"``), or None when neither its last part nor its category names a material."""
    parts = [p.strip().lower() for p in str(label).split("/") if p.strip()]
    for word in reversed(parts):
        if word in _WORD_TO_NAME:
            return _WORD_TO_NAME[word]
    return None


def materials_of_labels(labels: list[str]) -> list[str]:
    """The sorted short names that a dataset's labels name (labels without a material add nothing)."""
    return sorted({m for m in map(material_of, labels) if m is not None})
