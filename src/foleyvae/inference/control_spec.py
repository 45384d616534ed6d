"""The one definition of every live control: name, kind, range, default, unit, help, smoothing, snapshot slot.

Every layer derives from :data:`CONTROLS`: :class:`~foleyvae.inference.controls.Controls` validates with it and the
engine reads its snapshot through :data:`SLOT`; the studio validates page messages against it and serves it to the
page, which sets its sliders from it; the CLI's flags take their ranges and help from it; ``live``'s stdin keys are
its ``key`` fields. ``tests/inference/test_control_spec.py`` drives every layer at and just past each range and
fails when one of them accepts what the spec refuses or names a control the spec does not define.

Ranges are what the sound can use, not what the code can hold: temperature beyond 4 x the latent's std is noise
only; input gain -60..+24 dB covers a whisper to a shout into a line input; bias is in latent units for the engine
and the CLI (+-100: beyond that the decoder is far from anything it learned) and in stds of the PCA dim on the
studio's sliders (``ui_lo``..``ui_hi``: +-3 std, where the decoder still sounds like its training data; the
sliders' scale is 0..2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from foleyvae.errors import FoleyError

__all__ = [
    "CONTROLS",
    "SLOT",
    "N_SCALARS",
    "Control",
    "ControlError",
    "LEGACY_NAMES",
    "check",
    "control",
    "as_json",
    "number_in",
]


class ControlError(FoleyError, ValueError):
    """A control value is out of range or not finite, or the control does not exist."""


@dataclass(frozen=True)
class Control:
    """One control.

    kind: ``"number"`` | ``"bool"`` | ``"dims"`` (one number per PCA dim) | ``"material"`` (a name or blend, with
    an amount in ``lo..hi``); smoothing: ``"frame"`` (per latent frame, one-pole), ``"sample"`` (per-sample ramp
    over a block) or ``"none"``; slot: index in the engine's scalar snapshot (None: not a scalar); key: ``live``'s
    stdin key (``dims``: a prefix, ``b0=1.5``); ui_lo/ui_hi: the studio slider's range where its unit differs.
    """

    name: str
    kind: str
    lo: float
    hi: float
    default: float
    unit: str
    help: str
    smoothing: str
    slot: int | None = None
    key: str | None = None
    step: float = 0.01
    ui_lo: float | None = None
    ui_hi: float | None = None
    ui_unit: str | None = None

    @property
    def ui_range(self) -> tuple[float, float]:
        """The studio slider's range (the spec's range where the slider has no unit of its own)."""
        if self.ui_lo is not None and self.ui_hi is not None:
            return self.ui_lo, self.ui_hi
        return self.lo, self.hi


MAX_LATENT_VALUE = 100.0

CONTROLS: tuple[Control, ...] = (
    Control("bias", "dims", -MAX_LATENT_VALUE, MAX_LATENT_VALUE, 0.0, "latent", "added to each PCA dim", "frame",
            key="b", ui_lo=-3.0, ui_hi=3.0, ui_unit="std"),
    Control("scale", "dims", -4.0, 4.0, 1.0, "x", "multiplies each PCA dim", "frame", key="s", ui_lo=0.0, ui_hi=2.0),
    Control("freeze", "bool", 0.0, 1.0, 0.0, "", "hold the latent where it is", "frame", slot=0, key="f", step=1.0),
    Control("towards", "material", 0.0, 1.0, 0.0, "amount", "steer toward a material (name or blend)", "frame",
            slot=1, key="a"),
    Control("temperature", "number", 0.0, 4.0, 0.0, "std", "gaussian noise on the latent", "frame", slot=2, key="t"),
    Control("input_gain_db", "number", -60.0, 24.0, 0.0, "dB", "gain before the model", "sample", slot=3, key="g",
            step=0.5),
    Control("dry_wet", "number", 0.0, 1.0, 1.0, "", "0 = input only, 1 = model only", "sample", slot=4, key="w"),
    Control("limiter", "bool", 0.0, 1.0, 1.0, "", "soft output limiter", "sample", slot=5, key="l", step=1.0),
)  # fmt: skip
_BY_NAME = {c.name: c for c in CONTROLS}
N_SCALARS = 1 + max(c.slot for c in CONTROLS if c.slot is not None)
SLOT = SimpleNamespace(**{c.name: c.slot for c in CONTROLS if c.slot is not None})
# names an older preset file may use -> the control's name now (read-only: nothing writes them any more)
LEGACY_NAMES = {"gain_db": "input_gain_db"}


def control(name: str) -> Control:
    """The control named ``name``; unknown names are a one-line error that lists the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ControlError(f"unknown control {str(name)[:40]!r}; controls: {', '.join(_BY_NAME)}") from None


def check(name: str, value: Any, ui: bool = False) -> float:
    """``value`` as a float within the control's range (``ui``: the studio slider's range), or ControlError.

    Booleans are checked as 0/1; a ``material`` control's value is its amount.
    """
    c = control(name)
    lo, hi = c.ui_range if ui else (c.lo, c.hi)
    if c.kind == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return float(bool(value))
        raise ControlError(f"{name}: expected true or false, got {value!r}")
    if isinstance(value, (bool, str)):
        raise ControlError(f"{name}: expected a number, got {value!r}")
    return number_in(name, value, lo, hi)


def number_in(name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    """``value`` as a finite float in ``[lo, hi]``, or a one-line ControlError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ControlError(f"{name}: must be finite, got {v}")
    if not lo <= v <= hi:
        raise ControlError(f"{name}: must be in [{lo:g}, {hi:g}], got {v:g}")
    return v


def as_json() -> list[dict[str, Any]]:
    """The spec for the page (JSON-able), in order."""
    return [{**asdict(c), "ui_range": list(c.ui_range)} for c in CONTROLS]
