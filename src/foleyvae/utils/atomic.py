"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename over the target.

A reader never sees a half-written file, and a process killed mid-write leaves the previous file intact
(at worst a ``.tmp-*`` file beside it, which readers ignore and writers clean up).

Folders (datasets) are built in a hidden staging folder beside the target (:func:`staging_dir`) and swapped in
with one atomic exchange where the OS has it (:func:`swap_in_dir`); staging folders of killed writers are removed
by the next writer (:func:`remove_dead_staging`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "exchange_paths",
    "remove_dead_staging",
    "staging_dir",
    "swap_in_dir",
    "TMP_PREFIX",
]

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


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap what ``a`` and ``b`` name in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the OS, libc or file system does not offer it (the caller falls back to two renames).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl without the wrapper
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def swap_in_dir(staging: Path, out: Path) -> None:
    """Replace folder ``out`` by ``staging``; ``out`` names the old or the new folder at every instant.

    One atomic exchange where available (the old folder then sits at ``staging`` and is removed); elsewhere two
    renames (the old folder is removed only after the new one is in place; on failure the old one is put back),
    where a kill between them leaves ``out`` missing and the old folder at ``.NAME.old-*``.
    """
    if out.exists() or out.is_symlink():
        if exchange_paths(staging, out):
            if staging.is_dir() and not staging.is_symlink():
                shutil.rmtree(staging, ignore_errors=True)
            else:
                staging.unlink(missing_ok=True)
            return
        old = out.parent / f".{out.name}.old-{_owner_tag()}-x"
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


def _owner_tag() -> str:
    """``PID@HOST``: who made a staging folder, so that a later writer can tell whether it is still at work."""
    return f"{os.getpid()}@{socket.gethostname()}"


def staging_dir(out: Path, tag: str) -> Path:
    """Create an empty hidden folder beside ``out`` to build its replacement in: ``.NAME.TAG-PID@HOST-XXXXXXXX``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.{tag}-{_owner_tag()}-", dir=out.parent))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_dead_staging(out: Path) -> list[Path]:
    """Delete the staging folders beside ``out`` (see :func:`staging_dir`, :func:`swap_in_dir`) left by writers
    that were killed: made on this host by a process that no longer exists. Returns what was removed.

    Folders of live writers (a concurrent run) and of other hosts (a shared file system) are left alone.
    """
    pattern = re.compile(rf"\.{re.escape(out.name)}\.[a-z]+-(\d+)@(.+)-[a-z0-9_]+")
    host, removed = socket.gethostname(), []
    with contextlib.suppress(OSError):
        for p in out.parent.iterdir():
            m = pattern.fullmatch(p.name)
            if m is None or m.group(2) != host or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed
