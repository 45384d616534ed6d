"""A stable session token per studio folder, so that an open page survives a restart of the server.

The token lives in ``WORKDIR/token`` (mode 0600, written atomically, never through a link). A restart reads it
back; ``foleyvae studio --new-token`` replaces it (every open page must then be reopened from the printed URL).
A token file that is not a private regular file (a link, group- or world-readable, another owner) is not trusted:
a fresh token replaces it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from foleyvae.studio.security import new_token

__all__ = ["TOKEN_FILE", "folder_token", "read_token"]

TOKEN_FILE = "token"
_MIN_LEN = 32  # new_token() gives 43 characters; anything much shorter was not written by the studio


def read_token(workdir: Path) -> str | None:
    """The folder's token, or None when there is none that can be trusted (see the module docstring)."""
    p = workdir / TOKEN_FILE
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077 or st.st_uid != os.getuid():
            return None
        text = f.read(256).decode("ascii", "replace").strip()
    ok = len(text) >= _MIN_LEN and all(c.isalnum() or c in "-_" for c in text)
    return text if ok else None


def folder_token(workdir: Path, rotate: bool = False) -> str:
    """The token of ``workdir`` (made 0700 if missing): the stored one, or a new one when ``rotate`` or none."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not rotate:
        found = read_token(workdir)
        if found:
            return found
    token = new_token()
    part = workdir / f".{TOKEN_FILE}.{os.getpid()}.part"
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(part, 0o600)
        part.replace(workdir / TOKEN_FILE)  # rename replaces a planted link itself, never writes through it
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return token
