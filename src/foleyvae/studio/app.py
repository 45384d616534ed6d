"""Foley-VAE Studio: the FastAPI app behind the local web page (HTTP API + one WebSocket for live audio).

Routes (all need the session token, as ``?token=`` or the ``X-Studio-Token`` header):

=========================================  ==================================================================
``GET /login?code=C``                      one-time code (the browser's command line) -> 303 to the page
``GET /``                                  the page (token templated into its asset URLs)
``GET /static/{name}``                     page assets (a fixed list of files)
``GET /api/state``                         model card, models, samples, takes, presets, capabilities
``GET /api/models`` / ``POST /api/model``  list / open a model by id (``{"id": ...}``)
``GET /api/samples``, ``/api/samples/{id}.wav``  sample library and uploads
``POST /api/upload?name=F``                raw audio body (audio/* or application/octet-stream), size-limited
``POST /api/render``                       ``{"sample", "controls", "block_size"}`` -> a render take
``POST /api/mix``                          ``{"a", "b", "alpha"}`` -> latent mix of two samples (a take)
``GET /api/takes``, ``/api/takes/{id}/{wet|dry}.wav``   recorded takes and renders
``POST /api/takes/{id}/mux?name=V``        raw video body -> the video with the take as its sound (ffmpeg)
``GET|POST /api/presets[/{name}]``         control presets (JSON)
``WS /ws``                                 live audio: binary frames (see session.FRAME_HEADER) + JSON controls
=========================================  ==================================================================

Limits (issue #25; ``StudioConfig``): JSON bodies are read with a size and depth cap (``limits``), uploads are
decoded block by block within ``upload_limits`` (``audio.io.DecodeLimits``), muxes run in their own folder with a
whitelisted ffmpeg (``uploads``, ``video``), live takes stop at ``max_take_seconds``, and the server closes
connections that are slow to send their headers and caps how many are open (``server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from foleyvae.audio.io import AudioError, DecodeLimits, load, validate
from foleyvae.errors import FoleyError
from foleyvae.inference import control_spec
from foleyvae.inference.controls import Controls
from foleyvae.inference.mixing import mix
from foleyvae.inference.render import render
from foleyvae.playable.protocol import StreamModel
from foleyvae.studio.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, HttpError, parse_json, read_json
from foleyvae.studio.security import (
    TOKEN_HEADER,
    LoginCodes,
    SecurityError,
    host_ok,
    origin_ok,
    token_ok,
    validate_controls,
)
from foleyvae.studio.server import ServerLimits, uvicorn_config
from foleyvae.studio.session import (
    SAMPLE_LIBRARY,
    ModelCatalog,
    ModelEntry,
    PageStream,
    SessionFolder,
    apply_controls,
    check_block_size,
    ffmpeg_path,
    latent_std,
    material_choices,
    model_card,
)
from foleyvae.studio.uploads import mux_request, receive_file

__all__ = ["StudioConfig", "Studio", "create_app", "serve_in_thread", "STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_RENDER_SECONDS = 600.0
MAX_WS_MESSAGE = 1 << 20


@dataclass
class StudioConfig:
    """How one studio server runs. ``session_dir`` gets uploads/, takes/, renders/ (presets/ beside it)."""

    token: str
    session_dir: Path
    host: str = "127.0.0.1"
    runs_dir: Path | None = None
    model_dirs: list[Path] = field(default_factory=list)
    extra_models: list[ModelEntry] = field(default_factory=list)
    default_model: str | None = None  # model id or name to open at start
    library: Path = SAMPLE_LIBRARY
    max_upload_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 2 * 1024 * 1024 * 1024
    default_block_size: int = 1024
    upload_limits: DecodeLimits = field(default_factory=DecodeLimits)  # duration/channels/rate of uploads
    max_json_bytes: int = MAX_JSON_BYTES
    max_json_depth: int = MAX_JSON_DEPTH
    max_take_seconds: float = 300.0  # a live take is closed at this length (it is held in memory until then)
    server: ServerLimits = field(default_factory=ServerLimits)  # header/idle timeouts, connection cap
    test_client_host: bool = False  # accept Host "testserver" (fastapi's TestClient): set by the tests only


class Studio:
    """Server-side state shared by the routes: the catalog, the open model, the session folder, the live page."""

    def __init__(self, cfg: StudioConfig) -> None:
        self.cfg = cfg
        self.catalog = ModelCatalog(cfg.runs_dir, cfg.model_dirs, cfg.extra_models)
        self.folder = SessionFolder(cfg.session_dir, cfg.library)
        self.model: StreamModel | None = None
        self.entry: ModelEntry | None = None
        self.model_version = 0
        self._render_model: tuple[int, StreamModel] | None = None
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self.live_owner: Any = None
        self.live: PageStream | None = None  # the live page's session (inspection by tests and benchmarks)
        self.connections: Any = None  # the server's ConnectionGuard once served (studio.server; tests read it)
        self.logins = LoginCodes()  # one-time codes for opening the browser without the token on its command line

    def open_model(self, model_id: str) -> dict[str, Any]:
        entry = self.catalog.get(model_id)
        model = entry.load()
        with self._lock:
            self.model, self.entry = model, entry
            self.model_version += 1
            self._render_model = None
        return model_card(model, entry)

    def open_default(self) -> None:
        want = self.cfg.default_model
        entries = self.catalog.entries()
        if not entries:
            return
        pick = entries[0]
        if want:
            match = [e for e in entries if want in (e.id, e.name) or e.name.startswith(want)]
            if not match:
                raise FoleyError(f"model {want!r} not found; available: {', '.join(e.name for e in entries)}")
            pick = match[0]
        self.open_model(pick.id)

    def card(self) -> dict[str, Any] | None:
        return model_card(self.model, self.entry) if self.model is not None else None

    def require_model(self) -> StreamModel:
        if self.model is None:
            raise SecurityError("no model is open; pick one in the Model panel")
        return self.model

    def render_model(self) -> StreamModel:
        """A second instance of the open model for offline work, so renders never disturb the live stream."""
        with self._lock:
            if self.entry is None:
                raise SecurityError("no model is open; pick one in the Model panel")
            if self._render_model is None or self._render_model[0] != self.model_version:
                self._render_model = (self.model_version, self.entry.load())
            return self._render_model[1]

    def state(self) -> dict[str, Any]:
        return {
            "model": self.card(),
            "models": [e.public() for e in self.catalog.entries()],
            "samples": [s.public() for s in self.folder.samples()],
            "takes": self.folder.takes(),
            "presets": self.folder.list_presets(),
            "capabilities": {"ffmpeg": ffmpeg_path() is not None},
            "limits": {
                "upload_bytes": self.cfg.max_upload_bytes,
                "video_bytes": self.cfg.max_video_bytes,
                "upload_seconds": self.cfg.upload_limits.max_seconds,
                "upload_channels": self.cfg.upload_limits.max_channels,
                "take_seconds": self.cfg.max_take_seconds,
            },
            "default_block_size": self.cfg.default_block_size,
            "controls": control_spec.as_json(),  # the page builds its control sliders from the one spec
        }

    # offline work ----------------------------------------------------------------------------------------
    def _load_sample(self, sample_id: str, model: StreamModel) -> np.ndarray:
        from dataclasses import replace


        s = self.folder.sample(sample_id)
        limits = replace(
            self.cfg.upload_limits, max_seconds=min(self.cfg.upload_limits.max_seconds, MAX_RENDER_SECONDS)
        )
        try:
            audio, _ = load(s.path, sample_rate=int(model.sample_rate), channels=int(model.channels), limits=limits)
        except AudioError as e:
            raise SecurityError(str(e).replace(str(s.path), s.name)) from None
        return audio

    def render(self, sample_id: str, controls: dict[str, Any], block_size: int) -> dict[str, Any]:
        """Apply ``controls`` (validated) to a whole sample -> a take record (kind ``render``)."""
        with self._render_lock:
            model = self.render_model()
            _check_block(block_size, model)
            audio = self._load_sample(sample_id, model)
            ctl = _controls_for(model, controls)
            wet = _render(model, audio, block_size, ctl)
            meta = {"model": model.name, "source": sample_id, "controls": controls, "block_size": block_size}
            return self.folder.save_take(audio, wet, int(model.sample_rate), meta, prefix="render")

    def mix(self, a: str, b: str, alpha: float) -> dict[str, Any]:
        """Latent mix of two samples (``alpha`` 0 = a, 1 = b) -> a take record (kind ``mix``)."""
        with self._render_lock:
            model = self.render_model()
            xa, xb = self._load_sample(a, model), self._load_sample(b, model)
            wet = _mix(model, xa, xb, alpha)
            meta = {"model": model.name, "source": f"{a} x {b}", "alpha": alpha}
            return self.folder.save_take(
                np.zeros((xa.shape[0], 0), np.float32), wet, int(model.sample_rate), meta, "mix"
            )


def _check_block(block_size: int, model: StreamModel) -> None:
    check_block_size(block_size)


def _controls_for(model: StreamModel, controls: dict[str, Any]) -> Any:

    holder = SimpleNamespace(controls=Controls(int(model.latent_size)))
    apply_controls(holder, controls, latent_std(model), material_choices(model))
    return holder.controls


def _render(model: StreamModel, audio: np.ndarray, block_size: int, controls: Any) -> np.ndarray:
    """``[C, T]`` -> ``[C, T]`` through the engine (``inference.render``: resets the model before and after)."""

    return np.asarray(render(model, audio, block_size, controls), np.float32)


def _mix(model: StreamModel, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Latent mix of ``a`` and ``b`` ``[C, T]`` (``inference.mixing.mix``; onsets aligned)."""

    model.reset()
    try:
        return np.asarray(mix(model, a, b, alpha), np.float32)
    finally:
        model.reset()


# ------------------------------------------------------------------------------------------------- the app


def _static_files() -> dict[str, tuple[Path, str]]:
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
    out = {}
    for p in STATIC_DIR.iterdir():
        if p.is_file() and p.suffix in types:
            out[p.name] = (p, types[p.suffix])
    return out


def create_app(cfg: StudioConfig, studio: Studio | None = None) -> FastAPI:
    """The FastAPI application for one studio session (``studio`` is created from ``cfg`` when not given)."""
    st = studio or Studio(cfg)
    app = FastAPI(title="Foley-VAE Studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = st
    statics = _static_files()

    def err(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

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
            return err(401, "missing session token: open the URL the studio printed")
        if not token_ok(given, cfg.token):
            return err(403, "wrong session token")
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

    async def json_body(request: Request) -> Any:
        return await read_json(request, cfg.max_json_bytes, cfg.max_json_depth)

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> JSONResponse:
        return err(exc.status, exc.message)

    # ------------------------------------------------------------------------------------------- page
    @app.get("/login")
    async def login() -> Response:  # with a valid ?code= the guard has answered already; with the token: the page
        return RedirectResponse(f"/?token={cfg.token}", status_code=303)

    @app.get("/")
    async def index(request: Request) -> HTMLResponse:
        token = html.escape(cfg.token, quote=True)
        text = (STATIC_DIR / "index.html").read_text().replace("{{TOKEN}}", token)
        return HTMLResponse(text)

    @app.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in statics:
            return err(404, "not found")
        path, ctype = statics[name]
        return Response(path.read_bytes(), media_type=ctype)

    # ------------------------------------------------------------------------------------------- api
    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return st.state()

    @app.get("/api/models")
    def models() -> list[dict[str, str]]:
        return [e.public() for e in st.catalog.entries()]

    @app.get("/api/model")
    def get_model() -> Any:
        return st.card()

    @app.post("/api/model")
    async def post_model(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise SecurityError('expected {"id": MODEL_ID}')
        return await asyncio.to_thread(st.open_model, body["id"])

    @app.get("/api/samples")
    def samples() -> list[dict[str, str]]:
        return [s.public() for s in st.folder.samples()]

    @app.get("/api/samples/{sample_id}.wav")
    def sample_audio(sample_id: str) -> Any:  # the sample table lists only regular files, no symlinks
        s = st.folder.sample(sample_id)
        return FileResponse(s.path, media_type="audio/wav" if s.path.suffix == ".wav" else "application/octet-stream")

    @app.post("/api/upload")
    async def upload(request: Request, name: str = "upload.wav") -> Any:

        target = st.folder.new_upload_path(name)
        await receive_file(request, target, cfg.max_upload_bytes, ("audio/", "application/octet-stream"))
        try:  # decoded block by block and thrown away: only the limits and the decodability are checked here
            await asyncio.to_thread(validate, target, cfg.upload_limits)
        except AudioError as e:
            target.unlink(missing_ok=True)
            clean = target.name.split("-", 1)[-1]
            return err(400, str(e).replace(str(target), clean))
        sid = f"up-{target.stem}"
        return {"id": sid, "name": target.name.split("-", 1)[-1], "source": "upload"}

    @app.post("/api/render")
    async def render(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("sample"), str):
            raise SecurityError('expected {"sample": SAMPLE_ID, "controls": {...}}')
        model = st.require_model()
        labels = sorted(material_choices(model))
        controls = validate_controls(body.get("controls") or {}, int(model.latent_size), labels)
        block = body.get("block_size", cfg.default_block_size)
        if isinstance(block, bool) or not isinstance(block, int):
            raise SecurityError("block_size must be an integer")
        return await asyncio.to_thread(st.render, body["sample"], controls, block)

    @app.post("/api/mix")
    async def mix(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("a", "b")):
            raise SecurityError('expected {"a": SAMPLE_ID, "b": SAMPLE_ID, "alpha": 0..1}')
        alpha = body.get("alpha", 0.5)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
            raise SecurityError("alpha must be a number in [0, 1]")
        return await asyncio.to_thread(st.mix, body["a"], body["b"], float(alpha))

    @app.get("/api/takes")
    def takes() -> list[dict[str, Any]]:
        return st.folder.takes()

    @app.get("/api/takes/{take_id}/{which}.wav")
    def take_audio(take_id: str, which: str) -> Any:
        p = st.folder.take_file(take_id, which)
        return FileResponse(p, media_type="audio/wav", filename=f"{take_id}-{which}.wav")

    @app.post("/api/takes/{take_id}/mux")
    async def mux(request: Request, take_id: str, name: str = "video.mp4") -> Any:
        if ffmpeg_path() is None:
            return err(501, "ffmpeg is not installed on the studio's machine: export the WAV and mux it yourself")
        return await mux_request(request, st.folder, take_id, name, cfg.max_video_bytes)

    @app.get("/api/presets")
    def presets() -> list[str]:
        return st.folder.list_presets()

    @app.get("/api/presets/{name}")
    def get_preset(name: str) -> Any:
        data = st.folder.read_preset(name)
        if isinstance(data, dict):  # presets saved before a control was renamed load under its name now
            data = {control_spec.LEGACY_NAMES.get(k, k): v for k, v in data.items()}
        return err(404, f"no preset {name!r}") if data is None else data

    @app.post("/api/presets/{name}")
    async def save_preset(request: Request, name: str) -> Any:
        body = await json_body(request)
        model = st.require_model()
        labels = sorted(material_choices(model))
        clean = validate_controls(body, int(model.latent_size), labels)
        return {"name": st.folder.write_preset(name, clean), "controls": clean}

    # ------------------------------------------------------------------------------------------- live
    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        headers = websocket.headers
        given = websocket.query_params.get("token") or headers.get(TOKEN_HEADER)
        if (
            not token_ok(given, cfg.token)
            or not origin_ok(headers.get("origin"), headers.get("host"))
            or not host_ok(headers.get("host"), cfg.host, None, extra_hosts)
        ):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        old, st.live_owner = st.live_owner, websocket
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close(code=4000, reason="another page took over the live stream")
        live: PageStream | None = None
        version = -1

        async def send(msg: dict[str, Any]) -> None:
            await websocket.send_text(json.dumps(msg))

        try:
            while True:
                # Yield to the event loop between messages: with a backlog, receive() returns without suspending,
                # so a page flooding controls would otherwise starve every other request until it stops sending.
                await asyncio.sleep(0)
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data, text = message.get("bytes"), message.get("text")
                try:
                    if data is not None:
                        if len(data) > MAX_WS_MESSAGE:
                            raise SecurityError("audio frame too large")
                        if live is None:
                            raise SecurityError('send {"type": "start"} before audio')
                        if version != st.model_version and st.model is not None:
                            take = await asyncio.to_thread(live.finish_take)
                            if take:
                                await send({"type": "take", "take": take})
                            live = _live(st, st.model, live.block_size)
                            st.live = live
                            version = st.model_version
                            await send({"type": "model", "model": st.card(), "latency_ms": _latency(live)})
                            continue
                        reply, stats, take = await asyncio.to_thread(live.process_frame, data)
                        await websocket.send_bytes(reply)
                        if stats:
                            await send(stats)
                        if take:
                            await send({"type": "take", "take": take})
                        continue
                    if text is None or len(text) > 64 * 1024:
                        raise SecurityError("message too large")
                    msg = parse_json(text, cfg.max_json_depth, "message")
                    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                        raise SecurityError('message needs a "type"')
                    kind = msg["type"]
                    if kind == "start":
                        model = st.require_model()
                        block = msg.get("block_size", cfg.default_block_size)
                        if isinstance(block, bool) or not isinstance(block, int):
                            raise SecurityError("block_size must be an integer")
                        if live is not None:
                            await asyncio.to_thread(live.finish_take)
                        previous = dict(live.state) if live is not None else {}
                        live = _live(st, model, block)
                        st.live = live
                        version = st.model_version
                        if previous:
                            with contextlib.suppress(FoleyError):
                                live.set_controls(validate_controls(previous, model.latent_size, live.labels))
                        await send(
                            {
                                "type": "ready",
                                "block_size": block,
                                "sample_rate": int(model.sample_rate),
                                "channels": int(model.channels),
                                "latency_ms": _latency(live),
                                "model": st.card(),
                            }
                        )
                    elif kind == "controls":
                        if live is None:
                            raise SecurityError('send {"type": "start"} first')
                        upd = validate_controls(msg, int(live.model.latent_size), live.labels)
                        live.set_controls(upd)
                    elif kind == "record":
                        if live is None:
                            raise SecurityError('send {"type": "start"} first')
                        if msg.get("on"):
                            vt = msg.get("video_time", 0.0)
                            if isinstance(vt, bool) or not isinstance(vt, (int, float)) or not 0 <= vt < 1e6:
                                raise SecurityError("video_time must be a number of seconds >= 0")
                            src = msg.get("source", "live")
                            live.arm_record({"video_time": float(vt), "source": str(src)[:40]})
                        else:
                            take = await asyncio.to_thread(live.finish_take)
                            if take:
                                await send({"type": "take", "take": take})
                    elif kind == "reset":
                        if live is not None:
                            live.model.reset()
                    elif kind == "ping":
                        await send({"type": "pong", "t": msg.get("t"), "server_time": time.time()})
                    else:
                        raise SecurityError(f"unknown message type {kind[:40]!r}")
                except FoleyError as e:
                    await send({"type": "error", "message": str(e)})
                except (ValueError, TypeError, RuntimeError) as e:  # a model or engine failure: report, keep going
                    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
                    await send({"type": "error", "message": f"processing failed: {first}"})
        except WebSocketDisconnect:
            pass
        finally:
            if live is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(live.finish_take)
            if st.live_owner is websocket:
                st.live_owner = None

    return app


def _live(st: Studio, model: StreamModel, block: int) -> PageStream:
    entry_id = st.entry.id if st.entry else None
    return PageStream(model, block, st.folder, entry_id, max_take_seconds=st.cfg.max_take_seconds)


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


def _latency(live: PageStream) -> float:
    v = getattr(live.engine, "latency_ms", None)
    if v is None:
        return round(1000.0 * (live.block_size + live.model.delay_samples) / live.model.sample_rate, 2)
    return round(float(v), 2)


@contextlib.contextmanager
def serve_in_thread(cfg: StudioConfig, studio: Studio | None = None) -> Any:
    """Run the studio with uvicorn in a background thread on a free port (tests, benchmarks).

    Yields the page URL (token included); the server stops when the block exits.
    """
    import socket

    import uvicorn

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
