"""Two model files side by side in one process: CPU time per block of the model alone (encode + decode) and of the
real-time engine around it (controls active), interleaved over many short rounds, one thread.

Thread CPU time (``time.thread_time``), not wall time: on a shared VM the wall clock also counts other tenants.
Use it for two files of the same model (e.g. a bundled model before and after ``scripts/recompile_assets.py``):

    git show 98dcce4:src/foleyvae/assets/foley/model.ts > /tmp/foley-before.ts
    .venv/bin/python benchmarks/model_ab.py --a /tmp/foley-before.ts --b foley --name recompile_speed

Writes ``benchmarks/results/<name>.json`` (median and p90 ms per block for each side, ratios B / A).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
import torch
from _results import RESULTS, write_results

from foleyvae.export.loader import load_model
from foleyvae.inference.engine import StreamingEngine
from foleyvae.playable.protocol import StreamModel


def round_ms(model: StreamModel, engine: StreamingEngine, x: np.ndarray, block: int, start: int, n: int
             ) -> tuple[float, float]:  # fmt: skip
    """Mean thread-CPU ms per block over ``n`` blocks: the engine's ``process``, then the model's encode + decode."""
    t = time.thread_time()
    for i in range(start, start + n):
        engine.process(x[:, i * block : (i + 1) * block])
    eng = (time.thread_time() - t) / n * 1e3
    xt = torch.from_numpy(x[:, :block])[None]
    t = time.thread_time()
    for _ in range(n):
        model.decode(model.encode(xt))
    return eng, (time.thread_time() - t) / n * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="model A (a file or a bundled name)")
    ap.add_argument("--b", required=True, help="model B")
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--blocks-per-round", type=int, default=40)
    ap.add_argument("--name", default="model_ab", help="results/<name>.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    sides: dict[str, tuple[StreamModel, StreamingEngine]] = {}
    for label, src in (("a", args.a), ("b", args.b)):
        model = load_model(src)
        engine = StreamingEngine(model, args.block)
        engine.controls.set_bias(0, 0.5)  # the control path is exercised, as in engine_speed.py
        engine.controls.set_temperature(0.05)
        sides[label] = (model, engine)
    n = args.blocks_per_round
    x = (0.1 * np.random.default_rng(0).standard_normal((1, args.block * (n + 60)))).astype(np.float32)
    times: dict[str, dict[str, list[float]]] = {s: {"engine": [], "model": []} for s in sides}
    with torch.no_grad():
        for model, engine in sides.values():  # warm-up: the profiling executor specialises on the first calls
            round_ms(model, engine, x, args.block, 0, 30)
        for _ in range(args.rounds):
            for s, (model, engine) in sides.items():
                e, m = round_ms(model, engine, x, args.block, 30, n)
                times[s]["engine"].append(e)
                times[s]["model"].append(m)
    rows: list[dict[str, Any]] = []
    for what in ("model", "engine"):
        a, b = statistics.median(times["a"][what]), statistics.median(times["b"][what])
        rows.append(
            dict(
                what=what,
                a_median_ms=a,
                b_median_ms=b,
                ratio_b_over_a=b / a,
                a_p90_ms=float(np.percentile(times["a"][what], 90)),
                b_p90_ms=float(np.percentile(times["b"][what], 90)),
            )
        )
        print(f"{what:7s} per {args.block}-sample block: A {a:.3f} ms, B {b:.3f} ms, B/A {b / a:.2f}")
    write_results(
        RESULTS / f"{args.name}.json",
        dict(
            benchmark="model_ab",
            a=args.a,
            b=args.b,
            block=args.block,
            rounds=args.rounds,
            blocks_per_round=n,
            clock="thread CPU time",
            threads=1,
            rows=rows,
            times=times,
        ),
    )


if __name__ == "__main__":
    main()
