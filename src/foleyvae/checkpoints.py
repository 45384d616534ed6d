"""Reading checkpoints and run folders: below training (which writes them) and export (which reads them).

File layout: ``torch.save({"format": "foleyvae-checkpoint", "format_version": 1, "sha256": ..., "payload":
uint8 tensor})`` where the payload is the serialized state (config, step, phase, model, optimizers, RNG, data
position, package version). The checksum is verified on load, so a truncated or corrupted file is refused with a
clear message instead of loading garbage. A run folder holds ``config.yaml``, ``checkpoints/last.ckpt`` (and
``phase1.ckpt``), ``latent.json`` and ``metrics.jsonl``. Writing is
:func:`foleyvae.training.checkpoint.save_checkpoint`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from foleyvae.analysis.latent import LatentSpace
from foleyvae.config import Config, from_dict, load_config
from foleyvae.errors import FoleyError, first_line
from foleyvae.models.builders import build_model

__all__ = ["FORMAT", "FORMAT_VERSION", "CheckpointError", "RunArtifacts", "load_checkpoint", "load_run"]

FORMAT = "foleyvae-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(FoleyError):
    """A checkpoint cannot be read or does not fit."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and verify a checkpoint; CheckpointError names the file and what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        outer = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{p}: not a readable checkpoint (truncated or corrupted: {first_line(e)})") from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a Foley-VAE checkpoint")
    version, payload = outer.get("format_version"), outer.get("payload")
    # a flipped byte can survive torch.load and change a key or a type: check each field before using it
    if not isinstance(version, int) or not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8:
        raise CheckpointError(f"{p}: checkpoint header is damaged (the file is corrupted)")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{p}: checkpoint format {version} is newer than this foleyvae")
    raw = payload.numpy().tobytes()
    if hashlib.sha256(raw).hexdigest() != outer.get("sha256"):
        raise CheckpointError(f"{p}: checksum mismatch (the file is corrupted)")
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{p}: cannot decode checkpoint payload ({first_line(e)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p}: checkpoint payload is not a training state")
    return state


@dataclass
class RunArtifacts:
    """What a finished (or running) training run offers: the eval-mode model and its analysis."""

    model: torch.nn.Module
    config: Config
    latent: LatentSpace | None
    step: int
    run_dir: Path
    credits: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def load_run(run_dir: str | Path, checkpoint: str = "last.ckpt") -> RunArtifacts:
    """Load a run folder: config, weights (EMA if present), latent analysis, credits."""
    run = Path(run_dir)
    if not run.is_dir():
        raise FoleyError(f"{run}: run folder not found")
    ckpt_path = run / "checkpoints" / checkpoint
    state = load_checkpoint(ckpt_path)
    cfg = from_dict(state["config"]) if "config" in state else load_config(run / "config.yaml")
    model = build_model(cfg)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{ckpt_path}: weights do not fit the config ({first_line(e)})") from None
    model.eval()
    latent = LatentSpace.load(run / "latent.json") if (run / "latent.json").is_file() else None
    return RunArtifacts(
        model=model,
        config=cfg,
        latent=latent,
        step=int(state.get("step", 0)),
        run_dir=run,
        credits=list(state.get("credits", [])),
        labels=list(state.get("labels", [])),
    )
