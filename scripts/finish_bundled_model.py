"""Second half of the bundled-model recipe: export a trained run into assets/<name>/ with its model card.

Usage: python scripts/finish_bundled_model.py RUN DATASET ASSET_DIR [BUDGET_MIN]
Evaluation (foleyvae evaluate) runs when available; its summary goes into the card.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from foleyvae import __version__
from foleyvae.data.prepare import read_dataset_info
from foleyvae.export.card import corpus_credits, hardware, write_card
from foleyvae.export.torchscript import export_model
from foleyvae.training.checkpoint import load_checkpoint, load_run


def _summary(ev: dict) -> dict[str, object]:
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


def main(run: Path, dataset: Path, asset: Path, budget_min: str = "?") -> None:
    art = load_run(run)
    state = load_checkpoint(run / "checkpoints" / "last.ckpt")
    raw = [Path("data/raw") / c for c in ("minetest", "0ad", "openarena")]
    corpora = corpus_credits(raw, {"footsteps", "impacts", "water"})
    credits = [f"{c['package']} {c['version']}: {', '.join(c['licences'])}" for c in corpora]
    asset.mkdir(parents=True, exist_ok=True)
    rep = export_model(
        art.model,
        art.config,
        art.latent,
        asset / "model.ts",
        streaming=True,
        fidelity=0.95,
        credits=credits,
        name="foley",
    )
    lic = asset / "licences"
    lic.mkdir(exist_ok=True)
    for d in raw:
        if (d / "copyright").is_file():
            shutil.copy(d / "copyright", lic / f"{d.name}.copyright")
    info = read_dataset_info(dataset)
    metrics: dict[str, object] = {}
    ev = asset / "eval"
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "foleyvae.cli.main",
                "evaluate",
                "--model",
                str(asset),
                "--data",
                str(dataset),
                "--report",
                str(ev / "report.md"),
                "--json",
                str(ev / "eval.json"),
                "--force",
            ],
            check=True,
            timeout=3600,
        )
        metrics = _summary(json.loads((ev / "eval.json").read_text()))
    except Exception as e:  # the card says so rather than inventing numbers
        metrics = {"evaluation": f"not run ({type(e).__name__})"}
    cfg = art.config
    train_s = (run / "checkpoints" / "last.ckpt").stat().st_mtime - (run / "config.yaml").stat().st_mtime
    hop, delay, sr = art.model.hop_length, art.model.delay_samples, cfg.audio.sample_rate
    card = {
        "name": "foley",
        "title": "Foley-VAE bundled model: footsteps, impacts and water",
        "description": "foley-small waveform VAE trained on free game Foley (minetest, 0 A.D., OpenArena).",
        "version": __version__,
        "preset": cfg.name,
        "sample_rate": sr,
        "latent_size": rep["latent_size"],
        "full_latent_size": rep["full_latent_size"],
        "hop_length": hop,
        "delay_samples": delay,
        "latency_ms_at_256": round((256 + delay) / sr * 1000, 2),
        "parameters": sum(p.numel() for p in art.model.parameters()),
        "file_size_mb": round(rep["size_bytes"] / 1e6, 2),
        "training": {
            "steps": int(state["step"]),
            "phase_at_end": int(state["phase"]),
            "phase1_steps": cfg.train.phase1_steps,
            "batch": f"{cfg.train.batch_size} x {cfg.train.n_samples} samples",
            "wall_clock_minutes": round(train_s / 60, 1),
            "time_budget_minutes": budget_min,
            "hardware": hardware(),
            "command": "make bundled-model",
        },
        "data": {
            "corpora": corpora,
            "labels": info.get("labels", {}),
            "hours": round(float(info.get("total_seconds", 0)) / 3600, 3),
            "credit_note": "Sounds from the Debian packages minetest-data, 0ad-data and openarena-data; their "
            "copyright files are in licences/. The model is derived from CC-BY-SA-3.0 and GPL-2+ material: "
            "credit these projects when you use its output.",
        },
        "metrics": metrics,
        "limits": [
            f"Trained for {int(state['step'])} steps on a CPU: a sketch of the sound, not studio quality yet.",
            "About 2.5 minutes of training audio; rare labels (glass, ice) are barely learned.",
            "Mono, 44.1 kHz; other rates are resampled.",
        ],
    }
    write_card(asset, card)
    print(json.dumps({k: card[k] for k in ("latent_size", "latency_ms_at_256", "file_size_mb")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), *(sys.argv[4:5]))
