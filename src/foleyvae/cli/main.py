"""``foleyvae`` command line: a registry of subcommands, each in its own module, imported only when used.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``; its heavy imports (torch,
fastapi, ...) live inside ``run`` so that ``foleyvae --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from foleyvae import __version__
from foleyvae.errors import FoleyError

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("foleyvae.cli.data", "fetch free Foley corpora (Debian game data) or synthesise one"),
    "prepare": ("foleyvae.cli.prepare", "turn folders of sounds into a training dataset"),
    "train": ("foleyvae.cli.train", "train a model (phase 1 VAE, phase 2 adversarial)"),
    "analyze": ("foleyvae.cli.analyze", "latent PCA, fidelity and material centroids of a run"),
    "export": ("foleyvae.cli.export", "export a run to an nn~-compatible TorchScript file"),
    "transfer": ("foleyvae.cli.transfer", "timbre transfer of files through a model"),
    "regenerate": ("foleyvae.cli.regenerate", "encode and decode a sound"),
    "mix": ("foleyvae.cli.mix", "mix two sounds in latent space"),
    "recipes": ("foleyvae.cli.recipes", "render the original work's 18 two-material mixes"),
    "examples": ("foleyvae.cli.examples", "render a static listening page from the bundled models"),
    "live": ("foleyvae.cli.live", "real-time timbre transfer from an audio device"),
    "studio": ("foleyvae.cli.studio", "open the local web studio"),
    "evaluate": ("foleyvae.cli.evaluate", "measure a model's quality and write a report"),
    "models": ("foleyvae.cli.models", "list the bundled models"),
    "presets": ("foleyvae.cli.presets", "list or show configuration presets"),
}


def available_commands() -> dict[str, tuple[str, str]]:
    """The subcommands whose module exists in this installation."""
    out = {}
    for name, (mod, help_) in COMMANDS.items():
        if importlib.util.find_spec(mod) is not None:
            out[name] = (mod, help_)
    return out


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser. Only ``command``'s module is imported (all of them when None, for --help)."""
    parser = argparse.ArgumentParser(
        prog="foleyvae",
        description="Foley-VAE: neural Foley with RAVE-style variational autoencoders.",
    )
    parser.add_argument("--version", action="version", version=f"foleyvae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (mod, help_) in available_commands().items():
        p = sub.add_parser(name, help=help_, description=help_)
        if command is None or command == name:
            importlib.import_module(mod).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    cmds = available_commands()
    parser = build_parser(command if command in cmds else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0)
    if not args.command:
        parser.print_help()
        return 0
    mod = importlib.import_module(cmds[args.command][0])
    try:
        return int(mod.run(args) or 0)
    except FoleyError as e:
        print(f"foleyvae {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"foleyvae {args.command}: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
