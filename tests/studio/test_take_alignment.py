"""A studio take's wet track lines up with its dry track by the engine's whole latency (FIFO + model delay), also
when the block is not a multiple of the hop (issue #22: hop 16, block 40 left the wet 8 samples late)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from benchmarks.soak_models import Passthrough

from foleyvae.studio.session import FLAG_RECORD, FLAG_SPLIT, FRAME_HEADER, PageStream, SessionFolder

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


def _frame(i: int, flags: int, x: np.ndarray) -> bytes:
    return FRAME_HEADER.pack(i, flags, 0.0) + x.astype(np.float32).tobytes()


def _clicky(block: int, blocks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(block * blocks, np.float32)
    x[rng.choice(x.size, 12, replace=False)] = rng.uniform(0.3, 0.9, 12).astype(np.float32)
    return x


def test_a_latency_longer_than_the_block_keeps_the_take_whole(tmp_path: Path) -> None:
    """hop 256, block 40: the engine is 248 samples late (six blocks). The last clicks of a take come out after the
    page stopped recording; the take closes once they have, with the real output (not zeros) in its tail."""
    torch.set_flush_denormal(True)
    block = 40
    session = PageStream(Passthrough(hop=256), block, SessionFolder(tmp_path / "session"))  # type: ignore[arg-type]
    latency = session.engine.latency_samples
    assert latency == 248
    x = _clicky(block, 40, 1)
    x[20 * block - 3] = 0.8  # a click three samples before the take ends
    takes = []
    for i in range(40):
        _, _, take = session.process_frame(_frame(i, FLAG_RECORD if i < 20 else 0, x[i * block : (i + 1) * block]))
        if take:
            takes.append((i, take))
    assert [i for i, _ in takes] == [20 + latency // block]  # closed when its tail had come out
    folder = session.folder.take_dir(takes[0][1]["id"])
    wet, _ = sf.read(folder / "wet.wav", dtype="float32")
    dry, _ = sf.read(folder / "dry.wav", dtype="float32")
    assert len(wet) == len(dry) == 20 * block
    np.testing.assert_allclose(wet, x[: 20 * block], atol=2e-6)  # PCM_24: the performance, click for click
    np.testing.assert_allclose(dry, x[: 20 * block], atol=2e-6)


def test_loop_passes_and_the_stream_end_flush_the_engine(tmp_path: Path) -> None:
    """Two passes split by FLAG_SPLIT, the second still recording when the stream ends (the page left): both are
    whole and lined up; the second's tail comes from zeros pushed through the engine, as ``foleyvae live`` does."""
    torch.set_flush_denormal(True)
    block = 40
    session = PageStream(Passthrough(hop=256), block, SessionFolder(tmp_path / "session"))  # type: ignore[arg-type]
    x = _clicky(block, 30, 2)
    x[30 * block - 1] = 0.7  # the very last sample
    takes = []
    for i in range(30):
        flags = FLAG_RECORD | (FLAG_SPLIT if i == 12 else 0)
        _, _, take = session.process_frame(_frame(i, flags, x[i * block : (i + 1) * block]))
        takes += [take] if take else []
    takes += session.finish_take()
    assert len(takes) == 2
    for t, (a, b) in zip(takes, [(0, 12 * block), (12 * block, 30 * block)], strict=True):
        wet, _ = sf.read(session.folder.take_dir(t["id"]) / "wet.wav", dtype="float32")
        np.testing.assert_allclose(wet, x[a:b], atol=2e-6)
