"""Training speed on this CPU: steps/s and audio-seconds/s, phase 1 and phase 2 with each discriminator, batch 8
of ~1 s crops, plus the discriminator's own share of a phase-2 step (one forward + backward on a real and a fake
batch), so the profile says where the time goes.

Usage: python benchmarks/train_speed.py [--presets tiny foley-small] [--steps 5] [--threads 1]
    [--discs waveform spectral]
Prints a table and writes benchmarks/results/train_speed.json. Random audio stands in for data (speed only).
Times are this process's CPU seconds (``time.process_time``, one torch thread), not wall-clock: on a shared 2-core
machine the wall clock measured other agents' work (foley-small phase 1 took 0.95 s/step alone, 6.9 s loaded).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch
from _results import write_results

from foleyvae.config import apply_overrides, preset
from foleyvae.losses.adversarial import discriminator_loss
from foleyvae.models.builders import build_model, count_parameters
from foleyvae.models.discriminators import build_discriminator
from foleyvae.training.distributed import DistInfo
from foleyvae.training.loop import _generator_step


def _step_seconds(model: Any, disc: Any, opt_g: Any, opt_d: Any, x: torch.Tensor, phase: int, cfg: Any, steps: int):
    """Mean seconds of one training step (the first, which allocates, not counted)."""
    times = []
    for i in range(steps + 1):
        t0 = time.process_time()
        total, _ = _generator_step(model, disc, opt_d, x, phase, 1e-3, cfg, DistInfo())
        opt_g.zero_grad(set_to_none=True)
        total.backward()
        opt_g.step()
        if i > 0:
            times.append(time.process_time() - t0)
    return sum(times) / len(times)


def _disc_pass_seconds(disc: Any, x: torch.Tensor, steps: int) -> float:
    """Seconds of one discriminator forward + backward on a real and a fake batch (its share of a step)."""
    times = []
    for i in range(steps + 1):
        t0 = time.process_time()
        discriminator_loss(disc(x), disc(0.5 * x)).backward()
        if i > 0:
            times.append(time.process_time() - t0)
    disc.zero_grad(set_to_none=True)
    return sum(times) / len(times)


def bench(name: str, steps: int, batch: int, discs: list[str]) -> list[dict[str, Any]]:
    cfg = preset(name)
    hop = cfg.model.hop_length
    n = int(math.ceil(cfg.audio.sample_rate / hop) * hop)  # ~1 s, a multiple of the hop
    cfg = apply_overrides(cfg, [f"train.n_samples={n}", f"train.batch_size={batch}"])
    torch.manual_seed(0)
    model = build_model(cfg).train()
    opt_g = torch.optim.Adam(model.parameters(), 1e-4)
    x = torch.randn(batch, cfg.audio.channels, n) * 0.1
    base = {"preset": name, "batch": batch, "crop_samples": n, "params": count_parameters(model)}
    runs: list[tuple[int, str | None]] = [(1, None)] + [(2, spec) for spec in discs]
    rows = []
    for phase, spec in runs:
        disc, opt_d, disc_s, disc_params, kind, cap = None, None, None, None, None, None
        if spec is not None:  # "kind" or "kind:capacity"
            kind, _, c = spec.partition(":")
            cap = int(c) if c else cfg.train.discriminator_capacity
            disc = build_discriminator(kind, cfg.audio.channels, cap, cfg.train.periods)
            opt_d = torch.optim.Adam(disc.parameters(), 1e-4)
            disc_s = round(_disc_pass_seconds(disc, x, steps), 3)
            disc_params = sum(p.numel() for p in disc.parameters())
        sec = _step_seconds(model, disc, opt_g, opt_d, x, phase, cfg, steps)
        row = {**base, "phase": phase, "discriminator": kind, "capacity": cap, "discriminator_params": disc_params}
        row.update(s_per_step=round(sec, 3), steps_per_s=round(1 / sec, 3), disc_pass_s=disc_s)
        row["audio_s_per_s"] = round(batch * n / cfg.audio.sample_rate / sec, 2)
        rows.append(row)
        print(
            f"{name:14s} phase {phase} {spec or '-':12s} {1 / sec:7.3f} steps/s  {row['audio_s_per_s']:8.2f} audio-s/s"
            f"  ({sec:.2f} s/step; discriminator pass {disc_s if disc_s is not None else '-'} s)",
            flush=True,
        )
    p1 = rows[0]["s_per_step"]
    for row in rows[1:]:
        row["phase2_over_phase1"] = round(row["s_per_step"] / p1, 2)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--presets", nargs="+", default=["tiny", "foley-small"])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    # waveform:8 is foley-small's phase 2 until issue 23, spectral:16 its phase 2 since
    ap.add_argument("--discs", nargs="+", default=["waveform:8", "spectral:16"], help="KIND[:CAPACITY] to time")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "train_speed.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    rows = []
    for name in args.presets:
        rows += bench(name, args.steps, args.batch, args.discs)
    result = {
        "benchmark": "train_speed",
        "threads": args.threads,
        "clock": "process CPU seconds (time.process_time)",
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
