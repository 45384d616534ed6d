"""The nn~ file format every export shares (ARCHITECTURE.md section 3, "nn~ contract"), below the model families.

:class:`NnTildeBase` (``*_params`` buffers, labels, attributes, the PCA latent), the embedded ``foleyvae.json``
card (:func:`build_metadata`), scripting (:func:`script_to_bytes`), the self-check against the eager model
(:func:`self_check`, to :data:`TOLERANCE`) and the atomic write with its ``.sha256`` sidecar (:func:`write_export`).
The wrappers of each model family live in :mod:`.waveform` and :mod:`.spectral`; :func:`.torchscript.export_model`
picks one.
"""

# No ``from __future__ import annotations`` here: TorchScript reads the wrapper's class annotations as objects.
import contextlib
import hashlib
import io
import json
import math
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from foleyvae import __version__
from foleyvae.analysis.latent import LatentSpace, dims_for_fidelity
from foleyvae.config import Config
from foleyvae.errors import FoleyError
from foleyvae.models.base import AutoEncoder
from foleyvae.playable.adapters import EagerStreamModel
from foleyvae.utils.atomic import atomic_path, atomic_write_text

__all__ = [
    "CHECK_BLOCK_SIZES",
    "EXTRA_FILE",
    "ExportReport",
    "NnTildeBase",
    "TOLERANCE",
    "build_metadata",
    "check_signals",
    "choose_dims",
    "file_sha256",
    "quiet_jit",
    "run_blocks",
    "script_to_bytes",
    "self_check",
    "sha256_path",
    "strip_weight_norm",
    "synthetic_footstep",
    "write_export",
]

M = TypeVar("M", bound=nn.Module)

EXTRA_FILE = "foleyvae.json"
FORMAT_VERSION = 1
CHECK_BLOCK_SIZES = (256, 2048, 4096, 8192)
TOLERANCE = 1e-5


def choose_dims(latent: LatentSpace | None, latent_size: int, fidelity: float) -> int:
    """k = dims reaching ``fidelity``, rounded up to a power of two, capped at ``latent_size`` (all without PCA)."""
    if latent is None:
        return latent_size
    if not 0.0 < fidelity <= 1.0:
        raise FoleyError(f"fidelity must be in (0, 1], got {fidelity}")
    k = dims_for_fidelity(latent.fidelity, fidelity)
    return min(latent_size, 1 << max(0, math.ceil(math.log2(max(k, 1)))))


def strip_weight_norm(module: M) -> M:
    """Bake every parametrization (weight norm) into a plain parameter, in place; returns ``module``.

    ``parametrize.remove_parametrizations`` deletes the property from the module's generated class, which a deep
    copy *shares* with the original model (so stripping a copy breaks the original). Here each parametrized module
    gets its original class back and a plain parameter holding the current value; no class is modified.
    """
    for m in list(module.modules()):
        if not parametrize.is_parametrized(m):
            continue
        pm: Any = m
        values = {name: getattr(pm, name).detach().clone() for name in pm.parametrizations}
        m.__class__ = m.__class__.__bases__[0]  # the generated Parametrized<Cls> has the original class as base
        del m._modules["parametrizations"]
        for name, value in values.items():
            m.register_parameter(name, nn.Parameter(value))
    return module


@contextlib.contextmanager
def _resolved_annotations(module: nn.Module) -> Iterator[None]:
    """Temporarily turn string class annotations (``from __future__ import annotations``) into objects.

    TorchScript cannot parse a class-level annotation given as the string ``'Tensor'`` (torch 2.13), and most of our
    modules use postponed annotations; the originals are put back on exit, so nothing outside the export changes.
    """
    saved: dict[type, dict[str, Any]] = {}
    for m in module.modules():
        for cls in type(m).__mro__:
            own = cls.__dict__.get("__annotations__")
            if cls in saved or not own or not any(isinstance(v, str) for v in own.values()):
                continue
            glb = vars(sys.modules[cls.__module__])
            resolved = {}
            for key, ann in own.items():
                try:
                    resolved[key] = eval(ann, glb) if isinstance(ann, str) else ann  # noqa: S307 - our own source
                except Exception:
                    resolved[key] = ann
            saved[cls] = dict(own)
            cls.__annotations__ = resolved
    try:
        yield
    finally:
        for cls, own in saved.items():
            cls.__annotations__ = own


@contextlib.contextmanager
def quiet_jit() -> Iterator[None]:
    """Silence torch's "torch.jit.* is deprecated" warnings around our own, deliberate TorchScript calls (nn~ and
    RAVE files are TorchScript; there is no other format for them)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        yield


class NnTildeBase(nn.Module):
    """What every exported wrapper shares: nn~ ``*_params`` buffers, labels, attributes and the PCA latent.

    Subclasses hold the model's parts and define ``encode``/``decode``/``forward`` with :meth:`_to_pca` (posterior
    -> first k PCA coords) and :meth:`_from_pca` (k coords -> bias/scale -> fill -> full latent). ``full_latent_size``
    is the size of the real latent the PCA acts on (``L``; ``2L`` for the complex VAE's real/imaginary channels).

    A material-conditioned model (``materials``, K names) plays ``k + K`` latent channels: the k PCA coords, then
    one weight per material (labelled ``material NAME``; encode gives zeros = "no material", a host or the engine's
    material control sets them through bias/scale like any latent channel). They pass to the decoder unchanged.
    """

    pca_mean: Tensor
    components: Tensor
    pca_std: Tensor
    bias_t: Tensor
    scale_t: Tensor
    latent_bias: list[float]
    latent_scale: list[float]
    latent_bias_dim: tuple[int, float]
    latent_scale_dim: tuple[int, float]

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int,
        hop_length: int,
        delay_samples: int,
        full_latent_size: int,
        pca_mean: Tensor,
        components: Tensor,
        pca_std: Tensor,
        k: int,
        streaming: bool,
        input_labels: list[str],
        materials: list[str] | None = None,
    ) -> None:
        super().__init__()
        names = list(materials or [])
        self.pca_dims = int(k)
        self.n_materials = len(names)
        k = int(k) + len(names)  # the played latent: PCA coords, then material weights
        self.channels = int(channels)
        self.sr = int(sample_rate)
        self.sample_rate = int(sample_rate)
        self.hop_length = int(hop_length)
        self.delay_samples = int(delay_samples)
        self.full_latent_size = int(full_latent_size)
        self.latent_size = int(k)
        self.streaming = bool(streaming)
        self.register_buffer("pca_mean", pca_mean.reshape(-1, 1).clone())  # [L, 1]
        self.register_buffer("components", components.clone())  # [L, L]
        self.register_buffer("pca_std", pca_std.reshape(-1, 1).clone())  # [L, 1]
        self.register_buffer("bias_t", torch.zeros(k, 1))
        self.register_buffer("scale_t", torch.ones(k, 1))
        self.latent_bias = [0.0] * k
        self.latent_scale = [1.0] * k
        self.latent_bias_dim = (0, 0.0)
        self.latent_scale_dim = (0, 1.0)
        self.temperature: float = 0.0
        c, hop = self.channels, self.hop_length
        self._methods = ["encode", "decode", "forward"]
        self._attributes = ["none", "temperature", "latent_bias_dim", "latent_scale_dim"]
        self.register_buffer("encode_params", torch.tensor([c, 1, k, hop]))
        self.register_buffer("decode_params", torch.tensor([k, hop, c, 1]))
        self.register_buffer("forward_params", torch.tensor([c, 1, c, 1]))
        self.register_buffer("temperature_params", torch.tensor([2]))
        self.register_buffer("latent_bias_dim_params", torch.tensor([1, 2]))
        self.register_buffer("latent_scale_dim_params", torch.tensor([1, 2]))
        latent_labels = [f"(signal) latent {i} (PCA)" for i in range(self.pca_dims)]
        latent_labels += [f"(signal) material {name}" for name in names]
        audio_out = [f"(signal) output {i}" for i in range(c)]
        self.encode_input_labels = list(input_labels)
        self.encode_output_labels = latent_labels
        self.decode_input_labels = list(latent_labels)
        self.decode_output_labels = audio_out
        self.forward_input_labels = list(input_labels)
        self.forward_output_labels = list(audio_out)

    def _to_pca(self, z: Tensor) -> Tensor:
        """Latent ``[B, L, F]`` -> first k PCA coords ``[B, k, F]`` (+ K zero material weights: ``[B, k + K, F]``)."""
        p = torch.matmul(self.components[: self.pca_dims], z - self.pca_mean)
        if self.n_materials > 0:
            p = torch.cat([p, p.new_zeros(p.shape[0], self.n_materials, p.shape[2])], dim=1)
        return p

    def _from_pca(self, z: Tensor) -> Tensor:
        """k PCA coords ``[B, k (+ K), F]`` -> ``z * latent_scale + latent_bias``, the other L - k dims filled with
        ``temperature x pca_std x N(0, 1)`` (zeros at temperature 0) -> latent ``[B, L (+ K), F]`` (material weights
        last, as the conditioned decoder reads them)."""
        b, _, f = z.shape
        k = self.pca_dims
        q = z * self.scale_t + self.bias_t
        p = q[:, :k]
        n_rest = self.full_latent_size - k
        if n_rest > 0:
            if self.temperature > 0.0:
                rest = torch.randn(b, n_rest, f, dtype=z.dtype, device=z.device) * (self.temperature * self.pca_std[k:])
            else:
                rest = torch.zeros(b, n_rest, f, dtype=z.dtype, device=z.device)
            p = torch.cat([p, rest], dim=1)
        full = torch.matmul(self.components.t(), p) + self.pca_mean
        if self.n_materials > 0:
            full = torch.cat([full, q[:, k:]], dim=1)
        return full

    # ------------------------------------------------------------------------------------------ nn~ API
    @torch.jit.export
    def get_methods(self) -> list[str]:
        return self._methods

    @torch.jit.export
    def get_attributes(self) -> list[str]:
        return self._attributes

    @torch.jit.export
    def get_temperature(self) -> float:
        return self.temperature

    @torch.jit.export
    def set_temperature(self, value: float) -> int:
        if value < 0.0:
            return -1
        self.temperature = value
        return 0

    @torch.jit.export
    def get_latent_bias(self) -> list[float]:
        return self.latent_bias

    @torch.jit.export
    def set_latent_bias(self, values: list[float]) -> int:
        if len(values) != self.latent_size:
            return -1
        self.latent_bias = values
        self.bias_t = torch.tensor(values, dtype=self.bias_t.dtype).reshape(-1, 1)
        return 0

    @torch.jit.export
    def get_latent_scale(self) -> list[float]:
        return self.latent_scale

    @torch.jit.export
    def set_latent_scale(self, values: list[float]) -> int:
        if len(values) != self.latent_size:
            return -1
        self.latent_scale = values
        self.scale_t = torch.tensor(values, dtype=self.scale_t.dtype).reshape(-1, 1)
        return 0

    @torch.jit.export
    def get_latent_bias_dim(self) -> tuple[int, float]:
        return self.latent_bias_dim

    @torch.jit.export
    def set_latent_bias_dim(self, dim: int, value: float) -> int:
        if dim < 0 or dim >= self.latent_size:
            return -1
        values = list(self.latent_bias)
        values[dim] = value
        self.latent_bias_dim = (dim, value)
        return self.set_latent_bias(values)

    @torch.jit.export
    def get_latent_scale_dim(self) -> tuple[int, float]:
        return self.latent_scale_dim

    @torch.jit.export
    def set_latent_scale_dim(self, dim: int, value: float) -> int:
        if dim < 0 or dim >= self.latent_size:
            return -1
        values = list(self.latent_scale)
        values[dim] = value
        self.latent_scale_dim = (dim, value)
        return self.set_latent_scale(values)


class ExportReport(dict[str, Any]):
    """What export_model measured: path, size_bytes, sha256, k, max_abs_error per check, seconds."""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def synthetic_footstep(n: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A heel + toe filtered-noise footstep with wood-like resonances, repeated to ``n`` samples: ``[n]``."""
    rng = np.random.default_rng(seed)
    step = int(0.35 * sample_rate)
    t = np.arange(step) / sample_rate
    one = np.zeros(step)
    for onset, amp in ((0.0, 1.0), (0.09, 0.6)):
        k = int(onset * sample_rate)
        tt = t[: step - k]
        burst = rng.standard_normal(step - k) * np.exp(-tt / 0.012)
        res = sum(np.sin(2 * np.pi * f * tt) * np.exp(-tt / 0.06) for f in (180.0, 420.0, 960.0)) / 3
        one[k:] += amp * (0.5 * burst + 0.5 * res)
    one = 0.8 * one / (np.abs(one).max() + 1e-9)
    reps = n // step + 1
    return np.tile(one, reps)[:n].astype(np.float32)


def check_signals(channels: int, sample_rate: int, n: int) -> Tensor:
    """``[2, C, n]``: a synthetic footstep and uniform random audio in [-0.5, 0.5] (seeded)."""
    g = torch.Generator().manual_seed(0)
    foot = torch.from_numpy(synthetic_footstep(n, sample_rate)).reshape(1, 1, n).expand(1, channels, n)
    noise = torch.rand(1, channels, n, generator=g) - 0.5
    return torch.cat([foot, noise], dim=0).contiguous()


def run_blocks(fn: Any, x: Tensor, block: int) -> Tensor:
    return torch.cat([fn(x[..., i : i + block]) for i in range(0, x.shape[-1], block)], dim=-1)


def self_check(
    data: bytes,
    reference: AutoEncoder,
    latent: LatentSpace | None,
    k: int,
    streaming: bool,
    block_sizes: tuple[int, ...] = CHECK_BLOCK_SIZES,
    tolerance: float | None = None,
) -> dict[str, float]:
    """Reload the serialized file and compare encode/decode/forward with the eager model, per block size and batch.

    ``reference`` follows :class:`EagerStreamModel`'s latent convention (a real ``[B, L, F]`` posterior mean).
    Returns ``{"<block>/b<batch>/<method>": max abs error}``; raises FoleyError above ``tolerance`` (default
    ``TOLERANCE``) times ``max(1, max |reference output|)``.
    """
    tol = TOLERANCE if tolerance is None else tolerance
    hop = int(reference.hop_length)
    sizes = [b for b in block_sizes if b % hop == 0] or [hop * max(1, 2048 // hop)]
    errors: dict[str, float] = {}
    for block in sizes:
        # at least two blocks (state carried across a call boundary) and ~0.1 s of audio
        n = block * max(2, -(-4096 // block))
        signals = check_signals(int(reference.channels), int(reference.sample_rate), n)
        for batch in (1, 2):
            x = signals[:batch] if batch == 2 else signals[:1]
            with quiet_jit():
                ts = torch.jit.load(io.BytesIO(data), map_location="cpu")
                ts2 = torch.jit.load(io.BytesIO(data), map_location="cpu")
            eager = EagerStreamModel(reference, latent, n_dims=k, stream=streaming)
            # the profiling executor re-optimizes every fresh load for every new shape (~0.3 s each); the optimized
            # graph (what a host runs after its first calls) is checked at the 2048-sample buffer, nn~'s default
            optimized = block == 2048 or len(sizes) == 1
            try:
                with torch.no_grad(), torch.jit.optimized_execution(optimized):
                    z_ts = run_blocks(ts.encode, x, block)
                    z_ref = run_blocks(eager.encode, x, block)
                    y_ts = run_blocks(ts.decode, z_ref, block // hop)
                    y_ref = run_blocks(eager.decode, z_ref, block // hop)
                    f_ts = run_blocks(ts2.forward, x, block)
            finally:
                eager.close()
            for name, a, ref in (("encode", z_ts, z_ref), ("decode", y_ts, y_ref), ("forward", f_ts, y_ref)):
                if a.shape != ref.shape:
                    raise FoleyError(f"export self-check: {name} shape {list(a.shape)} != {list(ref.shape)}")
                if not bool(torch.isfinite(a).all()):
                    raise FoleyError(f"export self-check: {name} gives non-finite values (block {block})")
                err = float((a - ref).abs().max()) if a.numel() else 0.0
                errors[f"{block}/b{batch}/{name}"] = err
                if err > tol * max(1.0, float(ref.abs().max())):
                    raise FoleyError(
                        f"export self-check failed: {name} differs from the eager model by {err:.2e} "
                        f"(block {block}, batch {batch}); no file written"
                    )
    return errors


def build_metadata(
    model: AutoEncoder,
    config: Config | None,
    latent: LatentSpace | None,
    k: int,
    fidelity: float,
    streaming: bool,
    block_size: int,
    credits: list[str] | None,
    name: str,
) -> dict[str, Any]:
    """The ``foleyvae.json`` model card embedded in the file (plain JSON types only).

    A material-conditioned model also gets ``material_conditioning`` (its names, in channel order), the material
    table that steers by setting those channels (``materials``, method ``conditioned``) and ``latent_std`` for
    the played latent (the PCA dims' std, then 1 per material weight).
    """
    names = [str(n) for n in getattr(model, "materials", []) or []]
    meta = {
        "format": "foleyvae-torchscript",
        "format_version": FORMAT_VERSION,
        "name": name,
        "foleyvae_version": __version__,
        "torch_version": torch.__version__,
        "sample_rate": int(model.sample_rate),
        "channels": int(model.channels),
        "hop_length": int(model.hop_length),
        "delay_samples": int(model.delay_samples),
        "block_size": int(block_size),
        "streaming": bool(streaming),
        "latent_size": int(k) + len(names),
        "full_latent_size": int(model.latent_size),
        "fidelity_target": float(fidelity),
        "fidelity": list(latent.fidelity) if latent is not None else [],
        "pca_std": list(latent.std) if latent is not None else [1.0] * int(model.latent_size),
        "labels": sorted(latent.centroids) if latent is not None else [],
        "centroids": {lab: list(v) for lab, v in latent.centroids.items()} if latent is not None else {},
        "credits": list(credits or []),
        "list_attributes": ["latent_bias", "latent_scale"],
        "temperature_default": 0.0,
        "config": config.to_dict() if config is not None else None,
    }
    if names:
        std = [float(v) for v in latent.std[:k]] if latent is not None else [1.0] * int(k)
        meta["material_conditioning"] = names
        meta["latent_std"] = std + [1.0] * len(names)
        meta["materials"] = conditioned_materials(int(k), names)
    return meta


def conditioned_materials(k: int, names: list[str]) -> dict[str, Any]:
    """The material table of a conditioned model: material i steers by weight 1 on played channel ``k + i``."""
    size = k + len(names)
    offsets = {n: [1.0 if j == k + i else 0.0 for j in range(size)] for i, n in enumerate(names)}
    return {"method": "conditioned", "offsets": offsets, "frames": {}}


def script_to_bytes(wrapper: nn.Module, meta: dict[str, Any]) -> bytes:
    """Script ``wrapper`` and serialize it with ``meta`` as the ``foleyvae.json`` extra file."""
    try:
        with _resolved_annotations(wrapper), quiet_jit():
            scripted = torch.jit.script(wrapper)
    except Exception as e:  # scripting errors are bugs in the model code; keep the message short for the user
        lines = [ln for ln in str(e).splitlines() if ln.strip()]
        raise FoleyError(f"TorchScript compilation failed: {lines[0] if lines else type(e).__name__}") from e
    buf = io.BytesIO()
    with quiet_jit():
        torch.jit.save(scripted, buf, _extra_files={EXTRA_FILE: json.dumps(meta)})
    return buf.getvalue()


def write_export(data: bytes, out_path: Path) -> str:
    """Write the checked file and its ``.sha256`` sidecar, each atomically; returns the hex digest.

    The old sidecar goes before the new file replaces the old one: a process killed between the two renames then
    leaves a file without a sidecar (loaded unchecked) instead of one whose sidecar names the previous file's hash
    (refused by the loader as corrupted). The next export writes both again.
    """
    digest = hashlib.sha256(data).hexdigest()
    side = sha256_path(out_path)
    with atomic_path(out_path) as tmp:
        tmp.write_bytes(data)
        side.unlink(missing_ok=True)
    atomic_write_text(side, f"{digest}  {out_path.name}\n")
    return digest


def sha256_path(path: str | Path) -> Path:
    """The checksum sidecar of an exported file: ``<file>.sha256``."""
    p = Path(path)
    return p.with_name(p.name + ".sha256")
