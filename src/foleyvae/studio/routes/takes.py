"""Recorded takes and renders: list, serve a take's wet/dry WAV, mux a take into an uploaded video (ffmpeg)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from foleyvae.studio.routes.common import err
from foleyvae.studio.session import ffmpeg_path
from foleyvae.studio.state import Studio
from foleyvae.studio.uploads import mux_request


def takes_router(st: Studio) -> APIRouter:
    """Routes of the Takes panel."""
    router = APIRouter()

    @router.get("/api/takes")
    def takes() -> list[dict[str, Any]]:
        return st.folder.takes()

    @router.get("/api/takes/{take_id}/{which}.wav")
    def take_audio(take_id: str, which: str) -> Any:
        p = st.folder.take_file(take_id, which)
        return FileResponse(p, media_type="audio/wav", filename=f"{take_id}-{which}.wav")

    @router.post("/api/takes/{take_id}/mux")
    async def mux(request: Request, take_id: str, name: str = "video.mp4") -> Any:
        if ffmpeg_path() is None:
            return err(501, "ffmpeg is not installed on the studio's machine: export the WAV and mux it yourself")
        return await mux_request(request, st.folder, take_id, name, st.cfg.max_video_bytes)

    return router
