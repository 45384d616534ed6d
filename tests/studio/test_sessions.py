"""Sessions that survive, safe presets, what an artist notices (issue #21 items 4-6), through the HTTP API."""

from __future__ import annotations

import io
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.studio.conftest import TOKEN


def _wav(seconds: float, sr: int = 44100) -> bytes:
    buf = io.BytesIO()
    t = np.arange(int(seconds * sr)) / sr
    sf.write(buf, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture
def two_model_client(studio_cfg: Any) -> Iterator[Any]:
    """The demo model as ``demo`` and a second one (another seed, another name) as ``demo-b``."""
    import warnings

    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.app import Studio, create_app
    from foleyvae.studio.session import ModelEntry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    studio_cfg.extra_models.append(ModelEntry("demo-b", "demo B", "demo", "second", lambda: demo_model(1, "demo B")))
    studio = Studio(studio_cfg)
    studio.open_default()
    with TestClient(create_app(studio_cfg, studio)) as c:
        c.headers["X-Studio-Token"] = TOKEN
        c.studio = studio
        yield c


def test_token_is_stable_per_folder_private_and_rotates(tmp_path: Path) -> None:
    from foleyvae.studio.tokens import folder_token, read_token

    work = tmp_path / "studio"
    a = folder_token(work)
    assert folder_token(work) == a and read_token(work) == a and len(a) >= 40
    assert stat.S_IMODE((work / "token").stat().st_mode) == 0o600
    b = folder_token(work, rotate=True)
    assert b != a and folder_token(work) == b
    os.chmod(work / "token", 0o644)  # readable by others: not trusted any more
    c = folder_token(work)
    assert c != b and stat.S_IMODE((work / "token").stat().st_mode) == 0o600
    (work / "token").unlink()
    (work / "token").symlink_to(tmp_path / "elsewhere")
    d = folder_token(work)
    assert d != c and not (work / "token").is_symlink() and not (tmp_path / "elsewhere").exists()


def test_a_wrong_token_in_a_browser_gets_a_readable_page(client: Any) -> None:
    r = client.get("/?token=old", headers={"X-Studio-Token": "", "Accept": "text/html,*/*"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "wrong session token" in r.text and "{" not in r.text and "printed" in r.text
    assert client.get("/api/state?token=old", headers={"X-Studio-Token": ""}).json() == {"error": "wrong session token"}


def test_each_tab_has_its_own_model_and_renders_with_it(two_model_client: Any) -> None:
    c = two_model_client
    a, b = {"X-Studio-Tab": "tab-a"}, {"X-Studio-Tab": "tab-b"}
    assert c.get("/api/state", headers=a).json()["model"]["id"] == "demo"
    assert c.post("/api/model", json={"id": "demo-b"}, headers=b).json()["name"] == "demo B"
    assert c.get("/api/model", headers=a).json()["id"] == "demo"  # B's pick did not touch A
    assert c.get("/api/model", headers=b).json()["id"] == "demo-b"
    assert c.get("/api/model").json()["id"] == "demo"  # nor the default tab
    ta = c.post("/api/render", json={"sample": "lib-taps", "controls": {}}, headers=a).json()
    tb = c.post("/api/render", json={"sample": "lib-taps", "controls": {}}, headers=b).json()
    assert ta["model"] != tb["model"] and tb["model"] == "demo B"
    assert c.get("/api/state", headers={"X-Studio-Tab": "../x"}).status_code == 400


def test_live_stream_follows_its_tab_and_a_takeover_is_said(two_model_client: Any) -> None:
    from foleyvae.studio.session import FRAME_HEADER

    c = two_model_client
    c.post("/api/model", json={"id": "demo-b"}, headers={"X-Studio-Tab": "tab-b"})
    with (
        c.websocket_connect(f"/ws?token={TOKEN}&tab=tab-a") as wa,
        c.websocket_connect(f"/ws?token={TOKEN}&tab=tab-b") as wb,
    ):
        wa.send_json({"type": "start", "block_size": 256})
        assert wa.receive_json()["model"]["id"] == "demo"
        wb.send_json({"type": "start", "block_size": 256})
        assert wb.receive_json()["model"]["id"] == "demo-b"
        taken = wa.receive_json()
        assert taken["type"] == "taken" and "another tab" in taken["message"]
        wa.send_bytes(FRAME_HEADER.pack(1, 0, 0.0) + np.zeros(256, np.float32).tobytes())  # in flight: dropped
        wa.send_json({"type": "ping", "t": 1})
        assert wa.receive_json()["type"] == "pong"  # no error for the dropped frame; the socket stays open
        wa.send_json({"type": "start", "block_size": 256})  # take it back
        assert wa.receive_json()["type"] == "ready" and wb.receive_json()["type"] == "taken"
        assert c.studio.live_owner.tab_id == "tab-a"


def test_render_jobs_report_queue_progress_and_cancel(client: Any, studio_cfg: Any) -> None:
    long = studio_cfg.session_dir / "uploads" / "0000abcd-long.wav"
    long.write_bytes(_wav(120.0))
    first = client.post("/api/render", json={"sample": "up-0000abcd-long", "controls": {}, "background": True}).json()
    second = client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "background": True}).json()
    assert first["state"] in ("waiting", "running") and second["state"] == "waiting" and second["ahead"] >= 1
    deadline = time.monotonic() + 120
    while (j := client.get(f"/api/jobs/{first['id']}").json())["progress"] <= 0.0 or j["stage"] != "rendering":
        assert time.monotonic() < deadline and j["state"] == "running" or j["state"] == "waiting", j
        time.sleep(0.05)
    assert 0.0 < j["progress"] < 1.0
    assert client.post(f"/api/jobs/{first['id']}/cancel").json()["id"] == first["id"]
    while (j := client.get(f"/api/jobs/{first['id']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert j["state"] == "cancelled" and j["take"] is None
    while (k := client.get(f"/api/jobs/{second['id']}").json())["state"] != "done":
        assert time.monotonic() < deadline and k["state"] in ("waiting", "running"), k
        time.sleep(0.05)
    assert k["take"]["kind"] == "render" and k["progress"] == 1.0
    assert [t["id"] for t in client.get("/api/takes").json()] == [k["take"]["id"]]  # nothing of the cancelled one
    assert client.get("/api/jobs/job-nope").status_code == 400


def test_presets_are_validated_named_safely_tied_to_their_model_and_not_overwritten(two_model_client: Any) -> None:
    c = two_model_client
    r = c.post("/api/check-preset", json={"bias": "lots", "temperature": 99})
    assert r.status_code == 400 and r.json()["error"].startswith("preset not applied: bias")
    r = c.post("/api/check-preset", json={"temperature": 99})
    assert r.status_code == 400 and "temperature" in r.json()["error"] and "99" in r.json()["error"]
    r = c.post("/api/presets/a/b", json={"dry_wet": 0.5})
    assert r.status_code == 400 and "'/'" in r.json()["error"]
    assert c.post("/api/presets/walk", json={"dry_wet": 0.5}).json()["model"] == "demo (untrained, random weights)"
    r = c.post("/api/presets/walk", json={"dry_wet": 0.25})
    assert r.status_code == 409 and "exists" in r.json()["error"]
    assert c.get("/api/presets/walk").json()["controls"] == {"dry_wet": 0.5}  # not replaced
    assert c.post("/api/presets/walk?overwrite=1", json={"dry_wet": 0.25}).status_code == 200
    got = c.get("/api/presets/walk").json()
    assert got["controls"] == {"dry_wet": 0.25} and got["warning"] is None
    b = {"X-Studio-Tab": "tab-b"}
    c.post("/api/model", json={"id": "demo-b"}, headers=b)
    on_b = c.get("/api/presets/walk", headers=b).json()
    assert on_b["controls"] == {"dry_wet": 0.25} and "made for model 'demo (untrained" in on_b["warning"]


def test_card_is_safe_html_and_materials_are_grouped() -> None:
    from foleyvae.studio.markdown import render_markdown

    out = render_markdown("# Card <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| **x** | [l](javascript:x) |")
    assert "<h1>Card &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in out and "<script" not in out
    assert "<table>" in out and "<strong>x</strong>" in out and "href" not in out
    link = render_markdown('[doc](https://example.org/a"onclick=x)')
    assert 'href="https://example.org/a&quot;onclick=x"' in link


def test_studio_opens_on_foley_with_grouped_materials(tmp_path: Path) -> None:
    from foleyvae.studio.app import Studio, StudioConfig

    st = Studio(StudioConfig(token=TOKEN, session_dir=tmp_path / "w" / "session"))
    st.open_default()
    card = st.card()
    assert card is not None and card["id"] == "bundled-foley"
    groups = {g["group"]: [i["label"] for i in g["items"]] for g in card["material_groups"]}
    # the bundled foley is material-conditioned: its 13 material channels are short names, one group
    assert list(groups) == ["materials"] and "wood" in groups["materials"] and len(groups["materials"]) == 13
    assert card["material_channels"] == groups["materials"]
    assert "<table>" in card["card_html"]


def test_labels_without_a_short_name_are_grouped_by_category() -> None:
    """An offset-steered model's picker: the short names first (wood gathers footsteps/ and impacts/wood), then the
    labels no short name gathers, by category, named by their last part."""
    from types import SimpleNamespace

    from foleyvae.studio.session import material_groups

    offsets = {"footsteps/wood": [1.0, 0.0], "impacts/wood": [0.5, 0.0], "footsteps/energy": [0.0, 1.0]}
    model = SimpleNamespace(metadata={"materials": {"offsets": offsets}}, latent_size=2, name="m")
    groups = {g["group"]: g["items"] for g in material_groups(model)}  # type: ignore[arg-type]
    assert [i["label"] for i in groups["materials"]] == ["wood"]
    assert groups["materials"][0]["title"] == "footsteps/wood, impacts/wood"
    assert groups["footsteps"] == [{"value": "footsteps/energy", "label": "energy", "title": "footsteps/energy"}]


def test_a_one_hour_48k_stereo_wav_uploads_with_the_default_limits(tmp_path: Path) -> None:
    """691 MB streamed to disk in chunks (never whole in memory) and decoded block by block within the limits."""
    import struct

    import httpx

    from foleyvae.studio.app import StudioConfig, serve_in_thread

    cfg = StudioConfig(token=TOKEN, session_dir=tmp_path / "w" / "session")  # the defaults: 2 GB, 4 h
    sr, ch, seconds = 48000, 2, 3600
    n_bytes = sr * ch * 2 * seconds
    fmt = struct.pack("<IHHIIHH", 16, 1, ch, sr, sr * ch * 2, ch * 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + n_bytes) + b"WAVE" + b"fmt " + fmt + b"data" + struct.pack("<I", n_bytes)
    chunk = (np.sin(np.arange(sr) * 0.05) * 3000).astype("<i2").repeat(ch).tobytes()  # one second, stereo

    def body() -> Iterator[bytes]:
        yield header
        for _ in range(seconds):
            yield chunk

    with serve_in_thread(cfg) as url:
        base = url.split("/?")[0]
        t0 = time.perf_counter()
        r = httpx.post(
            f"{base}/api/upload?name=hour.wav",
            content=body(),
            headers={
                "X-Studio-Token": TOKEN,
                "Content-Type": "audio/wav",
                "Content-Length": str(len(header) + n_bytes),
            },
            timeout=240.0,
        )
        took = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    print(f"1 h 48 kHz stereo WAV ({(len(header) + n_bytes) / 1e6:.0f} MB) uploaded and checked in {took:.1f} s")
    kept = list((cfg.session_dir / "uploads").iterdir())
    assert len(kept) == 1 and kept[0].stat().st_size == len(header) + n_bytes
    assert sf.info(str(kept[0])).duration == seconds
