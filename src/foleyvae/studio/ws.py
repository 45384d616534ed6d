"""The live WebSocket (``/ws``): one :class:`PageSocket` per connection, one method per message type.

Wire protocol (unchanged; the page is ``static/``): binary frames are audio (``session.FRAME_HEADER``), answered by a
binary frame and, now and then, a stats message; text frames are JSON objects with a ``"type"``:
``start`` (open the live stream, answers ``ready``), ``controls``, ``record`` (``on`` arms a take, off finishes it and
answers ``take``), ``reset``, ``ping`` (answers ``pong``). Any bad message answers ``{"type": "error"}`` and the
connection stays open.

Sessions (issue #21): a page stays connected without playing (``?tab=ID`` names its tab, whose model the stream
uses: ``tabs``), and reconnects by itself after a restart. One page owns the live stream at a time: ``start`` takes
it, and the page that had it gets ``{"type": "taken"}`` (its take is saved, its stream closed, its socket stays
open), so it can say so and take the stream back with its own ``start`` (Play, or its Take back button).
Changes from OSC (``studio.remote``) reach the page as ``{"type": "controls", "controls": ..., "source": "osc"}``
(already applied) and ``{"type": "remote", "action": "record", "on": ...}``; ``ready`` carries the ``controls``
that OSC set while no stream ran. OSC goes to the page that connected last, then to the page that takes the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from foleyvae.errors import FoleyError
from foleyvae.playable.protocol import StreamModel
from foleyvae.studio.limits import parse_json
from foleyvae.studio.security import TOKEN_HEADER, SecurityError, host_ok, origin_ok, token_ok, validate_controls
from foleyvae.studio.session import PageStream, check_block_size
from foleyvae.studio.state import MAX_WS_MESSAGE, Studio, new_page_stream

__all__ = ["PageSocket", "MAX_TEXT_MESSAGE", "latency_ms"]

MAX_TEXT_MESSAGE = 64 * 1024
MAX_QUEUED = 256  # received frames waiting for the engine (256 blocks of 512 samples = 3 s at 44.1 kHz)
IMMEDIATE = ("controls",)  # message types that need not wait behind queued audio (a ping stays a barrier)


def latency_ms(live: PageStream) -> float:
    """The live stream's input-to-output latency in ms (the engine's, else block + model delay)."""
    v = getattr(live.engine, "latency_ms", None)
    if v is None:
        return round(1000.0 * (live.block_size + live.model.delay_samples) / live.model.sample_rate, 2)
    return round(float(v), 2)


class PageSocket:
    """One page's live connection: authenticates, owns the live stream, and dispatches each message by type."""

    def __init__(self, st: Studio, websocket: WebSocket, extra_hosts: tuple[str, ...] = ()) -> None:
        self.st = st
        self.websocket = websocket
        self.extra_hosts = extra_hosts
        self.live: PageStream | None = None
        self.version = -1  # the tab's model version the live stream was built on
        tab = websocket.query_params.get("tab")
        self.tab_id: str | None = tab if tab else None
        self.was_taken = False
        self.texts_queued = 0  # JSON messages waiting in the inbox (an immediate one may not overtake them)
        self.tasks: set[asyncio.Future[None]] = set()
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "start": self.on_start,
            "controls": self.on_controls,
            "record": self.on_record,
            "reset": self.on_reset,
            "ping": self.on_ping,
        }

    def allowed(self) -> bool:
        """The session token, a same-origin page and the served Host (else the socket is refused with 1008)."""
        headers = self.websocket.headers
        given = self.websocket.query_params.get("token") or headers.get(TOKEN_HEADER)
        return (
            token_ok(given, self.st.cfg.token)
            and origin_ok(headers.get("origin"), headers.get("host"))
            and host_ok(headers.get("host"), self.st.cfg.host, None, self.extra_hosts)
        )

    async def run(self) -> None:
        """Serve the connection until the page leaves; a take in progress is saved when it does."""
        if not self.allowed():
            await self.websocket.close(code=1008)
            return
        try:
            self.st.tab(self.tab_id)  # a bad tab id is refused before the socket opens
        except FoleyError:
            await self.websocket.close(code=1008)
            return
        await self.websocket.accept()
        self.st.remote.attach(asyncio.get_running_loop(), self.on_remote)
        inbox: asyncio.Queue[Mapping[str, Any] | None] = asyncio.Queue(maxsize=MAX_QUEUED)
        worker = asyncio.ensure_future(self.work(inbox))
        try:
            await self.read(inbox, worker)
        except WebSocketDisconnect:
            pass
        finally:
            if not worker.done():
                await inbox.put(None)  # the worker handles what was received (a take's last frames), then stops
            with contextlib.suppress(Exception):
                await worker
            self.st.remote.detach(self.on_remote)
            if self.live is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.live.finish_take)
            if self.st.live_owner is self:
                self.st.live_owner = None

    async def read(self, inbox: asyncio.Queue[Mapping[str, Any] | None], worker: asyncio.Future[None]) -> None:
        """Receive frames as they come. A ``controls`` message is handled at once when only audio waits
        before it, so a knob acts now even while the engine works through a backlog of audio (a loaded machine);
        everything else keeps its order in ``inbox``. Returns when the page leaves or the worker stopped."""
        while not worker.done():
            # Yield to the event loop between messages: with a backlog, receive() returns without suspending,
            # so a page flooding controls would otherwise starve every other request until it stops sending.
            await asyncio.sleep(0)
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is not None and self.texts_queued == 0 and self.immediate(text):
                await self.on_message(message)
                continue
            if text is not None:
                self.texts_queued += 1
            await inbox.put(message)  # a full inbox (MAX_QUEUED frames behind) waits, as the socket would

    async def work(self, inbox: asyncio.Queue[Mapping[str, Any] | None]) -> None:
        """Handle the inbox in order (audio, start, record, reset) until ``None``."""
        while (message := await inbox.get()) is not None:
            if message.get("text") is not None:
                self.texts_queued -= 1
            await self.on_message(message)

    def immediate(self, text: str) -> bool:
        """A control change: cheap and order-free against audio (a bad message goes in line, to be
        answered by its error in order)."""
        if len(text) > MAX_TEXT_MESSAGE:
            return False
        try:
            msg = parse_json(text, self.st.cfg.max_json_depth, "message")
        except FoleyError:
            return False
        return isinstance(msg, dict) and msg.get("type") in IMMEDIATE

    async def send(self, msg: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(msg))

    async def on_message(self, message: Mapping[str, Any]) -> None:
        """One received frame: audio or a JSON message; a failure is answered as an error and the page goes on."""
        data, text = message.get("bytes"), message.get("text")
        try:
            if data is not None:
                await self.on_audio(data)
            else:
                await self.on_text(text)
        except FoleyError as e:
            await self.send({"type": "error", "message": str(e)})
        except (ValueError, TypeError, RuntimeError) as e:  # a model or engine failure: report, keep going
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            await self.send({"type": "error", "message": f"processing failed: {first}"})

    async def on_text(self, text: str | None) -> None:
        """A JSON message (size- and depth-capped) -> its handler."""
        if text is None or len(text) > MAX_TEXT_MESSAGE:
            raise SecurityError("message too large")
        msg = parse_json(text, self.st.cfg.max_json_depth, "message")
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            raise SecurityError('message needs a "type"')
        handler = self.handlers.get(msg["type"])
        if handler is None:
            raise SecurityError(f"unknown message type {msg['type'][:40]!r}")
        await handler(msg)

    def require_live(self) -> PageStream:
        if self.live is None:
            raise SecurityError('send {"type": "start"} first')
        return self.live

    async def finish_take(self, live: PageStream, end_of_stream: bool = True) -> None:
        """Close the take being recorded (and those still owed a tail), and tell the page. ``end_of_stream``: the
        stream ends here, so the engine is flushed for the tails (see ``PageStream.finish_take``)."""
        for take in await asyncio.to_thread(live.finish_take, end_of_stream):
            await self.send({"type": "take", "take": take})

    def new_stream(self, model: StreamModel, block: int) -> PageStream:
        tab = self.st.tab(self.tab_id)
        self.live = new_page_stream(self.st, model, block, tab.entry.id if tab.entry else None)
        self.st.live = self.live
        self.version = tab.version
        return self.live

    async def take_over(self) -> None:
        """This page takes the live stream; the page that had it is told (its take saved, its stream closed)."""
        old, self.st.live_owner = self.st.live_owner, self
        self.st.remote.attach(asyncio.get_running_loop(), self.on_remote)  # OSC follows the live stream
        if old is not None and old is not self:
            with contextlib.suppress(Exception):
                await old.taken()

    async def taken(self) -> None:
        """Another page took the live stream: save the take in progress, close the stream, say so."""
        live, self.live = self.live, None
        self.was_taken = True
        if live is not None:
            await self.finish_take(live)
        message = "another tab took over the live stream: press Play or Take back here to take it back"
        await self.send({"type": "taken", "message": message})

    async def on_audio(self, data: bytes) -> None:
        """An audio frame -> the processed frame (+ stats, + a closed take); a new model restarts the stream."""
        if len(data) > MAX_WS_MESSAGE:
            raise SecurityError("audio frame too large")
        live = self.live
        if live is None:
            if self.was_taken:
                return  # frames still in flight when another page took over: dropped without a word
            raise SecurityError('send {"type": "start"} before audio')
        tab = self.st.tab(self.tab_id)
        if self.version != tab.version and tab.entry is not None:  # this tab picked another model
            await self.finish_take(live)
            model = await asyncio.to_thread(tab.require_model)
            live = self.new_stream(model, live.block_size)
            await self.send({"type": "model", "model": self.st.card(self.tab_id), "latency_ms": latency_ms(live)})
            return
        reply, stats, take = await asyncio.to_thread(live.process_frame, data)
        await self.websocket.send_bytes(reply)
        if stats:
            await self.send(stats)
        if take:
            await self.send({"type": "take", "take": take})

    async def on_start(self, msg: dict[str, Any]) -> None:
        """(Re)open the live stream on the open model; the previous stream's controls carry over where still valid."""
        model = await asyncio.to_thread(self.st.require_model, self.tab_id)
        block = msg.get("block_size", self.st.cfg.default_block_size)
        if isinstance(block, bool) or not isinstance(block, int):
            raise SecurityError("block_size must be an integer")
        if self.live is not None:
            await self.finish_take(self.live)
        check_block_size(block)  # before taking the stream from another page
        previous = dict(self.live.state) if self.live is not None else {}
        await self.take_over()
        self.was_taken = False
        live = self.new_stream(model, block)
        if previous:
            with contextlib.suppress(FoleyError):
                live.set_controls(validate_controls(previous, model.latent_size, live.labels))
        remote = self.st.remote.take_pending()  # what OSC set while no stream ran (the page adopts it from ready)
        with contextlib.suppress(FoleyError):
            live.set_controls(validate_controls(remote, model.latent_size, live.labels))
        await self.send(
            {
                "type": "ready",
                "block_size": block,
                "sample_rate": int(model.sample_rate),
                "channels": int(model.channels),
                "latency_ms": latency_ms(live),
                "model": self.st.card(self.tab_id),
                "controls": remote,
            }
        )

    async def on_controls(self, msg: dict[str, Any]) -> None:
        """Validate the whole message against the control spec, then apply it (all or nothing)."""
        live = self.require_live()
        live.set_controls(validate_controls(msg, int(live.model.latent_size), live.labels))

    async def on_record(self, msg: dict[str, Any]) -> None:
        """``on``: arm a take (with the video time it lines up with); off: finish it."""
        live = self.require_live()
        if not msg.get("on"):
            await self.finish_take(live, end_of_stream=False)
            return
        vt = msg.get("video_time", 0.0)
        if isinstance(vt, bool) or not isinstance(vt, (int, float)) or not 0 <= vt < 1e6:
            raise SecurityError("video_time must be a number of seconds >= 0")
        src = msg.get("source", "live")
        live.arm_record({"video_time": float(vt), "source": str(src)[:40]})

    async def on_reset(self, msg: dict[str, Any]) -> None:
        if self.live is not None:
            self.live.model.reset()

    def on_remote(self, item: dict[str, Any]) -> None:
        """An OSC item on the event loop (``studio.remote``): apply a change to the live stream and tell the page."""
        task = asyncio.ensure_future(self._remote(item))
        self.tasks.add(task)  # held until done (the loop keeps only weak references to tasks)
        task.add_done_callback(self.tasks.discard)

    async def _remote(self, item: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the page may be gone; a change the model no longer takes is dropped
            if item["action"] == "record":
                await self.send({"type": "remote", "action": "record", "on": item["on"]})
                return
            update = item["update"]
            try:
                if self.live is None:
                    self.st.remote.keep(update)
                    return
                model = self.live.model  # the model may have changed since the OSC thread checked the update
                self.live.set_controls(validate_controls(update, int(model.latent_size), self.live.labels))
            finally:
                self.st.remote.landed(update)
            await self.send({"type": "controls", "controls": update, "source": "osc"})

    async def on_ping(self, msg: dict[str, Any]) -> None:
        await self.send({"type": "pong", "t": msg.get("t"), "server_time": time.time()})
