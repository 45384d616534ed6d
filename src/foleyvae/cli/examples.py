"""``foleyvae examples -o DIR [--quick]``: a static listening page rendered from the bundled models.

Tables: regeneration per material, the 18 two-material mixes, voice and taps into each material, A->B morphs, and
the four MCLT models beside the waveform model on the same clips (see :mod:`foleyvae.examples`). The page opens
from disk (``DIR/index.html``; Ogg Vorbis audio, PNG spectrograms, relative links, no script); ``DIR/index.json``
holds every number. ``--quick`` renders two examples per table (tests).
"""

from __future__ import annotations

import argparse

from foleyvae.cli.common import add_force, check_output


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="output folder (replaced as a whole with --force)")
    p.add_argument("--model", "-m", default="foley", help="the waveform model (default: the bundled 'foley')")
    p.add_argument(
        "--mclt",
        default="mclt-2d,mclt-3d,mclt-gl,mclt-cvae",
        help="comma-separated MCLT models shown beside it (default: the four bundled ones)",
    )
    p.add_argument("--quick", action="store_true", help="two examples per table (fast; for tests)")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    import sys

    from foleyvae.errors import FoleyError
    from foleyvae.examples.build import build_page
    from foleyvae.export.loader import load_model

    out = check_output(args.output, args.force)
    if out.exists() and not out.is_dir():
        raise FoleyError(f"{out}: exists and is not a folder")
    names = [n.strip() for n in str(args.mclt).split(",") if n.strip()]
    if not names:
        raise FoleyError("--mclt needs at least one model name")
    model = load_model(args.model)
    if int(model.channels) != 1:
        raise FoleyError(f"{args.model}: the examples page needs a mono model, this one has {model.channels} channels")
    variants = [load_model(n) for n in names]
    for v in variants:
        if int(v.sample_rate) != int(model.sample_rate):
            raise FoleyError(f"{v.name}: sample rate {v.sample_rate} differs from {model.name}'s {model.sample_rate}")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    res = build_page(out, model, variants, quick=args.quick, log=say)
    n_rows = sum(len(t.rows) for t in res.tables)
    print(f"{len(res.tables)} tables, {n_rows} rows in {res.seconds:.1f} s -> {res.path / 'index.html'}")
    return 0
