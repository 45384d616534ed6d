"""OSC into ``foleyvae live``: each address becomes the stdin command that says the same (same keys, same checks),
through a real UDP socket on 127.0.0.1 into a Controls with a material table."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from foleyvae.control.addresses import Change
from foleyvae.control.osc import encode_message
from foleyvae.inference.controls import Controls
from foleyvae.live.osc import start_osc, stdin_commands

OFFSETS = {"wood": np.array([1.0, 0.0, 0.0, 0.0]), "metal": np.array([0.0, 2.0, 0.0, 0.0])}


def steer(spec: str) -> np.ndarray:
    if spec not in OFFSETS:
        from foleyvae.errors import FoleyError

        raise FoleyError(f"unknown material {spec!r}")
    return OFFSETS[spec]


def test_changes_become_stdin_commands() -> None:
    assert stdin_commands(Change("dim", "bias", 1.5, dim=0)) == ["b0=1.5"]
    assert stdin_commands(Change("dim", "scale", 0.5, dim=2)) == ["s2=0.5"]
    assert stdin_commands(Change("set", "temperature", 0.3)) == ["t=0.3"]
    assert stdin_commands(Change("set", "freeze", True)) == ["f=1"]
    assert stdin_commands(Change("material", "towards", 0.7, material="wood")) == ["m=wood", "a=0.7"]
    assert stdin_commands(Change("material_off", "towards")) == ["m=off"]
    assert stdin_commands(Change("reset", "reset"))[:2] == ["r", "m=off"]


def test_osc_sets_live_controls_over_udp() -> None:
    c = Controls(4)
    srv = start_osc(0, c, steer, sorted(OFFSETS))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:

        def send(addr: str, *args: object) -> None:
            n = srv.snapshot()["packets"]
            s.sendto(encode_message(addr, *args), ("127.0.0.1", srv.port))  # type: ignore[arg-type]
            deadline = time.monotonic() + 10
            while srv.snapshot()["packets"] == n and time.monotonic() < deadline:
                time.sleep(0.01)

        send("/foleyvae/bias/0", 50.0)  # live: latent units, the engine's +-100
        send("/foleyvae/scale/3", 0.5)
        send("/foleyvae/temperature", 0.25)
        send("/foleyvae/dry_wet", 0)
        send("/foleyvae/towards/metal", 0.5)
        assert c.bias[0] == 50.0 and c.scale[3] == 0.5 and c.temperature == 0.25 and c.dry_wet == 0.0
        assert c.towards_amount == pytest.approx(0.5) and np.allclose(c.centroid[:2], [0.0, 2.0])
        send("/foleyvae/bias/7", 1.0)  # 4 dims
        send("/foleyvae/towards/glass", 1.0)  # not in the table
        send("/foleyvae/record", 1)  # live records the whole session
        send("/foleyvae/bias/0", 150.0)  # past the spec's range
        st = srv.snapshot()
        assert st["applied"] == 5 and st["rejected"] == 4, st
        assert c.bias[0] == 50.0 and c.towards_amount == pytest.approx(0.5)
        send("/foleyvae/reset")
        assert np.all(c.bias == 0) and c.towards_amount == 0.0 and c.dry_wet == 1.0 and c.temperature == 0.0
        send("/foleyvae/scale/*", 0.5)  # a pattern: every dim of this engine
        send("/foleyvae/towards/[w]*", 0.25)  # ... or the materials it knows
        assert (
            np.all(c.scale == 0.5) and c.towards_amount == pytest.approx(0.25) and np.allclose(c.centroid[:2], [1, 0])
        )
    finally:
        s.close()
        srv.close()
