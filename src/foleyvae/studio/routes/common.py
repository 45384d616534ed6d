"""What every router shares: the one JSON error shape, the size/depth-capped JSON body reader, the asking tab."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from foleyvae.studio.limits import read_json
from foleyvae.studio.state import Studio


def err(status: int, message: str) -> JSONResponse:
    """``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status)


async def json_body(st: Studio, request: Request) -> Any:
    """The request's JSON body within the studio's size and depth limits (``limits.read_json``)."""
    return await read_json(request, st.cfg.max_json_bytes, st.cfg.max_json_depth)


TAB_HEADER = "x-studio-tab"


def tab_of(request: Request) -> str | None:
    """The asking page's tab id (``X-Studio-Tab`` header or ``?tab=``; None: the default tab, see ``tabs``)."""
    return request.headers.get(TAB_HEADER) or request.query_params.get("tab") or None
