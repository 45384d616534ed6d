"""The native audio route (``studio.native``): devices, start/stop, controls and the status the page polls.

=========================================  ==================================================================
``GET /api/native/devices``                PortAudio's devices (re-scanned while nothing runs)
``POST /api/native/start``                 ``{"input_device", "output_device", "block", "prefill", "device_rate",
                                           "resampler"}`` (all optional) -> status
``POST /api/native/stop``                  -> status (with the session's final stats as ``last``)
``POST /api/native/controls``              the browser route's control message (same spec, same validation)
``GET /api/native/status``                 running, latency report, xruns, meters and waveform since last poll
=========================================  ==================================================================
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.native import NativeRoute, list_audio_devices
from foleyvae.studio.routes.common import json_body, tab_of
from foleyvae.studio.state import Studio


def native_router(st: Studio) -> APIRouter:
    """Routes of the Native audio panel; the session stops with the server."""
    native = NativeRoute(st)
    st.native = native  # tests and benchmarks reach the running session here

    def stop_quietly() -> None:
        native.stop()

    router = APIRouter(on_shutdown=[stop_quietly])

    @router.get("/api/native/devices")
    async def devices() -> list[dict[str, Any]]:
        return await asyncio.to_thread(list_audio_devices, native.session is None)

    @router.post("/api/native/start")
    async def start(request: Request) -> dict[str, Any]:
        body = await json_body(st, request)
        return await asyncio.to_thread(native.start, body if body is not None else {}, tab_of(request))

    @router.post("/api/native/stop")
    async def stop() -> dict[str, Any]:
        return await asyncio.to_thread(native.stop)

    @router.post("/api/native/controls")
    async def controls(request: Request) -> dict[str, bool]:
        native.set_controls(await json_body(st, request))
        return {"ok": True}

    @router.get("/api/native/status")
    async def status() -> dict[str, Any]:
        return native.status()

    return router
