"""OSC for ``foleyvae live``: each change (``control.addresses``) becomes the stdin command that says the same thing
(``/foleyvae/bias/0 f 1.5`` -> ``b0=1.5``, ``/foleyvae/towards/wood f 0.7`` -> ``m=wood`` + ``a=0.7``) and goes
through :func:`~foleyvae.live.audio_io.apply_command`, so OSC and the keyboard set the same controls with the same
checks (the spec's engine ranges: bias in latent units). ``/foleyvae/record`` is refused: ``live`` records the whole
session (``--record``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from foleyvae.control.addresses import AddressError, Change, concrete_addresses
from foleyvae.control.server import OscServer
from foleyvae.inference.control_spec import control
from foleyvae.inference.controls import Controls
from foleyvae.live.audio_io import apply_command

__all__ = ["stdin_commands", "live_handler", "start_osc"]

_REFUSED = ("error", "unknown", "cannot")


def _num(v: float | bool | None) -> str:
    return f"{float(v or 0.0):.9g}"


def stdin_commands(change: Change) -> list[str]:
    """The ``live`` stdin commands that make ``change`` (keys from the control spec)."""
    if change.kind == "dim":
        return [f"{control(change.name).key}{change.dim}={_num(change.value)}"]
    if change.kind == "set":
        return [f"{control(change.name).key}={_num(change.value)}"]
    if change.kind == "amount":
        return [f"{control('towards').key}={_num(change.value)}"]
    if change.kind == "material":
        out = [f"m={change.material}"]
        return out if change.value is None else [*out, f"{control('towards').key}={_num(change.value)}"]
    if change.kind == "material_off":
        return ["m=off"]
    if change.kind == "reset":
        return ["r", "m=off", *(f"{control(n).key}={control(n).default:g}" for n in _SCALARS)]
    raise AddressError(f"/foleyvae/{change.name}: not available in live (it records the session with --record)")


# the controls stdin's ``r`` (neutral latent controls) leaves alone
_SCALARS = ("input_gain_db", "dry_wet", "limiter")


def live_handler(controls: Controls, steer: Callable[[str], np.ndarray] | None) -> Callable[[Change], None]:
    """A handler for :class:`OscServer` that applies each change to ``controls`` as stdin commands would."""

    def handle(change: Change) -> None:
        for line in stdin_commands(change):
            msg = apply_command(controls, line, steer)
            if msg.startswith(_REFUSED):
                raise AddressError(msg)

    return handle


def start_osc(
    port: int,
    controls: Controls,
    steer: Callable[[str], np.ndarray] | None,
    materials: list[str] | tuple[str, ...] = (),
) -> OscServer:
    """Serve OSC on 127.0.0.1:``port`` into ``controls`` (values checked against the engine's ranges); address
    patterns reach every dim of ``controls`` and the ``materials`` names."""

    def space() -> list[str]:
        return concrete_addresses(int(controls.latent_size), materials)

    handler = live_handler(controls, steer)
    return OscServer(port, handler, ui=False, name="foleyvae-live-osc", space=space).start()
