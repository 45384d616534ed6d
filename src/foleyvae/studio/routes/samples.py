"""The sample library and uploads: list, serve a sample's audio, upload a raw audio body (size/decode-limited)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from foleyvae.audio.io import AudioError, validate
from foleyvae.studio.routes.common import err
from foleyvae.studio.state import Studio
from foleyvae.studio.uploads import receive_file


def samples_router(st: Studio) -> APIRouter:
    """Routes of the Samples panel."""
    router = APIRouter()
    cfg = st.cfg

    @router.get("/api/samples")
    def samples() -> list[dict[str, str]]:
        return [s.public() for s in st.folder.samples()]

    @router.get("/api/samples/{sample_id}.wav")
    def sample_audio(sample_id: str) -> Any:  # the sample table lists only regular files, no symlinks
        s = st.folder.sample(sample_id)
        return FileResponse(s.path, media_type="audio/wav" if s.path.suffix == ".wav" else "application/octet-stream")

    @router.post("/api/upload")
    async def upload(request: Request, name: str = "upload.wav") -> Any:
        target = st.folder.new_upload_path(name)
        await receive_file(request, target, cfg.max_upload_bytes, ("audio/", "application/octet-stream"))
        try:  # decoded block by block and thrown away: only the limits and the decodability are checked here
            await asyncio.to_thread(validate, target, cfg.upload_limits)
        except AudioError as e:
            target.unlink(missing_ok=True)
            clean = target.name.split("-", 1)[-1]
            return err(400, str(e).replace(str(target), clean))
        sid = f"up-{target.stem}"
        return {"id": sid, "name": target.name.split("-", 1)[-1], "source": "upload"}

    return router
