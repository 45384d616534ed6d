"""``foleyvae models``: list the bundled models (name, sample rate, latency, latent size, data)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show this model's card")


def run(args: argparse.Namespace) -> int:
    import json

    from foleyvae.errors import FoleyError
    from foleyvae.export.loader import assets_dir, list_bundled

    names = list_bundled()
    if args.name:
        if args.name not in names:
            raise FoleyError(f"no bundled model {args.name!r}; bundled: {', '.join(names) or 'none'}")
        md = assets_dir() / args.name / "card.md"
        print(md.read_text() if md.is_file() else f"{args.name}: no card")
        return 0
    if not names:
        print("no bundled models (see `make bundled-model`)")
        return 0
    for n in names:
        cj = assets_dir() / n / "card.json"
        card = json.loads(cj.read_text()) if cj.is_file() else {}
        lat = card.get("latency_ms_at_256", "?")
        materials = card.get("materials", {}).get("names") if isinstance(card.get("materials"), dict) else None
        if materials:  # the short names --towards takes (inference.materials)
            tail = "materials: " + ", ".join(materials)
        else:
            tail = "labels: " + ", ".join(list(card.get("data", {}).get("labels", {}))[:6]) + "..."
        print(
            f"{n:16s} {card.get('sample_rate', '?')} Hz  latent {card.get('latent_size', '?')}  "
            f"latency {lat} ms @256  {card.get('description', '')[:60]}  [{tail}]"
        )
    return 0
