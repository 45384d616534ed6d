"""The studio's state behind the web page: model catalog, session folder, live engine, takes, renders.

Nothing here knows HTTP: ``routes`` and ``ws`` map HTTP routes and WebSocket messages onto these objects, and the
tests drive them directly. Clients name everything (models, samples, takes, presets) by ids that this module made;
ids map to paths through server-side tables, so no client string ever becomes a path.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foleyvae.audio.io import AUDIO_EXTENSIONS, AudioError, load, save
from foleyvae.errors import FoleyError
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.mixing import material_table
from foleyvae.inference.takes import TakeAligner
from foleyvae.playable.protocol import StreamModel
from foleyvae.studio.security import SecurityError, check_id, inside, private_file, safe_name
from foleyvae.studio.video import VIDEO_SUFFIXES, ffmpeg_path, mux_take
from foleyvae.utils.atomic import atomic_write_text

__all__ = [
    "FRAME_HEADER",
    "FLAG_RECORD",
    "FLAG_SPLIT",
    "ModelEntry",
    "ModelCatalog",
    "SessionFolder",
    "PageStream",
    "model_card",
    "latent_std",
    "apply_controls",
    "VIDEO_SUFFIXES",
    "ffmpeg_path",
    "check_block_size",
    "mux_take",
]

# Binary WebSocket frame: little-endian u32 seq, u32 flags, f64 client time (ms), then float32 samples
# [C * n] channel-planar. The reply echoes the header so the page can measure the round trip per block.
FRAME_HEADER = struct.Struct("<IId")
FLAG_RECORD = 1
# With FLAG_RECORD: this block starts a new take (a loop pass): the take being recorded closes before it, and the
# new one takes the metadata armed last (the page sends ``record`` with the pass's picture time just before).
FLAG_SPLIT = 2
SAMPLE_LIBRARY = Path(__file__).resolve().parent.parent / "assets" / "samples"


# ------------------------------------------------------------------------------------------------- models


@dataclass
class ModelEntry:
    """One model the page may pick. ``load`` opens it (a fresh instance per call)."""

    id: str
    name: str
    source: str  # "bundled" | "run" | "file" | "demo"
    description: str
    load: Callable[[], StreamModel] = field(repr=False)

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "source": self.source, "description": self.description}


def _loader() -> Any:
    """The export loader module, or None while it is not installed in this tree."""
    try:
        import importlib

        return importlib.import_module("foleyvae.export.loader")
    except ImportError:
        return None


class ModelCatalog:
    """Bundled models, exported files in run folders, ``.ts`` files under allowed folders, plus extra entries.

    Args:
        runs_dir: folder of training runs (``./runs``); ``.ts`` files up to 3 levels below are listed.
        model_dirs: further folders whose ``.ts`` files may be opened.
        extra: entries added by the caller (the random-weights demo model, test models).
    """

    def __init__(self, runs_dir: Path | None, model_dirs: list[Path], extra: list[ModelEntry] | None = None) -> None:
        self.runs_dir = runs_dir
        self.model_dirs = list(model_dirs)
        self.extra = list(extra or [])
        self._entries: dict[str, ModelEntry] = {}

    def entries(self) -> list[ModelEntry]:
        """Rescan and return every entry (ids are stable for the same files)."""
        found: list[ModelEntry] = []
        loader = _loader()
        if loader is not None:
            try:
                names = list(loader.list_bundled())
            except Exception:  # a broken bundle must not take the page down
                names = []
            for name in names:
                found.append(
                    ModelEntry(f"bundled-{name}", str(name), "bundled", "bundled model", _bundled_loader(name))
                )
        if self.runs_dir is not None and self.runs_dir.is_dir():
            for d in sorted(self.runs_dir.iterdir()):
                if d.is_dir() and (d / "config.yaml").is_file() and (d / "checkpoints").is_dir():
                    rid = f"run-{uuid.uuid5(uuid.NAMESPACE_URL, str(d.resolve())).hex[:12]}"
                    found.append(ModelEntry(rid, d.name, "run", f"training run {d.name} (in memory)", _file_loader(d)))
        roots = [(self.runs_dir, "run")] if self.runs_dir is not None else []
        roots += [(d, "file") for d in self.model_dirs]
        seen: set[Path] = set()
        for root, kind in roots:
            if root is None or not root.is_dir():
                continue
            for p in sorted(_find_ts(root, depth=3)):
                rp = p.resolve()
                if rp in seen or not inside(root, p):
                    continue
                seen.add(rp)
                rel = p.relative_to(root).as_posix()
                mid = f"{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, str(rp)).hex[:12]}"
                found.append(ModelEntry(mid, rel, kind, f"{root.name}/{rel}", _file_loader(rp)))
        found += self.extra
        self._entries = {e.id: e for e in found}
        return found

    def get(self, model_id: str) -> ModelEntry:
        check_id(model_id, "model id")
        if model_id not in self._entries:
            self.entries()
        if model_id not in self._entries:
            raise SecurityError(f"unknown model {model_id!r}")
        return self._entries[model_id]


def _find_ts(root: Path, depth: int) -> list[Path]:
    """``.ts`` files under ``root`` (``depth`` levels); hidden names are skipped: ``.tmp-*`` is an export in flight
    or the remains of a killed one (see foleyvae.utils.atomic), not a model."""
    out: list[Path] = []
    try:
        for p in root.iterdir():
            if p.name.startswith("."):
                continue
            if p.is_file() and p.suffix == ".ts":
                out.append(p)
            elif p.is_dir() and depth > 1:
                out += _find_ts(p, depth - 1)
    except OSError:
        pass
    return out


def _load(what: str | Path) -> StreamModel:
    loader = _loader()
    if loader is None:
        raise FoleyError("the model loader (foleyvae.export.loader) is not available in this installation")
    model: StreamModel = loader.load_model(what)
    return model


def _bundled_loader(name: str) -> Callable[[], StreamModel]:
    return functools.partial(_load, name)  # picklable: the native route's engine process loads it too


def _file_loader(path: Path) -> Callable[[], StreamModel]:
    return functools.partial(_load, path)


def latent_std(model: StreamModel) -> np.ndarray:
    """Per-PCA-dim std of the training latents ``[latent_size]`` (slider unit); ones when unknown."""
    k = int(model.latent_size)
    for key in ("latent_std", "pca_std", "std"):
        v = model.metadata.get(key)
        if isinstance(v, (list, tuple)) and len(v) >= k:
            a = np.asarray(v[:k], np.float64)
            if np.all(np.isfinite(a)) and np.all(a > 0):
                return a
    v2 = getattr(model, "pca_std", None)
    if v2 is not None:
        a = np.asarray(v2, np.float64).reshape(-1)[:k]
        if a.size == k and np.all(np.isfinite(a)) and np.all(a > 0):
            return a
    return np.ones(k, np.float64)


def _explained(model: StreamModel) -> list[float]:
    """Explained-variance ratio per PCA dim (from the cumulative ``fidelity`` curve); empty when unknown."""
    fid = model.metadata.get("fidelity")
    if not isinstance(fid, (list, tuple)) or not fid:
        return []
    f = [float(x) for x in fid]
    return [f[0]] + [max(0.0, f[i] - f[i - 1]) for i in range(1, len(f))]


def _card_data(md: dict[str, Any]) -> tuple[Any, Any]:
    """(training data, licences) from the metadata or the bundled card.json (``card.data.corpora``)."""
    raw = md.get("card")
    card: dict[str, Any] = raw if isinstance(raw, dict) else {}
    data = md.get("training_data") or md.get("dataset")
    lic = md.get("licences") or md.get("licenses") or md.get("license")
    corpora = (card.get("data") or {}).get("corpora") if isinstance(card.get("data"), dict) else None
    if isinstance(corpora, list) and corpora:
        if data is None:
            data = "; ".join(
                f"{c.get('corpus', '?')} ({c.get('package') or ''} {c.get('version') or ''}, "
                f"{c.get('files', '?')} files)"
                for c in corpora
                if isinstance(c, dict)
            )
        if lic is None:
            merged: dict[str, Any] = {}
            for c in corpora:
                if isinstance(c, dict) and isinstance(c.get("licences"), dict):
                    for k, v in c["licences"].items():
                        merged[k] = merged.get(k, 0) + v if isinstance(v, int) else v
            lic = merged or None
    if data is None and md.get("credits"):
        data = "; ".join(str(c) for c in md["credits"])
    return data, lic


def model_card(model: StreamModel, entry: ModelEntry | None = None) -> dict[str, Any]:
    """What the page shows about a model (JSON-safe)."""
    md = model.metadata
    raw_card = md.get("card")
    card_json: dict[str, Any] = raw_card if isinstance(raw_card, dict) else {}
    training_data, licences = _card_data(md)
    sr = int(model.sample_rate)
    card = {
        "id": entry.id if entry else None,
        "name": model.name,
        "source": entry.source if entry else None,
        "sample_rate": sr,
        "channels": int(model.channels),
        "hop_length": int(model.hop_length),
        "latent_size": int(model.latent_size),
        "delay_samples": int(model.delay_samples),
        "latency_ms": round(1000.0 * model.delay_samples / sr, 2),
        "explained": _explained(model)[: int(model.latent_size)],
        "latent_std": latent_std(model).tolist(),
        "materials": material_choices(model),
        "material_channels": [str(n) for n in md.get("material_conditioning") or []],
        "material_groups": material_groups(model),
        "training_data": training_data,
        "licences": licences,
        "version": md.get("version") or md.get("foleyvae_version"),
        "description": md.get("description") or card_json.get("description") or (entry.description if entry else ""),
        "card_md": str(md.get("card_md") or "")[:20000],
    }
    return json.loads(json.dumps(card, default=str))


# -------------------------------------------------------------------------------------------- the folder


@dataclass
class Sample:
    id: str
    name: str
    path: Path
    source: str  # "library" | "upload"

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "source": self.source}


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a folder only its owner can enter: 0700, whatever the umask."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def make_private(path: Path) -> Path:
    """A file the studio wrote -> mode 0600 (recordings and uploads are nobody else's business)."""
    os.chmod(path, 0o600)
    return path


class SessionFolder:
    """Everything the studio writes for one run of ``foleyvae studio``: uploads/, takes/, renders/, videos/,
    and presets/ (shared by sessions, in the parent work folder).

    Folders are 0700 and files 0600. Files are served only when they are regular files inside their folder,
    reached without a symlink: a link planted in the session folder is never followed.
    """

    def __init__(self, root: Path, library: Path = SAMPLE_LIBRARY) -> None:
        self.root = root
        self.library = library
        if not root.parent.exists():
            private_dir(root.parent)
        for sub in ("", "uploads", "takes", "renders"):
            private_dir(root / sub)
        self.presets = private_dir(root.parent / "presets")
        self._lock = threading.Lock()

    # samples -----------------------------------------------------------------------------------------
    def samples(self) -> list[Sample]:

        out: list[Sample] = []
        if self.library.is_dir():
            for p in sorted(self.library.iterdir()):
                if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS:
                    out.append(Sample(f"lib-{p.stem}", p.name, p, "library"))
        uploads = self.root / "uploads"
        for p in sorted(uploads.iterdir()):
            if private_file(uploads, p) and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith("."):
                out.append(Sample(f"up-{p.stem}", p.name.split("-", 1)[-1], p, "upload"))
        return out

    def sample(self, sample_id: str) -> Sample:
        check_id(sample_id, "sample id")
        for s in self.samples():
            if s.id == sample_id:
                return s
        raise SecurityError(f"unknown sample {sample_id!r}")

    def new_upload_path(self, client_name: str) -> Path:

        name = safe_name(client_name, AUDIO_EXTENSIONS, "upload")
        return self.root / "uploads" / f"{uuid.uuid4().hex[:8]}-{name}"

    # takes -------------------------------------------------------------------------------------------
    def new_take_dir(self, prefix: str = "take") -> Path:
        with self._lock:
            base = self.root / ("takes" if prefix == "take" else "renders")
            n = 1 + sum(1 for p in base.iterdir() if p.is_dir())
            while (base / f"{prefix}-{n:03d}").exists():
                n += 1
            d = base / f"{prefix}-{n:03d}"
            d.mkdir(mode=0o700)
            os.chmod(d, 0o700)
            return d

    def takes(self) -> list[dict[str, Any]]:
        found = []
        for base in (self.root / "takes", self.root / "renders"):
            for d in base.iterdir():
                meta = d / "meta.json"
                if not d.is_symlink() and d.is_dir() and private_file(d, meta):
                    try:
                        found.append((meta.stat().st_mtime_ns, d.name, json.loads(meta.read_text())))
                    except (ValueError, OSError):
                        continue
        return [rec for _, _, rec in sorted(found, key=lambda t: (t[0], t[1]))]  # oldest first

    def take_dir(self, take_id: str) -> Path:
        check_id(take_id, "take id")
        for base in (self.root / "takes", self.root / "renders"):
            d = base / take_id
            if not d.is_symlink() and d.is_dir() and inside(base, d) and private_file(d, d / "meta.json"):
                return d
        raise SecurityError(f"unknown take {take_id!r}")

    def take_file(self, take_id: str, which: str) -> Path:
        if which not in ("wet", "dry"):
            raise SecurityError("which must be 'wet' or 'dry'")
        d = self.take_dir(take_id)
        p = d / f"{which}.wav"
        if not private_file(d, p):
            raise SecurityError(f"take {take_id} has no {which} recording")
        return p

    def save_take(
        self, dry: np.ndarray, wet: np.ndarray, sample_rate: int, meta: dict[str, Any], prefix: str = "take"
    ) -> dict[str, Any]:
        """Write ``dry.wav``/``wet.wav`` (``[C, T]``) and ``meta.json``; returns the take's public record."""

        d = self.new_take_dir(prefix)
        if dry.size:
            make_private(save(d / "dry.wav", dry, sample_rate, subtype="PCM_24"))
        make_private(save(d / "wet.wav", wet, sample_rate, subtype="PCM_24"))
        return self._write_take_meta(d, prefix, sample_rate, wet.shape[-1], bool(dry.size), meta)

    def adopt_take(self, d: Path, meta: dict[str, Any]) -> dict[str, Any] | None:
        """List a take that something else recorded into ``d`` (a :meth:`new_take_dir`: ``wet.wav`` and perhaps
        ``dry.wav``, the native route's float WAVs): rewritten as 24-bit PCM like the page's takes, then its
        ``meta.json``. None when nothing was recorded (the folder is removed)."""
        wet_p, dry_p = d / "wet.wav", d / "dry.wav"
        try:
            wet, sr = load(wet_p)
            dry = load(dry_p)[0] if dry_p.is_file() else None
        except AudioError:  # none written (the device never started) or zero length (stopped at once)
            with contextlib.suppress(OSError):
                for p in d.iterdir():
                    p.unlink()
                d.rmdir()
            return None
        has_dry = dry is not None
        if dry is not None:
            make_private(save(dry_p, dry, sr, subtype="PCM_24"))
        make_private(save(wet_p, wet, sr, subtype="PCM_24"))
        return self._write_take_meta(d, "take", sr, wet.shape[-1], has_dry, meta)

    def _write_take_meta(
        self, d: Path, prefix: str, sample_rate: int, frames: int, has_dry: bool, meta: dict[str, Any]
    ) -> dict[str, Any]:
        record = {
            "id": d.name,
            "kind": prefix,
            "sample_rate": sample_rate,
            "duration": round(frames / sample_rate, 3),
            "has_dry": has_dry,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            **meta,
        }
        atomic_write_text(d / "meta.json", json.dumps(record, indent=1))
        make_private(d / "meta.json")
        return record

    # presets -----------------------------------------------------------------------------------------
    def preset_path(self, name: str) -> Path:
        stem = safe_name(f"{name}.json", (".json",), "preset")
        return self.presets / stem

    def read_preset(self, name: str) -> Any:
        """The preset's JSON, or None when there is none (a symlink planted in presets/ counts as none)."""
        p = self.preset_path(name)
        if not private_file(self.presets, p):
            return None
        try:
            return json.loads(p.read_text())
        except (ValueError, OSError):
            raise SecurityError(f"preset {p.stem!r} is not readable JSON; save it again") from None

    def preset_exists(self, name: str) -> bool:
        return private_file(self.presets, self.preset_path(name))

    def write_preset(self, name: str, record: dict[str, Any]) -> str:
        """Write a preset file (``presets.preset_record``) atomically, mode 0600; replaces an existing one."""
        p = self.preset_path(name)
        atomic_write_text(p, json.dumps(record, indent=1))
        make_private(p)
        return p.stem

    def list_presets(self) -> list[str]:
        return sorted(p.stem for p in self.presets.glob("*.json") if private_file(self.presets, p))


# -------------------------------------------------------------------------------------------- live engine

MIN_BLOCK, MAX_BLOCK = 32, 16384


def check_block_size(block_size: object) -> int:
    """Any integer block in 32..16384 (a multiple of the hop length avoids the engine's FIFO latency)."""
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not MIN_BLOCK <= block_size <= MAX_BLOCK:
        raise SecurityError(f"block size must be an integer in {MIN_BLOCK}..{MAX_BLOCK}")
    return block_size


def _engine_class() -> Any:

    return StreamingEngine


def material_choices(model: StreamModel) -> list[str]:
    """The page's materials: short names (wood, metal...), then the labels no name gathers."""
    return material_table(model).choices()


def material_groups(model: StreamModel) -> list[dict[str, Any]]:
    """The page's material picker, grouped: the short names (``wood``: every ``*/wood`` label), then the labels no
    short name gathers, by category with their last part as the name (``footsteps/energy`` -> footsteps: energy).

    Each item: ``value`` (what ``towards`` sends), ``label`` (what the button says), ``title`` (the labels behind it).
    """
    table = material_table(model)
    names = table.names()
    groups: list[dict[str, Any]] = []
    if names:
        items = [{"value": n, "label": n, "title": ", ".join(labels)} for n, labels in names.items()]
        groups.append({"group": "materials", "items": items})
    by_category: dict[str, list[dict[str, str]]] = {}
    for label in table.choices():
        if label in names:
            continue
        category, _, short = label.rpartition("/")
        item = {"value": label, "label": short.replace("_", " "), "title": label}
        by_category.setdefault(category or "other", []).append(item)
    groups += [{"group": c, "items": items} for c, items in by_category.items()]
    return groups


def apply_controls(engine: Any, update: dict[str, Any], std: np.ndarray, steer: Callable[[str], np.ndarray]) -> None:
    """Apply a validated control update (see ``security.validate_controls``) to ``engine.controls``.

    steer: a material name or blend -> its steering offset ``[k]`` (``MaterialTable.steer`` of the model).

    Slider units: bias in stds of the PCA dim (the page's sliders span +-3 std), scale as a factor.
    """
    c = engine.controls
    if "bias" in update:
        c.set_biases({i: float(v) * float(std[i]) for i, v in enumerate(update["bias"])})
    if "scale" in update:
        c.set_scales(dict(enumerate(update["scale"])))
    if "temperature" in update:
        c.set_temperature(update["temperature"])
    if "freeze" in update:
        c.set_freeze(update["freeze"])
    if "input_gain_db" in update:
        c.set_input_gain_db(update["input_gain_db"])
    if "dry_wet" in update:
        c.set_dry_wet(update["dry_wet"])
    if "limiter" in update:
        c.set_limiter(update["limiter"])
    if "towards" in update:
        t = update["towards"]
        if t is None or t["amount"] == 0.0:
            if hasattr(c, "towards_amount"):
                c.towards_amount = 0.0
        else:
            # a name or a blend of names (validated against the same table by security.validate_controls)
            c.towards(steer(t["label"]), t["amount"])


class PageStream:
    """One page's live stream: a StreamingEngine on the model, the control state, and the take being recorded.

    ``process_frame`` takes a binary frame (header + float32 ``[C * n]``) and returns the reply frame; it is
    called from one worker thread at a time. Control updates arrive from the event loop thread.
    """

    STATS_EVERY_S = 0.04
    LIMIT_REACHED = "length limit"  # a take's ``stopped`` field when the server closed it at max_take_seconds

    def __init__(
        self,
        model: StreamModel,
        block_size: int,
        folder: SessionFolder,
        model_id: str | None = None,
        max_take_seconds: float = 600.0,
    ):
        check_block_size(block_size)
        self.model = model
        self.model_id = model_id
        self.block_size = int(block_size)
        self.channels = int(model.channels)
        self.folder = folder
        self.std = latent_std(model)
        self.materials = material_table(model)  # names and blends -> steering offsets
        model.reset()
        self.engine = _engine_class()(model, self.block_size)
        self.state: dict[str, Any] = {}
        self._take: _Take | None = None  # the take being recorded
        self._closing: list[_Take] = []  # stopped takes still owed their tail (the engine's latency) by the output
        self._finished: list[dict[str, Any]] = []  # saved takes not yet handed to the page
        self._armed_meta: dict[str, Any] = {}  # for the next take (arm_record), taken when it starts
        # A take lives in memory until it stops (~0.35 MB per second per channel, dry + wet): it is closed at this
        # length, and flagged frames after it are dropped until the page stops recording (or arms a new take).
        self.max_take_frames = max(1, int(max_take_seconds * float(model.sample_rate)))
        self._capped = False
        self._last_stats = 0.0
        self.blocks = 0
        self.proc_ms_max = 0.0

    @property
    def labels(self) -> list[str]:
        return sorted(self.materials.choices())

    def set_controls(self, update: dict[str, Any]) -> None:
        apply_controls(self.engine, update, self.std, self.materials.steer)
        self.state.update(update)

    def arm_record(self, meta: dict[str, Any]) -> None:
        """The next take (the next frames flagged FLAG_RECORD, or FLAG_SPLIT) starts with this metadata (video
        time, source...); a take already being recorded keeps its own."""
        self._armed_meta = dict(meta)
        self._capped = False

    def process_frame(self, frame: bytes) -> tuple[bytes, dict[str, Any] | None, dict[str, Any] | None]:
        """-> (reply frame, stats message or None, finished take record or None)."""
        n_bytes = len(frame) - FRAME_HEADER.size
        expect = 4 * self.channels * self.block_size
        if n_bytes != expect:
            raise SecurityError(f"audio frame: expected {expect} bytes of float32 after the header, got {n_bytes}")
        seq, flags, t_client = FRAME_HEADER.unpack_from(frame)
        x = np.frombuffer(frame, np.float32, offset=FRAME_HEADER.size).reshape(self.channels, self.block_size)
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        t0 = time.perf_counter()
        y = np.asarray(self.engine.process(np.ascontiguousarray(x)), np.float32)
        ms = 1000.0 * (time.perf_counter() - t0)
        self.blocks += 1
        self.proc_ms_max = max(self.proc_ms_max, ms)
        take = self._record(x, y, bool(flags & FLAG_RECORD), bool(flags & FLAG_SPLIT))
        reply = FRAME_HEADER.pack(seq, flags, t_client) + y.astype("<f4").tobytes()
        stats = None
        now = time.perf_counter()
        if now - self._last_stats >= self.STATS_EVERY_S:
            self._last_stats = now
            lat = getattr(self.engine, "last_latent", None)
            lat_list: list[float] = []
            if lat is not None:
                a = np.asarray(lat, np.float64)
                a = a.reshape(a.shape[-2], -1).mean(axis=-1) if a.ndim >= 2 else a.reshape(-1)
                lat_list = [round(float(v) / float(s), 4) for v, s in zip(a[:8], self.std[:8], strict=False)]
            stats = {
                "type": "stats",
                "seq": seq,
                "in_rms": _rms(x),
                "out_rms": _rms(y),
                "out_peak": float(np.abs(y).max()) if y.size else 0.0,
                "latent": lat_list,
                "proc_ms": round(ms, 3),
                "proc_ms_max": round(self.proc_ms_max, 3),
                "blocks": self.blocks,
                "recording": self._take is not None,
            }
        return reply, stats, take

    def _record(self, x: np.ndarray, y: np.ndarray, flagged: bool, split: bool = False) -> dict[str, Any] | None:
        """A block's input and output ``[C, n]`` -> the take being recorded (when ``flagged``) and the tails of the
        takes that stopped (each is owed the engine's latency of output after its last dry sample: a take stops at
        an unflagged block, at the length cap, or before a FLAG_SPLIT block, which starts the next take). Returns
        one take record when a take is complete and saved here."""
        if not flagged or split:
            self._stop_take()
            self._capped = False
        n = y.shape[1]
        for t in self._closing:  # this block's output carries the tails still owed
            a, b = t.aligner.wet_span(n)
            t.wet.append(y[:, a:b].copy())
        if flagged and not self._capped:
            if self._take is None:
                self._take = _Take(TakeAligner(self.latency_samples), self._armed_meta)
                self._armed_meta = {}
            t = self._take
            room = max(0, self.max_take_frames - t.aligner.dry_frames)
            t.dry.append(x[:, :room].copy())
            t.aligner.add_dry(min(room, n))
            if t.aligner.dry_frames >= self.max_take_frames:  # the cap: this block's output still feeds the take
                self._capped = True
                t.meta["stopped"] = self.LIMIT_REACHED
                t.aligner.stop()
            a, b = t.aligner.wet_span(n)
            t.wet.append(y[:, a:b].copy())
            if self._capped:
                self._stop_take()
        self._save_done()
        return self._finished.pop(0) if self._finished else None

    @property
    def latency_samples(self) -> int:
        """The engine's whole latency (its FIFO + the model's delay): the output lags the input by this much."""
        return int(getattr(self.engine, "latency_samples", self.model.delay_samples))

    def _stop_take(self) -> None:
        if self._take is not None:
            self._take.aligner.stop()
            self._closing.append(self._take)
            self._take = None

    def _save_done(self) -> None:
        while self._closing and self._closing[0].aligner.done:
            record = self._save(self._closing.pop(0))
            if record is not None:
                self._finished.append(record)

    def finish_take(self, end_of_stream: bool = True) -> list[dict[str, Any]]:
        """Close the take being recorded and those still owed a tail; -> the records of every take saved since the
        page last heard. ``end_of_stream``: this stream is over, so zeros go through the engine for the tails (what
        ``foleyvae live`` does at its end); else (the page stopped recording but plays on) a tail not yet come is
        padded with silence."""
        self._stop_take()
        zeros = np.zeros((self.channels, self.block_size), np.float32)
        process = self.engine.process
        for t in self._closing:
            if end_of_stream:
                t.wet += [np.array(tail, np.float32) for tail in t.aligner.flush(process, zeros)]
            else:
                t.aligner.give_up_tail()  # _save pads the wet track to the dry length
        self._save_done()
        done, self._finished = self._finished, []
        return done

    def _save(self, t: _Take) -> dict[str, Any] | None:
        """Write a complete take: dry and wet ``[C, T]``, wet already lined up with dry by the aligner."""
        c = self.channels
        dry = np.concatenate(t.dry, axis=1) if t.dry else np.zeros((c, 0), np.float32)
        wet = np.concatenate(t.wet, axis=1) if t.wet else np.zeros((c, 0), np.float32)
        if dry.shape[1] == 0:
            return None
        wet = wet[:, : dry.shape[1]]  # (the aligner never gives more; a tail given up gives less: silence)
        if wet.shape[1] < dry.shape[1]:
            wet = np.concatenate([wet, np.zeros((c, dry.shape[1] - wet.shape[1]), np.float32)], axis=1)
        meta = {
            "model": self.model.name,
            "model_id": self.model_id,
            "block_size": self.block_size,
            "aligned_by_samples": t.aligner.latency,
            "controls": dict(self.state),
            "video_time": float(t.meta.get("video_time", 0.0) or 0.0),
            "source": t.meta.get("source", "live"),
        }
        if "stopped" in t.meta:
            meta["stopped"] = t.meta["stopped"]
            meta["max_seconds"] = round(self.max_take_frames / float(self.model.sample_rate), 3)
        return self.folder.save_take(dry, wet, int(self.model.sample_rate), meta)


@dataclass
class _Take:
    """A take in memory: its aligner, the metadata armed for it, dry and wet blocks ``[C, n_i]``."""

    aligner: TakeAligner
    meta: dict[str, Any]
    dry: list[np.ndarray] = field(default_factory=list)
    wet: list[np.ndarray] = field(default_factory=list)


def _rms(x: np.ndarray) -> float:
    v = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return round(v, 6) if math.isfinite(v) else 0.0
