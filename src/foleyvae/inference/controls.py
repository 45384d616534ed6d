"""Real-time controls of the streaming engine: latent bias/scale (PCA order), temperature, freeze, gain, mix.

Setters are called from other threads (the studio's websocket, the live CLI's stdin) at high rates, so each one
validates its argument and then does plain element/attribute assignment (atomic under the GIL); it never locks
and never allocates on the engine's side. The engine copies a snapshot of every value once per block
(:meth:`Controls.snapshot_into`) and smooths the change over latent frames / samples, so a jump here never clicks.

Latent transform applied by the engine per frame (z: PCA-ordered latent ``[k, F]``)::

    z = (1 - f) * z + f * z_held           # freeze/hold (f ramps 0 <-> 1)
    z = z + a * offset                     # towards(offset, a): material steering (inference.materials)
    z = z * scale + bias                   # per-dimension, PCA order
    z = z + temperature * N(0, I)          # gaussian noise
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from foleyvae.inference.control_spec import MAX_LATENT_VALUE, N_SCALARS, SLOT, ControlError, check, control, number_in

__all__ = ["Controls", "ControlError", "DEFAULT_SMOOTHING_MS", "N_SCALARS", "SCALAR_FIELDS"]

# ranges, names and snapshot slots come from the one spec (inference.control_spec)
DEFAULT_SMOOTHING_MS = 25.0
# every per-session value of a Controls besides the per-dim arrays (bias, scale, centroid): what a copy carries over
# (resized) and what the live engine process sends its child each block; "freeze" and "limiter" are bools
SCALAR_FIELDS = (
    "towards_amount",
    "temperature",
    "freeze",
    "input_gain_db",
    "dry_wet",
    "limiter",
    "limiter_threshold",
)


class Controls:
    """The live-tweakable parameters of a :class:`~foleyvae.inference.engine.StreamingEngine`.

    Args:
        latent_size: k, the number of PCA-ordered latent dims the controls address (dims ``0..k-1``).
        smoothing_ms: time constant of the per-frame/per-sample smoothing the engine applies to changes.
    """

    def __init__(self, latent_size: int, smoothing_ms: float = DEFAULT_SMOOTHING_MS) -> None:
        if latent_size < 1:
            raise ControlError(f"latent_size must be >= 1, got {latent_size}")
        self.latent_size = int(latent_size)
        self.smoothing_ms = number_in("smoothing_ms", smoothing_ms, 0.0, 10000.0)
        self.bias = np.zeros(self.latent_size, np.float64)
        self.scale = np.ones(self.latent_size, np.float64)
        self.centroid = np.zeros(self.latent_size, np.float64)
        self.towards_amount = 0.0
        self.temperature = 0.0
        self.freeze = False
        self.input_gain_db = 0.0
        self.dry_wet = 1.0
        self.limiter = True
        self.limiter_threshold = 0.98

    # ------------------------------------------------------------------------------------------ setters
    def _dim(self, dim: int) -> int:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ControlError(f"latent dim must be an integer, got {dim!r}")
        if not 0 <= int(dim) < self.latent_size:
            raise ControlError(f"latent dim {dim} out of range 0..{self.latent_size - 1}")
        return int(dim)

    def set_bias(self, dim: int, value: float) -> None:
        """Add ``value`` to PCA dim ``dim`` (after scaling)."""
        self.bias[self._dim(dim)] = check("bias", value)

    def set_scale(self, dim: int, value: float) -> None:
        """Multiply PCA dim ``dim`` by ``value``."""
        self.scale[self._dim(dim)] = check("scale", value)

    def set(self, name: str, value: float | bool) -> None:
        """Set the scalar control ``name`` of the spec (``inference.control_spec``): ``temperature``, ``dry_wet``,
        ``input_gain_db``, ``freeze``, ``limiter`` or ``towards`` (the material amount)."""
        kind = control(name).kind
        if kind == "dims":
            raise ControlError(f"{name} is set per dim (set_bias / set_scale)")
        if name == "towards":
            self.towards(self.centroid.copy(), float(value))
        elif kind == "bool":
            setattr(self, name, bool(check(name, value)))
        else:
            setattr(self, name, check(name, value))

    def set_biases(self, values: dict[int, float]) -> None:
        for d, v in values.items():
            self.set_bias(d, v)

    def set_scales(self, values: dict[int, float]) -> None:
        for d, v in values.items():
            self.set_scale(d, v)

    def set_temperature(self, value: float) -> None:
        """Standard deviation of the gaussian noise added to the latent (0 = none)."""
        self.temperature = check("temperature", value)

    def set_freeze(self, on: bool) -> None:
        """Hold the latent at its value when freezing starts (bias/scale/towards still apply)."""
        self.freeze = bool(on)

    def set_input_gain_db(self, db: float) -> None:
        self.input_gain_db = check("input_gain_db", db)

    def set_dry_wet(self, value: float) -> None:
        """0 = the input only (delayed to stay aligned), 1 = the model only."""
        self.dry_wet = check("dry_wet", value)

    def set_limiter(self, on: bool, threshold: float | None = None) -> None:
        if threshold is not None:
            self.limiter_threshold = number_in("limiter_threshold", threshold, 0.05, 1.0)
        self.limiter = bool(on)

    def towards(self, centroid: Sequence[float] | np.ndarray, amount: float) -> None:
        """Steer toward a material: add ``amount`` (in [0, 1]) times the offset ``centroid`` (PCA coords ``[<=k]``,
        :meth:`foleyvae.inference.materials.MaterialTable.steer`) to every latent frame.

        The field keeps its historical name ``centroid``; it holds the material *offset*. An offset shorter than the
        latent is padded with zeros.
        """
        amt = check("towards", amount)
        c = np.asarray(centroid, dtype=np.float64).reshape(-1)
        if c.size == 0 or c.size > self.latent_size:
            raise ControlError(f"centroid has {c.size} dims; the model's latent has {self.latent_size}")
        if not np.all(np.isfinite(c)) or np.abs(c).max() > MAX_LATENT_VALUE:
            raise ControlError("centroid must be finite and within +-100")
        self.towards_amount = 0.0  # never pair a new centroid with the old amount mid-write
        self.centroid[: c.size] = c
        self.centroid[c.size :] = 0.0
        self.towards_amount = amt

    def clear_towards(self) -> None:
        """Stop steering toward a centroid (smoothed by the engine like any change)."""
        self.towards_amount = 0.0

    def clear(self) -> None:
        """Neutral latent controls (bias 0, scale 1, no noise, no freeze, no steering); gain/mix/limiter kept."""
        self.bias[:] = 0.0
        self.scale[:] = 1.0
        self.towards_amount = 0.0
        self.temperature = 0.0
        self.freeze = False

    def resized(self, latent_size: int) -> Controls:
        """A copy addressing ``latent_size`` dims (common dims kept), for a hot-swapped model."""
        c = Controls(latent_size, self.smoothing_ms)
        n = min(latent_size, self.latent_size)
        c.bias[:n], c.scale[:n], c.centroid[:n] = self.bias[:n], self.scale[:n], self.centroid[:n]
        for name in SCALAR_FIELDS:
            setattr(c, name, getattr(self, name))
        return c

    # ------------------------------------------------------------------------------------------ engine side
    def snapshot_into(self, latent: np.ndarray, scalars: np.ndarray) -> None:
        """Copy the current values into preallocated arrays (no allocation).

        latent: ``[3, k]`` rows (bias, scale, towards_amount * offset); scalars: ``[N_SCALARS]``
        (freeze, towards_amount, temperature, input gain (linear), dry_wet, limiter threshold or 0 when off).
        """
        a = self.towards_amount
        np.copyto(latent[0], self.bias)
        np.copyto(latent[1], self.scale)
        np.multiply(self.centroid, a, out=latent[2])
        scalars[SLOT.freeze] = 1.0 if self.freeze else 0.0
        scalars[SLOT.towards] = a
        scalars[SLOT.temperature] = self.temperature
        scalars[SLOT.input_gain_db] = 10.0 ** (self.input_gain_db / 20.0)
        scalars[SLOT.dry_wet] = self.dry_wet
        scalars[SLOT.limiter] = self.limiter_threshold if self.limiter else 0.0

    def as_dict(self) -> dict[str, object]:
        """The current values (for the studio's state and for logs)."""
        return {
            "bias": self.bias.tolist(),
            "scale": self.scale.tolist(),
            "temperature": self.temperature,
            "freeze": self.freeze,
            "towards_amount": self.towards_amount,
            "input_gain_db": self.input_gain_db,
            "dry_wet": self.dry_wet,
            "limiter": self.limiter,
            "limiter_threshold": self.limiter_threshold,
        }
