"""Speed of ``foleyvae prepare`` on the real minetest-data corpus: files/s and audio-seconds/s, 1 vs 2 workers.

Fetches minetest-data once into .cache/ (apt-get download, cached), then prepares it from scratch with the
decoding done in this process (0 workers, no pool start-up), in 1 worker process, and in 2 worker processes.
Prints a table and writes benchmarks/results/prepare_speed.json.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from _results import RESULTS, write_results

from foleyvae.data.prepare import PrepareOptions, prepare_dataset
from foleyvae.data.sources import fetch_source

REPO = Path(__file__).resolve().parents[1]
REPEATS = 3


def main() -> int:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    work = Path(tempfile.mkdtemp(prefix="prepare-speed-"))
    try:
        corpus = work / "minetest"
        fetch_source("minetest", corpus, cache_dir=REPO / ".cache" / "debs")
        rows = []
        for workers in (0, 1, 2):
            best = float("inf")
            rep = None
            for r in range(REPEATS):
                out = work / f"ds-{workers}-{r}"
                t0 = time.perf_counter()
                rep = prepare_dataset([corpus], out, PrepareOptions(), workers=workers)
                best = min(best, time.perf_counter() - t0)
                shutil.rmtree(out)
            assert rep is not None
            rows.append(
                {
                    "workers": workers,
                    "mode": "in-process" if workers == 0 else f"{workers} process(es)",
                    "files": rep.n_files,
                    "audio_s": round(rep.total_seconds, 2),
                    "wall_s": round(best, 3),
                    "files_per_s": round(rep.n_files / best, 1),
                    "audio_s_per_s": round(rep.total_seconds / best, 1),
                }
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"prepare minetest-data ({rows[0]['files']} files, {rows[0]['audio_s']} s of audio), best of {REPEATS}")
    print(f"{'workers':>8s} {'mode':>14s} {'wall s':>8s} {'files/s':>9s} {'audio s/s':>10s}")
    for r in rows:
        print(
            f"{r['workers']:8d} {r['mode']:>14s} {r['wall_s']:8.3f} {r['files_per_s']:9.1f} {r['audio_s_per_s']:10.1f}"
        )
    result = {
        "benchmark": "prepare_speed",
        "corpus": "minetest-data (Debian 12)",
        "options": "44.1 kHz mono, trim -60 dB, no normalisation",
        "repeats": REPEATS,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "rows": rows,
    }
    write_results(RESULTS / "prepare_speed.json", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
