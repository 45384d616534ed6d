"""``foleyvae train --data DATASET --preset foley-small --out RUNS/name [--set k=v ...]``.

Works the same under ``torchrun --standalone --nproc_per_node=N -m foleyvae.cli.main train ...`` (DDP-style
gradient averaging, rank 0 writes the run folder).
"""

from __future__ import annotations

import argparse

from foleyvae.cli.common import add_force


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="prepared dataset folder (foleyvae prepare)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs, latent analysis)")
    p.add_argument("--preset", default="foley-small", help="configuration preset (foleyvae presets)")
    p.add_argument("--config", help="YAML config file (instead of --preset)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. train.batch_size=4")
    p.add_argument("--phase1-steps", type=int, help="steps of phase 1 (then adversarial phase 2)")
    p.add_argument("--max-steps", type=int, help="total steps")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--time-budget", type=float, metavar="MINUTES", help="stop with a checkpoint after this long")
    p.add_argument("--stop-at", type=int, metavar="STEP", help="checkpoint and exit at STEP (resume later)")
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="fine-tune: start from this run folder, checkpoint, export or bundled model (same preset)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from foleyvae.config import apply_overrides, load_config, preset
    from foleyvae.training.loop import TrainOptions, train

    cfg = load_config(args.config) if args.config else preset(args.preset)
    overrides = list(args.set)
    if args.phase1_steps is not None:
        overrides.append(f"train.phase1_steps={args.phase1_steps}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    cfg = apply_overrides(cfg, overrides)
    opts = TrainOptions(
        data=Path(args.data),
        out=Path(args.out),
        resume=args.resume,
        force=args.force,
        device=args.device,
        progress=not args.no_progress,
        threads=args.threads,
        time_budget_s=args.time_budget * 60 if args.time_budget else None,
        stop_at_step=args.stop_at,
        init_from=args.init_from,
    )
    res = train(cfg, opts)
    status = (
        "time budget spent" if res.budget_spent else "stopped (resume with --resume)" if res.stopped_early else "done"
    )
    print(f"{status} at step {res.step} -> {args.out} ({res.nan_steps} NaN steps skipped)")
    return 0
