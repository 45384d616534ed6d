"""MCLT VAE family vs the waveform VAE: same training loop, same data, same wall-clock budget, same held-out clips.

Models: presets mclt-2d, mclt-3d, mclt-gl, mclt-cvae and foley-small (the waveform VAE, phase 1 only: no
discriminator). Each is trained by the project's loop (``foleyvae.training.loop.train``) on the prepared dataset
(``--data``, default data/datasets/foley) for ``--seconds`` of wall clock on one thread, batch 8, clips of 32768
samples, into benchmarks/_work/<preset>/ (git-ignored). Overrides common to all models, so that the loop's overhead
and schedule are the same for every model inside the budget:

* ``train.phase1_steps = train.max_steps = 10**6``: the time budget stops training; the learning rate stays at
  ``train.lr`` (constant in phase 1) and no discriminator is built;
* ``train.val_every = train.checkpoint_every = 10**6``: no validation or checkpoint inside the budget (one
  checkpoint at the end, which ``load_run`` reads back);
* each preset keeps its own KL schedule (beta_max / warm-up), loss terms and architecture.

Evaluation (every model on the SAME examples): FoleyDataset(data, "valid", 32768) -- one deterministic crop per
held-out file -- reconstructed by the offline ``model(x)`` (posterior mean, aligned) in eval mode under no_grad:
multiscale STFT distance and mel distance (foleyvae.audio.distances, averaged per example) and SNR in dB (mean over
examples). For the MCLT models also the representation ceiling ("ceil_*": features -> synthesis without the network).
``ms_per_step`` is the budget divided by the steps done (the loop checks the budget before each step).

Run:  .venv/bin/python benchmarks/mclt_family.py [--seconds 120] [--quick]
      (writes benchmarks/results/mclt_family.json; the earlier synthetic-footstep results are kept in it under
      "synthetic_previous")
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch
from _results import write_results

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "mclt_family.json"
WORK = ROOT / "benchmarks" / "_work"
PRESETS = ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae", "foley-small")
CLIP = 32768
BIG = 10**6  # "never" for steps / validation / checkpoints: the time budget stops training


def overrides(batch: int) -> list[str]:
    """The ``section.key=value`` overrides applied to every preset."""
    return [
        f"train.batch_size={batch}",
        f"train.n_samples={CLIP}",
        f"train.phase1_steps={BIG}",
        f"train.max_steps={BIG}",
        f"train.val_every={BIG}",
        f"train.checkpoint_every={BIG}",
        "train.num_workers=0",
    ]


def snr_per_example(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SNR in dB of each example: ``x, y: [B, C, T]`` -> ``[B]``."""
    num = x.pow(2).sum(dim=(-2, -1)).clamp_min(1e-12)
    den = (x - y).pow(2).sum(dim=(-2, -1)).clamp_min(1e-12)
    return 10 * torch.log10(num / den)


def held_out(data: Path, n: int | None) -> torch.Tensor:
    """``[N, C, CLIP]`` held-out examples: the first ``n`` (all if None) of the valid split."""
    from foleyvae.data.dataset import FoleyDataset

    ds = FoleyDataset(data, "valid", CLIP)
    count = len(ds) if n is None else min(n, len(ds))
    return torch.stack([ds[i] for i in range(count)])


def n_params(model: torch.nn.Module) -> int:
    """Real parameters (a complex parameter counts twice)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


@torch.no_grad()
def evaluate(model: Any, held: torch.Tensor, sample_rate: int, batch: int) -> dict[str, float | None]:
    """Held-out metrics of ``model(x)`` (and the MCLT representation ceiling) on ``held: [N, C, T]``."""
    from foleyvae.audio.distances import MelDistance, MultiScaleSTFT

    model.eval()
    ms, mel = MultiScaleSTFT(), MelDistance(sample_rate)
    sums = {"multiscale": 0.0, "mel": 0.0, "ceil_multiscale": 0.0}
    snrs: list[torch.Tensor] = []
    ceil_snrs: list[torch.Tensor] = []
    has_ceil = hasattr(model, "features") and hasattr(model, "synthesize")
    for i in range(0, held.shape[0], batch):
        x = held[i : i + batch]
        b = x.shape[0]
        y = model(x)
        sums["multiscale"] += float(ms(x, y)) * b
        sums["mel"] += float(mel(x, y)) * b
        snrs.append(snr_per_example(x, y))
        if has_ceil:
            ceil = model.synthesize(model.features(x[:, 0])).unsqueeze(1)[..., : x.shape[-1]]
            sums["ceil_multiscale"] += float(ms(x, ceil)) * b
            ceil_snrs.append(snr_per_example(x, ceil))
    n = held.shape[0]
    return {
        "multiscale": round(sums["multiscale"] / n, 4),
        "mel": round(sums["mel"] / n, 4),
        "snr_db": round(float(torch.cat(snrs).mean()), 2),
        "ceil_multiscale": round(sums["ceil_multiscale"] / n, 4) if has_ceil else None,
        "ceil_snr_db": round(float(torch.cat(ceil_snrs).mean()), 2) if has_ceil else None,
    }


def run_preset(name: str, args: argparse.Namespace, held: torch.Tensor) -> dict[str, Any]:
    """Train preset ``name`` for ``args.seconds`` with the project loop, reload the run, evaluate it."""
    from foleyvae.checkpoints import load_run
    from foleyvae.config import apply_overrides, preset
    from foleyvae.training.loop import TrainOptions, train

    cfg = apply_overrides(preset(name), overrides(args.batch))
    out = WORK / name
    opts = TrainOptions(
        data=args.data,
        out=out,
        force=True,
        progress=False,
        threads=1,
        time_budget_s=args.seconds,
        log=lambda s: print(f"  [{name}] {s}", flush=True),
    )
    t0 = time.perf_counter()
    res = train(cfg, opts)
    wall = time.perf_counter() - t0
    run = load_run(out)
    model = run.model
    metrics = evaluate(model, held, cfg.audio.sample_rate, args.batch)
    return {
        "preset": name,
        "kind": cfg.model.kind,
        "params": n_params(model),
        "steps": res.step,
        "ms_per_step": round(1e3 * args.seconds / max(res.step, 1), 1),
        "train_wall_s": round(wall, 1),
        "nan_steps": res.nan_steps,
        **metrics,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="training budget per model (wall clock)")
    p.add_argument("--data", type=Path, default=ROOT / "data" / "datasets" / "foley", help="prepared dataset")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--examples", type=int, default=None, help="held-out examples (default: the whole valid split)")
    p.add_argument("--presets", nargs="*", default=list(PRESETS))
    p.add_argument("--quick", action="store_true", help="smoke test: 15 s per model, 8 held-out examples")
    p.add_argument("--out", type=Path, default=None, help=f"JSON (default {RESULT}; --quick: {WORK}/quick.json)")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.examples = 15.0, 8
    if args.out is None:  # a smoke test must not overwrite the real results
        args.out = WORK / "quick.json" if args.quick else RESULT
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    held = held_out(args.data, args.examples)
    print(f"data {args.data}: {held.shape[0]} held-out examples of {CLIP} samples; {args.seconds:.0f} s per model")
    cols = ("preset", "params", "steps", "ms_per_step", "multiscale", "mel", "snr_db", "ceil_multiscale")
    rows = []
    for name in args.presets:
        rows.append(run_preset(name, args, held))
    print(" ".join(f"{c:>15}" for c in cols))
    for row in rows:
        print(" ".join(f"{row[c]!s:>15}" for c in cols))
    previous: Any = None
    if args.out.is_file():
        old = json.loads(args.out.read_text())
        # keep the first (synthetic-footstep, own-loop) results once the file has been rewritten by this script
        previous = old.get("synthetic_previous") if "synthetic_previous" in old else old
    result: dict[str, Any] = {
        "benchmark": "mclt_family",
        "data": f"{args.data} (prepared dataset): train split for training, valid split "
        f"({held.shape[0]} examples, FoleyDataset valid, n_samples {CLIP}) for the metrics",
        "loop": "foleyvae.training.loop.train, phase 1 only, stopped by time_budget_s; "
        f"overrides {overrides(args.batch)}",
        "quick": bool(args.quick),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"platform": platform.platform(), "torch": torch.__version__, "threads": 1},
        "rows": rows,
    }
    if previous is not None:
        result["synthetic_previous"] = previous
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
