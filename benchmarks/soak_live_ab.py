"""Side by side: the live soak with the model in the audio process (``--engine thread``) and in its own process
(``--engine process``), alternating, so that both see the same host (these VMs' speed drifts by 1.5x in an hour).

Each round runs ``soak_live.py --minutes M --warmup W --engine E`` once per engine (each with its model swap at
half time), in the order thread, process. Prints one row per run and the totals, writes
``benchmarks/results/soak_live_ab.json``.

Run:  .venv/bin/python benchmarks/soak_live_ab.py [--rounds 2] [--minutes 2] [--warmup 15]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "soak_live_ab.json"
KEYS = (
    "xruns_after_warmup",
    "xruns_swap_window",
    "xruns_not_near_a_stall",
    "xruns_swap_window_not_near_a_stall",
    "max_process_ms",
    "mean_process_ms",
    "rss_start_mb",
    "rss_growth_pct",
)


def run_one(engine: str, minutes: float, warmup: float, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "soak_live.py"), "--engine", engine, "--minutes", str(minutes)]
    cmd += ["--warmup", str(warmup), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"soak ({engine}) failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    full = json.loads(out.read_text())
    row = {k: full.get(k) for k in KEYS}
    row["engine"] = engine
    row["machine_stalls"] = full["machine_stalls"]["count"]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="foleyvae-ab-") as tmp:
        for i in range(args.rounds):
            for engine in ("thread", "process"):
                rows.append(run_one(engine, args.minutes, args.warmup, Path(tmp) / f"{i}-{engine}.json"))
                rows[-1]["round"] = i
                print(json.dumps(rows[-1]), flush=True)
    totals: dict[str, dict[str, float]] = {}
    for engine in ("thread", "process"):
        mine = [r for r in rows if r["engine"] == engine]
        totals[engine] = {
            "xruns_after_warmup": sum(r["xruns_after_warmup"] for r in mine),
            "xruns_swap_window": sum(r["xruns_swap_window"] or 0 for r in mine),
            "xruns_not_near_a_stall": sum(r["xruns_not_near_a_stall"] for r in mine),
            "max_process_ms": max(r["max_process_ms"] for r in mine),
            "rss_start_mb": mine[0]["rss_start_mb"],
        }
    head = f"{'engine':<8} {'round':>5} {'xruns':>6} {'in swap':>8} {'not near stall':>15} {'max ms':>8} {'RSS MiB':>8}"
    print(head)
    for r in rows:
        print(
            f"{r['engine']:<8} {r['round']:>5} {r['xruns_after_warmup']:>6} {r['xruns_swap_window'] or 0:>8} "
            f"{r['xruns_not_near_a_stall']:>15} {r['max_process_ms']:>8.1f} {r['rss_start_mb']:>8.1f}"
        )
    for engine, t in totals.items():
        print(
            f"{engine:<8} {'all':>5} {t['xruns_after_warmup']:>6.0f} {t['xruns_swap_window']:>8.0f} "
            f"{t['xruns_not_near_a_stall']:>15.0f} {t['max_process_ms']:>8.1f} {t['rss_start_mb']:>8.1f}"
        )
    result = {"minutes": args.minutes, "warmup_s": args.warmup, "rounds": rows, "totals": totals}
    result["machine"] = {"cores": os.cpu_count(), "load_avg": os.getloadavg()}
    from foleyvae.utils.atomic import atomic_write_text

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
