"""Raw-body uploads (audio files, the picture for a mux) streamed to private files, and the mux request itself.

Each mux works in its own fresh folder (``tempfile.mkdtemp``, 0700) inside the take's folder: two muxes of one
take used to share ``picture.mp4`` and the output name, so 8 at once gave five 500s and two requests got another
request's picture. The folder is removed once the answer has been sent (or at once on failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from foleyvae.studio.limits import HttpError
from foleyvae.studio.security import safe_name
from foleyvae.studio.session import SessionFolder
from foleyvae.studio.video import VIDEO_SUFFIXES, mux_take

__all__ = ["receive_file", "mux_request"]


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


async def receive_file(request: Any, target: Path, limit: int, kinds: tuple[str, ...]) -> int:
    """Stream a raw request body to ``target`` (mode 0600, a hidden .part first), refusing more than ``limit`` bytes.

    Raises:
        HttpError: 415 for a content type not in ``kinds``, 413 past ``limit``, 400 for an empty body.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not any(ctype.startswith(k) for k in kinds):
        raise HttpError(415, f"content type {ctype or '(none)'!r} not accepted; send the raw file bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, f"file larger than the {_mb(limit)} limit")
    part = target.with_name("." + target.name + ".part")
    n = 0
    try:
        # O_EXCL | O_NOFOLLOW: never write through a link planted under the name, never share a half-written file
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                n += len(chunk)
                if n > limit:
                    raise HttpError(413, f"file larger than the {_mb(limit)} limit")
                f.write(chunk)
        if n == 0:
            raise HttpError(400, "empty upload")
        part.replace(target)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return n


async def mux_request(request: Any, folder: SessionFolder, take_id: str, name: str, limit: int) -> FileResponse:
    """``POST /api/takes/{take_id}/mux?name=V``: the raw picture in the body -> the video with the take's sound."""
    d = folder.take_dir(take_id)
    wet = folder.take_file(take_id, "wet")
    vname = Path(safe_name(name, VIDEO_SUFFIXES, "video"))
    work = Path(tempfile.mkdtemp(prefix=".mux-", dir=d))  # this request's own folder (0700)
    try:
        video = work / f"picture{vname.suffix}"
        await receive_file(request, video, limit, ("video/", "application/octet-stream"))
        meta = json.loads((d / "meta.json").read_text())
        out = work / f"{vname.stem}-with-{take_id}{vname.suffix}"
        await asyncio.to_thread(mux_take, video, wet, out, float(meta.get("video_time", 0.0)), folder.root)
        video.unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    cleanup = BackgroundTask(shutil.rmtree, work, ignore_errors=True)
    return FileResponse(out, media_type="application/octet-stream", filename=out.name, background=cleanup)
