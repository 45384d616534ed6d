"""Fuzzing the studio's message parsing (hypothesis): random WebSocket text/binary frames and random JSON bodies on
the HTTP routes. Each gives a clear error (an ``error`` message, or a 4xx) and the server keeps serving; nothing
answers 500 and the connection stays open."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.studio.conftest import TOKEN

_FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_subnormal=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_types = st.sampled_from(["start", "controls", "record", "reset", "ping", "stop", "", "CONTROLS"])
_message = st.one_of(
    st.builds(lambda t, extra: {"type": t, **extra}, _types, st.dictionaries(st.sampled_from(
        ["block_size", "bias", "scale", "temperature", "dry_wet", "gain", "towards", "amount", "on", "video_time",
         "source", "freeze", "limiter"]), _json, max_size=4)),
    _json.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=4096),
)  # fmt: skip


def _drain_until_pong(ws: Any, t: int) -> list[dict[str, Any]]:
    """Read replies until the pong for ``t``; every text reply must be a JSON object with a type."""
    seen = []
    while True:
        m = ws.receive()
        if m.get("text") is not None:
            msg = json.loads(m["text"])
            assert isinstance(msg, dict) and isinstance(msg.get("type"), str), msg
            if msg["type"] == "pong" and msg.get("t") == t:
                return seen
            seen.append(msg)


@_FUZZ
@given(messages=st.lists(_message, min_size=1, max_size=6))
def test_websocket_survives_random_messages(client: Any, messages: list[Any]) -> None:
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        for i, m in enumerate(messages):
            if isinstance(m, bytes):
                ws.send_bytes(m)
            else:
                ws.send_text(m if isinstance(m, str) else json.dumps(m))
            replies = _drain_until_pong_after_ping(ws, i)
            for r in replies:
                assert r["type"] in {"error", "ready", "take", "model", "stats", "meters", "pong"}, r
                if r["type"] == "error":
                    assert r["message"] and "\n" not in r["message"] and len(r["message"]) < 400
    assert client.get("/api/state").status_code == 200


def _drain_until_pong_after_ping(ws: Any, i: int) -> list[dict[str, Any]]:
    ws.send_text(json.dumps({"type": "ping", "t": i}))
    return _drain_until_pong(ws, i)


_routes = st.sampled_from(["/api/render", "/api/mix", "/api/model", "/api/presets/fuzz", "/api/takes/x/mux"])


@_FUZZ
@given(route=_routes, body=st.one_of(_json.map(json.dumps), st.text(max_size=100), st.binary(max_size=200)))
def test_http_json_routes_refuse_bad_bodies_cleanly(client: Any, route: str, body: Any) -> None:
    content = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    r = client.post(route, content=content, headers={"Content-Type": "application/json"})
    assert r.status_code < 500, (route, body, r.status_code, r.text[:200])
    if r.status_code >= 400:
        assert r.json().get("detail") or r.json().get("error"), r.text[:200]
