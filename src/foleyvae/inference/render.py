"""Offline rendering through the same :class:`StreamingEngine` that plays live, so a file and a live take match.

The engine delays its output by ``latency_samples``; :func:`render` feeds ``latency_samples`` of zeros after the
input (flush) and trims the same amount at the start, so the result lines up with the input sample for sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from foleyvae.inference.controls import Controls
from foleyvae.inference.engine import EngineError, StreamingEngine
from foleyvae.playable.protocol import StreamModel

__all__ = ["default_block_size", "render", "regenerate"]


def default_block_size(model: StreamModel, target: int = 2048) -> int:
    """The multiple of ``model.hop_length`` closest to ``target`` (at least one hop): no FIFO latency."""
    hop = int(model.hop_length)
    return hop * max(1, round(target / hop))


def render(
    model: StreamModel,
    audio: np.ndarray,
    block_size: int | None = None,
    controls: Controls | None = None,
    on_block: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Process a whole sound block by block, delay-compensated.

    Args:
        model: the StreamModel (reset before and after).
        audio: ``[C, T]`` float32 at ``model.sample_rate`` with ``C == model.channels``.
        block_size: engine block (default: :func:`default_block_size`).
        controls: engine controls (neutral when None); the same object the live engine would use.
        on_block: called as ``on_block(done, total)`` after each block (progress bars).
    Returns:
        ``[C, T]`` float32 aligned with ``audio``.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != int(model.channels):
        raise EngineError(f"expected audio [{model.channels}, T] for model {model.name!r}, got shape {list(x.shape)}")
    n = int(block_size) if block_size is not None else default_block_size(model)
    with torch.no_grad():
        engine = StreamingEngine(model, n, controls)
        d = engine.latency_samples
        t = x.shape[1]
        n_blocks = -(-(t + d) // n)
        padded = np.zeros((x.shape[0], n_blocks * n), np.float32)
        padded[:, :t] = x
        out = np.empty_like(padded)
        for i in range(n_blocks):
            out[:, i * n : (i + 1) * n] = engine.process(padded[:, i * n : (i + 1) * n])
            if on_block is not None:
                on_block(i + 1, n_blocks)
        model.reset()
    return np.ascontiguousarray(out[:, d : d + t])


def regenerate(model: StreamModel, audio: np.ndarray, block_size: int | None = None) -> np.ndarray:
    """Encode and decode ``audio [C, T]`` with neutral controls and no limiter -> ``[C, T]`` (delay-compensated)."""
    c = Controls(int(model.latent_size))
    c.set_limiter(False)
    return render(model, audio, block_size, c)
