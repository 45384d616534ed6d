"""``foleyvae train --data DATASET --preset foley-small --out RUNS/name [--set k=v ...]``.

Works the same under ``torchrun --standalone --nproc_per_node=N -m foleyvae.cli.main train ...`` (DDP-style
gradient averaging, rank 0 writes the run folder).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from foleyvae.cli.common import add_force
from foleyvae.errors import FoleyError

if TYPE_CHECKING:
    from foleyvae.config import Config
    from foleyvae.training.init import InitWeights


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
    p.add_argument("--threads", type=int, help="torch CPU threads (default: what a short probe measures fastest)")
    p.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="train for this long: the first steps measure the speed and the schedule (phase 1, KL warm-up, "
        "phase 2, learning rate) is scaled to fit; stops with a checkpoint",
    )
    p.add_argument(
        "--fixed-schedule",
        action="store_true",
        help="with --time-budget: keep the configured steps (the budget only stops the run)",
    )
    p.add_argument("--stop-at", type=int, metavar="STEP", help="checkpoint and exit at STEP (resume later)")
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="fine-tune: start from this run folder, checkpoint, export or bundled model (same preset)",
    )
    p.add_argument(
        "--freeze-encoder",
        action="store_true",
        help="train the decoder only (fine-tuning: the latent space and its label centroids stay)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_force(p)


def resolve_init(source: str | Path) -> InitWeights:
    """``--init-from SOURCE`` -> the weights to start from: a run folder (its last checkpoint), a checkpoint file, an
    export (``.ts`` file, a model folder with ``model.ts``) or a bundled model's name. FoleyError if none is found."""
    # torch-heavy modules, imported when the command runs (building the parser stays light)
    from foleyvae.checkpoints import load_checkpoint
    from foleyvae.export.loader import assets_dir, load_file
    from foleyvae.training.init import InitWeights

    path = Path(source)
    if not path.exists() and (assets_dir() / str(source) / "model.ts").is_file():
        path = assets_dir() / str(source) / "model.ts"
    if path.is_dir() and (path / "model.ts").is_file() and not (path / "checkpoints").is_dir():
        path = path / "model.ts"
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    if not path.is_file():
        raise FoleyError(f"--init-from {source}: no run folder, checkpoint, export or bundled model of that name")
    with path.open("rb") as fh:
        head = fh.read(4)
    if path.suffix == ".ts" or (head == b"PK\x03\x04" and path.suffix != ".ckpt"):
        exported = load_file(path)  # checksum, TorchScript checks and the embedded metadata, as for playing it
        if exported.kind != "foleyvae":
            raise FoleyError(f"{path}: not a Foley-VAE export (RAVE files cannot seed a Foley-VAE run)")
        state = dict(exported.module.state_dict())
        return InitWeights(str(source), path, state, exported.metadata.get("config"), exported=True)
    ckpt = load_checkpoint(path)
    return InitWeights(str(source), path, ckpt["model"], ckpt.get("config"), False, int(ckpt.get("step", 0)))


def keep_source_materials(cfg: Config, init: InitWeights, explicit: frozenset[str]) -> Config:
    """A fine-tune of a material-conditioned model keeps its material channels (the weights include their FiLM), so
    ``--init-from foley`` works on any folder; a run that sets ``model.materials`` itself keeps its own."""
    source = tuple(str(m) for m in ((init.config or {}).get("model", {}).get("materials") or ()))
    if not source or cfg.model.materials or "model.materials" in explicit:
        return cfg
    print(f"fine-tuning keeps the {len(source)} material channels of {init.source}: {', '.join(source)}")
    return replace(cfg, model=replace(cfg.model, materials=source))


def run(args: argparse.Namespace) -> int:
    from foleyvae.config import apply_overrides, load_config, preset
    from foleyvae.training.loop import TrainOptions, train

    cfg = load_config(args.config) if args.config else preset(args.preset)
    overrides = list(args.set)
    if args.phase1_steps is not None:
        overrides.append(f"train.phase1_steps={args.phase1_steps}")
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    cfg = apply_overrides(cfg, overrides)
    if args.time_budget is not None and args.time_budget <= 0:
        raise FoleyError(f"--time-budget must be > 0 minutes, got {args.time_budget}")
    explicit = frozenset(o.split("=", 1)[0].strip() for o in overrides)
    init = resolve_init(args.init_from) if args.init_from else None
    if init is not None:
        cfg = keep_source_materials(cfg, init, explicit)
    opts = TrainOptions(
        data=Path(args.data),
        out=Path(args.out),
        resume=args.resume,
        force=args.force,
        device=args.device,
        progress=not args.no_progress,
        threads=args.threads,
        time_budget_s=args.time_budget * 60 if args.time_budget else None,
        fit_budget=not args.fixed_schedule,
        stop_at_step=args.stop_at,
        init_from=init,
        freeze_encoder=args.freeze_encoder,
        explicit=explicit,
    )
    res = train(cfg, opts)
    status = (
        "time budget spent" if res.budget_spent else "stopped (resume with --resume)" if res.stopped_early else "done"
    )
    print(f"{status} at step {res.step} -> {args.out} ({res.nan_steps} NaN steps skipped)")
    return 0
