"""Engine speed and latency: the real-time engine (controls active, limiter on) per block size, one CPU thread.

Rows: foley-small with random weights as a TorchScript export (the file the studio and nn~ play; eager when the
exporter is missing) and eager, and a RAVE v2_small export when one exists at ``.cache/rave/*.ts`` or
``.cache/rave-export/*.ts`` (streaming variant preferred). For each block size (256..4096): median / p99 / max ms
per block, the real-time factor (block duration / mean), the latency the engine reports (FIFO + model delay,
ARCHITECTURE.md section 4) in samples and in ms at 44.1 and 48 kHz, the io latency (+ one input block), and the
jitter (p99 - median). RAVE rows carry ``ratio_vs_foley`` = RAVE mean / foley-small (TorchScript) mean.

Run:  .venv/bin/python benchmarks/engine_speed.py [--seconds 4]     (writes benchmarks/results/engine_speed.json)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _results import write_results

from foleyvae.inference.engine import StreamingEngine
from foleyvae.playable.protocol import StreamModel

BLOCKS = (256, 512, 1024, 2048, 4096)
RESULT = Path(__file__).parent / "results" / "engine_speed.json"
ROOT = Path(__file__).resolve().parents[1]


def _signal(n: int, sr: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n) / sr
    env = np.exp(-((t % 0.5) / 0.03))  # a step every 0.5 s
    return (0.5 * env * rng.standard_normal(n)).astype(np.float32)[None]


def bench(model: StreamModel, block: int, seconds: float, rounds: int = 3) -> dict[str, Any]:
    """Per-block times of the engine on ``seconds`` of footstep-like noise (after a warm-up), split in ``rounds``:
    the reported times are those of the round with the lowest mean (the least disturbed by other processes on a
    shared machine, as timeit's min)."""
    sr = int(model.sample_rate)
    eng = StreamingEngine(model, block)
    eng.controls.set_bias(0, 0.5)  # exercise the control path
    eng.controls.set_temperature(0.05)
    n_blocks = max(30, int(seconds / rounds * sr / block))
    x = _signal((n_blocks + 10) * block, sr)
    best: list[float] = []
    with torch.no_grad():
        for i in range(10):
            eng.process(x[:, i * block : (i + 1) * block])
        for _ in range(rounds):
            ms = []
            for i in range(10, n_blocks + 10):
                b = x[:, i * block : (i + 1) * block]
                t0 = time.perf_counter_ns()
                eng.process(b)
                ms.append((time.perf_counter_ns() - t0) / 1e6)
            if not best or np.mean(ms) < np.mean(best):
                best = ms
    ms = best
    lat = eng.latency()
    med, mean = float(np.median(ms)), float(np.mean(ms))
    return {
        "block": block,
        "median_ms": med,
        "mean_ms": mean,
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(np.max(ms)),
        "jitter_ms": float(np.percentile(ms, 99) - med),
        # throughput from the mean: with a FIFO (block not a multiple of the hop) some blocks run no model at all
        "realtime_x": 1000.0 * block / sr / mean,
        "fifo_samples": lat.fifo_samples,
        "model_delay_samples": lat.model_delay_samples,
        "latency_samples": lat.samples,
        "latency_ms_44k1": 1000.0 * lat.samples / 44100,
        "latency_ms_48k": 1000.0 * lat.samples / 48000,
        "io_latency_ms_44k1": 1000.0 * lat.io_samples / 44100,
        "nan_blocks": eng.stats.nan_blocks,
    }


def foley_models(tmp: Path) -> list[tuple[str, StreamModel]]:
    from foleyvae.config import preset
    from foleyvae.models.builders import build_model
    from foleyvae.playable.adapters import EagerStreamModel

    torch.manual_seed(0)
    cfg = preset("foley-small")
    net = build_model(cfg).eval()
    out: list[tuple[str, StreamModel]] = []
    try:
        from foleyvae.export.loader import load_model
        from foleyvae.export.torchscript import export_model

        path = tmp / "foley-small.ts"
        export_model(net, cfg, None, path, check=False, name="foley-small")
        out.append(("foley-small (TorchScript)", load_model(path)))
    except ImportError as e:  # pragma: no cover - exporter not there yet
        print(f"no TorchScript export ({e}); eager only", file=sys.stderr)
    out.append(("foley-small (eager)", EagerStreamModel(build_model(cfg).eval(), name="foley-small")))
    return out


def rave_model() -> tuple[str, StreamModel] | None:
    cands = sorted((ROOT / ".cache" / "rave").glob("*.ts")) + sorted((ROOT / ".cache" / "rave-export").glob("*.ts"))
    if not cands:
        return None
    streaming = [c for c in cands if "stream" in c.name]
    path = (streaming or cands)[0]
    from foleyvae.export.loader import load_model

    return f"RAVE v2_small ({path.name})", load_model(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="audio seconds per block size (default 4)")
    ap.add_argument("--out", default=str(RESULT))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        models = foley_models(Path(tmp))
        rave = rave_model()
        if rave is not None:
            models.append(rave)
        else:
            print("no RAVE export under .cache/rave/*.ts: RAVE rows skipped", file=sys.stderr)
        for block in BLOCKS:  # models interleaved per block size: slow drifts in machine load hit all of them
            for name, model in models:
                r = bench(model, block, args.seconds)
                r.update(model=name, sample_rate=int(model.sample_rate), hop_length=int(model.hop_length))
                # RAVE files do not state their delay: the loader reports 0 unless it measured one
                r["delay_known"] = bool((model.metadata or {}).get("delay_known", True))
                rows.append(r)
                print(f"  {name:44s} block {block:5d}: {r['mean_ms']:.2f} ms, {r['realtime_x']:.1f}x", flush=True)
    order = [name for name, _ in models]
    rows.sort(key=lambda r: (order.index(r["model"]), r["block"]))
    ref = {r["block"]: r["mean_ms"] for r in rows if r["model"] == "foley-small (TorchScript)"}
    for r in rows:
        if r["model"].startswith("RAVE") and r["block"] in ref:
            r["ratio_vs_foley"] = r["mean_ms"] / ref[r["block"]]
    hdr = (
        f"{'model':44s} {'block':>5s} {'mean ms':>7s} {'p99 ms':>7s} {'RT x':>6s} {'fifo':>5s} {'delay':>6s} "
        f"{'lat ms@44.1k':>12s} {'@48k':>6s} {'io ms@44.1k':>11s} {'ratio':>6s}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = f"{r['ratio_vs_foley']:.2f}" if "ratio_vs_foley" in r else ""
        print(
            f"{r['model']:44s} {r['block']:5d} {r['mean_ms']:7.2f} {r['p99_ms']:7.2f} {r['realtime_x']:6.1f} "
            f"{r['fifo_samples']:5d} {r['model_delay_samples']:6d} {r['latency_ms_44k1']:12.1f} "
            f"{r['latency_ms_48k']:6.1f} {r['io_latency_ms_44k1']:11.1f} {ratio:>6s}"
        )
    out = {
        "benchmark": "engine_speed",
        "threads": 1,
        "seconds_per_block_size": args.seconds,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_1min": os.getloadavg()[0],
        },
        "note": "random weights; engine with bias/temperature controls and the limiter on; one thread. Rows with "
        "delay_known false (RAVE files) under-report latency: the file does not state its delay (ARCHITECTURE.md "
        "section 3 measured 221 ms for v2_small non-causal).",
        "rows": rows,
    }
    write_results(args.out, out, indent=1)


if __name__ == "__main__":
    main()
