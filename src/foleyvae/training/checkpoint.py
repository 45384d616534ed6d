"""Checkpoints that survive anything: atomic (temp + fsync + rename), self-describing, checksummed.

Writing only; the format and its reader (:func:`~foleyvae.checkpoints.load_checkpoint`, run folders) live in
:mod:`foleyvae.checkpoints`, below training and export.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import torch

from foleyvae import __version__
from foleyvae.checkpoints import FORMAT, FORMAT_VERSION
from foleyvae.utils.atomic import atomic_path

__all__ = ["save_checkpoint"]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Serialize ``state`` (plain types and tensors), checksum it, write atomically."""
    buf = io.BytesIO()
    torch.save({**state, "package_version": __version__}, buf)
    raw = buf.getvalue()
    outer = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "payload": torch.frombuffer(bytearray(raw), dtype=torch.uint8),
    }
    p = Path(path)
    with atomic_path(p) as tmp:
        torch.save(outer, tmp)
    return p
