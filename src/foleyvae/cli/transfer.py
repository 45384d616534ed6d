"""``foleyvae transfer IN... --model M -o OUT``: timbre transfer of files through the real-time engine (offline).

Each input is resampled to the model's rate and channel count, rendered block by block through the same
:class:`~foleyvae.inference.engine.StreamingEngine` that plays live (so a file sounds like a live take), and
written delay-compensated (aligned with the input). Folders are searched recursively; with several inputs or a
folder, OUT is a folder that mirrors the inputs' layout.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from foleyvae.cli.common import add_force, check_output, parse_index_values, progress
from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import CONTROLS, LEGACY_NAMES, ControlError, check, control

if TYPE_CHECKING:
    import numpy as np

    from foleyvae.inference.controls import Controls
    from foleyvae.playable.protocol import StreamModel


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", required=True, help="exported .ts file, RAVE export, run folder or bundled name")


def add_material_arguments(p: argparse.ArgumentParser) -> None:
    """``--towards MATERIAL --amount A``, shared by ``transfer``, ``live`` and ``mix``."""
    p.add_argument(
        "--towards",
        metavar="MATERIAL",
        help="steer toward a material: a name (wood, metal, snow...), a full label (footsteps/wood) or a blend "
        "(wood:0.6,metal:0.4; weights normalised to sum to 1); `foleyvae models` lists each model's names",
    )
    t = control("towards")
    p.add_argument("--amount", type=_spec_number("towards"), default=1.0, help=f"steering amount for --towards, "
                   f"{t.lo:g}..{t.hi:g} (default 1)")  # fmt: skip


def _spec_number(name: str) -> Callable[[str], float]:
    """argparse type: a number within the control's range in ``inference.control_spec`` (its one-line error)."""

    def parse(text: str) -> float:
        try:
            return check(name, float(text))
        except (ValueError, ControlError) as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def add_control_arguments(p: argparse.ArgumentParser) -> None:
    """Latent and mix controls shared by ``transfer`` and ``live``; names, ranges and help from the control spec."""
    p.add_argument("--bias", nargs="+", action="extend", metavar="DIM=VALUE", help="add to PCA dim, e.g. 0=1.5")
    p.add_argument("--scale", nargs="+", action="extend", metavar="DIM=VALUE", help="scale PCA dim, e.g. 2=0.5")
    for c in CONTROLS:
        if c.kind != "number":
            continue
        flags = [f"--{c.name.replace('_', '-')}"]
        flags += [f"--{old.replace('_', '-')}" for old, new in LEGACY_NAMES.items() if new == c.name]
        unit = f" {c.unit}" if c.unit else ""
        p.add_argument(*flags, dest=c.name, type=_spec_number(c.name), default=c.default, metavar="X",
                       help=f"{c.help}, {c.lo:g}..{c.hi:g}{unit} (default {c.default:g})")  # fmt: skip
    add_material_arguments(p)
    p.add_argument("--no-limiter", action="store_true", help="disable the soft output limiter")


def controls_from_args(model: StreamModel, args: argparse.Namespace) -> Controls:
    """Controls for ``model`` from the shared control arguments (validated, one-line errors)."""
    from foleyvae.inference.controls import Controls
    from foleyvae.inference.mixing import material_table

    return apply_control_args(Controls(int(model.latent_size)), args, material_table(model).steer)


def apply_control_args(c: Controls, args: argparse.Namespace, steer: Callable[[str], np.ndarray]) -> Controls:
    """Set ``c`` from the shared control arguments; ``steer(spec)`` -> offset ``[k]`` resolves ``--towards`` (a
    name, label or blend, :meth:`~foleyvae.inference.materials.MaterialTable.steer`). Returns ``c``. For callers
    that hold the model's material table but not the model (the live engine process)."""
    c.set_biases(parse_index_values(args.bias, "bias"))
    c.set_scales(parse_index_values(args.scale, "scale"))
    for spec in CONTROLS:
        if spec.kind == "number":
            c.set(spec.name, getattr(args, spec.name))
    if args.towards:
        c.towards(steer(args.towards), args.amount)
    c.set_limiter(not args.no_limiter)
    return c


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio files or folders (searched recursively)")
    add_model(p)
    p.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    p.add_argument("--block", type=int, default=2048, help="engine block size in samples (default 2048)")
    add_control_arguments(p)
    add_force(p)


def collect_inputs(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(file, path relative to its root for the output layout) for every audio file named or found."""
    from foleyvae.audio.io import AUDIO_EXTENSIONS

    out: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                raise FoleyError(f"{p}: no audio files in this folder")
            out.extend((f, f.relative_to(p)) for f in found)
        elif p.exists():
            out.append((p, Path(p.name)))
        else:
            raise FoleyError(f"{p}: file not found")
    return out


def output_paths(pairs: list[tuple[Path, Path]], output: str, single: bool, force: bool) -> list[Path]:
    """Output path per input; checks overwrite before any work is done."""
    o = Path(output)
    if single:
        if o.is_dir():
            paths = [o / pairs[0][1].with_suffix(".wav")]
        else:
            paths = [o if o.suffix else o.with_suffix(".wav")]
    else:
        if o.exists() and not o.is_dir():
            raise FoleyError(f"{o}: several inputs need an output folder, and this is a file")
        paths = [o / rel.with_suffix(".wav") for _, rel in pairs]
        if len(set(paths)) != len(paths):
            raise FoleyError("two inputs map to the same output name; transfer them separately")
    for q in paths:
        check_output(q, force)
    return paths


def run(args: argparse.Namespace) -> int:
    from foleyvae.audio.io import load, save
    from foleyvae.export.loader import load_model
    from foleyvae.inference.render import render

    if args.block < 1:
        raise FoleyError(f"--block must be >= 1, got {args.block}")
    pairs = collect_inputs(args.inputs)
    single = len(args.inputs) == 1 and len(pairs) == 1 and not Path(args.inputs[0]).is_dir()
    outs = output_paths(pairs, args.output, single, args.force)
    model = load_model(args.model)
    controls = controls_from_args(model, args)
    for (src, _), dst in progress(list(zip(pairs, outs, strict=True)), total=len(pairs), desc="transfer"):
        audio, _sr = load(src, sample_rate=int(model.sample_rate), channels=int(model.channels))
        y = render(model, audio, args.block, controls)
        save(dst, y, int(model.sample_rate))
        print(f"{src} -> {dst}")
    return 0
