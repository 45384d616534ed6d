"""Control presets (JSON in the session's presets/ folder): list, read, save (validated against the open model)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from foleyvae.inference import control_spec
from foleyvae.studio.midi_map import validate_midi
from foleyvae.studio.routes.common import err, json_body
from foleyvae.studio.security import validate_controls
from foleyvae.studio.session import material_choices
from foleyvae.studio.state import Studio


def presets_router(st: Studio) -> APIRouter:
    """Routes of the Presets menu."""
    router = APIRouter()

    @router.get("/api/presets")
    def presets() -> list[str]:
        return st.folder.list_presets()

    @router.get("/api/presets/{name}")
    def get_preset(name: str) -> Any:
        data = st.folder.read_preset(name)
        if isinstance(data, dict):  # presets saved before a control was renamed load under its name now
            data = {control_spec.LEGACY_NAMES.get(k, k): v for k, v in data.items()}
        return err(404, f"no preset {name!r}") if data is None else data

    @router.post("/api/presets/{name}")
    async def save_preset(request: Request, name: str) -> Any:
        body = await json_body(st, request)
        model = st.require_model()
        labels = sorted(material_choices(model))
        midi = validate_midi(body.pop("midi")) if isinstance(body, dict) and "midi" in body else None
        clean = validate_controls(body, int(model.latent_size), labels)
        saved = {**clean, "midi": midi} if midi is not None else clean  # the page's MIDI mapping travels along
        return {"name": st.folder.write_preset(name, saved), "controls": clean}

    return router
