"""How the studio is served: uvicorn with timeouts and a connection cap that survive a slow-headers flood.

uvicorn keeps a connection that never finishes its request headers forever (no token is needed to open one):
20000 of them exhausted the file descriptors, after which every request failed and the log filled with "Too many
open files". :func:`guarded_protocol` wraps uvicorn's h11 protocol so that

* a connection must finish its headers within ``header_timeout_s`` of its first byte (or of opening), else it is
  closed (the timer is not reset by each byte, so a trickle does not keep it alive);
* idle keep-alive connections close after ``keep_alive_s`` (uvicorn's own timer);
* at most ``max_connections`` are open: a connection that pushes the count over the cap evicts the oldest one
  still waiting for its headers (the newcomer itself when none waits), so a flood of slow openers cannot lock out
  the page, and the cap stays far below the descriptor limit;
* a request head is at most ``max_header_bytes`` (h11's incomplete-event limit; larger -> 400).
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

__all__ = ["ServerLimits", "ConnectionGuard", "guarded_protocol", "uvicorn_config"]


@dataclass(frozen=True)
class ServerLimits:
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 200
    max_header_bytes: int = 16 * 1024

    def effective_max_connections(self) -> int:
        """The cap, kept under half the soft descriptor limit (the rest: files, ffmpeg pipes, the model)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft <= 0:
            return self.max_connections
        return max(8, min(self.max_connections, soft // 2))


class ConnectionGuard:
    """Shared by the connections of one server: who waits for headers (oldest first) and counters for tests.

    ``open`` counts connections not being closed; the sockets of closed ones go on the loop's next turn, so the
    descriptors in use stay under the cap plus one accept batch (uvicorn's ``backlog``).
    """

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.max_connections = limits.effective_max_connections()
        self.waiting: dict[Any, None] = {}  # insertion-ordered: the first key is the oldest waiter
        self.open = 0
        self.peak = 0
        self.evicted = 0
        self.timed_out = 0

    def admit(self, conn: Any) -> None:
        """A new connection: evict the oldest header-waiter (or this one) when the cap is passed."""
        self.open += 1
        self.peak = max(self.peak, self.open)
        if self.open <= self.max_connections:
            return
        victim = next((c for c in self.waiting if c is not conn), conn)
        self.evicted += 1
        victim.close_now()


def guarded_protocol(guard: ConnectionGuard) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the header timeout and the connection cap of ``guard``."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _counted = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._counted = True
            self._arm()
            guard.admit(self)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._arm()  # (still, or again on a kept-alive connection) waiting for a request head
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted:
                self._counted = False
                guard.open -= 1
            super().connection_lost(exc)

        def handle_websocket_upgrade(self, event: h11.Request) -> None:
            self._disarm()
            if self._counted:  # the WebSocket protocol takes the transport over; our connection_lost never runs
                self._counted = False
                guard.open -= 1
            super().handle_websocket_upgrade(event)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(guard.limits.header_timeout_s, self._header_timeout)
                guard.waiting[self] = None

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            guard.waiting.pop(self, None)

        def _header_timeout(self) -> None:
            self._header_timer = None
            guard.timed_out += 1
            self.close_now()

        def close_now(self) -> None:
            self._disarm()
            if self._counted:  # counted out now: connection_lost only runs on the loop's next turn
                self._counted = False
                guard.open -= 1
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def uvicorn_config(app: Any, host: str, port: int, limits: ServerLimits, ws_max_size: int) -> Any:
    """A ``uvicorn.Config`` for the studio app with ``limits`` applied; the guard is ``app.state.connections``."""
    import uvicorn

    guard = ConnectionGuard(limits)
    app.state.connections = guard  # counters for tests and benchmarks (studio.connections too)
    studio = getattr(app.state, "studio", None)
    if studio is not None:
        studio.connections = guard
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        ws_max_size=ws_max_size,
        lifespan="off",
        http=guarded_protocol(guard),
        timeout_keep_alive=max(1, int(round(limits.keep_alive_s))),
        h11_max_incomplete_event_size=limits.max_header_bytes,
        backlog=max(64, guard.max_connections),
    )
