"""Control changes from outside the page (the OSC server) -> the live stream, the page, and ``/api/state``.

A change (``control.addresses.Change``) becomes a control update in the page's own format (full bias/scale vectors,
``towards`` as ``{"label", "amount"}``), validated by ``security.validate_controls`` like a page message, so OSC
can do nothing a slider could not. The server thread validates it at once (so a refused value is counted by the
OSC server) and hands the update to the page's socket on the event loop, which checks it again (the model may have
changed) and applies it to the live stream as it
applies the page's own messages and tells the page (``{"type": "controls", "source": "osc"}``) so its sliders
follow. With no live stream the update waits in ``pending`` and applies when the next stream starts (the page
adopts it from the ``ready`` message); ``/api/state`` shows the current values either way. ``/foleyvae/record``
is passed to the page (``{"type": "remote", "action": "record"}``): a take is recorded from the page's frames.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from foleyvae.control.addresses import AddressError, Change, concrete_addresses
from foleyvae.control.server import OscServer
from foleyvae.inference.control_spec import CONTROLS
from foleyvae.studio.security import validate_controls
from foleyvae.studio.session import material_choices

__all__ = ["RemoteControls", "neutral_update", "update_for"]

Sink = Callable[[dict[str, Any]], None]


def neutral_update(k: int) -> dict[str, Any]:
    """Every control at its spec default (the page's reset), for a ``k``-dim latent."""
    out: dict[str, Any] = {}
    for c in CONTROLS:
        if c.kind == "dims":
            out[c.name] = [c.default] * k
        elif c.kind == "bool":
            out[c.name] = bool(c.default)
        elif c.kind == "material":
            out[c.name] = None
        else:
            out[c.name] = c.default
    return out


def update_for(change: Change, base: dict[str, Any], k: int, labels: list[str]) -> dict[str, Any]:
    """``change`` applied on top of the controls ``base`` -> a validated update (``security.validate_controls``)."""
    neutral = neutral_update(k)
    if change.kind == "reset":
        update = neutral
    elif change.kind == "dim":
        assert change.dim is not None
        if change.dim >= k:
            raise AddressError(f"{change.name}/{change.dim}: this model has dims 0..{k - 1}")
        vec = list(base.get(change.name) or neutral[change.name])
        vec += neutral[change.name][len(vec) :]
        vec[change.dim] = change.value
        update = {change.name: vec[:k]}
    elif change.kind == "amount":
        now = base.get("towards")
        if not now:
            raise AddressError("towards: no material is on (send /foleyvae/towards/NAME first)")
        update = {"towards": {"label": now["label"], "amount": change.value}}
    elif change.kind == "material":
        now = base.get("towards")
        amount = change.value if change.value is not None else (now["amount"] if now else 1.0)
        update = {"towards": {"label": change.material, "amount": amount}}
    elif change.kind == "material_off":
        update = {"towards": None}
    elif change.kind == "set":
        update = {change.name: change.value}
    else:
        raise AddressError(f"{change.kind}: not a control change")
    return validate_controls(update, k, labels)


class RemoteControls:
    """The studio's side of the OSC server: validates changes and routes them to the page's socket or ``pending``.

    ``studio``: the :class:`~foleyvae.studio.state.Studio` (its ``model`` and ``live`` stream are read).
    """

    def __init__(self, studio: Any) -> None:
        self.st = studio
        self.pending: dict[str, Any] = {}
        self.server: OscServer | None = None
        self._sink: tuple[asyncio.AbstractEventLoop, Sink] | None = None
        self._lock = threading.Lock()
        # updates handed to the event loop and not applied yet: the next OSC message builds on them (a bundle's
        # "material" then "amount" must see the material)
        self._inflight: dict[str, Any] = {}

    # -------------------------------------------------------------------------------------- the page's socket
    def attach(self, loop: asyncio.AbstractEventLoop, sink: Sink) -> None:
        """The page socket that owns the live stream receives remote items on its loop (the last one wins)."""
        with self._lock:
            self._sink = (loop, sink)

    def detach(self, sink: Sink) -> None:
        with self._lock:
            if self._sink is not None and self._sink[1] == sink:
                self._sink = None

    # ------------------------------------------------------------------------------------------ the values
    def base(self) -> dict[str, Any]:
        """The controls now: the live stream's, else the ones waiting for the next stream."""
        live = self.st.live
        with self._lock:
            if live is None:
                return dict(self.pending)
            return {**live.state, **self._inflight}

    def labels(self) -> list[str]:
        live = self.st.live
        if live is not None:
            return list(live.labels)
        model = self.st.model  # no stream: the default tab's model (a stream runs on its page's model)
        return sorted(material_choices(model)) if model is not None else []

    def build(self, change: Change) -> dict[str, Any]:
        """The validated update ``change`` makes now (AddressError/SecurityError when refused)."""
        model = self._playing_model()
        if model is None:
            raise AddressError("no model is open in the studio")
        return update_for(change, self.base(), int(model.latent_size), self.labels())

    def space(self) -> list[str] | None:
        """The addresses an OSC pattern may reach: the playing model's dims and materials (None: no model)."""
        model = self._playing_model()
        return None if model is None else concrete_addresses(int(model.latent_size), self.labels())

    def _playing_model(self) -> Any:
        """The model playing: the live stream's (its page's, see tabs), else the default tab's; None when none."""
        live = self.st.live
        return live.model if live is not None else self.st.model

    def take_pending(self) -> dict[str, Any]:
        with self._lock:
            out, self.pending = self.pending, {}
        return out

    def keep(self, update: dict[str, Any]) -> None:
        with self._lock:
            self.pending.update(update)

    # ------------------------------------------------------------------------------------------ the server
    def submit(self, change: Change) -> None:
        """Called in the OSC thread: refuse what the open model cannot take (raises), route the rest."""
        with self._lock:
            sink = self._sink
        if change.kind == "record":
            if sink is None:
                raise AddressError("record: no studio page is open")
            sink[0].call_soon_threadsafe(sink[1], {"action": "record", "on": bool(change.value)})
            return
        update = self.build(change)  # validated now, so the OSC server counts a refusal
        if sink is None or self.st.live is None:
            self.keep(update)
            return
        with self._lock:
            self._inflight.update(update)
        sink[0].call_soon_threadsafe(sink[1], {"action": "change", "update": update})

    def landed(self, update: dict[str, Any]) -> None:
        """The event loop applied (or dropped) ``update``: later messages build on the live stream's state again."""
        with self._lock:
            for key, value in update.items():
                if self._inflight.get(key, self) is value:
                    del self._inflight[key]

    def start_osc(self, port: int) -> OscServer:
        """Serve OSC on 127.0.0.1:``port`` into this studio (values checked against the page's slider ranges)."""
        self.server = OscServer(port, self.submit, ui=True, name="foleyvae-studio-osc", space=self.space).start()
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def public(self) -> dict[str, Any]:
        """For ``/api/state``: the current control values and the OSC server's counters (None when off)."""
        return {"control_values": self.base(), "osc": self.server.snapshot() if self.server is not None else None}
