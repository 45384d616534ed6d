"""Side by side: live soaks of two or more configurations, alternating, so that all see the same host (these VMs'
speed drifts by 1.5x in an hour).

By default the variants are the model in the audio process (``--engine thread``) and in its own process
(``--engine process``); ``--variant NAME="soak_live.py arguments"`` (repeatable) compares others, e.g. prefill depths.
Each round runs ``soak_live.py --minutes M --warmup W ARGS`` once per variant (each with its model swap at half
time), in the order given. Prints one row per run and the totals, writes ``benchmarks/results/soak_live_ab.json``.

Run:  .venv/bin/python benchmarks/soak_live_ab.py [--rounds 2] [--minutes 2] [--warmup 15]
      .venv/bin/python benchmarks/soak_live_ab.py --variant p2="--prefill 2" --variant p3="--prefill 3" --out X.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _results import write_results

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


DEFAULT_VARIANTS = {"thread": "--engine thread", "process": "--engine process"}


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``NAME=ARGS`` -> (name, soak_live.py arguments)."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f'--variant wants NAME="ARGS", got {text!r}')
    return name.strip(), shlex.split(rest)


def run_one(name: str, extra: list[str], minutes: float, warmup: float, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "soak_live.py"), *extra, "--minutes", str(minutes)]
    cmd += ["--warmup", str(warmup), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"soak ({name}) failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    full = json.loads(out.read_text())
    if full.get("mode") == "jack-only":  # the host's floor: jackd's own late cycles are its xruns
        full["xruns_after_warmup"] = full["driver_xruns_after_warmup"]
        full["jackd_driver_xruns_after_warmup"] = full["driver_xruns_after_warmup"]
        full.setdefault("glitches_after_warmup", None)
    row = {k: full.get(k) for k in KEYS}
    row["jackd_driver_xruns"] = full.get("jackd_driver_xruns_after_warmup")
    row["variant"] = name
    row["args"] = shlex.join(extra)
    row["machine_stalls"] = full["machine_stalls"]["count"]
    row["machine_stall_max_ms"] = full["machine_stalls"]["max_ms"]
    row["glitches_after_warmup"] = full["glitches_after_warmup"]  # device xruns vs our rings falling behind
    row["player"] = full.get("player")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--out", type=Path, default=RESULT)
    ap.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        metavar='NAME="ARGS"',
        help="a configuration: a name and soak_live.py arguments (repeat; default: thread vs process engine)",
    )
    args = ap.parse_args()
    variants = dict(args.variant) if args.variant else {k: shlex.split(v) for k, v in DEFAULT_VARIANTS.items()}
    if len(variants) < 2:
        ap.error("give at least two distinct --variant names")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="foleyvae-ab-") as tmp:
        for i in range(args.rounds):
            for name, extra in variants.items():
                rows.append(run_one(name, extra, args.minutes, args.warmup, Path(tmp) / f"{i}-{name}.json"))
                rows[-1]["round"] = i
                print(json.dumps(rows[-1]), flush=True)
    totals: dict[str, dict[str, float]] = {}
    for name in variants:
        mine = [r for r in rows if r["variant"] == name]
        totals[name] = {
            "xruns_after_warmup": sum(r["xruns_after_warmup"] for r in mine),
            "xruns_swap_window": sum(r["xruns_swap_window"] or 0 for r in mine),
            "xruns_not_near_a_stall": sum(r["xruns_not_near_a_stall"] or 0 for r in mine),
            "jackd_driver_xruns": sum(r["jackd_driver_xruns"] or 0 for r in mine),
            "machine_stalls": sum(r["machine_stalls"] for r in mine),
            "max_process_ms": max(r["max_process_ms"] or 0.0 for r in mine),
            "rss_start_mb": mine[0]["rss_start_mb"] or 0.0,
        }
    w = max(8, *(len(n) for n in variants))
    cols = ("xruns", "jackd late", "in swap", "not near stall", "stalls", "max ms", "RSS MiB")
    print(f"{'variant':<{w}} {'round':>5} " + " ".join(f"{c:>{max(6, len(c))}}" for c in cols))

    def line(name: str, rnd: str, r: dict[str, Any]) -> str:
        vals: tuple[Any, ...] = (r["xruns_after_warmup"], r["jackd_driver_xruns"] or 0, r["xruns_swap_window"] or 0)
        vals += (r["xruns_not_near_a_stall"] or 0, r["machine_stalls"])
        vals += (round(r["max_process_ms"] or 0.0, 1), round(r["rss_start_mb"] or 0.0, 1))
        return f"{name:<{w}} {rnd:>5} " + " ".join(f"{v:>{max(6, len(c))}}" for c, v in zip(cols, vals, strict=True))

    for r in rows:
        print(line(r["variant"], str(r["round"]), r))
    for name, t in totals.items():
        print(line(name, "all", t))
    result: dict[str, Any] = {"minutes": args.minutes, "warmup_s": args.warmup}
    result["variants"] = {k: shlex.join(v) for k, v in variants.items()}
    result.update(rounds=rows, totals=totals)
    result["machine"] = {"cores": os.cpu_count(), "load_avg": os.getloadavg()}
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
