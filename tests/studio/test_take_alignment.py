"""A studio take's wet track lines up with its dry track by the engine's whole latency (FIFO + model delay), also
when the block is not a multiple of the hop (issue #22: hop 16, block 40 left the wet 8 samples late)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from benchmarks.soak_models import Passthrough

from foleyvae.studio.session import FLAG_RECORD, FRAME_HEADER, PageStream, SessionFolder

HOP = 16


def test_take_wet_lines_up_with_dry_when_the_engine_has_a_fifo(tmp_path: Path) -> None:
    torch.set_flush_denormal(True)
    block = 40
    session = PageStream(Passthrough(hop=HOP), block, SessionFolder(tmp_path / "session"))  # type: ignore[arg-type]
    assert session.engine.latency_samples == HOP - np.gcd(block, HOP) == 8
    x = np.zeros(block * 20, np.float32)
    x[[100, 333, 517]] = 0.5  # clicks
    for i in range(20):
        frame = FRAME_HEADER.pack(i, FLAG_RECORD, 0.0) + x[i * block : (i + 1) * block].tobytes()
        session.process_frame(frame)
    _, _, take = session.process_frame(FRAME_HEADER.pack(20, 0, 0.0) + np.zeros(block, np.float32).tobytes())
    assert take is not None
    folder = next(p for p in (tmp_path / "session").rglob("wet.wav"))
    wet, _ = sf.read(folder, dtype="float32")
    dry, _ = sf.read(folder.with_name("dry.wav"), dtype="float32")
    assert np.flatnonzero(np.abs(dry) > 0.25).tolist() == [100, 333, 517]
    assert np.flatnonzero(np.abs(wet) > 0.25).tolist() == [100, 333, 517]  # was [108, 341, 525]
