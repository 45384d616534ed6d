"""The studio offers every zoo model by name: each opens with its card and materials, and renders a sample."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import soundfile as sf

ZOO = ("footsteps", "impacts", "water", "electromagnetic", "scifi")


@pytest.mark.slow  # > 15 s on a slow day: CI runs it right after the default suite (.ci/run)
def test_each_zoo_model_can_be_chosen_and_played(client: Any) -> None:
    ids = {m["id"]: m for m in client.get("/api/models").json()}
    for name in ZOO:
        entry = ids[f"bundled-{name}"]
        assert entry["source"] == "bundled"
        card = client.post("/api/model", json={"id": entry["id"]}).json()
        assert card["sample_rate"] == 44100 and card["materials"], name  # "towards" buttons for its labels
        r = client.post("/api/render", json={"sample": "lib-taps", "controls": {}, "block_size": 256})
        assert r.status_code == 200, r.text
        wet, _ = sf.read(io.BytesIO(client.get(f"/api/takes/{r.json()['id']}/wet.wav").content), dtype="float32")
        assert np.isfinite(wet).all() and np.abs(wet).max() > 0.01, name
    assert "wood" in client.post("/api/model", json={"id": "bundled-foley"}).json()["materials"]  # short names
