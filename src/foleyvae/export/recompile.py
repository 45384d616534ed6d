"""Recompile a waveform export with the current code: the same weights and metadata, TorchScript scripted anew.

A TorchScript file carries the code it was scripted with, so a bundled model keeps the layers' old code when they
get faster (e.g. ``nn.streaming.conv1d_as_matmul``). This rebuilds the model its embedded config describes, loads
the file's whole state (weights, PCA, noise table) into it, scripts it with the same metadata, and keeps the result
only if it plays like the old file: encode, decode (random latents, material channels included) and forward, in
streaming blocks, batch 1 and 2, within the exporter's tolerance. Written atomically with its ``.sha256``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from foleyvae.config import from_dict
from foleyvae.errors import FoleyError
from foleyvae.export.loader import load_file
from foleyvae.export.nn_tilde import (
    TOLERANCE,
    check_signals,
    quiet_jit,
    run_blocks,
    script_to_bytes,
    write_export,
)
from foleyvae.export.waveform import scriptable_wrapper
from foleyvae.models.builders import build_model

__all__ = ["RecompileReport", "recompile_waveform_export"]

CHECK_BLOCKS = (256, 2048)


@dataclass(frozen=True)
class RecompileReport:
    """What :func:`recompile_waveform_export` wrote: sizes in bytes, the largest output difference to the old file."""

    path: str
    old_bytes: int
    new_bytes: int
    max_abs_error: float
    sha256: str


def recompile_waveform_export(src: str | Path, out: str | Path, tolerance: float = TOLERANCE) -> RecompileReport:
    """Script ``src``'s model again with the current code and write it to ``out`` (may be ``src`` itself).

    Raises FoleyError for files that are not Foley-VAE waveform exports, whose state does not fit the model their
    config builds, or whose recompiled output differs from the old one by more than ``tolerance`` (times
    ``max(1, max |old output|)``); nothing is written then.
    """
    src, out = Path(src), Path(out)
    old = load_file(src)  # checks the checksum and that it is TorchScript with our metadata
    old_data = src.read_bytes()
    meta = dict(old.metadata)
    if old.kind != "foleyvae" or "config" not in meta:
        raise FoleyError(f"{src}: not a Foley-VAE export (no embedded config to rebuild it from)")
    cfg = from_dict(meta["config"])
    if cfg.model.kind != "waveform":
        raise FoleyError(f"{src}: a {cfg.model.kind} model; only waveform exports are recompiled")
    state = dict(old.module.state_dict())
    model = build_model(cfg).eval()
    k = int(state["bias_t"].shape[0]) - len(getattr(model, "materials", []))  # the played latent: k PCA dims, then K
    wrapper = scriptable_wrapper(
        model, state["pca_mean"], state["components"], state["pca_std"], k, bool(meta.get("streaming", True))
    )
    _copy_state(wrapper, state, src)
    data = script_to_bytes(wrapper, meta)
    err = _compare(old_data, data, int(meta["hop_length"]), int(meta["channels"]), int(meta["sample_rate"]), tolerance)
    digest = write_export(data, out)
    return RecompileReport(str(out), len(old_data), len(data), err, digest)


def _copy_state(module: torch.nn.Module, state: dict[str, Tensor], src: Path) -> None:
    """Every parameter and buffer of ``module`` from ``state``, non-persistent buffers included (a scripted file
    saves those too: caches, PQMF filters, the noise table); the names and shapes must match exactly."""
    own = dict(module.named_parameters()) | dict(module.named_buffers())
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    bad = [n for n in own if n in state and own[n].shape != state[n].shape]
    if missing or extra or bad:
        what = (missing and f"missing {missing[:3]}") or (extra and f"unexpected {extra[:3]}") or f"shapes of {bad[:3]}"
        raise FoleyError(f"{src}: its state does not fit the model its config builds ({what})")
    with torch.no_grad():
        for name, t in own.items():
            t.copy_(state[name])


def _compare(old: bytes, new: bytes, hop: int, channels: int, sample_rate: int, tolerance: float) -> float:
    """Largest difference between the two files' encode, decode and forward (fresh loads, streaming blocks)."""
    worst = 0.0
    for block in CHECK_BLOCKS:
        if block % hop:
            continue
        n = block * max(2, -(-4096 // block))
        signals = check_signals(channels, sample_rate, n)
        for batch in (1, 2):
            x = signals[:batch]
            with quiet_jit():
                a, b = (torch.jit.load(io.BytesIO(d), map_location="cpu") for d in (old, new))
                fa, fb = (torch.jit.load(io.BytesIO(d), map_location="cpu") for d in (old, new))
            with torch.no_grad():
                z = run_blocks(a.encode, x, block)
                gen = torch.Generator().manual_seed(block + batch)
                z_rand = torch.randn(z.shape, generator=gen)  # every latent channel, material ones included
                pairs: list[tuple[str, Tensor, Tensor]] = [
                    ("encode", z, run_blocks(b.encode, x, block)),
                    ("decode", run_blocks(a.decode, z_rand, block // hop), run_blocks(b.decode, z_rand, block // hop)),
                    ("forward", run_blocks(fa.forward, x, block), run_blocks(fb.forward, x, block)),
                ]
            for name, ref, got in pairs:
                if got.shape != ref.shape or not bool(torch.isfinite(got).all()):
                    raise FoleyError(f"recompile check: {name} gives {list(got.shape)}, not {list(ref.shape)}, or NaN")
                e = float((got - ref).abs().max())
                if e > tolerance * max(1.0, float(ref.abs().max())):
                    raise FoleyError(f"recompile check: {name} differs from the old file by {e:.2e} (block {block})")
                worst = max(worst, e)
    return worst
