"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename over the target.

A reader never sees a half-written file, and a process killed mid-write leaves the previous file intact
(at worst a ``.tmp-*`` file beside it, which readers ignore and writers clean up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "swap_in_dir", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto ``target``.

    ``suffix`` lets writers that infer a format from the extension (soundfile, torch.save) see the right one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + target.name + ".", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
        _remove_stale_temps(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _remove_stale_temps(target: Path, min_age_s: float = 60.0) -> None:
    """Delete temp files of ``target`` left by writers that were killed mid-write (older than ``min_age_s``, so a
    concurrent writer's file in flight is never touched)."""
    import time

    now = time.time()
    for old in target.parent.glob(f"{TMP_PREFIX}{target.name}.*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > min_age_s:
                old.unlink()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def swap_in_dir(staging: Path, out: Path) -> None:
    """Replace folder ``out`` by ``staging`` with two renames (the old folder is removed only after the new one is
    in place; on failure the old one is put back)."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
        try:
            os.replace(staging, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)
