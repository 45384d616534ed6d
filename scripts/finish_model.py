"""Second half of a bundled model's recipe: export a trained run into ``assets/<name>/`` with its model card.

Usage (see scripts/bundled_model.sh and scripts/zoo.sh)::

    python scripts/finish_model.py RUN DATASET ASSET_DIR --name NAME --title T --description D \
        --corpus DIR[:LABEL,LABEL] ... [--budget MIN] [--command CMD] [--limit TEXT ...] [--no-eval]

``--corpus`` names the source folders (``foleyvae data fetch`` or ``data synth`` output, each with source.json and
manifest.jsonl); the optional label prefixes restrict the credits to the files the model was trained on. Debian
copyright files found there are copied into ``licences/``. Evaluation (``foleyvae evaluate``) runs unless
``--no-eval``; its summary goes into the card. Nothing here invents a number: a failed evaluation says so.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from foleyvae import __version__
from foleyvae.checkpoints import load_checkpoint, load_run
from foleyvae.data.prepare import read_dataset_info
from foleyvae.export.card import corpus_credits, hardware, write_card
from foleyvae.export.torchscript import export_model


def summary(ev: dict[str, Any]) -> dict[str, object]:
    """The card's headline numbers from ``foleyvae evaluate --json``."""
    rec = ev["reconstruction"]["overall"]
    out: dict[str, object] = {
        "held-out examples": int(rec["n"]),
        "held-out multiscale spectral distance": round(rec["multiscale"], 3),
        "held-out mel distance": round(rec["mel"], 3),
        "held-out SI-SDR (dB)": round(rec["si_sdr"], 2),
        "held-out loudness-envelope correlation": round(rec["loudness_corr"], 3),
    }
    for kind, row in ev["transfer"]["per_kind"].items():
        out[f"transfer {kind}: onset F1 (30 ms)"] = round(row["onset_f1"], 3)
        out[f"transfer {kind}: Frechet distance to corpus in -> out"] = f"{row['fd_in']:.0f} -> {row['fd_out']:.0f}"
    mix = ev["mixing"]["summary"]
    out["morph A->B: Spearman of distance to A / to B"] = f"{mix['spearman_a']:.2f} / {mix['spearman_b']:.2f}"
    out["embedding"] = ev["embedding"]["description"]
    return out


def _corpus_arg(text: str) -> tuple[Path, set[str] | None]:
    path, _, labels = text.partition(":")
    return Path(path), ({x for x in labels.split(",") if x} or None)


def _evaluate(asset: Path, dataset: Path) -> dict[str, object]:
    ev = asset / "eval"
    try:
        subprocess.run(
            [sys.executable, "-m", "foleyvae.cli.main", "evaluate", "--model", str(asset), "--data", str(dataset)]
            + ["--report", str(ev / "report.md"), "--json", str(ev / "eval.json"), "--force"],
            check=True,
            timeout=3600,
        )
        return summary(json.loads((ev / "eval.json").read_text()))
    except Exception as e:  # the card says so rather than inventing numbers
        return {"evaluation": f"not run ({type(e).__name__})"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("dataset", type=Path)
    p.add_argument("asset", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--corpus", action="append", default=[], type=_corpus_arg, metavar="DIR[:LABELS]")
    p.add_argument("--budget", default="?", help="training time budget in minutes (for the card)")
    p.add_argument("--command", default="make bundled-model", help="the recipe command (for the card)")
    p.add_argument("--limit", action="append", default=[], help="a known limit (card)")
    p.add_argument("--no-eval", action="store_true")
    args = p.parse_args(argv)

    run, asset = args.run, args.asset
    art = load_run(run)
    state = load_checkpoint(run / "checkpoints" / "last.ckpt")
    corpora = [c for d, labels in args.corpus for c in corpus_credits([d], labels)]
    credits = [
        f"{c['package'] or c['corpus']} {c['version'] or ''}".strip() + f": {', '.join(c['licences'])}" for c in corpora
    ]
    asset.mkdir(parents=True, exist_ok=True)
    rep = export_model(
        art.model, art.config, art.latent, asset / "model.ts", streaming=True, fidelity=0.95, credits=credits,
        name=args.name,
    )  # fmt: skip
    lic = asset / "licences"
    lic.mkdir(exist_ok=True)
    for d, _ in args.corpus:
        for name in ("copyright", "LICENSE"):
            if (d / name).is_file():
                shutil.copy(d / name, lic / f"{d.name}.{name.lower()}")
    info = read_dataset_info(args.dataset)
    metrics = {"evaluation": "skipped (--no-eval)"} if args.no_eval else _evaluate(asset, args.dataset)
    cfg = art.config
    train_s = (run / "checkpoints" / "last.ckpt").stat().st_mtime - (run / "config.yaml").stat().st_mtime
    hop, delay, sr = art.model.hop_length, art.model.delay_samples, cfg.audio.sample_rate
    training: dict[str, object] = {
        "steps": int(state["step"]),
        "phase_at_end": int(state["phase"]),
        "phase1_steps": cfg.train.phase1_steps,
        "batch": f"{cfg.train.batch_size} x {cfg.train.n_samples} samples",
        "learning_rate": cfg.train.lr,
        "wall_clock_minutes": round(train_s / 60, 1),
        "time_budget_minutes": args.budget,
        "hardware": hardware(),
        "command": args.command,
    }
    if state.get("init_from"):
        training["initialised_from"] = f"bundled model {state['init_from']!r} (fine-tuned)"
    card = {
        "name": args.name,
        "title": args.title,
        "description": args.description,
        "version": __version__,
        "preset": cfg.name,
        "sample_rate": sr,
        "latent_size": rep["latent_size"],
        "full_latent_size": rep["full_latent_size"],
        "model_kind": cfg.model.kind,
        "hop_length": hop,
        "delay_samples": delay,
        # a clip model (MCLT family, hop = one clip) waits for a whole clip: the engine's FIFO adds hop - gcd(256, hop)
        "latency_ms_at_256": round((256 + delay + (hop - math.gcd(256, hop) if hop > 256 else 0)) / sr * 1000, 2),
        "parameters": sum(q.numel() for q in art.model.parameters()),
        "file_size_mb": round(rep["size_bytes"] / 1e6, 2),
        "labels": sorted(art.latent.centroids) if art.latent is not None else [],
        "training": training,
        "data": {
            "corpora": corpora,
            "labels": info.get("labels", {}),
            "hours": round(float(info.get("total_seconds", 0)) / 3600, 3),
            "credit_note": "Licence texts of every source are in licences/. Credit the sources when you use the "
            "model's output (CC-BY-SA-3.0 and GPL-2+ material where listed; synthetic corpora are CC0).",
        },
        "metrics": metrics,
        "limits": args.limit,
    }
    write_card(asset, card)
    print(json.dumps({k: card[k] for k in ("name", "latent_size", "latency_ms_at_256", "file_size_mb")}))


if __name__ == "__main__":
    main()
