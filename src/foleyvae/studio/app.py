"""Foley-VAE Studio: the FastAPI app behind the local web page (HTTP API + one WebSocket for live audio).

Routes (all need the session token, as ``?token=`` or the ``X-Studio-Token`` header; a page adds its tab id as
``X-Studio-Tab``, see ``tabs``: its model, its renders):

=========================================  ==================================================================
``GET /login?code=C``                      one-time code (the browser's command line) -> 303 to the page
``GET /``                                  the page (token templated into its asset URLs)
``GET /static/{name}``                     page assets (a fixed list of files)
``GET /api/state``                         model card, models, samples, takes, presets, capabilities
``GET /api/models`` / ``POST /api/model``  list / open a model by id (``{"id": ...}``)
``GET /api/samples``, ``/api/samples/{id}.wav``  sample library and uploads
``POST /api/upload?name=F``                raw audio body (audio/* or application/octet-stream), size-limited
``POST /api/render``                       ``{"sample", "controls", "block_size"[, "background"]}`` -> a take (a job)
``POST /api/mix``                          ``{"a", "b", "alpha"[, "background"]}`` -> latent mix of two samples
``GET /api/jobs[/{id}]``, ``POST .../cancel``  render/mix jobs: waiting (jobs ahead) / running (progress) / done
``POST /api/check-preset``                 a preset file -> its clean controls, or 400 naming the bad field
``GET /api/takes``, ``/api/takes/{id}/{wet|dry}.wav``   recorded takes and renders
``POST /api/takes/{id}/mux?name=V``        raw video body -> the video with the take as its sound (ffmpeg)
``GET|POST /api/presets[/{name}]``         control presets (JSON, with their model; ``?overwrite=1`` replaces)
``WS /ws``                                 live audio: binary frames (see session.FRAME_HEADER) + JSON controls
``/api/native/...``                        the native audio route: a local device (``routes/native``)
=========================================  ==================================================================

The routes live in ``routes/`` (one ``APIRouter`` per area, built from the :class:`Studio` in ``state``), the
WebSocket in ``ws`` (:class:`PageSocket`); this module assembles them behind the guard (token, Host, headers).

Limits (issue #25; ``StudioConfig``): JSON bodies are read with a size and depth cap (``limits``), uploads are
decoded block by block within ``upload_limits`` (``audio.io.DecodeLimits``), muxes run in their own folder with a
whitelisted ffmpeg (``uploads``, ``video``), live takes stop at ``max_take_seconds``, and the server closes
connections that are slow to send their headers and caps how many are open (``server``).
"""

from __future__ import annotations

import contextlib
import html
import socket
import threading
import time
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from foleyvae.errors import FoleyError
from foleyvae.studio.limits import HttpError
from foleyvae.studio.routes.common import err
from foleyvae.studio.routes.models import models_router
from foleyvae.studio.routes.native import native_router
from foleyvae.studio.routes.pages import pages_router
from foleyvae.studio.routes.presets import presets_router
from foleyvae.studio.routes.render import render_router
from foleyvae.studio.routes.samples import samples_router
from foleyvae.studio.routes.takes import takes_router
from foleyvae.studio.security import TOKEN_HEADER, SecurityError, host_ok, token_ok
from foleyvae.studio.server import uvicorn_config
from foleyvae.studio.state import MAX_RENDER_SECONDS, MAX_WS_MESSAGE, STATIC_DIR, Studio, StudioConfig
from foleyvae.studio.ws import PageSocket

__all__ = [
    "StudioConfig",
    "Studio",
    "create_app",
    "serve_in_thread",
    "STATIC_DIR",
    "MAX_RENDER_SECONDS",
    "MAX_WS_MESSAGE",
]


def create_app(cfg: StudioConfig, studio: Studio | None = None) -> FastAPI:
    """The FastAPI application for one studio session (``studio`` is created from ``cfg`` when not given)."""
    st = studio or Studio(cfg)
    app = FastAPI(title="Foley-VAE Studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = st
    extra_hosts = ("testserver",) if cfg.test_client_host else ()

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if not host_ok(request.headers.get("host"), cfg.host, None, extra_hosts):
            return err(403, "bad Host header")
        code = request.query_params.get("code")
        if request.url.path == "/login" and code:
            if not st.logins.redeem(code):
                return err(403, "this login link was used already or has expired: open the URL the studio printed")
            return _secure(RedirectResponse(f"/?token={cfg.token}", status_code=303))
        given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER)
        if not given:
            return _refuse(request, 401, "missing session token: open the URL the studio printed")
        if not token_ok(given, cfg.token):
            return _refuse(request, 403, "wrong session token")
        try:
            response = await call_next(request)
        except SecurityError as e:
            response = err(400, str(e))
        except FoleyError as e:
            response = err(400, str(e))
        return _secure(response)

    @app.exception_handler(FoleyError)
    async def foley_error(request: Request, exc: FoleyError) -> JSONResponse:
        return err(400, str(exc))

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> JSONResponse:
        return err(exc.status, exc.message)

    builds = (pages_router, models_router, samples_router, render_router, takes_router, presets_router, native_router)
    for build in builds:
        app.include_router(build(st))

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:  # checks the token, Origin and Host itself (no middleware here)
        await PageSocket(st, websocket, extra_hosts).run()

    return app


def _refuse(request: Request, status: int, message: str) -> Response:
    """A refusal as JSON for the API, and as a short readable page for a browser opening a page (an old link after
    ``--new-token``), instead of raw ``{"error": ...}``."""
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Foley-VAE Studio</title>"
            f"<h1>Foley-VAE Studio</h1><p>{html.escape(message)}.</p><p>This link does not open the studio any more "
            "(its token was renewed with <code>--new-token</code>, or it belongs to another studio folder). Open the "
            "URL that <code>foleyvae studio</code> printed in its terminal.</p></html>"
        )
        return _secure(HTMLResponse(body, status_code=status))
    return err(status, message)


def _secure(response: Response) -> Response:
    """The headers every answer carries (no referrer, no sniffing, no framing, no caching, a strict CSP)."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data: blob:; "
        "style-src 'self'; script-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
    )
    return response


@contextlib.contextmanager
def serve_in_thread(cfg: StudioConfig, studio: Studio | None = None) -> Any:
    """Run the studio with uvicorn in a background thread on a free port (tests, benchmarks).

    Yields the page URL (token included); the server stops when the block exits.
    """
    import uvicorn  # the server only where one is run (as in server.uvicorn_config); the app itself needs fastapi

    with socket.socket() as s:
        s.bind((cfg.host, 0))
        port = s.getsockname()[1]
    app = create_app(cfg, studio)
    server = uvicorn.Server(uvicorn_config(app, cfg.host, port, cfg.server, MAX_WS_MESSAGE))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20.0
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the studio server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{cfg.host}:{port}/?token={cfg.token}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
