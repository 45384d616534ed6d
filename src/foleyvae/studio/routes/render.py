"""Offline work on a second model instance, as jobs (``jobs``): ``/api/render``, ``/api/mix``, ``/api/jobs``.

``POST /api/render`` and ``/api/mix`` wait for their job and answer its take (as before); with ``"background":
true`` they answer the job at once (``state`` waiting/running, ``ahead``, ``progress``), which the page polls with
``GET /api/jobs/{id}`` and may stop with ``POST /api/jobs/{id}/cancel``. Renders use the asking tab's model.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.jobs import Job
from foleyvae.studio.routes.common import json_body, tab_of
from foleyvae.studio.security import SecurityError, validate_controls
from foleyvae.studio.session import material_choices
from foleyvae.studio.state import Studio, wait_job


def render_router(st: Studio) -> APIRouter:
    """Routes of the Render and Mix panels and of the job list."""
    router = APIRouter()

    async def answer(job: Job, body: dict[str, Any]) -> Any:
        if body.get("background") is True:
            return st.jobs.public(job)
        return await asyncio.to_thread(wait_job, job)

    @router.post("/api/render")
    async def render(request: Request) -> Any:
        body = await json_body(st, request)
        if not isinstance(body, dict) or not isinstance(body.get("sample"), str):
            raise SecurityError('expected {"sample": SAMPLE_ID, "controls": {...}}')
        tab = tab_of(request)
        model = await asyncio.to_thread(st.require_model, tab)
        labels = sorted(material_choices(model))
        controls = validate_controls(body.get("controls") or {}, int(model.latent_size), labels)
        block = body.get("block_size", st.cfg.default_block_size)
        if isinstance(block, bool) or not isinstance(block, int):
            raise SecurityError("block_size must be an integer")
        return await answer(st.submit_render(body["sample"], controls, block, tab), body)

    @router.post("/api/mix")
    async def mix(request: Request) -> Any:
        body = await json_body(st, request)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("a", "b")):
            raise SecurityError('expected {"a": SAMPLE_ID, "b": SAMPLE_ID, "alpha": 0..1}')
        alpha = body.get("alpha", 0.5)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
            raise SecurityError("alpha must be a number in [0, 1]")
        return await answer(st.submit_mix(body["a"], body["b"], float(alpha), tab_of(request)), body)

    @router.get("/api/jobs")
    def jobs() -> list[dict[str, Any]]:
        return st.jobs.listing()

    @router.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        return st.jobs.public(st.jobs.get(job_id))

    @router.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict[str, Any]:
        return st.jobs.public(st.jobs.cancel(job_id))

    return router
