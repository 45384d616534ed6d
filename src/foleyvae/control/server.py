"""A UDP OSC server on 127.0.0.1: one thread receives datagrams, parses them (``osc``), resolves each message in the
address space (``addresses``) and hands the :class:`~foleyvae.control.addresses.Change` to a handler.

It binds the loopback interface only: OSC has no authentication, so only programs on this machine may steer the
engine (a controller app on a phone goes through a local bridge). Nothing a client sends can stop the thread: a
malformed packet is dropped and counted, a message the address space or the handler refuses is counted as
rejected with its reason, and an unexpected exception in the handler is counted too.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from foleyvae.control.addresses import AddressError, Change, resolve
from foleyvae.control.osc import OscError, parse_packet
from foleyvae.errors import FoleyError, first_line

__all__ = ["OscServer", "OscStats", "LOOPBACK"]

LOOPBACK = "127.0.0.1"
MAX_DATAGRAM = 65536


@dataclass
class OscStats:
    """What the server saw: packets, messages, changes applied, malformed packets dropped, messages rejected."""

    port: int = 0
    packets: int = 0
    messages: int = 0
    applied: int = 0
    dropped: int = 0
    rejected: int = 0
    last_address: str = ""
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class OscServer:
    """Receive OSC on ``127.0.0.1:port`` (0: a free port; ``self.port`` says which) and apply each change.

    Args:
        port: UDP port on the loopback interface.
        handler: called in the server thread with each change; it raises FoleyError (or ValueError) to refuse one.
        ui: check values against the studio sliders' ranges (``addresses.resolve``).
        name: the thread's name.
    """

    def __init__(self, port: int, handler: Callable[[Change], None], ui: bool, name: str = "foleyvae-osc") -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise FoleyError(f"--osc-port {port!r}: must be in 0..65535")
        self.handler = handler
        self.ui = ui
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((LOOPBACK, port))
        except OSError as e:
            self.sock.close()
            raise FoleyError(f"--osc-port {port}: cannot bind UDP {LOOPBACK}:{port} ({e.strerror})") from None
        self.sock.settimeout(0.2)  # wakes up to see close() even when nothing arrives
        self.port = int(self.sock.getsockname()[1])
        self.stats = OscStats(port=self.port)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> OscServer:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close the socket (waits at most 2 s)."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.sock.close()

    def __enter__(self) -> OscServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.stats.as_dict()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Handle one datagram (the thread's work; tests may call it directly). Never raises."""
        with self._lock:
            self.stats.packets += 1
        try:
            messages = parse_packet(data)
        except OscError as e:
            self._count(dropped=1, error=f"malformed packet: {e}")
            return
        except Exception as e:  # noqa: BLE001 - a parser bug must not stop the server either
            self._count(dropped=1, error=f"malformed packet: {first_line(e)}")
            return
        for msg in messages:
            with self._lock:
                self.stats.messages += 1
                self.stats.last_address = msg.address[:120]
            try:
                self.handler(resolve(msg, self.ui))
            except (AddressError, FoleyError, ValueError) as e:
                self._count(rejected=1, error=f"{msg.address[:60]}: {first_line(e)}")
            except Exception as e:  # noqa: BLE001 - the handler failed: count it, keep serving
                self._count(rejected=1, error=f"{msg.address[:60]}: {type(e).__name__}: {first_line(e)}")
            else:
                self._count(applied=1)

    def _count(self, applied: int = 0, dropped: int = 0, rejected: int = 0, error: str = "") -> None:
        with self._lock:
            self.stats.applied += applied
            self.stats.dropped += dropped
            self.stats.rejected += rejected
            if error:
                self.stats.last_error = error[:200]
