"""The OSC 1.0 parser, the address space (from the control spec) and the UDP server: real datagrams on 127.0.0.1,
a malformed-packet fuzz the server survives, and docs/osc.md's table equal to the generated one."""

from __future__ import annotations

import random
import re
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from foleyvae.control.addresses import AddressError, Change, concrete_addresses, expand, markdown_table, resolve
from foleyvae.control.osc import (
    IMMEDIATELY,
    OscError,
    OscMessage,
    encode_bundle,
    encode_message,
    parse_packet,
    parse_timed,
    tag_to_unix,
    unix_to_tag,
)
from foleyvae.control.server import OscServer
from foleyvae.errors import FoleyError
from foleyvae.inference.control_spec import CONTROLS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "osc.md"


def test_parse_a_message_by_hand() -> None:
    """Bytes written out by hand from the OSC 1.0 spec's own example layout: '/foo' ',iisff' ..."""
    raw = (
        b"/foo\x00\x00\x00\x00" + b",iisff\x00\x00" + struct.pack(">i", 1000) + struct.pack(">i", -1)
        + b"hello\x00\x00\x00" + struct.pack(">f", 1.234) + struct.pack(">f", 5.678)
    )  # fmt: skip
    (m,) = parse_packet(raw)
    assert m.address == "/foo" and m.tags == "iisff"
    assert m.args[:3] == (1000, -1, "hello")
    assert m.args[3] == pytest.approx(1.234, rel=1e-6) and m.args[4] == pytest.approx(5.678, rel=1e-6)
    assert encode_message("/foo", 1000, -1, "hello", 1.234, 5.678) == raw


def test_round_trip_and_bundles() -> None:
    a = encode_message("/foleyvae/bias/0", 1.5)
    b = encode_message("/foleyvae/towards", "wood:0.6,metal:0.4", 0.5)
    c = encode_message("/x", b"\x01\x02\x03", True, False, 7)
    msgs = parse_packet(encode_bundle(a, encode_bundle(b, c)))
    assert [m.address for m in msgs] == ["/foleyvae/bias/0", "/foleyvae/towards", "/x"]
    assert msgs[1].args == ("wood:0.6,metal:0.4", 0.5)
    assert msgs[2].tags == "bTFi" and msgs[2].args == (b"\x01\x02\x03", True, False, 7)


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"", "multiple of 4"),
        (b"/foo\x00\x00\x00", "multiple of 4"),
        (b"/foo", "NUL"),
        (b"foo\x00", "start with '/'"),
        (b"/foo\x00\x00\x00\x00", "no type tag"),
        (b"/foo\x00\x00\x00\x00i\x00\x00\x00", "start with ','"),
        (b"/foo\x00\x00\x00\x00,i\x00\x00", "needs 4 bytes"),
        (b"/foo\x00\x00\x00\x00,x\x00\x00\x00\x00\x00\x00", "unsupported type tag"),
        (b"/foo\x00\x00\x00\x00,i\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00", "after the last argument"),
        (b"/fo\x00\x00x\x00\x00,\x00\x00\x00", "padding"),
        (b"/\xff\x00\x00,\x00\x00\x00", "ASCII"),
        (b"/foo\x00\x00\x00\x00,b\x00\x00\x7f\xff\xff\xff", "blob"),
        (b"#bundle\x00" + b"\x00" * 8 + struct.pack(">i", 400) + b"/a\x00\x00", "bundle element"),
        (b"#bundle\x00" + b"\x00" * 4, "time tag"),
    ],
)
def test_malformed_packets_raise_osc_error(raw: bytes, why: str) -> None:
    with pytest.raises(OscError, match=why):
        parse_packet(raw)


def test_bundles_nested_too_deep_are_refused() -> None:
    p = encode_message("/a")
    for _ in range(9):
        p = encode_bundle(p)
    with pytest.raises(OscError, match="deeper"):
        parse_packet(p)


def test_addresses_cover_every_control_and_check_ranges() -> None:
    m = lambda addr, *a: OscMessage(addr, "".join("f" if isinstance(x, float) else "i" for x in a), a)  # noqa: E731
    assert resolve(m("/foleyvae/bias/2", 1.5), ui=True) == Change("dim", "bias", 1.5, dim=2)
    assert resolve(m("/foleyvae/scale/0", 2), ui=True) == Change("dim", "scale", 2.0, dim=0)
    assert resolve(m("/foleyvae/temperature", 0.3), ui=True) == Change("set", "temperature", 0.3)
    assert resolve(m("/foleyvae/freeze", 1), ui=True) == Change("set", "freeze", True)
    assert resolve(m("/foleyvae/towards/wood", 0.7), ui=True) == Change("material", "towards", 0.7, material="wood")
    assert resolve(m("/foleyvae/towards/footsteps/wood"), ui=True).material == "footsteps/wood"
    assert resolve(m("/foleyvae/towards/off"), ui=True).kind == "material_off"
    assert resolve(m("/foleyvae/towards", 0.2), ui=True) == Change("amount", "towards", 0.2)
    assert resolve(OscMessage("/foleyvae/towards", "sf", ("wood:0.5,metal:0.5", 1.0)), ui=True).material
    assert resolve(m("/foleyvae/record", 1), ui=True) == Change("record", "record", True)
    assert resolve(m("/foleyvae/reset"), ui=True).kind == "reset"
    # every spec control has an address that resolves at its default
    for c in CONTROLS:
        addr = f"/foleyvae/{c.name}" + ("/0" if c.kind == "dims" else "/wood" if c.kind == "material" else "")
        assert resolve(m(addr, float(c.default)), ui=False).name == c.name
    # the spec's ranges: studio sliders (ui) vs the engine
    assert resolve(m("/foleyvae/bias/0", 50.0), ui=False).value == 50.0
    refused = [
        (m("/foleyvae/bias/0", 50.0), "must be in"),
        (m("/foleyvae/temperature", 4.5), "must be in"),
        (m("/foleyvae/dry_wet", float("nan")), "finite"),
        (m("/foleyvae/input_gain_db"), "expected 1 number"),
        (OscMessage("/foleyvae/temperature", "s", ("hot",)), "expected 1 number"),
        (m("/foleyvae/nothing", 1.0), "unknown address"),
        (m("/other/bias/0", 1.0), "unknown address"),
        (m("/foleyvae/bias/x", 1.0), "DIM"),
        (m("/foleyvae/bias/*", 1.0), "a pattern"),
        (m("/foleyvae/towards", 0.2, 0.3), "expected 1 number"),
        (m("/foleyvae/towards/w$d", 0.2), "material name"),
    ]
    for msg, why in refused:
        with pytest.raises(AddressError, match=why):
            resolve(msg, ui=True)


def test_docs_hold_the_generated_address_table() -> None:
    assert markdown_table() in DOCS.read_text(encoding="utf-8"), "docs/osc.md: paste markdown_table() again"


def _wait(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_server_binds_loopback_and_applies_real_datagrams() -> None:
    got: list[Change] = []
    done = threading.Event()

    def handler(ch: Change) -> None:
        if ch.name == "temperature" and ch.value == 4.0:
            raise FoleyError("refused by the surface")
        got.append(ch)
        done.set()

    with OscServer(0, handler, ui=True) as srv, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        assert srv.sock.getsockname()[0] == "127.0.0.1"
        s.sendto(encode_message("/foleyvae/bias/1", -2.0), ("127.0.0.1", srv.port))
        s.sendto(encode_bundle(encode_message("/foleyvae/dry_wet", 0.25), encode_message("/foleyvae/reset")),
                 ("127.0.0.1", srv.port))  # fmt: skip
        s.sendto(b"garbage!", ("127.0.0.1", srv.port))
        s.sendto(encode_message("/foleyvae/temperature", 4.0), ("127.0.0.1", srv.port))
        _wait(lambda: srv.snapshot()["packets"] >= 4)
        st = srv.snapshot()
    assert got == [Change("dim", "bias", -2.0, dim=1), Change("set", "dry_wet", 0.25), Change("reset", "reset")]
    assert st == {**st, "packets": 4, "messages": 4, "applied": 3, "dropped": 1, "rejected": 1}
    assert "refused by the surface" in st["last_error"]


def test_port_errors_are_one_line() -> None:
    with pytest.raises(FoleyError, match="0..65535"):
        OscServer(70000, lambda ch: None, ui=True)
    with OscServer(0, lambda ch: None, ui=True) as srv, pytest.raises(FoleyError, match="cannot bind"):
        OscServer(srv.port, lambda ch: None, ui=True)


def _mutations(rng: random.Random, seeds: list[bytes], n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            if op < 0.4 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op < 0.6 and b:
                del b[rng.randrange(len(b)) :]
            elif op < 0.8:
                b += bytes(rng.randrange(256) for _ in range(rng.choice((1, 3, 4, 8))))
            else:
                b[0:0] = rng.choice((b"#bundle\x00", b"\x00\x00\x00\x10", b"/", b","))
        out.append(bytes(b))
    return out


def test_fuzzed_packets_never_stop_the_server() -> None:
    """3000 mutated packets over real UDP, then a valid one: the server answers it; every packet was counted."""
    rng = random.Random(21)
    seeds = [
        encode_message("/foleyvae/bias/0", 1.0),
        encode_message("/foleyvae/towards", "wood", 0.5),
        encode_bundle(encode_message("/foleyvae/scale/1", 1.5), encode_message("/foleyvae/freeze", True)),
        encode_message("/foleyvae/x", b"blob", 3),
    ]
    packets = _mutations(rng, seeds, 3000)
    applied: list[Change] = []
    with OscServer(0, applied.append, ui=True) as srv, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, p in enumerate(packets):
            s.sendto(p, ("127.0.0.1", srv.port))
            if i % 200 == 0:  # let the receive buffer drain (loopback UDP drops when it fills)
                _wait(lambda i=i: srv.snapshot()["packets"] >= i + 1, timeout=5.0)
        s.sendto(encode_message("/foleyvae/temperature", 0.5), ("127.0.0.1", srv.port))
        _wait(lambda: applied and applied[-1] == Change("set", "temperature", 0.5), timeout=10.0)
        st = srv.snapshot()
        assert srv._thread.is_alive()
    assert applied[-1] == Change("set", "temperature", 0.5)
    assert st["dropped"] > 1000 and st["packets"] > 2900
    assert st["messages"] == st["applied"] + st["rejected"]  # every parsed message was applied or refused
    print(f"fuzz: {st['packets']} packets, {st['dropped']} dropped, {st['rejected']} rejected, {st['applied']} applied")


@pytest.mark.parametrize("ui", [True, False])
def test_every_numeric_address_takes_its_spec_range_and_refuses_past_it(ui: bool) -> None:
    """As tests/inference/test_control_spec.py does for the other layers: at each end of the range and just past."""
    for c in CONTROLS:
        if c.kind == "bool":
            continue
        lo, hi = c.ui_range if ui else (c.lo, c.hi)
        addr = f"/foleyvae/{c.name}" + ("/1" if c.kind == "dims" else "/wood" if c.kind == "material" else "")
        for v in (lo, hi):
            assert resolve(OscMessage(addr, "f", (float(v),)), ui=ui).value == v
        for v in (lo - c.step, hi + c.step):
            with pytest.raises(AddressError, match="must be in"):
                resolve(OscMessage(addr, "f", (float(v),)), ui=ui)


# ------------------------------------------------------------------------------------ patterns and time tags


def test_address_patterns_expand_over_the_model_addresses() -> None:
    space = concrete_addresses(6, ["wood", "metal", "footsteps/wood"])
    got = lambda addr, *a: [x.address for x in expand(OscMessage(addr, "f" * len(a), a), space)]  # noqa: E731
    assert got("/foleyvae/bias/*", 0.0) == [f"/foleyvae/bias/{d}" for d in range(6)]
    assert got("/foleyvae/scale/[0-2]", 1.5) == ["/foleyvae/scale/0", "/foleyvae/scale/1", "/foleyvae/scale/2"]
    assert got("/foleyvae/bias/[!0-4]", 1.0) == ["/foleyvae/bias/5"]
    assert got("/foleyvae/{dry_wet,temperature}", 0.5) == ["/foleyvae/temperature", "/foleyvae/dry_wet"]
    assert got("/foleyvae/towards/?ood", 0.5) == ["/foleyvae/towards/wood"]  # '?' is one character, never '/'
    assert got("/foleyvae/towards/*", 0.5) == [
        "/foleyvae/towards/off",
        "/foleyvae/towards/wood",
        "/foleyvae/towards/metal",
    ]
    assert got("/foleyvae/bias/3") == ["/foleyvae/bias/3"]  # not a pattern: as it is, even outside the space
    for bad, why in [
        ("/foleyvae/bias/[0-", "without"),
        ("/foleyvae/{a,b", "without"),
        ("/foleyvae/bias]", "opening"),
        ("/foleyvae/bias/[9-0]", "bad pattern"),
        ("/foleyvae/nothing*", "matches no address"),
        ("/foleyvae/bias/{1/2}", "'/'"),
    ]:
        with pytest.raises(AddressError, match=re.escape(why)):
            expand(OscMessage(bad, "f", (1.0,)), space)
    with pytest.raises(AddressError, match="need a model"):
        expand(OscMessage("/foleyvae/bias/*", "f", (1.0,)), None)


def test_the_server_applies_a_pattern_to_each_address() -> None:
    applied: list[Change] = []
    srv = OscServer(0, applied.append, ui=True, space=lambda: concrete_addresses(4))
    try:
        srv.feed(encode_message("/foleyvae/bias/*", 1.0))
        srv.feed(encode_message("/foleyvae/scale/[!0]", 2.0))
        srv.feed(encode_message("/foleyvae/bias/*", 9.0))  # every one out of the slider range: each refused
    finally:
        srv.close()
    assert applied == [Change("dim", "bias", 1.0, dim=d) for d in range(4)] + [
        Change("dim", "scale", 2.0, dim=d) for d in (1, 2, 3)
    ]
    st = srv.snapshot()
    assert st["messages"] == 3 and st["applied"] == 7 and st["rejected"] == 4


def test_time_tags_parse_and_nest() -> None:
    t0 = 1_800_000_000.25
    assert tag_to_unix(unix_to_tag(t0)) == pytest.approx(t0, abs=1e-9)
    assert tag_to_unix(IMMEDIATELY) is None
    a, b = encode_message("/foleyvae/bias/0", 1.0), encode_message("/foleyvae/bias/1", 1.0)
    inner = encode_bundle(b, timetag=unix_to_tag(t0 + 1.0))
    timed = parse_timed(encode_bundle(a, inner, encode_bundle(a), timetag=unix_to_tag(t0)))
    assert [tag_to_unix(t) for t, _ in timed] == [pytest.approx(t0), pytest.approx(t0 + 1.0), pytest.approx(t0)]
    assert parse_timed(a) == [(IMMEDIATELY, OscMessage("/foleyvae/bias/0", "f", (1.0,)))]
    with pytest.raises(OscError, match="earlier than its parent"):
        parse_timed(encode_bundle(encode_bundle(a, timetag=unix_to_tag(t0 - 1)), timetag=unix_to_tag(t0)))


def test_a_timed_bundle_applies_when_due_not_when_it_arrives() -> None:
    """Over real UDP: a cue sent 0.4 s ahead lands at its time (not before; within 50 ms after), in time order with
    a second cue sent first but due later; a stale tag applies at once (counted late); one 2 min ahead is refused."""
    applied: list[tuple[float, Change]] = []
    with (
        OscServer(0, lambda ch: applied.append((time.time(), ch)), ui=True) as srv,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
    ):
        now = time.time()
        cue = lambda addr, v, t: encode_bundle(encode_message(addr, v), timetag=unix_to_tag(t))  # noqa: E731
        s.sendto(cue("/foleyvae/temperature", 0.5, now + 0.7), ("127.0.0.1", srv.port))
        s.sendto(cue("/foleyvae/dry_wet", 0.25, now + 0.4), ("127.0.0.1", srv.port))
        s.sendto(cue("/foleyvae/limiter", 0.0, now - 5.0), ("127.0.0.1", srv.port))
        s.sendto(cue("/foleyvae/freeze", 1.0, now + 120.0), ("127.0.0.1", srv.port))
        _wait(lambda: srv.snapshot()["packets"] >= 4)
        assert [c.name for _, c in applied] == ["limiter"]  # only the stale one so far
        assert srv.snapshot()["pending"] == 2
        _wait(lambda: len(applied) >= 3, timeout=5.0)
        st = srv.snapshot()
    names = [c.name for _, c in applied]
    assert names == ["limiter", "dry_wet", "temperature"]
    for (t, _), due in zip(applied[1:], (now + 0.4, now + 0.7), strict=True):
        assert due - 0.002 <= t <= due + 0.05, t - due
    assert st == {**st, "scheduled": 2, "pending": 0, "late": 1, "rejected": 1, "applied": 3}
    assert "ahead" in st["last_error"]
