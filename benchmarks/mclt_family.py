"""MCLT VAE family: the four variants trained for the same wall-clock budget, compared on held-out clips.

Data: synthetic footsteps (tests/conftest.py ``footstep``: wood, metal, gravel, snow, water; random length 0.1-0.7 s,
offset and gain inside 32768-sample clips), 256 training clips and 32 held-out clips with other seeds. (No prepared
minetest dataset and no training loop existed when this was written, so the script has its own minimal loop: Adam
lr 1e-3, batch 8, loss = sum of compute_losses' recon terms + beta KL with beta warmed linearly 0 -> 1e-2 over the
first half of the budget.)

Held-out metrics on the posterior-mean reconstruction (``model(x)``): multiscale STFT distance and mel distance
(foleyvae.losses.spectral), SNR in dB; and the representation ceiling ("ceil_*": features -> synthesis without the
network, i.e. what a perfect decoder could reach: the edge-frame fade, Griffin-Lim for mclt-gl).

Run:  .venv/bin/python benchmarks/mclt_family.py [--seconds 180]   (writes benchmarks/results/mclt_family.json)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foleyvae.losses.spectral import MelDistance, MultiScaleSTFT
from foleyvae.models.spectral import SPECTRAL_KINDS, build_spectral

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "mclt_family.json"
SR = 44100
MATERIALS = ("wood", "metal", "gravel", "snow", "water")


def make_clips(n: int, clip: int, seed: int) -> torch.Tensor:
    """``[n, 1, clip]`` synthetic footsteps at random offsets and gains (seeded)."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import footstep

    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, clip), np.float32)
    for i in range(n):
        dur = float(rng.uniform(0.1, 0.7))
        step = footstep(MATERIALS[i % len(MATERIALS)], dur=dur, seed=int(rng.integers(1 << 30)))[:clip]
        start = int(rng.integers(0, clip - len(step) + 1))
        out[i, 0, start : start + len(step)] = step * rng.uniform(0.3, 1.0)
    return torch.from_numpy(out)


def snr_db(x: torch.Tensor, y: torch.Tensor) -> float:
    num = x.pow(2).sum(dim=(-2, -1))
    den = (x - y).pow(2).sum(dim=(-2, -1)).clamp_min(1e-12)
    return float((10 * torch.log10(num / den)).mean())


def run_kind(kind: str, args: argparse.Namespace, train: torch.Tensor, held: torch.Tensor) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_spectral(
        kind, SR, args.latent, args.capacity, args.frame_length, args.clip, args.gl_iters, args.gl_momentum
    )
    n_params = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    steps = 0
    step_times: list[float] = []
    last: list[float] = []
    t_start = time.perf_counter()
    while time.perf_counter() - t_start < args.seconds:
        t0 = time.perf_counter()
        idx = torch.randint(0, train.shape[0], (args.batch,), generator=gen)
        beta = args.beta * min(1.0, (t0 - t_start) / (0.5 * args.seconds))
        terms = model.compute_losses(train[idx])
        loss = sum(terms.recon.values(), torch.zeros(())) + beta * terms.kl
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        steps += 1
        step_times.append(time.perf_counter() - t0)
        last.append(loss.item())
    train_time = time.perf_counter() - t_start
    model.eval()
    ms, mel = MultiScaleSTFT(scales=(2048, 1024, 512, 256, 128)), MelDistance(SR)
    with torch.no_grad():
        y = torch.cat([model(held[i : i + 8]) for i in range(0, held.shape[0], 8)])
        clips = held[:, 0]
        ceil = model.synthesize(model.features(clips)).unsqueeze(1)
        row = {
            "kind": kind,
            "params": n_params,
            "steps": steps,
            "train_s": round(train_time, 1),
            "step_ms_median": round(1e3 * float(np.median(step_times)), 1),
            "final_train_loss": round(float(np.mean(last[-20:])), 4),
            "multiscale": round(float(ms(held, y)), 4),
            "mel": round(float(mel(held, y)), 4),
            "snr_db": round(snr_db(held, y), 2),
            "ceil_multiscale": round(float(ms(held, ceil)), 4),
            "ceil_snr_db": round(snr_db(held, ceil), 2),
        }
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=180.0, help="training budget per variant (wall clock)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--clip", type=int, default=32768)
    p.add_argument("--frame-length", type=int, default=1024)
    p.add_argument("--latent", type=int, default=64)
    p.add_argument("--capacity", type=int, default=16)
    p.add_argument("--gl-iters", type=int, default=32)
    p.add_argument("--gl-momentum", type=float, default=0.99)
    p.add_argument("--beta", type=float, default=1e-2)
    p.add_argument("--kinds", nargs="*", default=list(SPECTRAL_KINDS))
    p.add_argument("--out", type=Path, default=RESULT)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    train = make_clips(256, args.clip, seed=0)
    held = make_clips(32, args.clip, seed=10_000)
    rows = []
    cols = (
        "kind",
        "params",
        "steps",
        "step_ms_median",
        "multiscale",
        "mel",
        "snr_db",
        "ceil_multiscale",
        "ceil_snr_db",
    )
    print(" ".join(f"{c:>15}" for c in cols))
    for kind in args.kinds:
        row = run_kind(kind, args, train, held)
        rows.append(row)
        print(" ".join(f"{row[c]!s:>15}" for c in cols), flush=True)
    result = {
        "benchmark": "mclt_family",
        "data": "synthetic footsteps (tests/conftest.py), 256 train / 32 held-out clips",
        "loop": "own minimal Adam loop (no foleyvae training loop yet)",
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"platform": platform.platform(), "torch": torch.__version__, "threads": 1},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
