"""The studio's server-side state: :class:`StudioConfig` (how one server runs) and :class:`Studio` (the catalog, the
open model, the session folder, the live page, offline renders and mixes). Routes (``routes/``) and the live socket
(``ws``) receive a :class:`Studio`; nothing here knows HTTP.
"""

from __future__ import annotations

import collections
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
from foleyvae.studio.jobs import Job, JobQueue
from foleyvae.studio.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH
from foleyvae.studio.markdown import render_markdown
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
from foleyvae.studio.tabs import Tab, Tabs

__all__ = [
    "StudioConfig",
    "Studio",
    "STATIC_DIR",
    "MAX_RENDER_SECONDS",
    "MAX_WS_MESSAGE",
    "new_page_stream",
    "wait_job",
]

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
    max_upload_bytes: int = 2 * 1024 * 1024 * 1024  # streamed to disk: a 1-hour 48 kHz stereo 24-bit WAV is 1.04 GB
    max_video_bytes: int = 2 * 1024 * 1024 * 1024
    default_block_size: int = 1024
    upload_limits: DecodeLimits = field(default_factory=lambda: DecodeLimits(max_seconds=4 * 3600.0))  # of uploads
    max_json_bytes: int = MAX_JSON_BYTES
    max_json_depth: int = MAX_JSON_DEPTH
    max_take_seconds: float = 300.0  # a live take is closed at this length (it is held in memory until then)
    server: ServerLimits = field(default_factory=ServerLimits)  # header/idle timeouts, connection cap
    test_client_host: bool = False  # accept Host "testserver" (fastapi's TestClient): set by the tests only
    max_tabs: int = 16  # pages whose own model choice the server keeps (tabs.Tabs)


class Studio:
    """Server-side state shared by the routes: the catalog, each tab's model, the session folder, the live page,
    the job queue of offline work.

    ``model``/``entry``/``model_version`` are the default tab's (requests without a tab id: scripts, the API tests);
    a page sends its own tab id and gets its own model (``tabs``).
    """

    def __init__(self, cfg: StudioConfig) -> None:
        self.cfg = cfg
        self.catalog = ModelCatalog(cfg.runs_dir, cfg.model_dirs, cfg.extra_models)
        self.folder = SessionFolder(cfg.session_dir, cfg.library)
        self.start_entry: ModelEntry | None = None  # the model every new tab opens on
        self.tabs = Tabs(lambda: self.start_entry, cfg.max_tabs)
        self.jobs = JobQueue()
        self._render_models: collections.OrderedDict[str, StreamModel] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self.live_owner: Any = None  # the PageSocket that owns the live stream (ws)
        self.live: PageStream | None = None  # the live page's session (inspection by tests and benchmarks)
        self.connections: Any = None  # the server's ConnectionGuard once served (studio.server; tests read it)
        self.native: Any = None  # the native audio route (routes/native: studio.native.NativeRoute)
        self.logins = LoginCodes()  # one-time codes for opening the browser without the token on its command line
        self.remote = RemoteControls(self)  # OSC (``--osc-port``) -> the live stream and the page (studio.remote)

    # the default tab (compatibility: code and tests that know one studio-wide model)
    @property
    def model(self) -> StreamModel | None:
        return self.tabs.default.model

    @property
    def entry(self) -> ModelEntry | None:
        return self.tabs.default.entry

    @property
    def model_version(self) -> int:
        return self.tabs.default.version

    def tab(self, tab_id: str | None) -> Tab:
        """The tab ``tab_id`` (None: the default tab); the live owner's tab is never forgotten."""
        owner = getattr(self.live_owner, "tab_id", None)
        return self.tabs.get(tab_id, lambda t: t == owner)

    def open_model(self, model_id: str, tab_id: str | None = None) -> dict[str, Any]:
        """Open a model for one tab (None: the default tab) -> its card."""
        entry = self.catalog.get(model_id)
        model = entry.load()
        tab = self.tab(tab_id)
        tab.pick(entry, model)
        if tab is self.tabs.default and self.start_entry is None:
            self.start_entry = entry
        card = self.card(tab_id)
        assert card is not None  # the tab has just picked a model
        return card

    def open_default(self) -> None:
        """Open the start model: ``default_model``, else the bundled ``foley`` (the README's), else the first."""
        want = self.cfg.default_model
        entries = self.catalog.entries()
        if not entries:
            return
        pick = next((e for e in entries if e.id == "bundled-foley"), entries[0])
        if want:
            match = [e for e in entries if want in (e.id, e.name) or e.name.startswith(want)]
            if not match:
                raise FoleyError(f"model {want!r} not found; available: {', '.join(e.name for e in entries)}")
            pick = match[0]
        self.start_entry = pick
        self.open_model(pick.id)

    def card(self, tab_id: str | None = None) -> dict[str, Any] | None:
        tab = self.tab(tab_id)
        if tab.entry is None:
            return None
        card = model_card(tab.require_model(), tab.entry)
        card["card_html"] = render_markdown(card.get("card_md") or "")
        return card

    def require_model(self, tab_id: str | None = None) -> StreamModel:
        return self.tab(tab_id).require_model()

    def render_model(self, tab_id: str | None = None) -> StreamModel:
        """The offline instance of the tab's model, so renders never disturb a live stream."""
        return self._render_model_of(self._entry_of(tab_id))

    def state(self, tab_id: str | None = None) -> dict[str, Any]:
        return {
            "model": self.card(tab_id),
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
            "jobs": self.jobs.listing(),
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

    def _render_model_of(self, entry: ModelEntry) -> StreamModel:
        """The offline instance of ``entry``'s model (a few are kept, one per model)."""
        with self._lock:
            model = self._render_models.pop(entry.id, None) or entry.load()
            self._render_models[entry.id] = model
            while len(self._render_models) > 3:
                self._render_models.popitem(last=False)
            return model

    def _entry_of(self, tab_id: str | None) -> ModelEntry:
        entry = self.tab(tab_id).entry
        if entry is None:
            raise SecurityError("no model is open; pick one in the Model panel")
        return entry

    def submit_render(
        self, sample_id: str, controls: dict[str, Any], block_size: int, tab_id: str | None = None
    ) -> Job:
        """Queue a render of a whole sample with ``controls`` (validated) on the asking tab's model (its model at
        the time of asking) -> the job; its result is a take record (kind ``render``)."""
        check_block_size(block_size)
        entry = self._entry_of(tab_id)
        name = self.folder.sample(sample_id).name

        def work(job: Job) -> dict[str, Any]:
            with self._render_lock:
                model = self._render_model_of(entry)
                job.step(0, 1, "decoding")
                audio = self._load_sample(sample_id, model)
                ctl = _controls_for(model, controls)
                wet = _render(model, audio, block_size, ctl, job)
                meta = {"model": model.name, "source": sample_id, "controls": controls, "block_size": block_size}
                return self.folder.save_take(audio, wet, int(model.sample_rate), meta, prefix="render")

        return self.jobs.submit("render", f"render {name} with {entry.name}", work)

    def submit_mix(self, a: str, b: str, alpha: float, tab_id: str | None = None) -> Job:
        """Queue a latent mix of two samples (``alpha`` 0 = a, 1 = b) on the tab's model -> the job (kind ``mix``)."""
        entry = self._entry_of(tab_id)
        self.folder.sample(a), self.folder.sample(b)

        def work(job: Job) -> dict[str, Any]:
            with self._render_lock:
                model = self._render_model_of(entry)
                job.step(0, 1, "decoding")
                xa, xb = self._load_sample(a, model), self._load_sample(b, model)
                job.step(0, 1, "mixing")
                wet = _mix(model, xa, xb, alpha)
                meta = {"model": model.name, "source": f"{a} x {b}", "alpha": alpha}
                empty = np.zeros((xa.shape[0], 0), np.float32)
                return self.folder.save_take(empty, wet, int(model.sample_rate), meta, "mix")

        return self.jobs.submit("mix", f"mix of {a} and {b} with {entry.name}", work)

    def render(self, sample_id: str, controls: dict[str, Any], block_size: int) -> dict[str, Any]:
        """:meth:`submit_render` on the default tab, waited for -> the take record (scripts and tests)."""
        return wait_job(self.submit_render(sample_id, controls, block_size))

    def mix(self, a: str, b: str, alpha: float) -> dict[str, Any]:
        """:meth:`submit_mix` on the default tab, waited for -> the take record."""
        return wait_job(self.submit_mix(a, b, alpha))


def wait_job(job: Job, timeout_s: float = 3600.0) -> dict[str, Any]:
    """The result of a finished job, or its error as a SecurityError (one line)."""
    if not job.finished.wait(timeout_s):
        raise SecurityError(f"{job.kind} {job.id} is still running; see /api/jobs/{job.id}")
    if job.result is None:
        raise SecurityError(f"{job.kind} {job.state}: {job.error}")
    return job.result


def _controls_for(model: StreamModel, controls: dict[str, Any]) -> Any:
    holder = SimpleNamespace(controls=Controls(int(model.latent_size)))
    apply_controls(holder, controls, latent_std(model), material_table(model).steer)
    return holder.controls


def _render(model: StreamModel, audio: np.ndarray, block_size: int, controls: Any, job: Job) -> np.ndarray:
    """``[C, T]`` -> ``[C, T]`` through the engine (``inference.render``: resets the model before and after); each
    block reports progress to ``job`` and stops there once it is cancelled."""
    try:
        return np.asarray(render(model, audio, block_size, controls, on_block=job.step), np.float32)
    finally:
        model.reset()  # a cancelled render leaves the model mid-stream


def _mix(model: StreamModel, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Latent mix of ``a`` and ``b`` ``[C, T]`` (``inference.mixing.mix``; onsets aligned)."""
    model.reset()
    try:
        return np.asarray(mix(model, a, b, alpha), np.float32)
    finally:
        model.reset()


def new_page_stream(st: Studio, model: StreamModel, block: int, entry_id: str | None = None) -> PageStream:
    """A live page's stream on ``model`` (takes go to the session folder, capped at ``max_take_seconds``)."""
    return PageStream(model, block, st.folder, entry_id, max_take_seconds=st.cfg.max_take_seconds)
