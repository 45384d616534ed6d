"""``foleyvae regenerate IN --model M -o OUT``: encode and decode a sound (offline, delay-compensated)."""

from __future__ import annotations

import argparse

from foleyvae.cli.common import add_force, check_output
from foleyvae.cli.transfer import add_model
from foleyvae.errors import FoleyError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="audio file")
    add_model(p)
    p.add_argument("-o", "--output", required=True, help="output .wav/.flac")
    p.add_argument("--block", type=int, default=None, help="engine block (default: a multiple of the hop near 2048)")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from foleyvae.audio.io import load, save
    from foleyvae.export.loader import load_model
    from foleyvae.inference.render import regenerate

    if args.block is not None and args.block < 1:
        raise FoleyError(f"--block must be >= 1, got {args.block}")
    out = check_output(args.output, args.force)
    model = load_model(args.model)
    audio, _ = load(args.input, sample_rate=int(model.sample_rate), channels=int(model.channels))
    save(out, regenerate(model, audio, args.block), int(model.sample_rate))
    print(f"{args.input} -> {out}")
    return 0
