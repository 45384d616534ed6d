"""Control presets (``presets``): list, read, save (validated against the tab's model, stored with its name; an
existing preset is replaced only with ``?overwrite=1``), and check a file before the page applies it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from foleyvae.studio.limits import HttpError
from foleyvae.studio.midi_map import validate_midi
from foleyvae.studio.presets import check_preset, check_preset_name, controls_of, preset_record
from foleyvae.studio.routes.common import err, json_body, tab_of
from foleyvae.studio.session import material_choices
from foleyvae.studio.state import Studio


def presets_router(st: Studio) -> APIRouter:
    """Routes of the Presets menu."""
    router = APIRouter()

    async def check_for_tab(request: Request, data: Any) -> dict[str, Any]:
        """Validate a preset (either format) for the tab's model; its MIDI mapping (midi.js) travels along."""
        data, midi = _split_midi(data)
        tab = tab_of(request)
        model = await asyncio.to_thread(st.require_model, tab)
        out = check_preset(data, str(model.name), int(model.latent_size), sorted(material_choices(model)))
        return {**out, "midi": midi} if midi is not None else out

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
        body, midi = _split_midi(body)
        controls, _ = controls_of(body)
        checked = await check_for_tab(request, controls)
        if st.folder.preset_exists(name) and not overwrite:
            stem = st.folder.preset_path(name).stem
            raise HttpError(409, f"a preset named {stem!r} exists already: confirm to replace it (overwrite=1)")
        tab = st.tab(tab_of(request))
        model = await asyncio.to_thread(tab.require_model)
        record = preset_record(checked["controls"], str(model.name), tab.entry.id if tab.entry else None)
        if midi is not None:
            record["midi"] = midi
        return {"name": st.folder.write_preset(name, record), "model": record["model"], "controls": checked["controls"]}

    return router


def _split_midi(data: Any) -> tuple[Any, list[Any] | None]:
    """(the preset without its ``midi`` list, the list checked by ``midi_map.validate_midi`` or None); the list may sit
    in a bare controls object (older files) or beside ``controls`` in a preset record."""
    if not isinstance(data, dict) or "midi" not in data:
        return data, None
    rest = {k: v for k, v in data.items() if k != "midi"}
    midi: list[Any] = validate_midi(data["midi"])
    return rest, midi
