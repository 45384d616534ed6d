"""Open any playable model as a :class:`~foleyvae.playable.protocol.StreamModel`.

:func:`load_model` accepts

(a) a Foley-VAE export (TorchScript with the ``foleyvae.json`` extra file, see :mod:`.nn_tilde`);
(b) a RAVE export made by ``rave export`` (nn~ methods ``encode``/``decode`` and their ``*_params`` buffers, the
    sample rate in ``sr`` or ``sampling_rate``; their streaming state lives inside the file);
(c) a training run folder (``config.yaml`` + ``checkpoints/``), opened in memory with
    :class:`~foleyvae.playable.adapters.EagerStreamModel`;
(d) the name of a bundled model, ``foleyvae/assets/<name>/model.ts`` (+ ``card.json`` / ``card.md``).

A TorchScript file is code: it runs whatever its author wrote. Every load logs a one-line warning saying so.
When ``<file>.sha256`` exists beside the file (our exporter writes it), the file's hash must match.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from foleyvae.checkpoints import load_run
from foleyvae.errors import FoleyError
from foleyvae.export.nn_tilde import EXTRA_FILE, quiet_jit
from foleyvae.export.spectral import RealLatentView, usable_latent
from foleyvae.models.spectral import MCLTComplexVAE
from foleyvae.playable.adapters import EagerStreamModel
from foleyvae.playable.protocol import StreamModel

__all__ = ["TorchScriptStreamModel", "assets_dir", "list_bundled", "load_model", "EXTRA_FILE"]

log = logging.getLogger(__name__)

_ZIP_MAGIC = b"PK\x03\x04"
_STATE_FLAGS = ("has_state", "has_analysis_state", "has_synthesis_state")  # see TorchScriptStreamModel.reset


def assets_dir() -> Path:
    """``foleyvae/assets``: one folder per bundled model."""
    return Path(__file__).resolve().parent.parent / "assets"


def list_bundled() -> list[str]:
    """Names of the bundled models (folders of ``assets/`` that hold a ``model.ts``)."""
    root = assets_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "model.ts").is_file())


class TorchScriptStreamModel:
    """A loaded TorchScript file (ours or RAVE's) behind the StreamModel interface.

    ``kind`` is ``"foleyvae"`` or ``"rave"``. ``reset()`` clears the streaming state in place, as the modules' own
    ``reset_state`` would (:mod:`foleyvae.nn.streaming`): our cache modules' ``has_state`` flags (the PQMF's
    ``has_analysis_state``/``has_synthesis_state``) go False, the noise synth's table ``position`` back to 0, and
    RAVE's cached-padding ``pad`` buffers are zeroed. Only a file with none of these is reloaded from the bytes read
    at load time: a reloaded TorchScript module recompiles on its first calls (120-190 ms each for foley-small,
    measured in the live soak), far longer than a block.
    RAVE files do not record their latency: ``delay_samples`` is 0 there and ``metadata["delay_known"]`` is False.
    """

    def __init__(
        self, data: bytes, name: str, kind: str, metadata: dict[str, Any], source: str, module: Any = None
    ) -> None:
        self._data = data
        self.kind = kind
        self.name = name
        self.source = source
        self.metadata = metadata
        self.module: Any = module if module is not None else self._load()
        enc = [int(v) for v in self.module.encode_params.tolist()]
        dec = [int(v) for v in self.module.decode_params.tolist()]
        self.channels = enc[0]
        self.latent_size = enc[2]
        self.hop_length = enc[3]
        if dec[0] != self.latent_size or dec[1] != self.hop_length:
            raise FoleyError(f"{source}: encode_params {enc} and decode_params {dec} disagree")
        self.sample_rate = int(metadata.get("sample_rate") or _attr(self.module, "sample_rate", "sr", "sampling_rate"))
        self.delay_samples = int(metadata.get("delay_samples", 0))
        self.full_latent_size = int(
            metadata.get("full_latent_size") or _attr(self.module, "full_latent_size", default=self.latent_size)
        )
        self.metadata.setdefault("delay_known", kind == "foleyvae")
        self._flags: list[tuple[Any, str]] = []
        self._positions: list[Any] = []
        self._pads: list[Tensor] = []
        self._find_state()

    def _find_state(self) -> None:
        """Collect what :meth:`reset` clears (see the class docstring)."""
        mods = list(self.module.modules())
        self._flags = [(m, f) for m in mods for f in _STATE_FLAGS if hasattr(m, f)]
        self._positions = [m for m in mods if hasattr(m, "position") and hasattr(m, "table")]
        self._pads = [b for n, b in self.module.named_buffers() if n == "pad" or n.endswith(".pad")]

    def _load(self) -> Any:
        with quiet_jit():
            return torch.jit.load(io.BytesIO(self._data), map_location="cpu")

    def encode(self, x: Tensor) -> Tensor:
        """x ``[B, C, n]`` -> ``[B, latent_size, n / hop_length]``."""
        with torch.no_grad():
            return self.module.encode(x)  # type: ignore[no-any-return]

    def decode(self, z: Tensor) -> Tensor:
        """z ``[B, latent_size, F]`` -> ``[B, C, F * hop_length]``."""
        with torch.no_grad():
            return self.module.decode(z)  # type: ignore[no-any-return]

    def forward(self, x: Tensor) -> Tensor:
        """The file's own ``forward`` (ours: decode(encode(x)) with the file's attributes)."""
        with torch.no_grad():
            return self.module.forward(x)  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Forget the stream's past (in place; see the class docstring)."""
        if self.metadata.get("stateless"):
            return  # clip models (the MCLT family) code every clip independently: nothing to forget
        if not (self._flags or self._positions or self._pads):
            self.module = self._load()
            self._find_state()
            return
        for m, flag in self._flags:
            setattr(m, flag, False)
        for m in self._positions:
            m.position = 0
        for b in self._pads:
            b.zero_()

    def methods(self) -> list[str]:
        return list(self.module.get_methods()) if hasattr(self.module, "get_methods") else ["encode", "decode"]

    def attributes(self) -> list[str]:
        return list(self.module.get_attributes()) if hasattr(self.module, "get_attributes") else []

    def get(self, attribute: str) -> Any:
        """``get_<attribute>()`` of the file (e.g. ``temperature``, ``latent_bias``)."""
        return getattr(self.module, f"get_{attribute}")()

    def set(self, attribute: str, *values: Any) -> None:
        """``set_<attribute>(*values)``; raises FoleyError if the file refuses the value."""
        if not hasattr(self.module, f"set_{attribute}"):
            raise FoleyError(f"{self.name}: no attribute {attribute!r} (has: {', '.join(self.attributes())})")
        rc = getattr(self.module, f"set_{attribute}")(*values)
        if isinstance(rc, int) and rc != 0:
            raise FoleyError(f"{self.name}: value {values!r} refused for attribute {attribute!r}")


def _attr(module: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if hasattr(module, n):
            v = getattr(module, n)
            return v() if callable(v) else v
    if default is None:
        raise FoleyError(f"the model file has none of the attributes {', '.join(names)}")
    return default


def _check_sha256(path: Path, data: bytes) -> None:
    side = path.with_name(path.name + ".sha256")
    if not side.is_file():
        return
    expected = side.read_text().split()[0].strip().lower() if side.read_text().strip() else ""
    if hashlib.sha256(data).hexdigest() != expected:
        raise FoleyError(f"{path}: checksum mismatch with {side.name}: the file is corrupted or was modified")


def load_file(path: str | Path, name: str | None = None, card: dict[str, Any] | None = None) -> TorchScriptStreamModel:
    """Open a TorchScript file (ours or a RAVE export)."""
    path = Path(path)
    if not path.is_file():
        raise FoleyError(f"{path}: no such model file")
    data = path.read_bytes()
    _check_sha256(path, data)
    if not data.startswith(_ZIP_MAGIC):
        raise FoleyError(f"{path}: not a TorchScript file (expected a zip archive made by torch.jit.save)")
    log.warning("loading %s: TorchScript files are code, only load files you trust", path)
    extra = {EXTRA_FILE: ""}
    try:
        with quiet_jit():
            module = torch.jit.load(io.BytesIO(data), map_location="cpu", _extra_files=extra)
    except Exception as e:  # torch raises RuntimeError/ValueError with multi-line messages
        first = next((ln for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
        raise FoleyError(f"{path}: cannot load as TorchScript (corrupted or incompatible file): {first}") from None
    for method in ("encode", "decode"):
        if not hasattr(module, method) or not hasattr(module, f"{method}_params"):
            raise FoleyError(f"{path}: not a playable model (no {method} method with {method}_params)")
    meta: dict[str, Any] = {}
    kind = "rave"
    if extra[EXTRA_FILE]:
        try:
            meta = json.loads(extra[EXTRA_FILE])
        except ValueError:
            raise FoleyError(f"{path}: embedded {EXTRA_FILE} is not valid JSON") from None
        kind = "foleyvae"
    else:
        meta = {"format": "rave", "source": str(path)}
    meta.update(card or {})
    return TorchScriptStreamModel(data, name or meta.get("name") or path.stem, kind, meta, str(path), module)


def _load_run(run_dir: Path) -> StreamModel:
    art = load_run(run_dir)
    meta: dict[str, Any] = {
        "format": "run",
        "name": art.config.name,
        "step": art.step,
        "credits": list(art.credits),
        "labels": sorted(art.latent.centroids) if art.latent is not None else [],
        "centroids": dict(art.latent.centroids) if art.latent is not None else {},
        "fidelity": list(art.latent.fidelity) if art.latent is not None else [],
        "config": art.config.to_dict(),
    }
    model: Any = art.model
    latent = art.latent

    if isinstance(model, MCLTComplexVAE):  # complex latent: played as real channels, as in its exported file
        model = RealLatentView(model)
        latent, _ = usable_latent(latent, model)
    return EagerStreamModel(model, latent, None, name=run_dir.name, metadata=meta)


def load_model(path_or_name: str | Path) -> StreamModel:
    """Open a model file, a run folder or a bundled model by name (see the module docstring)."""
    p = Path(path_or_name)
    if p.is_dir():
        if (p / "config.yaml").is_file() and (p / "checkpoints").is_dir():
            return _load_run(p)
        if (p / "model.ts").is_file():
            return load_file(p / "model.ts", name=p.name, card=_card(p))
        raise FoleyError(f"{p}: neither a run folder (config.yaml + checkpoints/) nor a model folder (model.ts)")
    if p.is_file():
        return load_file(p)
    name = str(path_or_name)
    if name in list_bundled():
        folder = assets_dir() / name
        return load_file(folder / "model.ts", name=name, card=_card(folder))
    bundled = ", ".join(list_bundled()) or "none installed"
    raise FoleyError(f"{name}: no such model file, run folder or bundled model (bundled: {bundled})")


def _card(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (folder / "card.json").is_file():
        try:
            out["card"] = json.loads((folder / "card.json").read_text())
        except ValueError:
            raise FoleyError(f"{folder / 'card.json'}: not valid JSON") from None
    if (folder / "card.md").is_file():
        out["card_md"] = (folder / "card.md").read_text()
    return out
