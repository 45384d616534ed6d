"""Compute a bundled model's material offsets from its labelled corpora and write them into the model file.

Usage: scripts/material_offsets.py NAME CORPUS_DIR... [--categories footsteps,impacts,water]

Each CORPUS_DIR is a folder made by ``foleyvae data fetch`` (``manifest.jsonl`` with a label per file). The clips
are encoded by the model itself (its PCA latent, ``inference.mixing.encode_sound``); offsets are computed over
active frames (``analysis.materials``) and stored as ``metadata["materials"]`` in ``assets/NAME/model.ts`` (its
``foleyvae.json`` extra file; the file and its .sha256 are replaced atomically), and the card lists the names.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import torch

from foleyvae.analysis.materials import active_frames, fit_material_offsets
from foleyvae.audio.io import load
from foleyvae.export.loader import assets_dir, load_model
from foleyvae.export.nn_tilde import EXTRA_FILE
from foleyvae.inference.materials import MaterialTable
from foleyvae.inference.mixing import encode_sound
from foleyvae.utils.atomic import atomic_write_bytes, atomic_write_text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("corpora", nargs="+")
    p.add_argument("--categories", default="", help="comma-separated label categories to use (default: all)")
    args = p.parse_args(argv)
    torch.set_flush_denormal(True)
    model = load_model(args.name)
    cats = {c for c in args.categories.split(",") if c}
    latents, active, labels = [], [], []
    for corpus in map(Path, args.corpora):
        for line in (corpus / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            if cats and row["label"].split("/")[0] not in cats:
                continue
            x, _ = load(corpus / row["file"], sample_rate=int(model.sample_rate), channels=int(model.channels))
            z = encode_sound(model, x)
            latents.append(z)
            active.append(active_frames(x, z.shape[1], int(model.hop_length)))
            labels.append(row["label"])
    fitted = fit_material_offsets(latents, active, labels)
    folder = assets_dir() / args.name
    path = folder / "model.ts"
    extra = {EXTRA_FILE: ""}
    module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    meta = json.loads(extra[EXTRA_FILE])
    meta["materials"] = fitted.to_json()
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files={EXTRA_FILE: json.dumps(meta)})
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    atomic_write_text(folder / "model.ts.sha256", hashlib.sha256(data).hexdigest() + "  model.ts\n")
    table = MaterialTable.from_metadata(meta, int(model.latent_size), args.name)
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text())
    card["materials"] = {
        "method": "active-offset: material mean minus overall mean, active frames only (inference.materials)",
        "names": table.names(),
        "clips": len(labels),
        "active_frames": int(sum(fitted.frames.values())),
    }
    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    print(f"{args.name}: {len(fitted.offsets)} labels from {len(labels)} clips; names: {', '.join(table.names())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
