"""``foleyvae recipes --model M --library CORPUS -o DIR``: the original work's 18 two-material mixes, rendered.

Each mix as a latent mix of two recordings from CORPUS (a ``foleyvae data fetch`` folder) and as a material blend
of one neutral performance (default: the sample library's taps); ``--list`` prints the mapping of the 18 surfaces
onto the model's materials (approximations marked) without rendering. See :mod:`foleyvae.inference.recipes`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from foleyvae.cli.common import add_force, check_output
from foleyvae.cli.transfer import add_model

if TYPE_CHECKING:
    from foleyvae.inference.recipes import Recipe
    from foleyvae.playable.protocol import StreamModel


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument(
        "--library",
        nargs="+",
        help="corpus folders with manifest.jsonl (foleyvae data fetch) for the recordings, searched in order",
    )
    p.add_argument("--performance", help="the neutral performance to blend (default: the sample library's taps)")
    p.add_argument("--list", action="store_true", help="print the 18 mixes and their materials, render nothing")
    p.add_argument("-o", "--output", help="output folder")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from foleyvae.errors import FoleyError
    from foleyvae.export.loader import load_model
    from foleyvae.inference.mixing import material_table
    from foleyvae.inference.recipes import plan_recipes

    model = load_model(args.model)
    recipes = plan_recipes(list(material_table(model).names()))
    for r in recipes:
        marks = [f"{m}{' (approx.)' if ap else ''}" for m, ap in zip(r.materials, r.approximate, strict=True)]
        print(f"{r.index:2d}  {r.surfaces[0]:>8s} + {r.surfaces[1]:<8s} -> {' + '.join(marks)}")
    if args.list:
        return 0
    if not args.library or not args.output:
        raise FoleyError("recipes needs --library CORPUS and -o DIR (or --list)")
    out = check_output(args.output, args.force)
    _render(model, recipes, [Path(p) for p in args.library], args.performance, out)
    print(f"-> {out}/index.json")
    return 0


def _render(
    model: StreamModel, recipes: list[Recipe], libraries: list[Path], performance: str | None, out: Path
) -> None:
    """Write each recipe's two recordings, their latent mix and the performance's blend, then ``index.json``."""
    from foleyvae.audio.io import load, save
    from foleyvae.export.loader import assets_dir
    from foleyvae.inference.mixing import mix, towards
    from foleyvae.inference.recipes import pick_recordings, recipe_index
    from foleyvae.utils.atomic import atomic_write_text

    sr, ch = int(model.sample_rate), int(model.channels)
    perf, _ = load(Path(performance) if performance else assets_dir() / "samples" / "taps.wav", sr, ch)
    picks = pick_recordings(libraries, recipes)  # every recording found before anything is written
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, str]] = {}
    for r in recipes:
        a_path, b_path = picks[r.slug]
        a, _ = load(a_path, sample_rate=sr, channels=ch)
        b, _ = load(b_path, sample_rate=sr, channels=ch)
        entry = {"a": f"{r.slug}_a.wav", "b": f"{r.slug}_b.wav", "mix": f"{r.slug}_mix.wav",
                 "blend": f"{r.slug}_blend.wav", "a_source": str(a_path), "b_source": str(b_path)}  # fmt: skip
        save(out / entry["a"], a, sr)
        save(out / entry["b"], b, sr)
        save(out / entry["mix"], mix(model, a, b, 0.5), sr)
        save(out / entry["blend"], towards(model, perf, r.blend, 1.0), sr)
        files[r.slug] = entry
        print(f"{r.slug}: {entry['mix']}, {entry['blend']}")
    atomic_write_text(out / "index.json", recipe_index(recipes, files))
