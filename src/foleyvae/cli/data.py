"""``foleyvae data ACTION``: corpus tools. ``fetch`` gets a free Foley corpus from a Debian game-data package.

Actions are argparse sub-subcommands registered in ``ACTIONS``; add one by writing ``_add_<name>``/``_run_<name>``
and an entry there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from foleyvae.cli.common import add_force


def _add_fetch(p: argparse.ArgumentParser) -> None:
    from foleyvae.data.sources import SOURCES

    p.add_argument(
        "corpus",
        choices=list(SOURCES),
        help="; ".join(f"{k}: {s.package} ({s.size_note}, {s.licence})" for k, s in SOURCES.items()),
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write label/file.ogg into")
    p.add_argument("--deb", metavar="FILE", help="use this already downloaded .deb instead of apt-get download")
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="where downloaded .debs are kept (default $FOLEYVAE_CACHE/debs or ~/.cache/foleyvae/debs)",
    )
    add_force(p)


def _run_fetch(args: argparse.Namespace) -> int:
    from foleyvae.data.sources import counts_table, fetch_source

    report = fetch_source(args.corpus, args.output, deb=args.deb, cache_dir=args.cache, force=args.force)
    print(f"{report.out_dir}: {report.n_files} sounds from {report.package} {report.version} ({report.deb.name})")
    print(counts_table(report.counts))
    if report.skipped:
        print(f"  ({report.skipped} non-Foley sounds left out)")
    print(f"licence: see {report.out_dir / 'copyright'} and the per-file 'licence' in manifest.jsonl")
    return 0


def _add_synth(p: argparse.ArgumentParser) -> None:
    from foleyvae.data.synth import KINDS

    p.add_argument(
        "kind",
        choices=list(KINDS),
        help="; ".join(f"{k}: {', '.join(subs)}" for k, subs in KINDS.items()),
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write kind/subtype/file.wav into")
    p.add_argument("--minutes", type=float, default=3.0, help="total duration of the corpus (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files (default 0)")
    add_force(p)


def _run_synth(args: argparse.Namespace) -> int:
    from foleyvae.data.synth import LICENCE, synth_corpus

    report = synth_corpus(args.kind, args.output, minutes=args.minutes, seed=args.seed, force=args.force)
    print(f"{report.out_dir}: {report.n_files} synthetic {report.kind} sounds (seed {report.seed})")
    print(report.table())
    print(f"licence: {LICENCE}; recipe parameters per file in {report.out_dir / 'manifest.jsonl'}")
    return 0


# name -> (help, add_arguments, run)
ACTIONS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "fetch": (
        "fetch a Foley corpus from a Debian package (minetest, 0ad, openarena, megaglest, widelands, ...)",
        _add_fetch,
        _run_fetch,
    ),
    "synth": ("synthesise a free (CC0) electromagnetic, sci-fi or water corpus", _add_synth, _run_synth),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_action", metavar="ACTION")
    for name, (help_, add, _) in ACTIONS.items():
        add(sub.add_parser(name, help=help_, description=help_))


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "data_action", None)
    if not action:
        print("usage: foleyvae data {" + ",".join(ACTIONS) + "} ... (see foleyvae data --help)")
        return 2
    return ACTIONS[action][2](args)
