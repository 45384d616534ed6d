"""Does a 20-minute fine-tune beat the untouched bundled model on your own folder? (issue 26, item 4)

Two small folders of Debian game Foley that the bundled ``foley`` model never saw (it learned minetest/0ad/openarena
footsteps, impacts and water only):

* ``tools``: 0ad-data construction, lumbering, mining (about 109 files);
* ``mixed``: minetest-data doors, fire, mechanical + 0ad-data movement, farming (about 48 files).

For each folder: ``foleyvae prepare`` (defaults: 44.1 kHz, 10 % held out per label, seed 0), then
``foleyvae evaluate`` of the untouched model, ``foleyvae train --init-from foley --time-budget MIN`` (the defaults a
user gets; both folders train at once, one thread each), and ``foleyvae evaluate`` of the result. Reported:
held-out multiscale and mel distances (lower is better) and, for the timbre transfers of the evaluation (taps, music
and, with espeak-ng, speech), the Frechet distance between the embeddings of the transfers and of the folder's
training crops (``transfer ... fd_out``: lower = the transfers sound more like the user's folder).
Targets: distances >= 15 % better than the untouched model, transfers closer to the folder.

Run (about MIN + 5 minutes; needs data/raw/{0ad,minetest} from ``foleyvae data fetch``):
    .venv/bin/python benchmarks/finetune_gain.py [--minutes 20] [--freeze-encoder --out results/finetune_frozen.json]
Writes benchmarks/results/finetune_gain.json; work files in runs/finetune_gain/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from _results import RESULTS, write_results

ROOT = Path(__file__).resolve().parent.parent
FV = str(ROOT / ".venv" / "bin" / "foleyvae")
WORK = ROOT / "runs" / "finetune_gain"
FOLDERS: dict[str, list[tuple[str, str]]] = {
    "tools": [("0ad", "construction"), ("0ad", "lumbering"), ("0ad", "mining")],
    "mixed": [
        ("minetest", "doors"),
        ("minetest", "fire"),
        ("minetest", "mechanical"),
        ("0ad", "movement"),
        ("0ad", "farming"),
    ],
}
TRAIN_KEYS = ("lr", "lr_final", "encoder_lr_scale", "lr_decay_tail", "phase1_steps", "max_steps", "beta_warmup_steps")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def build(name: str) -> Path:
    """Copy the folder's categories from data/raw and prepare it -> the dataset folder."""
    src = WORK / "src" / name
    shutil.rmtree(src, ignore_errors=True)
    for corpus, cat in FOLDERS[name]:
        raw = ROOT / "data" / "raw" / corpus
        if not (raw / cat).is_dir():
            raise SystemExit(f"{raw / cat}: missing (foleyvae data fetch {corpus} -o {raw})")
        shutil.copytree(raw / cat, src / corpus / cat)
    ds = WORK / "datasets" / name
    subprocess.run([FV, "prepare", *(str(p) for p in sorted(src.iterdir())), "-o", str(ds), "--force"], check=True)
    return ds


def evaluate(model: str, ds: Path, out: Path) -> dict[str, Any]:
    """``foleyvae evaluate`` -> the numbers this benchmark reports."""
    cmd = [FV, "evaluate", "--model", model, "--data", str(ds), "--json", str(out), "--force", "--seed", "0"]
    subprocess.run(cmd, check=True, env=dict(os.environ, **ONE_THREAD), stdout=subprocess.DEVNULL)
    ev = json.loads(out.read_text())
    rec = ev["reconstruction"]["overall"]
    row: dict[str, Any] = {"multiscale": rec["multiscale"], "mel": rec["mel"], "n_valid": int(rec["n"])}
    for kind, t in ev["transfer"]["per_kind"].items():
        row[f"transfer {kind} fd_out"] = t["fd_out"]
        row[f"transfer {kind} fd_in"] = t["fd_in"]
    row["embedding"] = ev["embedding"]["description"]
    return row


def change(before: float, after: float) -> float:
    return round(100.0 * (after - before) / before, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--base", default="foley", help="the bundled model to fine-tune")
    ap.add_argument("--out", type=Path, default=RESULTS / "finetune_gain.json")
    ap.add_argument("--freeze-encoder", action="store_true", help="train the decoder only (foleyvae train's option)")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="train.KEY=VALUE for both fine-tunes")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    datasets = {name: build(name) for name in FOLDERS}
    untouched = {name: evaluate(args.base, ds, WORK / f"{name}_untouched.json") for name, ds in datasets.items()}
    t0 = time.monotonic()
    procs = {}
    for name, ds in datasets.items():  # both at once, one thread each (the machine has two cores)
        cmd = [FV, "train", "--data", str(ds), "--out", str(WORK / f"ft_{name}"), "--init-from", args.base]
        cmd += ["--time-budget", str(args.minutes), "--threads", "1", "--force", "--no-progress"]
        cmd += ["--freeze-encoder"] if args.freeze_encoder else []
        cmd += [a for kv in args.sets for a in ("--set", kv)]
        log = (WORK / f"ft_{name}.log").open("w")
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log)
    for p, log in procs.values():
        if p.wait() != 0:
            raise SystemExit(f"fine-tuning failed: see {log.name}")
        log.close()
    train_min = (time.monotonic() - t0) / 60
    rows = []
    for name, ds in datasets.items():
        tuned = evaluate(str(WORK / f"ft_{name}"), ds, WORK / f"{name}_tuned.json")
        metrics = json.loads((WORK / f"ft_{name}" / "metrics.jsonl").read_text().splitlines()[-1])
        row = {"folder": name, "sources": [f"{c}/{k}" for c, k in FOLDERS[name]], "untouched": untouched[name]}
        row["fine_tuned"] = tuned
        row["steps"] = int(metrics.get("step", 0))
        cfg = yaml.safe_load((WORK / f"ft_{name}" / "config.yaml").read_text())["train"]
        row["train"] = {k: cfg[k] for k in TRAIN_KEYS}  # what the fine-tune ran with (its defaults, the plan)
        row["change_%"] = {
            k: change(untouched[name][k], tuned[k])
            for k in tuned
            if isinstance(tuned[k], float) and isinstance(untouched[name].get(k), float) and "fd_in" not in k
        }
        rows.append(row)
    print(f"fine-tuned from {args.base} for {args.minutes} min (both folders at once, one thread each)")
    print(f"{'folder':8s} {'metric':28s} {'untouched':>10s} {'tuned':>10s} {'change':>8s}")
    for r in rows:
        for k, v in r["change_%"].items():
            print(f"{r['folder']:8s} {k:28s} {r['untouched'][k]:10.3f} {r['fine_tuned'][k]:10.3f} {v:7.1f}%")
    ok = all(
        r["change_%"]["multiscale"] <= -15
        and r["change_%"]["mel"] <= -15
        and all(v < 0 for k, v in r["change_%"].items() if k.endswith("fd_out"))
        for r in rows
    )
    print("targets met (distances >= 15 % better, every transfer closer to the folder):", ok)
    write_results(
        args.out,
        {
            "benchmark": "finetune_gain",
            "base": args.base,
            "minutes": args.minutes,
            "freeze_encoder": args.freeze_encoder,
            "set": args.sets,
            "wall_minutes_training": round(train_min, 1),
            "load_avg": [round(v, 2) for v in os.getloadavg()],
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "targets_met": ok,
            "folders": rows,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
