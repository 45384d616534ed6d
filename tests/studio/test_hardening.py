"""Issue #25, one test per finding (through fastapi's TestClient; the real-socket ones are in test_hardening_net.py).

1 the decompression bomb, 2 playlists for the mux, 3 bodies read with a cap, 6 the take length cap, 7 deep JSON,
8 ``testserver`` only in tests, 9 private files, symlinks and the one-time login, 10 the naming bugs.
``FOLEYVAE_SOAK=1`` (``make soak``) uploads the issue's real 1000 s bomb (23 s to encode); the default suite
uploads the same FLAC stream header (8 ch, 96 kHz, 1000 s) over one real second of frames.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from foleyvae.utils.memory import trim_heap
from tests.studio.conftest import TOKEN
from tests.support.video import make_video

SOAK = os.environ.get("FOLEYVAE_SOAK") == "1"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (make sysdeps)")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's RSS every 2 ms while the block runs; ``growth`` = peak - RSS before (bytes)."""

    def __enter__(self) -> PeakRss:
        gc.collect()
        trim_heap()
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.growth = self.peak - self.base


def flac_bomb(path: Path, seconds: int, real: bool) -> Path:
    """8 ch, 96 kHz FLAC of ``seconds`` of zeros (the issue's bomb: 1000 s is 795 KB). ``real=False`` encodes
    one second and writes ``seconds`` into the STREAMINFO header (its 36-bit total-samples field)."""
    sr, ch = 96000, 8
    with sf.SoundFile(str(path), "w", sr, ch, format="FLAC") as f:
        block = np.zeros((sr * 10 if real else sr, ch))
        for _ in range(seconds // 10 if real else 1):
            f.write(block)
    if not real:
        b = bytearray(path.read_bytes())
        assert b[:4] == b"fLaC"
        v = int.from_bytes(b[18:26], "big")  # rate (20 bits), channels-1 (3), bits-1 (5), total samples (36)
        b[18:26] = ((v & ~((1 << 36) - 1)) | seconds * sr).to_bytes(8, "big")
        path.write_bytes(bytes(b))
    assert sf.info(str(path)).duration == seconds
    return path


def upload(client: Any, name: str, data: bytes) -> Any:
    return client.post(f"/api/upload?name={name}", content=data, headers={"Content-Type": "audio/flac"})


# ------------------------------------------------------------------------------------------ 1 the bomb


def test_decompression_bomb_is_refused_quickly_with_bounded_memory(client: Any, studio_cfg: Any, tmp_path: Path):
    from foleyvae.audio.io import DecodeLimits

    studio_cfg.max_upload_bytes = 50 * 1024 * 1024  # the bomb fits it 60x over
    # --max-upload-seconds 600 (the default is 4 h since #21: a 1-hour WAV must go through; the header check and the
    # block-by-block decoding are the same at any limit)
    studio_cfg.upload_limits = DecodeLimits(max_seconds=600.0)
    bomb = flac_bomb(tmp_path / "bomb.flac", 1000, real=SOAK)
    data = bomb.read_bytes()
    with PeakRss() as mem:
        t0 = time.perf_counter()
        r = upload(client, "bomb.flac", data)
        took = time.perf_counter() - t0
    print(f"bomb {len(data) / 1e3:.0f} KB: refused in {took:.3f} s, peak RSS growth {mem.growth / 2**20:.1f} MiB")
    assert r.status_code == 400
    msg = r.json()["error"]
    assert "\n" not in msg and "1000 s long; at most 600 s" in msg and str(studio_cfg.session_dir) not in msg
    assert took < 2.0 and mem.growth < 32 * 2**20  # the whole decode: 96M frames x 8 ch x 4 B = 3 GB
    assert list((studio_cfg.session_dir / "uploads").iterdir()) == []  # nothing kept, not even the .part
    for what, (ch, seconds) in {"channels": (9, 1), "long": (1, 601)}.items():
        studio_cfg.upload_limits = type(studio_cfg.upload_limits)(max_channels=8, max_seconds=600)
        buf = io.BytesIO()
        sf.write(buf, np.zeros((8000 * seconds, ch), np.int16), 8000, format="WAV")  # FLAC stops at 8 channels
        r = upload(client, f"{what}.wav", buf.getvalue())
        assert r.status_code == 400, what
        assert ("9 channels; at most 8" if what == "channels" else "601 s long") in r.json()["error"]


def test_upload_inside_the_limits_is_checked_block_by_block(client: Any, studio_cfg: Any, tmp_path: Path) -> None:
    """30 s x 8 ch x 96 kHz passes the header check; decoding it whole would take 92 MB (x2 for the transpose),
    the block-wise check keeps one block. The file is kept and renders (mixed to the model's mono per block)."""
    studio_cfg.max_upload_bytes = 50 * 1024 * 1024
    path = tmp_path / "wide.flac"
    t = np.arange(96000 * 30) / 96000
    x = np.repeat((0.1 * np.sin(2 * np.pi * 220 * t))[:, None], 8, axis=1)
    sf.write(str(path), x, 96000, format="FLAC")
    del x, t
    with PeakRss() as mem:
        r = upload(client, "wide.flac", path.read_bytes())
    print(f"30 s x 8 ch x 96 kHz upload validated: peak RSS growth {mem.growth / 2**20:.1f} MiB")
    assert r.status_code == 200, r.text
    assert mem.growth < 40 * 2**20
    studio_cfg.upload_limits = type(studio_cfg.upload_limits)(max_seconds=10)
    r = client.post("/api/render", json={"sample": r.json()["id"], "controls": {}, "block_size": 1024})
    assert r.status_code == 400 and "30 s long; at most 10 s" in r.json()["error"]


# ------------------------------------------------------------------------------------------ 2 the mux


def _video(path: Path, size: str, color: str = "red", seconds: float = 1.0) -> Path:
    return make_video(path, f"color=c={color}:size={size}:rate=10:duration={seconds}")


@needs_ffmpeg
def test_mux_refuses_playlists_and_manifests_that_point_elsewhere(client: Any, studio_cfg: Any, tmp_path: Path):
    other = _video(tmp_path / "private.mp4", "96x64", "blue")  # a video outside the session folder
    take = client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "block_size": 256}).json()
    hls = f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n{other}\n#EXT-X-ENDLIST\n"
    dash = (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT1S"><Period><AdaptationSet mimeType="video/mp4"><Representation id="1" '
        f'bandwidth="1000"><BaseURL>file://{other}</BaseURL></Representation></AdaptationSet></Period></MPD>'
    )
    polyglot = b"\0\0\0\x08free" + hls.encode()  # an MP4 box first, the playlist after it
    for what, body in {"hls": hls.encode(), "dash": dash.encode(), "polyglot": polyglot}.items():
        r = client.post(f"/api/takes/{take['id']}/mux?name=x.mp4", content=body, headers={"Content-Type": "video/mp4"})
        assert r.status_code == 400, (what, r.status_code)
        assert b"ftyp" not in r.content  # no video came back
        err = r.json()["error"]
        assert "\n" not in err and str(other) not in err
    # nothing of the three requests stays in the take's folder
    assert sorted(p.name for p in (studio_cfg.session_dir / "renders" / take["id"]).iterdir()) == [
        "dry.wav", "meta.json", "wet.wav"
    ]  # fmt: skip


@needs_ffmpeg
def test_mux_builds_a_whitelisted_ffmpeg_command(tmp_path: Path, monkeypatch: Any) -> None:
    from foleyvae.studio import video as vmod

    seen: list[list[str]] = []
    monkeypatch.setattr(
        vmod.subprocess, "run", lambda cmd, **kw: seen.append(cmd) or subprocess.CompletedProcess(cmd, 0)
    )
    root = tmp_path / "session"
    root.mkdir()
    (root / "v.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 20)
    (root / "w.wav").write_bytes(b"RIFF")
    vmod.mux_take(root / "v.mkv", root / "w.wav", root / "o.mkv", 0.0, root)
    cmd = seen[0]
    assert cmd.count("-protocol_whitelist") == 3 and cmd.count("-format_whitelist") == 2
    assert cmd[cmd.index("-f") + 1] == "matroska" and f"file:{root / 'v.mkv'}" in cmd
    outside = tmp_path / "elsewhere.mkv"
    outside.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 20)
    (root / "link.mkv").symlink_to(outside)
    for bad in (outside, root / "link.mkv"):
        with pytest.raises(vmod.SecurityError, match="not a file of this session"):
            vmod.mux_take(bad, root / "w.wav", root / "o.mkv", 0.0, root)


# ------------------------------------------------------------------------------------ 3 and 7 JSON bodies


JSON_ROUTES = ["/api/presets/x", "/api/render", "/api/mix", "/api/model"]


def test_json_bodies_have_a_size_cap_while_streaming_and_a_depth_cap(client: Any, studio_cfg: Any) -> None:
    sent = [0]

    def endless() -> Any:  # a body with no Content-Length that would go on for 1 GB
        for _ in range(16384):
            sent[0] += 65536
            yield b" " * 65536

    for route in JSON_ROUTES:
        sent[0] = 0
        r = client.post(route, content=endless(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "256 KB" in r.json()["error"], route
        r = client.post(route, content=b"[" * 50000 + b"]" * 50000, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nested deeper than 32" in r.json()["error"], route
        r = client.post(route, content=b"[" * 50000, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, route
        r = client.post(route, content=b"{" * 20, headers={"Content-Type": "application/json"})  # shallow, invalid
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"], route
    # brackets inside strings do not count; a normal body still works
    r = client.post("/api/presets/deep", json={"dry_wet": 0.5, "towards": None} | {})
    assert r.status_code == 200
    r = client.post("/api/model", json={"id": "[" * 1000})
    assert r.status_code == 400 and "invalid model id" in r.json()["error"]
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:  # the WebSocket uses the same parser
        ws.send_text("[" * 30000)
        assert "nested deeper" in json.loads(ws.receive_text())["message"]
        ws.send_text(json.dumps({"type": "ping", "t": 1}))
        assert json.loads(ws.receive_text())["type"] == "pong"


def test_json_depth_counts_outside_strings_only() -> None:
    from foleyvae.studio.limits import json_depth, parse_json

    assert json_depth(b"") == 0 and json_depth(b"1") == 0 and json_depth(b"[[{}]]") == 3
    assert json_depth(b'["[[[[", "\\"[[[", {"a": "}}}"}]') == 2
    assert json_depth(b"[" * 1000) == 1000
    assert parse_json('{"a": [1, {"b": "[[["}]}') == {"a": [1, {"b": "[[["}]}


# ------------------------------------------------------------------------------------------ 6 take length


def test_a_live_take_stops_at_the_length_limit(client: Any, studio_cfg: Any) -> None:
    from foleyvae.studio.session import FLAG_RECORD, FRAME_HEADER

    studio_cfg.max_take_seconds = 0.02  # 882 samples: the 4th block of 256 reaches it
    bs, rec = 256, FLAG_RECORD
    block = np.full(bs, 0.1, np.float32).tobytes()

    def send(ws: Any, flags: list[int]) -> list[dict[str, Any]]:
        for i, f in enumerate(flags):
            ws.send_bytes(FRAME_HEADER.pack(i, f, 0.0) + block)
        ws.send_text(json.dumps({"type": "ping", "t": 0}))  # answered after everything the frames caused
        texts: list[dict[str, Any]] = []
        while not texts or texts[-1]["type"] != "pong":
            m = ws.receive()
            if m.get("text"):
                texts.append(json.loads(m["text"]))
        return [t["take"] for t in texts if t["type"] == "take"]

    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": bs}))
        assert json.loads(ws.receive_text())["type"] == "ready"
        takes = send(ws, [rec] * 6)  # the page keeps recording past the cap
        assert len(takes) == 1 and takes[0]["stopped"] == "length limit" and takes[0]["max_seconds"] == 0.02
        assert takes[0]["duration"] == 0.02
        assert send(ws, [rec, rec, 0]) == []  # dropped until the page stops recording
        takes = send(ws, [rec, rec, 0])  # a new take afterwards, under the cap
        assert len(takes) == 1 and "stopped" not in takes[0] and takes[0]["duration"] == round(512 / 44100, 3)
    assert client.get("/api/state").json()["limits"]["take_seconds"] == 0.02


# ------------------------------------------------------------------------------------------ 8 Host names


def test_testserver_host_is_accepted_only_when_the_tests_say_so(studio_cfg: Any) -> None:
    import warnings

    from foleyvae.studio.app import create_app
    from foleyvae.studio.security import host_ok

    assert not host_ok("testserver", "127.0.0.1", 8000) and host_ok("testserver", "127.0.0.1", 8000, ("testserver",))
    studio_cfg.test_client_host = False  # what a real studio runs with (the StudioConfig default)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(studio_cfg)) as c:
        c.headers["X-Studio-Token"] = TOKEN
        r = c.get("/api/state")
        assert r.status_code == 403 and r.json()["error"] == "bad Host header"
        assert c.get("/api/state", headers={"Host": "127.0.0.1:8000"}).status_code == 200


# ---------------------------------------------------------------------------------------- 9 private files


def _wav(x: np.ndarray, sr: int = 44100) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def _modes(root: Path) -> dict[str, tuple[str, str]]:
    """path -> (mode, the mode it should have: 0700 for a folder, 0600 for a file)."""
    out = {}
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        out[str(p.relative_to(root.parent))] = (
            oct(stat.S_IMODE(st.st_mode)),
            "0o700" if stat.S_ISDIR(st.st_mode) else "0o600",
        )
    return out


def test_everything_the_studio_writes_is_private(
    client: Any, studio_cfg: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from foleyvae.studio import uploads

    in_flight: dict[str, str] = {}

    def mux_and_look(video: Path, wet: Path, out: Path, *a: Any) -> Path:  # the mux's folder, picture and output
        uploads_mux(video, wet, out, *a)
        in_flight.update({k: v for k, v in _modes(out.parent).items()})
        return out

    uploads_mux = uploads.mux_take
    monkeypatch.setattr(uploads, "mux_take", mux_and_look)
    old = os.umask(0o022)  # the usual umask: files would be 0644 and folders 0755 without the explicit modes
    try:
        assert upload(client, "a.wav", _wav(np.zeros(4410, np.float32))).status_code == 200
        assert client.post("/api/render", json={"sample": "lib-taps", "controls": {}}).status_code == 200
        assert client.post("/api/presets/p1", json={"dry_wet": 0.5}).status_code == 200
        if shutil.which("ffmpeg"):
            take = client.get("/api/takes").json()[0]
            v = _video(tmp_path / "v.mp4", "64x48").read_bytes()
            r = client.post(f"/api/takes/{take['id']}/mux?name=v.mp4", content=v, headers={"Content-Type": "video/mp4"})
            assert r.status_code == 200
    finally:
        os.umask(old)
    work = studio_cfg.session_dir.parent
    modes = _modes(studio_cfg.session_dir) | _modes(work / "presets")
    assert len(modes) >= 11
    if shutil.which("ffmpeg"):
        assert len(in_flight) == 3 and not list(studio_cfg.session_dir.rglob(".mux-*"))  # removed after sending
        modes |= {f"renders/{k}": v for k, v in in_flight.items()}
    wrong = {p: m for p, (m, want) in modes.items() if m != want}
    assert not wrong, wrong


def test_symlinks_in_the_session_folder_are_never_followed(client: Any, studio_cfg: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(_wav(np.full(4410, 0.5, np.float32)))
    s = studio_cfg.session_dir
    (s / "uploads" / "abcd1234-planted.wav").symlink_to(secret)
    assert all("planted" not in x["id"] for x in client.get("/api/samples").json())
    assert client.get("/api/samples/up-abcd1234-planted.wav").status_code == 400
    assert client.post("/api/render", json={"sample": "up-abcd1234-planted", "controls": {}}).status_code == 400
    # a take whose wet.wav is a link, and a take folder that is a link
    take = client.post("/api/render", json={"sample": "lib-taps", "controls": {}}).json()
    d = s / "renders" / take["id"]
    (d / "wet.wav").unlink()
    (d / "wet.wav").symlink_to(secret)
    assert client.get(f"/api/takes/{take['id']}/wet.wav").status_code == 400
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(d, elsewhere, symlinks=False)
    (s / "renders" / "render-900").symlink_to(elsewhere)
    assert client.get("/api/takes/render-900/dry.wav").status_code == 400
    assert all(t["id"] != "render-900" for t in client.get("/api/takes").json())
    # a preset that is a link
    outside = tmp_path / "preset.json"
    outside.write_text('{"dry_wet": 0.25}')
    (s.parent / "presets" / "planted.json").symlink_to(outside)
    assert "planted" not in client.get("/api/presets").json()
    assert client.get("/api/presets/planted").status_code == 404
    assert client.post("/api/presets/planted", json={"dry_wet": 0.75}).status_code == 200  # replaces the link
    assert outside.read_text() == '{"dry_wet": 0.25}'
    assert client.get("/api/presets/planted").json()["controls"]["dry_wet"] == 0.75


def test_one_time_login_code(client: Any) -> None:
    studio = client.app.state.studio
    code = studio.logins.issue()
    r = client.get(f"/login?code={code}", headers={"X-Studio-Token": ""}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/?token={TOKEN}"
    assert r.headers["referrer-policy"] == "no-referrer"
    again = client.get(f"/login?code={code}", headers={"X-Studio-Token": ""}, follow_redirects=False)
    assert again.status_code == 403 and "used already or has expired" in again.json()["error"]
    assert client.get("/login?code=guess", headers={"X-Studio-Token": ""}).status_code == 403
    studio.logins.ttl_s = 0.0
    late = studio.logins.issue()
    assert client.get(f"/login?code={late}", headers={"X-Studio-Token": ""}).status_code == 403


# ------------------------------------------------------------------------------------------ 10 names


def test_double_dots_and_long_names_upload_and_play(client: Any) -> None:
    from foleyvae.studio.security import safe_name

    good = _wav(0.1 * np.sin(np.arange(4410) / 10.0).astype(np.float32))
    r = upload(client, "take..final.wav", good)
    assert r.status_code == 200 and r.json()["name"] == "take.final.wav"
    assert client.get(f"/api/samples/{r.json()['id']}.wav").content == good
    long = "a_long_recording_of_footsteps_on_gravel_in_the_rain_at_night_take_number_" + "7" * 30 + ".wav"
    r = upload(client, long, good)
    assert r.status_code == 200, r.text
    assert r.json()["name"].endswith("777.wav") and len(r.json()["name"]) == 80
    assert client.get(f"/api/samples/{r.json()['id']}.wav").content == good
    assert safe_name("x" * 300 + ".flac", (".flac",)) == "x" * 75 + ".flac"
    assert safe_name("a.....b..wav", (".wav",)) == "a.b.wav"
