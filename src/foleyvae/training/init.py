"""Start a training run from another model's weights (fine-tuning), ``foleyvae train --init-from SOURCE``.

SOURCE is a training run folder, a checkpoint file, or a Foley-VAE export (a ``model.ts`` file or the name of a
bundled model). An export holds the generator only (PQMF, encoder, decoder, with weight norm baked into plain
weights); those are loaded back into the training model (weight norm is re-derived through its parametrization's
``right_inverse``, so ``g * v / |v|`` equals the exported weight). The discriminator, optimiser state and step
counter start fresh: this is a new run that begins from learned weights, not a resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from foleyvae.config import Config
from foleyvae.errors import FoleyError

__all__ = ["init_from"]

_EXPORT_PARTS = ("pqmf", "encoder", "decoder")


def init_from(model: nn.Module, cfg: Config, source: str | Path) -> str:
    """Load ``source``'s generator weights into ``model`` (built from ``cfg``). Returns a one-line description.

    Raises FoleyError when the source is missing or its model settings differ from ``cfg.model``/``cfg.audio``.
    """
    from foleyvae.export.loader import assets_dir

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
        return _from_export(model, cfg, path)
    return _from_checkpoint(model, cfg, path)


def _check_same(cfg: Config, saved: dict[str, Any] | None, where: Path) -> None:
    if not saved:
        raise FoleyError(f"{where}: records no configuration, cannot check that it matches the preset")
    want = cfg.to_dict()
    for key in ("model", "audio"):
        if key in saved and saved[key] != want[key]:
            diff = sorted(k for k in want[key] if saved[key].get(k) != want[key][k])
            raise FoleyError(
                f"{where}: its {key} settings differ from this run's ({', '.join(diff)}); "
                "use the same preset as the source model"
            )


def _from_checkpoint(model: nn.Module, cfg: Config, path: Path) -> str:
    from foleyvae.training.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    _check_same(cfg, state.get("config"), path)
    model.load_state_dict(state["model"])
    return f"initialised from {path} (step {int(state.get('step', 0))})"


def _from_export(model: nn.Module, cfg: Config, path: Path) -> str:
    from foleyvae.export.loader import load_file

    exported = load_file(path)  # checksum, TorchScript checks and the embedded metadata, as for playing it
    if exported.kind != "foleyvae":
        raise FoleyError(f"{path}: not a Foley-VAE export (RAVE files cannot seed a Foley-VAE run)")
    _check_same(cfg, exported.metadata.get("config"), path)
    state = exported.module.state_dict()
    src = {k: v for k, v in state.items() if k.split(".", 1)[0] in _EXPORT_PARTS}
    n = _load_baked(model, src, path)
    return f"initialised from export {path} ({n} tensors of {', '.join(_EXPORT_PARTS)}; discriminator fresh)"


def _load_baked(model: nn.Module, src: dict[str, Tensor], where: Path) -> int:
    """Copy exported (weight-norm-free) tensors into ``model``; returns how many were loaded."""
    modules = dict(model.named_modules())
    own = model.state_dict()
    loaded = 0
    with torch.no_grad():
        for key, value in src.items():
            mod_name, _, attr = key.rpartition(".")
            mod = modules.get(mod_name)
            if mod is None:
                raise FoleyError(f"{where}: the export has {key}, which this model lacks (different architecture)")
            if parametrize.is_parametrized(mod, attr):
                if getattr(mod, attr).shape != value.shape:
                    raise FoleyError(f"{where}: {key} has shape {tuple(value.shape)}, the model wants another")
                setattr(mod, attr, value.clone())  # right_inverse: weight -> (g, v)
            elif key in own:
                if own[key].shape != value.shape:
                    raise FoleyError(f"{where}: {key} has shape {tuple(value.shape)}, the model wants {own[key].shape}")
                own[key].copy_(value)
            else:
                continue  # non-persistent streaming caches and the wrapper's own buffers
            loaded += 1
    if loaded == 0:
        raise FoleyError(f"{where}: no weights matched this model")
    return loaded
