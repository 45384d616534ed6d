"""Control presets (``presets``): list, read, save (validated against the tab's model, stored with its name; an
existing preset is replaced only with ``?overwrite=1``), and check a file before the page applies it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.limits import HttpError
from foleyvae.studio.presets import check_preset, check_preset_name, controls_of, preset_record
from foleyvae.studio.routes.common import err, json_body, tab_of
from foleyvae.studio.session import material_choices
from foleyvae.studio.state import Studio


def presets_router(st: Studio) -> APIRouter:
    """Routes of the Presets menu."""
    router = APIRouter()

    async def check_for_tab(request: Request, data: Any) -> dict[str, Any]:
        tab = tab_of(request)
        model = await asyncio.to_thread(st.require_model, tab)
        return check_preset(data, str(model.name), int(model.latent_size), sorted(material_choices(model)))

    @router.get("/api/presets")
    def presets() -> list[str]:
        return st.folder.list_presets()

    @router.post("/api/check-preset")
    async def check(request: Request) -> Any:
        """A preset file the page imports -> its clean controls (+ a warning for another model), or a 400 that
        names the bad field: the page applies nothing then."""
        return await check_for_tab(request, await json_body(st, request))

    @router.get("/api/presets/{name:path}")
    async def get_preset(request: Request, name: str) -> Any:
        data = st.folder.read_preset(check_preset_name(name))
        if data is None:
            return err(404, f"no preset {name!r}")
        return {"name": st.folder.preset_path(name).stem, **await check_for_tab(request, data)}

    @router.post("/api/presets/{name:path}")
    async def save_preset(request: Request, name: str, overwrite: bool = False) -> Any:
        name = check_preset_name(name)
        body = await json_body(st, request)
        controls, _ = controls_of(body)
        checked = await check_for_tab(request, controls)
        if st.folder.preset_exists(name) and not overwrite:
            stem = st.folder.preset_path(name).stem
            raise HttpError(409, f"a preset named {stem!r} exists already: confirm to replace it (overwrite=1)")
        tab = st.tab(tab_of(request))
        model = await asyncio.to_thread(tab.require_model)
        record = preset_record(checked["controls"], str(model.name), tab.entry.id if tab.entry else None)
        return {"name": st.folder.write_preset(name, record), "model": record["model"], "controls": checked["controls"]}

    return router
