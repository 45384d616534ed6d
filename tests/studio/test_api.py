"""Studio HTTP API and WebSocket through fastapi's TestClient: auth on every route, path safety, uploads, render,
takes, presets, and a live stream with malformed messages."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.studio.conftest import TOKEN
from tests.support.video import make_video


def wav_bytes(x: np.ndarray, sr: int = 44100) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def _flat(routes: list[Any]) -> list[Any]:
    """The app's routes with included routers opened (fastapi >= 0.165 keeps an included APIRouter as one entry)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out.extend(_flat(inner.routes) if inner is not None else [r])
    return out


def routes(client: Any) -> list[tuple[str, str]]:
    out = []
    for r in _flat(client.app.routes):
        for m in getattr(r, "methods", None) or []:
            if m in ("GET", "POST"):
                path = r.path.replace("{sample_id}", "lib-taps").replace("{take_id}", "take-001")
                path = path.replace("{which}", "wet").replace("{name}", "x")
                out.append((m, path))
    return out


def test_every_route_needs_the_token(client: Any) -> None:
    found = routes(client)
    assert len(found) >= 15
    for method, path in found:
        r = client.request(method, path, headers={"X-Studio-Token": ""})
        assert r.status_code == 401, (method, path, r.status_code)
        r = client.request(method, path, headers={"X-Studio-Token": "wrong"})
        assert r.status_code == 403, (method, path, r.status_code)
        r = client.request(method, path + "?token=wrong", headers={"X-Studio-Token": ""})
        assert r.status_code == 403, (method, path)
    # unknown paths too: nothing is served without the token
    assert client.get("/nope", headers={"X-Studio-Token": ""}).status_code == 401


def test_page_and_security_headers(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200 and TOKEN in r.text and "{{TOKEN}}" not in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/worklet.js").headers["content-type"].startswith("text/javascript")
    # a foreign Host header (DNS rebinding) is refused even with the token
    assert client.get("/api/state", headers={"Host": "evil.example:8000"}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2fapp.py",
        "/static/../app.py",
        "/static/%2e%2e/security.py",
        "/api/samples/..%2f..%2fetc%2fpasswd.wav",
        "/api/takes/..%2f..%2f/wet.wav",
        "/api/takes/take-001/..%2fmeta.wav",
        "/api/presets/..%2f..%2fsecret",
    ],
)
def test_path_traversal_is_refused(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert b"import" not in r.content and b"root:" not in r.content


def test_models_listing_and_open(client: Any, studio_cfg: Any) -> None:
    ts = studio_cfg.runs_dir / "run1" / "export" / "model.ts"
    ts.parent.mkdir(parents=True)
    ts.write_bytes(b"not really torchscript")
    models = client.get("/api/models").json()
    ids = {m["id"]: m for m in models}
    assert "demo" in ids
    file_entries = [m for m in models if m["source"] == "run"]
    assert len(file_entries) == 1 and file_entries[0]["name"] == "run1/export/model.ts"
    # client paths are never accepted, only ids
    assert client.post("/api/model", json={"id": str(ts)}).status_code == 400
    assert client.post("/api/model", json={"id": "../../etc"}).status_code == 400
    assert client.post("/api/model", json={"path": "/etc/passwd"}).status_code == 400
    card = client.post("/api/model", json={"id": "demo"}).json()
    assert card["latent_size"] == 4 and card["sample_rate"] == 44100
    assert set(card["materials"]) == {"wood", "metal", "gravel", "water"}
    assert len(card["explained"]) == 4 and abs(sum(card["explained"]) - 1.0) < 1e-4
    assert card["licences"] and card["training_data"]


def test_upload_ok_bad_audio_oversize_and_type(client: Any, studio_cfg: Any) -> None:
    good = wav_bytes(0.1 * np.sin(np.arange(4410) / 10.0).astype(np.float32))
    r = client.post("/api/upload?name=../../my take.wav", content=good, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    uploads = list((studio_cfg.session_dir / "uploads").iterdir())
    assert len(uploads) == 1 and uploads[0].name.endswith("my_take.wav")
    assert any(s["id"] == sid for s in client.get("/api/samples").json())
    assert client.get(f"/api/samples/{sid}.wav").content == good
    # bad audio: 400 with the decoder's one-line message, nothing kept, no server path leaked
    r = client.post("/api/upload?name=x.wav", content=b"RIFF....garbage" * 10, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 400
    msg = r.json()["error"]
    assert "\n" not in msg and "cannot decode" in msg and str(studio_cfg.session_dir) not in msg
    assert len(list((studio_cfg.session_dir / "uploads").iterdir())) == 1
    # wrong extension, wrong content type, oversize (declared and streamed)
    r = client.post("/api/upload?name=x.exe", content=good, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 400 and "unsupported file type" in r.json()["error"]
    r = client.post("/api/upload?name=x.wav", content=good, headers={"Content-Type": "text/html"})
    assert r.status_code == 415
    big = b"\0" * (studio_cfg.max_upload_bytes + 1)
    r = client.post("/api/upload?name=big.wav", content=big, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit is enforced while streaming
        for _ in range(3):
            yield b"\0" * (studio_cfg.max_upload_bytes // 2)

    r = client.post("/api/upload?name=big.wav", content=chunks(), headers={"Content-Type": "audio/wav"})
    assert r.status_code == 413
    assert len([p for p in (studio_cfg.session_dir / "uploads").iterdir()]) == 1


def test_render_mix_and_takes(client: Any, studio_cfg: Any) -> None:
    r = client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "block_size": 256})
    assert r.status_code == 200, r.text
    neutral = r.json()
    r = client.post("/api/render", json={"sample": "lib-taps", "controls": {"bias": [3, 3, 3, 3]}, "block_size": 256})
    moved = r.json()
    assert moved["id"] != neutral["id"] and moved["controls"]["bias"] == [3, 3, 3, 3]
    a, sr = sf.read(io.BytesIO(client.get(f"/api/takes/{neutral['id']}/wet.wav").content), dtype="float32")
    b, _ = sf.read(io.BytesIO(client.get(f"/api/takes/{moved['id']}/wet.wav").content), dtype="float32")
    dry, _ = sf.read(io.BytesIO(client.get(f"/api/takes/{neutral['id']}/dry.wav").content), dtype="float32")
    assert sr == 44100 and a.shape == b.shape == dry.shape and np.isfinite(a).all()
    assert np.sqrt(np.mean((a - b) ** 2)) > 1e-3  # the latent bias changes the sound
    r = client.get(f"/api/takes/{neutral['id']}/wet.wav")
    assert "attachment" in r.headers["content-disposition"]
    # invalid controls and samples
    bad = [
        {"sample": "lib-taps", "controls": {"bias": [1e9]}},
        {"sample": "lib-taps", "controls": {"bias": [0, 0, 0, 0, 0]}},
        {"sample": "lib-taps", "controls": {"temperature": "hot"}},
        {"sample": "lib-taps", "controls": {"towards": {"label": "lava", "amount": 1}}},
        {"sample": "lib-taps", "controls": {"rm -rf": 1}},
        {"sample": "/etc/passwd"},
        {"sample": "lib-taps", "block_size": 7},
    ]
    for body in bad:
        r = client.post("/api/render", json=body)
        assert r.status_code == 400, body
        assert "error" in r.json()
    assert (
        client.post("/api/render", content=b"{not json", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    mix = client.post("/api/mix", json={"a": "lib-taps", "b": "lib-footsteps_wood", "alpha": 0.25})
    assert mix.status_code == 200, mix.text
    assert mix.json()["has_dry"] is False
    assert client.post("/api/mix", json={"a": "lib-taps", "b": "lib-taps", "alpha": 2}).status_code == 400
    ids = [t["id"] for t in client.get("/api/takes").json()]
    assert ids == [neutral["id"], moved["id"], mix.json()["id"]] or set(ids) == {
        neutral["id"],
        moved["id"],
        mix.json()["id"],
    }
    assert client.get("/api/takes/render-999/wet.wav").status_code == 400


def test_presets_roundtrip_and_validation(client: Any, studio_cfg: Any) -> None:
    ctl = {"bias": [1.5, -0.5], "scale": [1, 0.5], "temperature": 0.2, "towards": {"label": "wood", "amount": 0.7}}
    r = client.post("/api/presets/../../evil name", json=ctl)
    assert r.status_code == 404  # the client folds the dots: /api/evil name, which is no route
    r = client.post("/api/presets/a/b", json=ctl)
    assert r.status_code == 400 and "'/'" in r.json()["error"]  # a clear refusal, not a raw 404
    r = client.post("/api/presets/Wood steps", json=ctl)
    assert r.status_code == 200 and r.json()["name"] == "Wood_steps"
    assert "Wood_steps" in client.get("/api/presets").json()
    assert client.get("/api/presets/Wood steps").json()["controls"]["towards"] == {"label": "wood", "amount": 0.7}
    assert client.post("/api/presets/bad", json={"input_gain_db": 1000}).status_code == 400
    for p in studio_cfg.session_dir.parent.rglob("*.json"):
        assert studio_cfg.session_dir.parent in p.parents


def test_mux_without_ffmpeg_is_a_clear_501(client: Any, monkeypatch: Any) -> None:
    from foleyvae.studio.routes import takes as app_mod

    client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "block_size": 256})
    monkeypatch.setattr(app_mod, "ffmpeg_path", lambda: None)
    r = client.post("/api/takes/render-001/mux?name=v.mp4", content=b"x", headers={"Content-Type": "video/mp4"})
    assert r.status_code == 501 and "ffmpeg is not installed" in r.json()["error"]


def test_websocket_auth_and_origin(client: Any) -> None:
    from starlette.websockets import WebSocketDisconnect

    for url, headers in [
        ("/ws", {"X-Studio-Token": ""}),
        ("/ws", {"X-Studio-Token": "wrong"}),
        ("/ws?token=wrong", {}),
        (f"/ws?token={TOKEN}", {"origin": "http://evil.example"}),
        (f"/ws?token={TOKEN}", {"origin": "http://127.0.0.1:9999"}),
    ]:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(url, headers=headers) as ws:
            ws.receive_text()
    with client.websocket_connect(f"/ws?token={TOKEN}", headers={"origin": "http://testserver"}) as ws:
        ws.send_text(json.dumps({"type": "ping", "t": 1}))
        assert json.loads(ws.receive_text())["type"] == "pong"


def _frames(ws: Any, n: int) -> tuple[list[bytes], list[dict[str, Any]]]:
    audio, texts = [], []
    while len(audio) < n:
        m = ws.receive()
        if m.get("bytes") is not None:
            audio.append(m["bytes"])
        elif m.get("text"):
            texts.append(json.loads(m["text"]))
    return audio, texts


def test_live_stream_controls_record_and_malformed_messages(client: Any, studio_cfg: Any) -> None:
    from foleyvae.studio.session import FLAG_RECORD, FRAME_HEADER

    bs = 256
    rng = np.random.default_rng(0)
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        # audio before start, and garbage of every kind: errors, the session survives
        ws.send_bytes(FRAME_HEADER.pack(0, 0, 0.0) + b"\0" * 4 * bs)
        assert json.loads(ws.receive_text())["type"] == "error"
        ws.send_text(json.dumps({"type": "start", "block_size": bs}))
        ready = json.loads(ws.receive_text())
        assert ready["type"] == "ready" and ready["sample_rate"] == 44100 and ready["latency_ms"] >= 0
        for bad in ["{", "[]", '{"type": 3}', '{"type": "nope"}', '{"type": "controls", "bias": ["x"]}',
                    '{"type": "controls", "dry_wet": 5}', '{"type": "record", "on": true, "video_time": -1}',
                    '{"type": "start", "block_size": 3}']:  # fmt: skip
            ws.send_text(bad)
            msg = json.loads(ws.receive_text())
            assert msg["type"] == "error" and msg["message"], bad
        ws.send_bytes(b"\1\2\3")
        assert json.loads(ws.receive_text())["type"] == "error"
        ws.send_bytes(FRAME_HEADER.pack(1, 0, 0.0) + b"\0" * 4 * (bs - 1))
        assert json.loads(ws.receive_text())["type"] == "error"
        # a live control change reaches the engine
        ws.send_text(json.dumps({"type": "controls", "bias": [2.0], "towards": {"label": "metal", "amount": 0.5}}))
        ws.send_text(json.dumps({"type": "record", "on": True, "video_time": 12.5, "source": "mic"}))
        for i in range(12):
            x = (0.1 * rng.standard_normal(bs)).astype(np.float32)
            ws.send_bytes(FRAME_HEADER.pack(10 + i, FLAG_RECORD, 1000.0 + i) + x.tobytes())
        audio, texts = _frames(ws, 12)
        seqs = [FRAME_HEADER.unpack_from(a)[0] for a in audio]
        assert seqs == list(range(10, 22))
        out = np.frombuffer(audio[-1], np.float32, offset=FRAME_HEADER.size)
        assert out.shape == (bs,) and np.isfinite(out).all() and np.abs(out).max() > 0
        assert any(t["type"] == "stats" for t in texts)
        live = client.app.state.studio.live
        assert live.engine.controls.bias[0] == pytest.approx(2.0 * live.std[0])
        assert live.engine.controls.towards_amount == pytest.approx(0.5)
        # an unflagged frame closes the take
        ws.send_bytes(FRAME_HEADER.pack(30, 0, 0.0) + b"\0" * 4 * bs)
        take = None
        while take is None:
            m = ws.receive()
            if m.get("text") and json.loads(m["text"])["type"] == "take":
                take = json.loads(m["text"])["take"]
    assert take["video_time"] == 12.5 and take["source"] == "mic"
    assert take["duration"] == pytest.approx(12 * bs / 44100, abs=1e-3)
    dry, _ = sf.read(io.BytesIO(client.get(f"/api/takes/{take['id']}/dry.wav").content), dtype="float32")
    assert dry.shape == (12 * bs,)
    assert Path(studio_cfg.session_dir / "takes" / take["id"] / "wet.wav").is_file()


def test_exported_model_in_runs_opens_renders_and_streams(client: Any, studio_cfg: Any) -> None:
    import torch

    from foleyvae.config import preset
    from foleyvae.export.torchscript import export_model
    from foleyvae.models.builders import build_model
    from foleyvae.studio.session import FRAME_HEADER

    torch.manual_seed(0)
    cfg = preset("tiny")
    export_model(build_model(cfg), cfg, None, studio_cfg.runs_dir / "r1" / "model.ts", check=False)
    entry = next(m for m in client.get("/api/models").json() if m["name"] == "r1/model.ts")
    card = client.post("/api/model", json={"id": entry["id"]}).json()
    assert card["id"] == entry["id"] and card["hop_length"] == 16 and card["latent_size"] == 4
    r = client.post("/api/render", json={"sample": "lib-speech_en", "controls": {"scale": [0.5]}, "block_size": 512})
    assert r.status_code == 200, r.text
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_text(json.dumps({"type": "start", "block_size": 128}))
        assert json.loads(ws.receive_text())["model"]["id"] == entry["id"]
        for i in range(4):
            ws.send_bytes(FRAME_HEADER.pack(i, 0, 0.0) + np.full(128, 0.1, np.float32).tobytes())
        audio, _ = _frames(ws, 4)
    assert all(len(a) == FRAME_HEADER.size + 4 * 128 for a in audio)


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_mux_take_onto_a_video(client: Any, tmp_path: Path) -> None:
    import subprocess

    video = make_video(tmp_path / "clip.mp4", "testsrc=duration=2:size=160x120:rate=10")
    take = client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "block_size": 256}).json()
    r = client.post(
        f"/api/takes/{take['id']}/mux?name=clip.mp4", content=video.read_bytes(), headers={"Content-Type": "video/mp4"}
    )
    assert r.status_code == 200, r.text
    out = tmp_path / "out.mp4"
    out.write_bytes(r.content)
    probe = subprocess.run(["ffmpeg", "-nostdin", "-i", str(out)], capture_output=True, text=True, timeout=60)
    assert "Video:" in probe.stderr and "Audio: aac" in probe.stderr
    bad = client.post(f"/api/takes/{take['id']}/mux?name=clip.exe", content=b"x", headers={"Content-Type": "video/mp4"})
    assert bad.status_code == 400
    junk = client.post(
        f"/api/takes/{take['id']}/mux?name=a.mp4", content=b"x" * 100, headers={"Content-Type": "video/mp4"}
    )
    assert junk.status_code == 400 and "not an MP4/MOV/M4V or Matroska/WebM" in junk.json()["error"]
    junk = client.post(  # the right first box, then garbage: ffmpeg's own one-line error
        f"/api/takes/{take['id']}/mux?name=a.mp4",
        content=b"\0\0\0\x10ftypisom" + b"x" * 100,
        headers={"Content-Type": "video/mp4"},
    )
    assert junk.status_code == 400 and "ffmpeg could not mux" in junk.json()["error"]
