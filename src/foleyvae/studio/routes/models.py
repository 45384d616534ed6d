"""``/api/state`` and the model catalog: list models, read the tab's model card, open a model by id for the tab."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.routes.common import json_body, tab_of
from foleyvae.studio.security import SecurityError
from foleyvae.studio.state import Studio


def models_router(st: Studio) -> APIRouter:
    """Routes of the state and the Model panel."""
    router = APIRouter()

    @router.get("/api/state")
    def state(request: Request) -> dict[str, Any]:
        return st.state(tab_of(request))

    @router.get("/api/models")
    def models() -> list[dict[str, str]]:
        return [e.public() for e in st.catalog.entries()]

    @router.get("/api/model")
    def get_model(request: Request) -> Any:
        return st.card(tab_of(request))

    @router.post("/api/model")
    async def post_model(request: Request) -> Any:
        body = await json_body(st, request)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise SecurityError('expected {"id": MODEL_ID}')
        return await asyncio.to_thread(st.open_model, body["id"], tab_of(request))

    return router
