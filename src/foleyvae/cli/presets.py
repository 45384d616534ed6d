"""``foleyvae presets [NAME]``: list presets or print one as YAML."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="preset to print as YAML")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. model.capacity=8")


def run(args: argparse.Namespace) -> int:
    import yaml

    from foleyvae.config import apply_overrides, preset, preset_names

    if not args.name:
        for name in preset_names():
            c = preset(name)
            extra = f"hop {c.model.hop_length}" if c.model.kind == "waveform" else f"clip {c.model.clip_samples}"
            print(f"{name:20s} {c.model.kind:10s} {c.audio.sample_rate} Hz  latent {c.model.latent_size:4d}  {extra}")
        return 0
    cfg = apply_overrides(preset(args.name), args.set)
    print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="")
    return 0
