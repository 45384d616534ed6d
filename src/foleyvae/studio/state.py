"""The studio's server-side state: :class:`StudioConfig` (how one server runs) and :class:`Studio` (the catalog, the
open model, the session folder, the live page, offline renders and mixes). Routes (``routes/``) and the live socket
(``ws``) receive a :class:`Studio`; nothing here knows HTTP.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from foleyvae.audio.io import AudioError, DecodeLimits, load
from foleyvae.errors import FoleyError
from foleyvae.inference import control_spec
from foleyvae.inference.controls import Controls
from foleyvae.inference.mixing import material_table, mix
from foleyvae.inference.render import render
from foleyvae.playable.protocol import StreamModel
from foleyvae.studio.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH
from foleyvae.studio.remote import RemoteControls
from foleyvae.studio.security import LoginCodes, SecurityError
from foleyvae.studio.server import ServerLimits
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
    model_card,
)

__all__ = ["StudioConfig", "Studio", "STATIC_DIR", "MAX_RENDER_SECONDS", "MAX_WS_MESSAGE", "new_page_stream"]

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
        self.native: Any = None  # the native audio route (routes/native: studio.native.NativeRoute)
        self.logins = LoginCodes()  # one-time codes for opening the browser without the token on its command line
        self.remote = RemoteControls(self)  # OSC (``--osc-port``) -> the live stream and the page (studio.remote)

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
            **self.remote.public(),  # control_values (what plays now, whoever set it) and the OSC server's counters
        }

    # offline work ----------------------------------------------------------------------------------------
    def _load_sample(self, sample_id: str, model: StreamModel) -> np.ndarray:
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
    apply_controls(holder, controls, latent_std(model), material_table(model).steer)
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


def new_page_stream(st: Studio, model: StreamModel, block: int) -> PageStream:
    """A live page's stream on ``model`` (takes go to the session folder, capped at ``max_take_seconds``)."""
    entry_id = st.entry.id if st.entry else None
    return PageStream(model, block, st.folder, entry_id, max_take_seconds=st.cfg.max_take_seconds)
