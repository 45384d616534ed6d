"""Streaming speed of the whole model (issue #5): encode + decode per block, one CPU thread, random weights.

For the ``foley-small`` preset and its 48 kHz variant: blocks of 64 (when >= hop_length), 256, 512, 1024, 2048 and
4096 samples through ``decode(encode(block))`` in streaming mode; median and p99 ms per block, the real-time factor
(block duration / median), and the latency ``block + delay_samples`` in ms at the preset's rate. Variants:

* ``eager``: the in-memory model through ``EagerStreamModel`` (what a run folder plays with);
* ``script``: the streaming TorchScript export (``export_model``), its ``forward`` (= decode(encode));
* ``script-noopt``: the same file with the profiling executor off (``torch.jit.optimized_execution(False)``);
* ``script-frozen``: the file after ``torch.jit.freeze`` + ``optimize_for_inference`` (when it freezes).

Wall-clock and thread-CPU times are both recorded (``cpu_*``: time the thread actually ran, robust to other
processes on the machine). Targets (issue #5): latency <= 12 ms at 256-sample blocks and p99 <= 50 % of the block
duration (2.9 ms at 44.1 kHz).
Also reported: export time, file size, load time (torch.jit.load and foleyvae's load_model).

Run:  .venv/bin/python benchmarks/stream_speed.py [--quick]   (writes benchmarks/results/stream_speed.json)
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _results import write_results

from foleyvae.config import preset
from foleyvae.export.loader import load_model
from foleyvae.export.nn_tilde import quiet_jit, synthetic_footstep
from foleyvae.export.torchscript import export_model
from foleyvae.models.builders import build_model
from foleyvae.playable.adapters import EagerStreamModel

BLOCKS = (64, 256, 512, 1024, 2048, 4096)
PRESETS = ("foley-small", "foley-small-48k", "foley-lowlat-48k")
RESULT = Path(__file__).parent / "results" / "stream_speed.json"
TARGET_LATENCY_MS = 12.0
TARGET_P99_FRACTION = 0.5


def _signal(n: int, sr: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.from_numpy(synthetic_footstep(n, sr)) + 0.01 * torch.randn(n, generator=g)
    return x.reshape(1, 1, n)


def _time_blocks(
    step: Callable[[torch.Tensor], Any], x: torch.Tensor, block: int, n_blocks: int
) -> tuple[list[float], list[float]]:
    """Per-block wall and thread-CPU times (ms) over consecutive blocks of ``x`` (cycled), after 30 warm-up blocks.

    The CPU time excludes time the thread spent preempted, so its p99 shows the model's own jitter even when other
    processes share the cores (wall p99 then mostly measures the scheduler).
    """
    per = x.shape[-1] // block
    for i in range(30):
        step(x[..., (i % per) * block : (i % per + 1) * block])
    wall, cpu = [], []
    for i in range(n_blocks):
        b = x[..., (i % per) * block : (i % per + 1) * block]
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        step(b)
        c1, t1 = time.thread_time_ns(), time.perf_counter_ns()
        wall.append((t1 - t0) / 1e6)
        cpu.append((c1 - c0) / 1e6)
    return wall, cpu


def _frozen(path: Path) -> Any | None:
    """The export frozen and optimized for inference, or None when freezing fails (reported, not fatal)."""
    try:
        with quiet_jit():
            m = torch.jit.load(str(path))
            f = torch.jit.freeze(m.eval(), preserved_attrs=["encode", "decode"])
            return torch.jit.optimize_for_inference(f)
    except Exception as e:  # freezing is an optional speed trick
        print(f"  (script-frozen unavailable: {str(e).splitlines()[0][:100]})")
        return None


def bench_preset(name: str, quick: bool, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cfg = preset(name)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    sr, hop, delay = cfg.audio.sample_rate, int(model.hop_length), int(model.delay_samples)
    path = workdir / f"{name}.ts"
    t0 = time.perf_counter()
    report = export_model(model, cfg, None, path, streaming=True, check_block_sizes=(2048,))
    export_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with quiet_jit():
        torch.jit.load(str(path))
    jit_load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_model(path)
    load_model_s = time.perf_counter() - t0
    info = {
        "preset": name,
        "sample_rate": sr,
        "hop_length": hop,
        "delay_samples": delay,
        "delay_ms": delay / sr * 1e3,
        "parameters": sum(p.numel() for p in model.parameters()),
        "export_s": export_s,
        "file_bytes": report["size_bytes"],
        "jit_load_s": jit_load_s,
        "load_model_s": load_model_s,
        "self_check_max_abs_error": report["max_abs_error"],
    }
    x = _signal(sr * 4, sr)
    rows: list[dict[str, Any]] = []
    frozen = _frozen(path)
    for block in BLOCKS:
        if block < hop or block % hop:
            continue
        n_blocks = 60 if quick else max(150, int(6 * sr / block))
        variants: list[tuple[str, Callable[[], Callable[[torch.Tensor], Any]], bool]] = []
        eager = EagerStreamModel(model, None, name=name)
        variants.append(("eager", lambda e=eager: e.forward, True))
        with quiet_jit():
            ts = torch.jit.load(str(path))
            ts2 = torch.jit.load(str(path))
        variants.append(("script", lambda t=ts: t.forward, True))
        variants.append(("script-noopt", lambda t=ts2: t.forward, False))
        if frozen is not None:
            with quiet_jit():
                fz = _frozen(path)
            if fz is not None:
                variants.append(("script-frozen", lambda f=fz: f.forward, True))
        for label, make, optimized in variants:
            with torch.inference_mode(), torch.jit.optimized_execution(optimized):
                ms, cpu = _time_blocks(make(), x, block, n_blocks)
            block_ms = block / sr * 1e3
            med, p99 = float(np.median(ms)), float(np.percentile(ms, 99))
            rows.append(
                {
                    "preset": name,
                    "variant": label,
                    "block": block,
                    "block_ms": block_ms,
                    "median_ms": med,
                    "p99_ms": p99,
                    "max_ms": float(np.max(ms)),
                    "cpu_median_ms": float(np.median(cpu)),
                    "cpu_p99_ms": float(np.percentile(cpu, 99)),
                    "realtime_x": block_ms / med,
                    "latency_ms": (block + delay) / sr * 1e3,
                    "p99_fraction": p99 / block_ms,
                    "meets_p99_target": p99 <= TARGET_P99_FRACTION * block_ms,
                    "meets_latency_target": (block + delay) / sr * 1e3 <= TARGET_LATENCY_MS,
                    "n_blocks": n_blocks,
                }
            )
            r = rows[-1]
            print(
                f"{name:<16} {label:<14} {block:>5} {med:>9.3f} {p99:>8.3f} {r['realtime_x']:>8.2f}x "
                f"{r['latency_ms']:>8.2f} {100 * r['p99_fraction']:>6.1f}% {r['cpu_median_ms']:>8.3f} "
                f"{r['cpu_p99_ms']:>8.3f}",
                flush=True,
            )
        eager.close()
    return rows, info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few blocks (smoke test); results not written")
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    head = (
        f"{'preset':<16} {'variant':<14} {'block':>5} {'median ms':>9} {'p99 ms':>8} {'x rt':>9} "
        f"{'lat. ms':>8} {'p99/blk':>7} {'cpu med':>8} {'cpu p99':>8}"
    )
    print(head)
    print("-" * len(head))
    rows: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            r, info = bench_preset(name, args.quick, Path(tmp))
            rows += r
            infos.append(info)
    print()
    for i in infos:
        print(
            f"{i['preset']}: {i['parameters'] / 1e6:.2f} M params, hop {i['hop_length']}, delay {i['delay_samples']} "
            f"samples ({i['delay_ms']:.2f} ms); file {i['file_bytes'] / 1e6:.2f} MB, export {i['export_s']:.1f} s, "
            f"torch.jit.load {1e3 * i['jit_load_s']:.0f} ms, load_model {1e3 * i['load_model_s']:.0f} ms"
        )
    if not args.quick:
        result = {
            "benchmark": "stream_speed",
            "threads": 1,
            "flush_denormal": True,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            # p99 is only meaningful on an idle machine: the 1-minute load average before/after the run
            "load_average_1min": [load_before, os.getloadavg()[0]],
            "weights": "random (build_model(preset), seed 0)",
            "targets": {"latency_ms_at_256": TARGET_LATENCY_MS, "p99_fraction_of_block": TARGET_P99_FRACTION},
            "notes": "per block: forward = decode(encode(block)) in streaming mode; latency = block + delay_samples "
            "(no device buffers); 30 warm-up blocks",
            "models": infos,
            "rows": rows,
        }
        write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
