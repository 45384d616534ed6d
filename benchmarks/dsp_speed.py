"""DSP speed: PQMF analysis + synthesis (and MCLT/IMCLT when available), offline and streaming, one CPU thread.

Offline: 10 s of 44.1 kHz noise through analysis then synthesis; throughput in audio-seconds per second (median of
repeats). Streaming: blocks of 64, 256 and 2048 samples through the same chain in streaming mode; median and p99 ms
per block and the real-time factor (block duration / median). Eager and TorchScript (the nn~ export path) rows.

Run:  .venv/bin/python benchmarks/dsp_speed.py        (writes benchmarks/results/dsp_speed.json)
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _results import write_results

from foleyvae.audio.pqmf import PQMF
from foleyvae.nn.streaming import set_streaming

SR = 44100
BLOCKS = (64, 256, 2048)
RESULT = Path(__file__).parent / "results" / "dsp_speed.json"


def _time_offline(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _time_blocks(step: Callable[[torch.Tensor], Any], x: torch.Tensor, block: int, n_blocks: int) -> list[float]:
    """Per-block wall times (ms) of ``step`` over consecutive blocks of ``x`` (cycled), after a warm-up."""
    per = x.shape[-1] // block
    for i in range(20):
        step(x[..., (i % per) * block : (i % per + 1) * block])
    out = []
    for i in range(n_blocks):
        b = x[..., (i % per) * block : (i % per + 1) * block]
        t0 = time.perf_counter_ns()
        step(b)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def _row(name: str, config: str, mode: str, block: int | None, ms: list[float] | None, rtf: float) -> dict[str, Any]:
    row: dict[str, Any] = {"transform": name, "config": config, "mode": mode, "block": block, "realtime_x": rtf}
    if ms is not None:
        row["median_ms"] = float(np.median(ms))
        row["p99_ms"] = float(np.percentile(ms, 99))
    return row


def bench_pqmf(n_bands: int, attenuation: float, quick: bool) -> list[dict[str, Any]]:
    rows = []
    config = f"{n_bands} bands / {attenuation:.0f} dB (N={PQMF(n_bands, attenuation).filter_length})"
    x = torch.randn(1, 1, (10 * SR) // n_bands * n_bands) * 0.3
    for flavour in ("eager", "script"):
        pqmf = PQMF(n_bands, attenuation)
        mod: Any = torch.jit.script(pqmf) if flavour == "script" else pqmf
        secs = _time_offline(lambda m=mod: m.synthesis(m.analysis(x)), 2 if quick else 5)
        rows.append(_row("PQMF ana+syn", config, f"offline {flavour}", None, None, x.shape[-1] / SR / secs))
        for block in BLOCKS:
            stream = PQMF(n_bands, attenuation)
            set_streaming(stream, True)
            smod: Any = torch.jit.script(stream) if flavour == "script" else stream
            n_blocks = 200 if quick else max(500, int(20 * SR / block))
            ms = _time_blocks(lambda b, m=smod: m.synthesis(m.analysis(b)), x, block, n_blocks)
            rows.append(_row("PQMF ana+syn", config, f"stream {flavour}", block, ms, block / SR * 1e3 / np.median(ms)))
    return rows


def bench_mclt(quick: bool) -> list[dict[str, Any]]:
    try:
        from foleyvae.audio import mclt as m
    except ImportError:
        return []
    rows = []
    frame_length = 1024
    hop = frame_length // 2
    x = torch.randn(1, 10 * SR) * 0.3
    secs = _time_offline(lambda: m.mclt(x, frame_length), 2 if quick else 5)
    rows.append(_row("MCLT", f"frame {frame_length}", "offline eager", None, None, x.shape[-1] / SR / secs))
    spec = m.mclt(x, frame_length)
    secs = _time_offline(lambda: m.imclt(spec, frame_length, x.shape[-1]), 2 if quick else 5)
    rows.append(_row("IMCLT", f"frame {frame_length}", "offline eager", None, None, x.shape[-1] / SR / secs))
    # Streaming inverse: whole hops only, so the blocks are multiples of the hop (64/256 are below it).
    for block in (hop, 2048):
        frames = block // hop
        inv = m.StreamingIMCLT(frame_length)
        set_streaming(inv, True)
        n_calls = spec.shape[-1] // frames
        chunks = [spec[..., i * frames : (i + 1) * frames] for i in range(n_calls)]
        n_blocks = 200 if quick else max(500, int(20 * SR / block))
        ms = []
        for i in range(n_blocks + 20):
            t0 = time.perf_counter_ns()
            inv(chunks[i % n_calls])
            if i >= 20:
                ms.append((time.perf_counter_ns() - t0) / 1e6)
        rows.append(
            _row("StreamingIMCLT", f"frame {frame_length}", "stream eager", block, ms, block / SR * 1e3 / np.median(ms))
        )
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'transform':<15} {'config':<28} {'mode':<16} {'block':>6} {'median ms':>10} {'p99 ms':>8} {'x realtime':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        block = "-" if r["block"] is None else str(r["block"])
        med = f"{r['median_ms']:.4f}" if "median_ms" in r else "-"
        p99 = f"{r['p99_ms']:.4f}" if "p99_ms" in r else "-"
        print(
            f"{r['transform']:<15} {r['config']:<28} {r['mode']:<16} {block:>6} {med:>10} {p99:>8} "
            f"{r['realtime_x']:>11.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (smoke test); results not written")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows: list[dict[str, Any]] = []
    with torch.inference_mode():
        for n_bands, attenuation in ((16, 100.0), (8, 80.0)):
            rows += bench_pqmf(n_bands, attenuation, args.quick)
        rows += bench_mclt(args.quick)
    _print(rows)
    if not args.quick:
        result = {
            "benchmark": "dsp_speed",
            "sample_rate": SR,
            "threads": 1,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "notes": "offline: 10 s of audio; realtime_x = audio seconds per wall second; stream: per-block times",
            "rows": rows,
        }
        write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
