"""Issue #25 on a real socket (uvicorn in a thread, 127.0.0.1 only): slow-header connections (finding 4), a JSON
body refused while it streams (3), and eight muxes of one take at once (5).

``FOLEYVAE_SOAK=1`` (``make soak``) opens 5000 slow connections instead of 300.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.studio.conftest import TOKEN
from tests.support.video import make_video

pytest.importorskip("uvicorn")

SOAK = os.environ.get("FOLEYVAE_SOAK") == "1"
N_SLOW = 5000 if SOAK else 300
CAP = 100
HEADER_TIMEOUT_S = 1.5


@pytest.fixture
def served(studio_cfg: Any) -> Iterator[tuple[Any, str, int]]:
    """(studio, host, port) with a short header timeout and a small connection cap."""
    from foleyvae.studio.app import Studio, serve_in_thread
    from foleyvae.studio.server import ServerLimits

    studio_cfg.server = ServerLimits(header_timeout_s=HEADER_TIMEOUT_S, keep_alive_s=1.0, max_connections=CAP)
    studio = Studio(studio_cfg)
    studio.open_default()
    with serve_in_thread(studio_cfg, studio) as url:
        host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        assert host == "127.0.0.1"  # loopback only
        yield studio, host, int(port)


def _get(host: str, port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{host}:{port}{path}", headers={"X-Studio-Token": TOKEN})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def _closed_by_server(s: socket.socket, timeout: float) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slow_header_connections_are_capped_and_time_out(served: tuple[Any, str, int]) -> None:
    studio, host, port = served
    guard = studio.connections
    socks = []
    t0 = time.perf_counter()
    try:
        for _ in range(N_SLOW):  # never finish the request head (no token needed for that)
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
        opened = time.perf_counter() - t0
        t1 = time.perf_counter()
        status, body = _get(host, port, "/api/state")
        get_ms = 1000 * (time.perf_counter() - t1)
        print(
            f"{N_SLOW} slow connections opened in {opened:.2f} s; server held {guard.open} (peak {guard.peak}, cap"
            f" {CAP}, evicted {guard.evicted}); authenticated GET answered in {get_ms:.0f} ms"
        )
        assert status == 200 and b"demo" in body
        assert get_ms < 1500
        assert guard.peak <= CAP + 1 and guard.open <= CAP and guard.evicted >= N_SLOW - CAP
        # a trickle of bytes does not keep a connection alive past the header timeout
        trickle = socket.create_connection((host, port), timeout=5)
        t2 = time.perf_counter()
        closed = False
        while time.perf_counter() - t2 < HEADER_TIMEOUT_S + 2.0 and not closed:
            try:
                trickle.sendall(b"a")
            except OSError:
                closed = True
                break
            closed = _closed_by_server(trickle, 0.25)
        assert closed and time.perf_counter() - t2 < HEADER_TIMEOUT_S + 1.0
        # every slow connection is closed by the server by now (evicted at once, or after the header timeout)
        time.sleep(max(0.0, HEADER_TIMEOUT_S + 0.5 - (time.perf_counter() - t1)))
        still_open = sum(not _closed_by_server(s, 0.01) for s in socks)
        assert still_open == 0 and guard.timed_out >= 1
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 5
    while guard.open > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert guard.open == 0  # the count comes back: nothing leaks
    assert _get(host, port, "/api/state")[0] == 200


def test_a_json_body_is_refused_while_it_streams(served: tuple[Any, str, int]) -> None:
    """The 413 arrives after the first 256 KB of an unfinished chunked body (the server used to wait for all)."""
    _, host, port = served
    s = socket.create_connection((host, port), timeout=10)
    try:
        head = (
            f"POST /api/presets/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Studio-Token: {TOKEN}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        s.sendall(head.encode())
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        for _ in range(5):  # 320 KB, and the body never ends
            s.sendall(chunk)
        t0 = time.perf_counter()
        reply = s.recv(65536)
        while b"}" not in reply.split(b"\r\n\r\n", 1)[-1]:  # the JSON body may come in a second segment
            more = s.recv(65536)
            if not more:
                break
            reply += more
        print(f"413 after 320 KB of an endless body in {1000 * (time.perf_counter() - t0):.0f} ms")
        assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
        assert b"256 KB limit" in reply
    finally:
        s.close()


def _video(path: Path, size: str) -> Path:
    return make_video(path, f"testsrc=size={size}:rate=10:duration=1")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (make sysdeps)")
def test_eight_concurrent_muxes_of_one_take_each_get_their_own_video(
    served: tuple[Any, str, int], tmp_path: Path
) -> None:
    studio, host, port = served
    take = studio.render("lib-taps", {}, 256)
    sizes = [f"{64 + 16 * i}x48" for i in range(8)]
    videos = [_video(tmp_path / f"in{i}.mp4", size).read_bytes() for i, size in enumerate(sizes)]
    results: dict[int, tuple[int, bytes]] = {}

    def mux(i: int) -> None:
        req = urllib.request.Request(
            f"http://{host}:{port}/api/takes/{take['id']}/mux?name=clip{i}.mp4",
            data=videos[i],
            headers={"X-Studio-Token": TOKEN, "Content-Type": "video/mp4"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                results[i] = (r.status, r.read())
        except urllib.error.HTTPError as e:
            results[i] = (e.code, e.read())

    threads = [threading.Thread(target=mux, args=(i,)) for i in range(8)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"8 concurrent muxes of {take['id']} in {time.perf_counter() - t0:.2f} s")
    assert sorted(results) == list(range(8))
    assert {i: st for i, (st, _) in results.items() if st != 200} == {}, [
        json.loads(b) for s, b in results.values() if s != 200
    ]
    for i, (_, data) in results.items():
        out = tmp_path / f"out{i}.mp4"
        out.write_bytes(data)
        probe = subprocess.run(["ffmpeg", "-nostdin", "-i", str(out)], capture_output=True, text=True, timeout=60)
        assert f"{sizes[i]}" in probe.stderr and "Audio: aac" in probe.stderr, (i, probe.stderr[-400:])
    take_dir = studio.folder.take_dir(take["id"])
    assert sorted(p.name for p in take_dir.iterdir()) == ["dry.wav", "meta.json", "wet.wav"]  # no leftovers
