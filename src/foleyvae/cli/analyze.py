"""``foleyvae analyze RUN``: PCA of posterior means on the validation set, fidelity, per-label centroids."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run folder")
    p.add_argument(
        "--data", help="dataset folder (default: the one the run was trained on is not stored; required)", required=True
    )
    p.add_argument("--checkpoint", default="last.ckpt")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from foleyvae.checkpoints import load_run
    from foleyvae.data.dataset import FoleyDataset
    from foleyvae.training.loop import analyze_run_model

    art = load_run(args.run, args.checkpoint)
    ds = FoleyDataset(args.data, "valid", art.config.train.n_samples)
    space = analyze_run_model(art.model, ds, Path(args.run), torch.device("cpu"))
    print(f"latent {space.latent_size} dims, {space.n_frames} frames; dims for fidelity: {space.dims_at()}")
    fid = ", ".join(f"{f:.3f}" for f in space.fidelity[:8])
    print(f"fidelity curve (first 8): {fid}")
    print(f"centroids for {len(space.centroids)} labels: {', '.join(sorted(space.centroids))}")
    return 0
