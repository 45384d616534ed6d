"""``build_page``: render every table of the examples page into a folder, then write ``index.html`` and
``index.json`` (every cell's files and numbers, the models, the sources), all at once (built in a staging folder
beside the output and swapped in, so a reader never sees half a page)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from foleyvae.errors import FoleyError
from foleyvae.examples.cells import CellWriter, Table
from foleyvae.examples.page import render_html
from foleyvae.examples.sources import example_sounds, performances
from foleyvae.examples.tables import (
    PageInputs,
    mclt_tables,
    mixes_table,
    morphs_table,
    performances_table,
    regeneration_table,
)
from foleyvae.playable.protocol import StreamModel
from foleyvae.utils.atomic import atomic_write_text, remove_dead_staging, staging_dir, swap_in_dir

__all__ = ["MCLT_MODELS", "TABLE_KEYS", "PageResult", "build_page"]

MCLT_MODELS = ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae")
# the tables every page has (each MCLT variant adds one table, keyed by its model name)
TABLE_KEYS = ("regeneration", "mixes", "performances", "morphs", "mclt")


@dataclass
class PageResult:
    """Where the page is, its tables, and how long it took."""

    path: Path
    tables: list[Table]
    seconds: float


def _model_row(m: StreamModel) -> dict[str, Any]:
    """The page's summary of a model, from its card (``metadata['card']``) and its file's metadata."""
    card = m.metadata.get("card") or {}
    training = card.get("training") or {}
    return {
        "name": m.name,
        "kind": card.get("model_kind") or m.metadata.get("model_kind") or "waveform",
        "file_size_mb": card.get("file_size_mb") or _file_mb(getattr(m, "source", "")),
        "parameters": card.get("parameters", ""),
        "steps": training.get("steps", ""),
        "minutes": training.get("wall_clock_minutes", ""),
        "metrics": card.get("metrics", {}),
    }


def _file_mb(source: str) -> float | str:
    p = Path(source)
    return round(p.stat().st_size / 1e6, 2) if source and p.is_file() else ""


def _credits(models: Sequence[StreamModel]) -> list[str]:
    seen: dict[str, None] = {}
    for m in models:
        for c in m.metadata.get("credits") or []:
            seen.setdefault(str(c), None)
    return list(seen)


def build_page(
    out: Path,
    model: StreamModel,
    variants: Sequence[StreamModel],
    quick: bool = False,
    log: Callable[[str], None] | None = None,
) -> PageResult:
    """Render the page into ``out`` (replaced as a whole). ``quick``: two rows per table (tests).

    model: the waveform model (regenerations, mixes, performances, morphs, and the reference beside the MCLT
    variants); variants: the MCLT models. Raises FoleyError when the example sounds are missing.
    """
    say = log or (lambda _m: None)
    t0 = time.perf_counter()
    torch.set_flush_denormal(True)
    sounds, perfs = example_sounds(), performances()
    out = Path(out)
    remove_dead_staging(out)
    stage = staging_dir(out, "examples")
    try:
        inputs = PageInputs(CellWriter(stage, int(model.sample_rate)), model, sounds, 2 if quick else None)
        tables: list[Table] = []
        for name, make in (
            ("regeneration", lambda: regeneration_table(inputs)),
            ("mixes", lambda: mixes_table(inputs, perfs[-1])),
            ("performances", lambda: performances_table(inputs, perfs)),
            ("morphs", lambda: morphs_table(inputs)),
        ):
            say(f"{name} ...")
            tables.append(make())
        say("mclt ...")
        summary, per_variant = mclt_tables(inputs, variants)
        tables += [summary, *per_variant]
        _write_index(stage, tables, [model, *variants], sounds, perfs, quick)
        swap_in_dir(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return PageResult(out, tables, time.perf_counter() - t0)


def _write_index(
    root: Path, tables: list[Table], models: list[StreamModel], sounds: list[Any], perfs: list[Any], quick: bool
) -> None:
    if not tables or any(not t.rows for t in tables):
        empty = [t.key for t in tables if not t.rows]
        raise FoleyError(f"the examples page would have empty tables: {', '.join(empty)}")
    rows = [_model_row(m) for m in models]
    credits = _credits(models)
    title = "Foley-VAE: listening examples"
    intro = (
        "Every sound below was rendered by foleyvae examples from the models bundled with this version of "
        "Foley-VAE, on held-out recordings they never trained on"
        + (" (quick mode: two examples per table)." if quick else ".")
        + " Audio is Ogg Vorbis; the pictures are spectrograms (log frequency 40 Hz - 22 kHz, 80 dB range)."
    )
    atomic_write_text(root / "index.html", render_html(title, intro, tables, rows, sounds, perfs, credits))
    numbers = {
        "format": "foleyvae-examples",
        "quick": quick,
        "tables": [t.to_json() for t in tables],
        "models": rows,
        "sources": [
            {
                "file": s.path.name,
                "label": s.label,
                "package": s.package,
                "version": s.version,
                "licence": s.licence,
                "source": s.source,
            }
            for s in sounds
        ],  # fmt: skip
    }
    atomic_write_text(root / "index.json", json.dumps(numbers, indent=1) + "\n")
