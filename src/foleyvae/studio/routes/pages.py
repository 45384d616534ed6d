"""The page: ``/login`` (after the guard), ``/`` (the token templated into its asset URLs), ``/static/{name}``."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from foleyvae.studio.routes.common import err
from foleyvae.studio.state import STATIC_DIR, Studio


def static_files() -> dict[str, tuple[Path, str]]:
    """The page's assets by name -> (path, content type): a fixed list, read once."""
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
    out = {}
    for p in STATIC_DIR.iterdir():
        if p.is_file() and p.suffix in types:
            out[p.name] = (p, types[p.suffix])
    return out


def pages_router(st: Studio) -> APIRouter:
    """Routes of the page itself."""
    router = APIRouter()
    statics = static_files()
    token = st.cfg.token

    @router.get("/login")
    async def login() -> Response:  # with a valid ?code= the guard has answered already; with the token: the page
        return RedirectResponse(f"/?token={token}", status_code=303)

    @router.get("/")
    async def index() -> HTMLResponse:
        text = (STATIC_DIR / "index.html").read_text().replace("{{TOKEN}}", html.escape(token, quote=True))
        return HTMLResponse(text)

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in statics:
            return err(404, "not found")
        path, ctype = statics[name]
        return Response(path.read_bytes(), media_type=ctype)

    return router
