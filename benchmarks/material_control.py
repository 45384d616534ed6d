"""Material control, side by side: does steering toward a material keep the performance, and does it move the timbre?

Approaches (same model, same inputs, same materials, one run):
- ``centroid``: the old method, ``z = (1 - a) z + a * centroid`` with the stored per-label centroid (mean over all
  frames, silences included) of the material's labels;
- ``offset``: the current method (``inference.materials``), ``z + a * offset``, offset = material mean minus the
  overall mean over active frames.

Inputs: the sample library's performances (taps, English and French speech) and recorded footsteps (wood, gravel,
metal, water), each steered toward six materials at amount 0.5 and 1. Per render: the level change against the
unsteered regeneration (dB RMS), onset F1 against the input's onsets (30 ms), loudness-envelope correlation with
the input, and the material an **independent classifier** hears: nearest centroid over six materials, on the
hand-made log-mel/MFCC statistics of ``eval.embeddings`` (peak-normalised), trained on the raw clips of
minetest-data (never on the model's latents); its leave-one-out accuracy on those clips is reported beside it.

Run:  .venv/bin/python benchmarks/material_control.py [--model foley]
      (needs data/raw/minetest: `foleyvae data fetch minetest -o data/raw/minetest`; writes
      benchmarks/results/material_control.json)
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foleyvae.audio.io import load
from foleyvae.eval.embeddings import embed
from foleyvae.eval.metrics import loudness_correlation, onset_scores
from foleyvae.export.loader import assets_dir, load_model
from foleyvae.inference.materials import MaterialTable, material_of
from foleyvae.inference.mixing import decode_latent, encode_sound, material_table
from foleyvae.utils.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULT = Path(__file__).parent / "results" / "material_control.json"
MATERIALS = ("wood", "metal", "gravel", "snow", "stone", "water")
PERFORMANCES = ("taps", "speech_en", "speech_fr")
FOOTSTEPS = ("footsteps_wood", "footsteps_gravel", "footsteps_metal", "footsteps_water")
AMOUNTS = (0.5, 1.0)


class Classifier:
    """Nearest centroid over standardised hand-made embeddings of labelled raw clips."""

    def __init__(self, corpus: Path, sample_rate: int) -> None:
        self.sr = sample_rate
        feats, names = [], []
        for row in map(json.loads, (corpus / "manifest.jsonl").read_text().splitlines()):
            mat = material_of(row["label"]) if row["label"].split("/")[0] in ("footsteps", "impacts") else None
            if mat in MATERIALS:
                x, _ = load(corpus / row["file"], sample_rate=sample_rate, channels=1)
                feats.append(embed(x, sample_rate, "handmade"))
                names.append(mat)
        e, y = np.array(feats), np.array(names)
        self.mu, self.sd = e.mean(0), e.std(0) + 1e-6
        en = (e - self.mu) / self.sd
        self.centroids = {m: en[y == m].mean(0) for m in MATERIALS}
        hits = 0
        for i in range(len(en)):  # leave-one-out accuracy on the corpus itself
            rest = np.arange(len(en)) != i
            cents = {m: en[rest & (y == m)].mean(0) for m in MATERIALS}
            hits += min(cents, key=lambda m: float(np.linalg.norm(en[i] - cents[m]))) == y[i]
        self.loo_accuracy = hits / len(en)
        self.n_clips = len(en)

    def __call__(self, y: np.ndarray) -> str:
        e = (embed(y, self.sr, "handmade") - self.mu) / self.sd
        return min(self.centroids, key=lambda m: float(np.linalg.norm(e - self.centroids[m])))


def _old_centroid(model: Any, table: MaterialTable, mat: str) -> np.ndarray:
    """The pre-#20 target: the mean of the stored all-frame centroids of the material's labels."""
    cents = model.metadata.get("centroids") or {}
    labels = [lb for lb in table.names()[mat] if lb in cents]
    k = int(model.latent_size)
    return np.mean([np.asarray(cents[lb], np.float32)[:k] for lb in labels], axis=0)


def _db(y: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(y, dtype=np.float64)) + 1e-12))


def run(model_name: str, corpus: Path) -> dict[str, Any]:
    model = load_model(model_name)
    sr = int(model.sample_rate)
    clf = Classifier(corpus, sr)
    table = material_table(model)
    rows: list[dict[str, Any]] = []
    for name in PERFORMANCES + FOOTSTEPS:
        x, _ = load(assets_dir() / "samples" / f"{name}.wav", sample_rate=sr, channels=1)
        z = encode_sound(model, x)
        y0 = decode_latent(model, z, x.shape[1])
        base = {"input": name, "group": "performance" if name in PERFORMANCES else "footsteps"}
        rows.append({**base, "approach": "unsteered", "material": "-", "amount": 0.0, **_scores(x, y0, y0, sr, clf)})
        for mat in MATERIALS:
            off, cen = table.steer(mat), _old_centroid(model, table, mat)
            for a in AMOUNTS:
                for approach, zz in (("offset", z + a * off[:, None]), ("centroid", (1 - a) * z + a * cen[:, None])):
                    y = decode_latent(model, zz.astype(np.float32), x.shape[1])
                    row = {**base, "approach": approach, "material": mat, "amount": a, **_scores(x, y, y0, sr, clf)}
                    row["hit"] = row["heard_as"] == mat
                    rows.append(row)
    return {"classifier_loo_accuracy": clf.loo_accuracy, "classifier_clips": clf.n_clips, "rows": rows}


def _scores(x: np.ndarray, y: np.ndarray, y0: np.ndarray, sr: int, clf: Classifier) -> dict[str, Any]:
    return {
        "level_change_db": _db(y) - _db(y0),
        "onset_f1_vs_input": onset_scores(x, y, sr)["f1"],
        "onsets": int(onset_scores(x, y, sr)["n_est"]),
        "loudness_corr_vs_input": loudness_correlation(x, y, sr),
        "heard_as": clf(y),
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for approach in ("unsteered", "centroid", "offset"):
        for group in ("performance", "footsteps"):
            for a in (0.0,) if approach == "unsteered" else AMOUNTS:
                sel = [r for r in rows if r["approach"] == approach and r["group"] == group and r["amount"] == a]
                lv = [r["level_change_db"] for r in sel]
                out.append(
                    {
                        "approach": approach,
                        "group": group,
                        "amount": a,
                        "renders": len(sel),
                        "hit_rate": float(np.mean([r.get("hit", False) for r in sel])) if a else None,
                        "level_change_db_median": float(np.median(lv)),
                        "level_change_db_min": float(np.min(lv)),
                        "onset_f1_median": float(np.median([r["onset_f1_vs_input"] for r in sel])),
                        "loudness_corr_median": float(np.median([r["loudness_corr_vs_input"] for r in sel])),
                    }
                )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="foley")
    p.add_argument("--corpus", default=str(ROOT / "data" / "raw" / "minetest"))
    args = p.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    res = run(args.model, Path(args.corpus))
    summary = summarise(res["rows"])
    print(f"classifier: leave-one-out accuracy {res['classifier_loo_accuracy']:.2f} on {res['classifier_clips']} clips")
    print(f"{'approach':10s} {'group':12s} {'amount':>6s} {'hit':>5s} {'dB med':>7s} {'dB min':>7s} {'onsetF1':>8s}")
    for s in summary:
        hit = "-" if s["hit_rate"] is None else f"{s['hit_rate']:.2f}"
        print(
            f"{s['approach']:10s} {s['group']:12s} {s['amount']:6.1f} {hit:>5s} {s['level_change_db_median']:+7.1f} "
            f"{s['level_change_db_min']:+7.1f} {s['onset_f1_median']:8.2f}"
        )
    doc = {
        "benchmark": "material_control",
        "model": args.model,
        "materials": list(MATERIALS),
        "chance": 1.0 / len(MATERIALS),
        "machine": platform.processor() or platform.machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "summary": summary,
        **res,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULT, json.dumps(doc, indent=1))
    print(f"-> {RESULT}")


if __name__ == "__main__":
    main()
