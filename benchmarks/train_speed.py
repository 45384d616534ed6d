"""Training speed on this CPU: steps/s and audio-seconds/s, phase 1 and phase 2, batch 8 of ~1 s crops.

Usage: python benchmarks/train_speed.py [--presets tiny foley-small rave-v2-like] [--steps 5] [--threads 1]
Prints a table and writes benchmarks/results/train_speed.json. Random audio stands in for data (speed only).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import torch
from _results import write_results

from foleyvae.config import apply_overrides, preset
from foleyvae.models.builders import build_model, count_parameters
from foleyvae.models.discriminators import CombinedDiscriminator
from foleyvae.training.distributed import DistInfo
from foleyvae.training.loop import _generator_step


def bench(name: str, steps: int, batch: int) -> list[dict[str, float | str | int]]:
    cfg = preset(name)
    hop = cfg.model.hop_length
    n = int(math.ceil(cfg.audio.sample_rate / hop) * hop)  # ~1 s, a multiple of the hop
    cfg = apply_overrides(cfg, [f"train.n_samples={n}", f"train.batch_size={batch}"])
    torch.manual_seed(0)
    model = build_model(cfg).train()
    disc = CombinedDiscriminator(cfg.audio.channels, cfg.train.discriminator_capacity, cfg.train.periods)
    opt_g = torch.optim.Adam(model.parameters(), 1e-4)
    opt_d = torch.optim.Adam(disc.parameters(), 1e-4)
    x = torch.randn(batch, cfg.audio.channels, n) * 0.1
    rows = []
    for phase in (1, 2):
        times = []
        for i in range(steps + 1):
            t0 = time.perf_counter()
            total, _ = _generator_step(model, disc if phase == 2 else None, opt_d, x, phase, 1e-3, cfg, DistInfo())
            opt_g.zero_grad(set_to_none=True)
            total.backward()
            opt_g.step()
            if i > 0:  # first step warms up allocators
                times.append(time.perf_counter() - t0)
        sec = sum(times) / len(times)
        rows.append(
            {
                "preset": name,
                "phase": phase,
                "batch": batch,
                "crop_samples": n,
                "s_per_step": round(sec, 3),
                "steps_per_s": round(1 / sec, 3),
                "audio_s_per_s": round(batch * n / cfg.audio.sample_rate / sec, 2),
                "params": count_parameters(model),
            }
        )
        print(
            f"{name:14s} phase {phase}  {1 / sec:7.3f} steps/s  {rows[-1]['audio_s_per_s']:8.2f} audio-s/s  "
            f"({sec:.2f} s/step, {rows[-1]['params'] / 1e6:.2f} M params)",
            flush=True,
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--presets", nargs="+", default=["tiny", "foley-small", "rave-v2-like"])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "train_speed.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    rows = []
    for name in args.presets:
        rows += bench(name, args.steps, args.batch)
    result = {
        "benchmark": "train_speed",
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
