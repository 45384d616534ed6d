"""``foleyvae export RUN -o model.ts``: write an nn~-compatible TorchScript file from a training run."""

from __future__ import annotations

import argparse

from foleyvae.cli.common import add_force, check_output


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="training run folder (config.yaml, checkpoints/last.ckpt, latent.json)")
    p.add_argument("-o", "--output", required=True, help="output .ts file (a .sha256 sidecar is written beside it)")
    p.add_argument(
        "--streaming",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="cache state between calls, for nn~ and real time (default); --no-streaming: independent calls",
    )
    p.add_argument("--fidelity", type=float, default=0.95, help="keep the PCA dims reaching this (default 0.95)")
    p.add_argument("--checkpoint", default="last.ckpt", help="checkpoint file in RUN/checkpoints (default last.ckpt)")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    from foleyvae.checkpoints import load_run
    from foleyvae.export.torchscript import export_model

    out = check_output(args.output, args.force)
    art = load_run(args.run, checkpoint=args.checkpoint)
    report = export_model(
        art.model,  # type: ignore[arg-type]
        art.config,
        art.latent,
        out,
        streaming=args.streaming,
        fidelity=args.fidelity,
        credits=art.credits,
        name=art.config.name,
    )
    err = report["max_abs_error"]
    mode = "streaming" if report["streaming"] else "non-streaming"
    if report.get("model_kind"):  # MCLT clip models keep no state: --streaming does not apply
        mode = f"{report['model_kind']}, one latent vector per {report['hop_length']}-sample clip"
    print(
        f"wrote {out} ({report['size_bytes'] / 1e6:.1f} MB, latent {report['latent_size']}/"
        f"{report['full_latent_size']} dims, {mode}, self-check max error {err:.1e}, {report['seconds']:.1f} s)"
    )
    return 0
