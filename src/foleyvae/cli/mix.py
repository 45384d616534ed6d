"""``foleyvae mix A B --model M --alpha 0.5 -o OUT [--morph]`` / ``foleyvae mix A --towards wood:0.6,metal:0.4``.

Latent-space mixing (see :mod:`foleyvae.inference.mixing` for the method: onset alignment, silence padding).
"""

from __future__ import annotations

import argparse

from foleyvae.cli.common import add_force, check_output
from foleyvae.cli.transfer import add_material_arguments, add_model
from foleyvae.errors import FoleyError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="first sound (the output is aligned with it)")
    p.add_argument("b", metavar="B", nargs="?", help="second sound (omit with --towards)")
    add_model(p)
    p.add_argument("--alpha", type=float, default=0.5, help="0 = A, 1 = B (default 0.5)")
    p.add_argument("--morph", action="store_true", help="sweep from A to B over the length instead of a fixed alpha")
    add_material_arguments(p)
    p.add_argument("-o", "--output", required=True, help="output .wav/.flac")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from foleyvae.audio.io import load, save
    from foleyvae.export.loader import load_model
    from foleyvae.inference import mixing

    if args.towards and args.b:
        raise FoleyError("give either B or --towards MATERIAL, not both")
    if not args.towards and not args.b:
        raise FoleyError("give a second sound B, or --towards MATERIAL")
    if not 0.0 <= args.alpha <= 1.0:
        raise FoleyError(f"--alpha must be in [0, 1], got {args.alpha}")
    out = check_output(args.output, args.force)
    model = load_model(args.model)
    sr, ch = int(model.sample_rate), int(model.channels)
    a, _ = load(args.a, sample_rate=sr, channels=ch)
    if args.towards:
        y = mixing.towards(model, a, args.towards, args.amount)
    else:
        b, _ = load(args.b, sample_rate=sr, channels=ch)
        y = mixing.morph(model, a, b) if args.morph else mixing.mix(model, a, b, args.alpha)
    save(out, y, sr)
    print(f"-> {out}")
    return 0
