"""OSC into the studio through a real UDP socket on 127.0.0.1: values reach the live engine as the page's controls
do, the page is told (so its sliders follow), /api/state shows them, and refusals are counted."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from foleyvae.control.osc import encode_bundle, encode_message
from tests.studio.conftest import TOKEN


@pytest.fixture
def osc(client: Any) -> Iterator[tuple[Any, Callable[..., None]]]:
    """(the studio, send(address, *args)) with the studio's OSC server on a free loopback port."""
    st = client.app.state.studio
    srv = st.remote.start_osc(0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(address: str, *args: Any) -> None:
        n = srv.snapshot()["packets"]
        sock.sendto(encode_message(address, *args), ("127.0.0.1", srv.port))
        wait(lambda: srv.snapshot()["packets"] > n)

    try:
        yield st, send
    finally:
        sock.close()
        st.remote.close()


def wait(cond: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def until(ws: Any, kind: str) -> list[dict[str, Any]]:
    """Ping, then read the text messages up to the pong (bounded: the pong always comes)."""
    ws.send_text(json.dumps({"type": "ping", "t": 0}))
    out = []
    for _ in range(200):
        msg = json.loads(ws.receive_text())
        if msg["type"] == "pong":
            return out
        if msg["type"] == kind:
            out.append(msg)
    raise AssertionError("no pong")


def test_osc_without_a_stream_waits_and_shows_in_state(client: Any, osc: Any) -> None:
    st, send = osc
    send("/foleyvae/temperature", 0.5)
    send("/foleyvae/bias/1", 2)  # an int is a number too
    send("/foleyvae/towards/" + st.card()["materials"][0], 0.4)
    send("/foleyvae/scale/[!0]", 1.5)  # a pattern over this model's dims
    s = client.get("/api/state").json()
    vals = s["control_values"]
    assert vals["scale"] == [1.0, 1.5, 1.5, 1.5]
    assert vals["temperature"] == 0.5 and vals["bias"] == [0.0, 2.0, 0.0, 0.0]
    assert vals["towards"] == {"label": st.card()["materials"][0], "amount": pytest.approx(0.4)}
    assert s["osc"]["applied"] == 6 and s["osc"]["port"] > 0
    # the next stream starts with them, and the page gets them in "ready"
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 256}))
        ready = json.loads(ws.receive_text())
        assert ready["type"] == "ready" and ready["controls"]["temperature"] == 0.5
        assert st.live.engine.controls.temperature == 0.5
        assert st.remote.pending == {}


def test_osc_drives_the_live_engine_and_the_page(client: Any, osc: Any) -> None:
    st, send = osc
    k = st.model.latent_size
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 256}))
        assert json.loads(ws.receive_text())["type"] == "ready"
        ws.send_text(json.dumps({"type": "controls", "bias": [0.5] * k, "dry_wet": 0.5}))  # the page's own values
        until(ws, "error")
        send("/foleyvae/bias/2", -1.5)
        send("/foleyvae/scale/0", 1.75)
        send("/foleyvae/dry_wet", 0.8)
        send("/foleyvae/freeze", True)
        live = st.live
        wait(lambda: live.state.get("freeze") is True)
        pushed = until(ws, "controls")
        assert [m["source"] for m in pushed] == ["osc"] * 4
        assert pushed[0]["controls"]["bias"] == [0.5, 0.5, -1.5, 0.5]  # one dim moved, the page's others kept
        c = live.engine.controls
        std = live.std
        assert np.allclose(c.bias, np.array([0.5, 0.5, -1.5, 0.5]) * std)  # slider unit (std) -> latent units
        assert c.scale[0] == 1.75 and c.dry_wet == 0.8 and c.freeze is True
        vals = client.get("/api/state").json()["control_values"]
        assert vals["bias"] == [0.5, 0.5, -1.5, 0.5] and vals["dry_wet"] == 0.8
        # a bundle: material and amount together; then off; then a reset
        mat = st.card()["materials"][1]
        pkt = encode_bundle(encode_message(f"/foleyvae/towards/{mat}", 1.0), encode_message("/foleyvae/towards", 0.3))
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(pkt, ("127.0.0.1", st.remote.server.port))
        wait(lambda: (live.state.get("towards") or {}).get("amount") == pytest.approx(0.3))
        assert live.state["towards"]["label"] == mat and c.towards_amount == pytest.approx(0.3)
        send("/foleyvae/towards/off")
        wait(lambda: live.state.get("towards", 0) is None)
        send("/foleyvae/reset")
        wait(lambda: live.state.get("bias") == [0.0] * k)
        assert live.state["dry_wet"] == 1.0 and not live.state["freeze"] and np.allclose(c.bias, 0.0)
        # record goes to the page, which records from its frames
        send("/foleyvae/record", 1)
        assert until(ws, "remote") == [{"type": "remote", "action": "record", "on": True}]


def test_refused_osc_is_counted_and_changes_nothing(client: Any, osc: Any) -> None:
    st, send = osc
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 256}))
        json.loads(ws.receive_text())
        send("/foleyvae/bias/0", 3.5)  # past the slider's +-3 std
        send("/foleyvae/bias/9", 1.0)  # the demo model has 4 dims
        send("/foleyvae/towards/unobtainium", 0.5)
        send("/foleyvae/towards", 0.5)  # an amount with no material on
        send("/foleyvae/temperature", "hot")
        send("/nothing/here")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"\x00\x01\x02", ("127.0.0.1", st.remote.server.port))
        wait(lambda: st.remote.server.snapshot()["packets"] == 7)
        sock.close()
        o = client.get("/api/state").json()["osc"]
        assert o["rejected"] == 6 and o["dropped"] == 1 and o["applied"] == 0
        assert "unobtainium" not in json.dumps(st.live.state) and until(ws, "controls") == []


def test_presets_carry_a_checked_midi_mapping(client: Any) -> None:
    midi = [{"kind": "cc", "channel": 0, "number": 21, "target": "temperature"},
            {"kind": "note", "channel": 9, "number": 36, "target": "towards/wood"}]  # fmt: skip
    r = client.post("/api/presets/hw", json={"temperature": 1.0, "midi": midi})
    assert r.status_code == 200 and r.json()["controls"] == {"temperature": 1.0}
    got = client.get("/api/presets/hw").json()  # the preset answer of #21: controls, model, warning, + the mapping
    assert got["controls"] == {"temperature": 1.0} and got["midi"] == midi
    bad = [
        ([{"kind": "sysex", "channel": 0, "number": 1, "target": "temperature"}], "kind"),
        ([{"kind": "cc", "channel": 16, "number": 1, "target": "temperature"}], "channel"),
        ([{"kind": "cc", "channel": 0, "number": 1, "target": "../etc"}], "target"),
        ([{"kind": "cc", "channel": 0, "number": 1, "target": "x", "extra": 1}], "expected"),
        ("all of them", "list"),
    ]
    for value, field in bad:
        r = client.post("/api/presets/bad", json={"temperature": 1.0, "midi": value})
        assert r.status_code == 400 and field in r.json()["error"], r.json()
    assert "bad" not in client.get("/api/presets").json()
