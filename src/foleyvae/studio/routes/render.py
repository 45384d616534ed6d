"""Offline work on a second model instance: ``/api/render`` (a sample through the controls) and ``/api/mix``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.routes.common import json_body
from foleyvae.studio.security import SecurityError, validate_controls
from foleyvae.studio.session import material_choices
from foleyvae.studio.state import Studio


def render_router(st: Studio) -> APIRouter:
    """Routes of the Render and Mix panels (each answers a take record)."""
    router = APIRouter()

    @router.post("/api/render")
    async def render(request: Request) -> Any:
        body = await json_body(st, request)
        if not isinstance(body, dict) or not isinstance(body.get("sample"), str):
            raise SecurityError('expected {"sample": SAMPLE_ID, "controls": {...}}')
        model = st.require_model()
        labels = sorted(material_choices(model))
        controls = validate_controls(body.get("controls") or {}, int(model.latent_size), labels)
        block = body.get("block_size", st.cfg.default_block_size)
        if isinstance(block, bool) or not isinstance(block, int):
            raise SecurityError("block_size must be an integer")
        return await asyncio.to_thread(st.render, body["sample"], controls, block)

    @router.post("/api/mix")
    async def mix(request: Request) -> Any:
        body = await json_body(st, request)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("a", "b")):
            raise SecurityError('expected {"a": SAMPLE_ID, "b": SAMPLE_ID, "alpha": 0..1}')
        alpha = body.get("alpha", 0.5)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
            raise SecurityError("alpha must be a number in [0, 1]")
        return await asyncio.to_thread(st.mix, body["a"], body["b"], float(alpha))

    return router
