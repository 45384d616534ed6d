"""Start a training run from another model's weights (fine-tuning), ``foleyvae train --init-from SOURCE``.

SOURCE is a training run folder, a checkpoint file, or a Foley-VAE export (a ``model.ts`` file or the name of a
bundled model); the CLI reads it into :class:`InitWeights` (:func:`foleyvae.cli.train.resolve_init`: training
sits below export and reads no model files). An export holds the generator only (PQMF, encoder, decoder, with
weight norm baked into plain weights); those are loaded back into the training model (weight norm is re-derived
through its parametrization's ``right_inverse``, so ``g * v / |v|`` equals the exported weight). The
discriminator, optimiser state and step counter start fresh: this is a new run that begins from learned weights,
not a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from foleyvae.config import Config
from foleyvae.errors import FoleyError, first_line

__all__ = ["InitWeights", "init_from"]

_EXPORT_PARTS = ("pqmf", "encoder", "decoder")
# A source's sample rate may differ from the run's by this factor at most: 44.1 <-> 48 kHz is 1.09 (its filters then
# sit 9 % off in frequency, which a fine-tune corrects); 22.05 -> 48 kHz would be another model.
RATE_CHANGE = 1.25


@dataclass(frozen=True)
class InitWeights:
    """The weights a run starts from, read by the caller (the CLI resolves ``--init-from``: training reads no
    exports).

    source: what the user named (recorded in the run's checkpoints); path: the file read; state: its tensors (a
    checkpoint's ``model`` state, or an exported module's whole state dict); config: the source's saved
    configuration (``Config.to_dict()``), checked against the run's; exported: weight norm is baked into plain
    weights (re-derived on load) and only the generator parts are taken; step: the source's training step.
    """

    source: str
    path: Path
    state: dict[str, Tensor]
    config: dict[str, Any] | None
    exported: bool
    step: int = 0


def init_from(model: nn.Module, cfg: Config, init: InitWeights) -> str:
    """Load ``init``'s generator weights into ``model`` (built from ``cfg``). Returns a one-line description.

    Raises FoleyError when its model settings differ from ``cfg.model``/``cfg.audio`` or the weights do not fit.
    """
    rate = _check_same(cfg, init.config, init.path)
    if not init.exported:
        try:
            model.load_state_dict(init.state)
        except (RuntimeError, KeyError) as e:
            raise FoleyError(f"{init.path}: weights do not fit the model ({first_line(e)})") from None
        return f"initialised from {init.path} (step {init.step}){rate}"
    src = {k: v for k, v in init.state.items() if k.split(".", 1)[0] in _EXPORT_PARTS}
    n = _load_baked(model, src, init.path)
    parts = ", ".join(_EXPORT_PARTS)
    return f"initialised from export {init.path} ({n} tensors of {parts}; a discriminator starts fresh){rate}"


def _check_same(cfg: Config, saved: dict[str, Any] | None, where: Path) -> str:
    """The source's model/audio settings must be the run's. Settings the source predates count as their defaults,
    material conditioning may be added to an unconditioned source (its FiLM starts at identity), and the sample rate
    may differ by up to RATE_CHANGE (the same weights at the new rate: a fine-tune on audio at that rate adapts
    them, e.g. the 44.1 kHz ``foley`` into a 48 kHz model). Returns a note on the rate change ('' without one)."""
    if not saved:
        raise FoleyError(f"{where}: records no configuration, cannot check that it matches the preset")
    want = cfg.to_dict()
    defaults = Config().to_dict()
    note = ""
    for key in ("model", "audio"):
        if key not in saved:
            continue
        have = {**defaults[key], **saved[key]}
        if key == "model" and not have.get("materials"):
            have["materials"] = want[key]["materials"]
        if key == "audio":
            src_sr, run_sr = int(have["sample_rate"]), int(want[key]["sample_rate"])
            if src_sr != run_sr and max(src_sr, run_sr) / min(src_sr, run_sr) <= RATE_CHANGE:
                have["sample_rate"] = run_sr
                note = f"; its {src_sr} Hz weights start this {run_sr} Hz run (the fine-tune adapts them)"
        diff = sorted(k for k in want[key] if have.get(k) != want[key][k])
        if diff:
            raise FoleyError(
                f"{where}: its {key} settings differ from this run's ({', '.join(diff)}); "
                "use the same preset as the source model"
            )
    return note


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
