"""The studio's model menu lists the four bundled MCLT models: each opens with its card and renders a sample (a clip
model plays with one clip of latency; the engine's FIFO handles 256-sample blocks)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf

MCLT = ("mclt-2d", "mclt-3d", "mclt-gl", "mclt-cvae")


def test_each_mclt_model_is_in_the_menu_and_plays(client: Any) -> None:
    ids = {m["id"]: m for m in client.get("/api/models").json()}
    for name in MCLT:
        entry = ids[f"bundled-{name}"]
        assert entry["source"] == "bundled" and entry["name"] == name
        card = client.post("/api/model", json={"id": entry["id"]}).json()
        assert card["sample_rate"] == 44100, name
        r = client.post("/api/render", json={"sample": "lib-footsteps_wood", "controls": {}, "block_size": 256})
        assert r.status_code == 200, r.text
        wet, _ = sf.read(io.BytesIO(client.get(f"/api/takes/{r.json()['id']}/wet.wav").content), dtype="float32")
        assert np.isfinite(wet).all() and np.abs(wet).max() > 0.001, name
