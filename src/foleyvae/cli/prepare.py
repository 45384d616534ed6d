"""``foleyvae prepare INPUT... -o DATASET``: folders of sounds -> shards + manifest (see foleyvae.data.prepare)."""

from __future__ import annotations

import argparse
import os

from foleyvae.cli.common import add_force


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT_DIR", help="folders (or files); labels = sub-folder paths")
    p.add_argument("-o", "--output", required=True, metavar="DATASET", help="dataset folder to create or update")
    p.add_argument("--sample-rate", type=int, default=44100, help="resample to this rate (default 44100)")
    p.add_argument("--channels", type=int, default=1, help="1 = mono mix-down (default), 2 = stereo, ...")
    p.add_argument(
        "--silence-db",
        type=float,
        default=-60.0,
        help="trim leading/trailing audio below this level relative to the file's peak (default -60)",
    )
    norm = p.add_mutually_exclusive_group()
    norm.add_argument("--normalize-lufs", type=float, metavar="LUFS", help="normalise K-weighted loudness, e.g. -23")
    norm.add_argument("--peak-normalize", type=float, metavar="DBFS", help="normalise the peak, e.g. -1")
    p.add_argument("--valid-fraction", type=float, default=0.1, help="validation share per label (default 0.1)")
    p.add_argument(
        "--workers",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help="decoding processes (0 = in this process; default: CPU count, at most 8)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the train/valid split")
    p.add_argument(
        "--fixed-valid",
        metavar="LIST",
        help="always hold out these files (a text file of ROOT/file lines, e.g. benchmarks/heldout/foley_v1.txt, "
        "or an older dataset's folder/manifest.jsonl: its valid files); the rest are split as usual",
    )
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from foleyvae.cli.common import progress
    from foleyvae.data.prepare import PrepareOptions, prepare_dataset, read_fixed_valid
    from foleyvae.errors import FoleyError

    if args.workers < 0:
        raise FoleyError(f"--workers must be >= 0, got {args.workers}")
    normalize, target = "none", -1.0
    if args.normalize_lufs is not None:
        normalize, target = "lufs", args.normalize_lufs
    elif args.peak_normalize is not None:
        normalize, target = "peak", args.peak_normalize
    opts = PrepareOptions(
        sample_rate=args.sample_rate,
        channels=args.channels,
        silence_db=args.silence_db,
        normalize=normalize,
        target_db=target,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
        fixed_valid=read_fixed_valid(args.fixed_valid) if args.fixed_valid else (),
    )
    report = prepare_dataset(
        args.inputs,
        args.output,
        opts,
        workers=args.workers,
        force=args.force,
        progress=lambda it, n: progress(it, total=n, desc="decoding"),
    )
    print(report.summary())
    return 0
