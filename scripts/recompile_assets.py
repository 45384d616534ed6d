"""Recompile the bundled waveform models with the current layer code (same weights, same metadata), so that they
play with its speed-ups; see :mod:`foleyvae.export.recompile`. Each file is replaced only after it has been checked
against the old one; the card's ``file_size_mb`` (card.json and the row of card.md) follows the new size.

Usage:  .venv/bin/python scripts/recompile_assets.py [NAME ...]   (default: every bundled waveform model)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import torch

from foleyvae.errors import FoleyError
from foleyvae.export.loader import assets_dir
from foleyvae.export.recompile import recompile_waveform_export
from foleyvae.utils.atomic import atomic_write_text


def waveform_assets() -> list[str]:
    """Bundled model folders whose card says they are waveform models."""
    names = []
    for card in sorted(assets_dir().glob("*/card.json")):
        if json.loads(card.read_text()).get("model_kind", "waveform") == "waveform":
            names.append(card.parent.name)
    return names


def update_card(folder: Path, size_bytes: int) -> None:
    mb = round(size_bytes / 1e6, 2)
    card_json = folder / "card.json"
    card = json.loads(card_json.read_text())
    card["file_size_mb"] = mb
    atomic_write_text(card_json, json.dumps(card, indent=2) + "\n")
    card_md = folder / "card.md"
    if card_md.is_file():
        text = re.sub(r"^\| file_size_mb \| [0-9.]+ \|$", f"| file_size_mb | {mb} |", card_md.read_text(), flags=re.M)
        atomic_write_text(card_md, text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="bundled model names (default: every waveform model)")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    for name in args.names or waveform_assets():
        folder = assets_dir() / name
        t0 = time.perf_counter()
        try:
            rep = recompile_waveform_export(folder / "model.ts", folder / "model.ts")
        except FoleyError as e:
            print(f"{name}: {e}", file=sys.stderr)
            return 1
        update_card(folder, rep.new_bytes)
        print(f"{name}: {rep.old_bytes} -> {rep.new_bytes} bytes, max |difference| {rep.max_abs_error:.1e}, "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
