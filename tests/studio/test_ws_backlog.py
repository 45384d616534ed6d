"""A control change is applied at once even while the engine works through a backlog of audio frames.

A loaded machine processes the page's audio slower than it arrives; the frames wait in line. A knob must not wait
behind them (the CI run that found this: a material blend sent by the page was not applied 10 s later), while
everything else (start, record, ping) keeps its order against the audio.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.studio.conftest import TOKEN

SLOW_S = 0.05  # one frame's processing time in these tests: 40 frames = 2 s of backlog


@pytest.fixture
def slow_studio(studio_cfg: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """A TestClient on a studio whose live stream takes SLOW_S per audio frame, and the Studio."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from foleyvae.studio.app import Studio, create_app
    from foleyvae.studio.session import PageStream

    real = PageStream.process_frame

    def slow(self: Any, frame: bytes) -> Any:
        time.sleep(SLOW_S)
        return real(self, frame)

    monkeypatch.setattr(PageStream, "process_frame", slow)
    studio = Studio(studio_cfg)
    studio.open_default()
    with TestClient(create_app(studio_cfg, studio)) as c:
        yield c, studio


def frames(n: int, bs: int = 256) -> list[bytes]:
    from foleyvae.studio.session import FRAME_HEADER

    block = np.full(bs, 0.1, np.float32).tobytes()
    return [FRAME_HEADER.pack(i, 0, 0.0) + block for i in range(n)]


def until_pong(ws: Any) -> list[dict[str, Any]]:
    texts: list[dict[str, Any]] = []
    while not texts or texts[-1]["type"] != "pong":
        m = ws.receive()
        if m.get("text"):
            texts.append(json.loads(m["text"]))
    return texts


def test_controls_overtake_queued_audio(slow_studio: tuple[Any, Any]) -> None:
    client, studio = slow_studio
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 256}))
        assert json.loads(ws.receive_text())["type"] == "ready"
        for f in frames(40):
            ws.send_bytes(f)
        ws.send_text(json.dumps({"type": "controls", "bias": [2.0, 0, 0, 0]}))
        t0 = time.monotonic()
        while studio.live.state.get("bias", [0])[0] != 2.0 and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        waited, processed = time.monotonic() - t0, studio.live.blocks
        assert studio.live.state["bias"][0] == 2.0
        # applied while most of the 2 s of audio still waited (in line behind it, it would come after all 40)
        assert processed < 30, (processed, waited)
        ws.send_text(json.dumps({"type": "ping", "t": 1}))
        until_pong(ws)  # a ping stays a barrier: answered after the 40 frames
        assert studio.live.blocks == 40


def test_messages_other_than_controls_keep_their_order(slow_studio: tuple[Any, Any]) -> None:
    from foleyvae.studio.session import FLAG_RECORD, FRAME_HEADER

    client, studio = slow_studio
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 256}))
        assert json.loads(ws.receive_text())["type"] == "ready"
        block = np.full(256, 0.1, np.float32).tobytes()
        for i in range(10):
            ws.send_bytes(FRAME_HEADER.pack(i, FLAG_RECORD, 0.0) + block)
        ws.send_bytes(FRAME_HEADER.pack(10, 0, 0.0) + block)  # recording off: the take closes after 10 blocks
        # a control queued behind a start: it must not overtake the start (it would land on the old stream)
        ws.send_text(json.dumps({"type": "start", "block_size": 512}))
        ws.send_text(json.dumps({"type": "controls", "bias": [1.0, 0, 0, 0]}))
        texts = until_pong_after(ws)
        takes = [t["take"] for t in texts if t["type"] == "take"]
        assert len(takes) == 1 and takes[0]["duration"] == pytest.approx(10 * 256 / 44100, abs=1e-3)
        assert [t["type"] for t in texts].index("take") < [t["type"] for t in texts].index("ready")
        assert studio.live.block_size == 512 and studio.live.state["bias"][0] == 1.0


def until_pong_after(ws: Any) -> list[dict[str, Any]]:
    ws.send_text(json.dumps({"type": "ping", "t": 2}))
    return until_pong(ws)
