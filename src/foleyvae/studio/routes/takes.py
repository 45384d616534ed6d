"""Recorded takes and renders: list, serve a take's wet/dry WAV or a Broadcast WAV of it, mux a take into a video
(ffmpeg)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from foleyvae.studio.picture import DEFAULT_START, export_take_bwf
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

    @router.get("/api/takes/{take_id}/{which}.bwf.wav")
    async def take_bwf(take_id: str, which: str, fps: str = "25", start: str = DEFAULT_START, scene: str = "") -> Any:
        """The take as a 48 kHz 24-bit Broadcast WAV placed at its picture time (``start`` + ``video_time``)."""
        p = await asyncio.to_thread(export_take_bwf, st.folder, take_id, which, fps, start, scene)
        return FileResponse(p, media_type="audio/wav", filename=f"{take_id}-{which}.bwf.wav")

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
