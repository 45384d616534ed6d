"""A UDP OSC server on 127.0.0.1: one thread receives datagrams, parses them (``osc``), resolves each message in the
address space (``addresses``) and hands the :class:`~foleyvae.control.addresses.Change` to a handler.

It binds the loopback interface only: OSC has no authentication, so only programs on this machine may steer the
engine (a controller app on a phone goes through a local bridge). Nothing a client sends can stop the thread: a
malformed packet is dropped and counted, a message the address space or the handler refuses is counted as
rejected with its reason, and an unexpected exception in the handler is counted too.

A bundle with a time tag in the future is held and applied when due (a heap the thread wakes up for; a sequencer can
send a cue ahead and have it land on time); one due already, or "immediately", applies on arrival. A tag more than
:data:`MAX_AHEAD_S` ahead is refused, and at most :data:`MAX_PENDING` messages wait. Address patterns are expanded
over the addresses ``space()`` gives (the model playing now), at the moment the message applies.
"""

from __future__ import annotations

import heapq
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from foleyvae.control.addresses import AddressError, Change, expand, is_pattern, resolve
from foleyvae.control.osc import OscError, OscMessage, parse_timed, tag_to_unix
from foleyvae.errors import FoleyError, first_line

__all__ = ["OscServer", "OscStats", "LOOPBACK"]

LOOPBACK = "127.0.0.1"
MAX_DATAGRAM = 65536
MAX_AHEAD_S = 60.0  # a time tag further ahead is refused (a wrong clock, not a cue)
MAX_PENDING = 4096  # timed messages waiting at once


@dataclass
class OscStats:
    """What the server saw: packets, messages, changes applied, malformed packets dropped, messages rejected."""

    port: int = 0
    packets: int = 0
    messages: int = 0
    applied: int = 0
    dropped: int = 0
    rejected: int = 0
    scheduled: int = 0  # messages held for their bundle's time tag
    pending: int = 0  # ... of which still waiting
    late: int = 0  # timed messages that arrived after their time (applied at once)
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
        space: the concrete addresses patterns may reach now (``addresses.concrete_addresses`` for the model
            playing; None when none is): called when a pattern applies. Without it patterns are refused.
    """

    def __init__(
        self,
        port: int,
        handler: Callable[[Change], None],
        ui: bool,
        name: str = "foleyvae-osc",
        space: Callable[[], list[str] | None] | None = None,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise FoleyError(f"--osc-port {port!r}: must be in 0..65535")
        self.handler = handler
        self.ui = ui
        self.space = space
        self._timed: list[tuple[float, int, OscMessage]] = []  # (due, arrival order, message): a heap
        self._order = 0
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
        if self._thread.is_alive():
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
            self.run_due()
            with self._lock:
                wait = 0.2 if not self._timed else min(0.2, max(0.0005, self._timed[0][0] - time.time()))
            try:
                self.sock.settimeout(wait)
                data = self.sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Handle one datagram (the thread's work; tests may call it directly): messages due now apply, later ones
        are held for :meth:`run_due`. Never raises."""
        with self._lock:
            self.stats.packets += 1
        try:
            timed = parse_timed(data)
        except OscError as e:
            self._count(dropped=1, error=f"malformed packet: {e}")
            return
        except Exception as e:  # noqa: BLE001 - a parser bug must not stop the server either
            self._count(dropped=1, error=f"malformed packet: {first_line(e)}")
            return
        now = time.time()
        for tag, msg in timed:
            due = tag_to_unix(tag)
            if due is None or due <= now:
                if due is not None:
                    with self._lock:
                        self.stats.late += 1
                self._apply(msg)
            elif due > now + MAX_AHEAD_S:
                self._refuse(msg, f"time tag {due - now:.0f} s ahead (max 60)")
            elif not self._schedule(due, msg):
                self._refuse(msg, f"{MAX_PENDING} timed messages already wait")

    def _schedule(self, due: float, msg: OscMessage) -> bool:
        """Hold ``msg`` until ``due``; False when the heap is full."""
        with self._lock:
            if len(self._timed) >= MAX_PENDING:
                return False
            heapq.heappush(self._timed, (due, self._order, msg))
            self._order += 1
            self.stats.scheduled += 1
            self.stats.pending = len(self._timed)
            return True

    def _refuse(self, msg: OscMessage, why: str) -> None:
        """A message refused before it was resolved: counted as received and rejected."""
        with self._lock:
            self.stats.messages += 1
        self._count(rejected=1, error=f"{msg.address[:60]}: {why}")

    def run_due(self) -> None:
        """Apply the held messages whose time has come (in time order, then arrival order)."""
        now = time.time()
        while True:
            with self._lock:
                if not self._timed or self._timed[0][0] > now:
                    self.stats.pending = len(self._timed)
                    return
                _, _, msg = heapq.heappop(self._timed)
            self._apply(msg)

    def _apply(self, msg: OscMessage) -> None:
        with self._lock:
            self.stats.messages += 1
            self.stats.last_address = msg.address[:120]
        try:
            space = self.space() if self.space is not None and is_pattern(msg.address) else None
            concrete = expand(msg, space)
        except (AddressError, FoleyError, ValueError) as e:
            self._count(rejected=1, error=f"{msg.address[:60]}: {first_line(e)}")
            return
        for one in concrete:
            try:
                self.handler(resolve(one, self.ui))
            except (AddressError, FoleyError, ValueError) as e:
                self._count(rejected=1, error=f"{one.address[:60]}: {first_line(e)}")
            except Exception as e:  # noqa: BLE001 - the handler failed: count it, keep serving
                self._count(rejected=1, error=f"{one.address[:60]}: {type(e).__name__}: {first_line(e)}")
            else:
                self._count(applied=1)

    def _count(self, applied: int = 0, dropped: int = 0, rejected: int = 0, error: str = "") -> None:
        with self._lock:
            self.stats.applied += applied
            self.stats.dropped += dropped
            self.stats.rejected += rejected
            if error:
                self.stats.last_error = error[:200]
