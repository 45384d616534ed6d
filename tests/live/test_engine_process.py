"""EngineProcess: the streaming engine in a child process gives the in-process engine's output, swaps models with a
crossfade, and fails with one clear line when its child fails (no audio device needed)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foleyvae.inference.engine import EngineError, StreamingEngine
from foleyvae.live.engine_process import EngineProcess
from tests.inference.toy import ToyStream

ROOT = Path(__file__).resolve().parents[2]
SR, BLOCK = 48000, 256


def _toy(seed: int = 0, sample_rate: int = SR) -> functools.partial[ToyStream]:
    return functools.partial(ToyStream, sample_rate=sample_rate, seed=seed)


def chatty_toy() -> ToyStream:
    """A model factory that prints to stdout (Python and C level) while it loads (the child imports it by name)."""
    print("hello from the model's code")
    os.write(1, b"raw bytes on fd 1\n" * 5000)  # more than a pipe buffer holds
    return ToyStream(sample_rate=SR)


def dying_toy() -> ToyStream:
    """A model factory whose process dies while loading (as a crashing native library would)."""
    os._exit(3)


def _blocks(n: int, seed: int = 0) -> np.ndarray:
    """``[n, 1, BLOCK]`` noise bursts with silence between them."""
    rng = np.random.default_rng(seed)
    x = (0.3 * rng.standard_normal((n, 1, BLOCK))).astype(np.float32)
    x[::5] = 0.0
    return x


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie (exited, not yet reaped) counts as gone
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def ep() -> Iterator[EngineProcess]:
    with EngineProcess(_toy(), BLOCK, realtime=False) as e:
        yield e


def test_output_and_controls_match_the_in_process_engine(ep: EngineProcess) -> None:
    ref = StreamingEngine(ToyStream(sample_rate=SR), BLOCK)
    plain = StreamingEngine(ToyStream(sample_rate=SR), BLOCK)  # the same blocks without the control change
    assert ep.sample_rate == SR and ep.channels == 1 and ep.latency() == ref.latency()
    for e in (ep, ref):
        e.reset()
        e.reset_stats()
        e.controls.clear()
    x = _blocks(120)
    ys: dict[str, list[np.ndarray]] = {"proc": [], "ref": []}
    for i, b in enumerate(x):
        if i == 40:  # a control change mid-stream reaches the child with the next block
            for e in (ep, ref):
                e.controls.set_bias(0, 1.5)
                e.controls.set_scale(1, 0.5)
                e.controls.set_dry_wet(0.7)
                e.controls.towards([0.5, -0.5], 0.3)
        ys["proc"].append(ep.process(b).copy())
        ys["ref"].append(ref.process(b).copy())
        ys.setdefault("plain", []).append(plain.process(b).copy())
    y, r = np.concatenate(ys["proc"], 1), np.concatenate(ys["ref"], 1)
    assert np.sqrt(np.mean(r**2)) > 1e-2  # not trivially equal silences
    assert np.abs(r - np.concatenate(ys["plain"], 1))[:, 50 * BLOCK :].max() > 1e-2  # the controls did something
    np.testing.assert_allclose(y, r, atol=1e-5)
    s = ep.stats
    assert s.blocks == 120 and s.model_calls == ref.stats.model_calls and s.nan_blocks == 0
    assert 0.0 < s.mean_process_s <= s.max_process_s


def test_nan_block_is_silenced_and_counted(ep: EngineProcess) -> None:
    ep.reset_stats()
    bad = np.full((1, BLOCK), np.nan, np.float32)
    assert np.all(ep.process(bad) == 0.0)
    assert np.all(np.isfinite(ep.process(_blocks(1)[0])))
    assert ep.stats.nan_blocks == 1 and ep.stats.blocks == 2


def test_wrong_block_shape_is_refused(ep: EngineProcess) -> None:
    with pytest.raises(EngineError, match="expected a block of shape"):
        ep.process(np.zeros((1, BLOCK + 1), np.float32))


def test_swap_crossfades_to_the_new_model_and_stops_the_old_process() -> None:
    with EngineProcess(_toy(0), BLOCK, realtime=False, overlap_blocks=4, crossfade_blocks=4) as ep:
        old_pid = ep.info["pid"]
        ep.controls.set_bias(0, 0.8)
        x = _blocks(60)
        for b in x[:20]:
            ep.process(b)
        ep.swap(_toy(1))  # blocks this (control) thread until the new child is warm; audio went on meanwhile
        assert ep.stats.swaps == 0  # handed over at the next block boundary
        ys = [ep.process(b).copy() for b in x[20:]]
        assert ep.stats.swaps == 1 and ep.info["pid"] != old_pid
        assert ep.controls.bias[0] == 0.8  # the controls carried over
        assert ep.stats.blocks == 60  # overlap blocks counted once
        assert ep.release_retired() and not _alive(old_pid)
        # after the fade the output is the new model's: an engine on model 1 fed the same blocks from the swap on
        # (its state came from the overlap blocks, as the child's did)
        ref = StreamingEngine(_toy(1)(), BLOCK)
        ref.controls.set_bias(0, 0.8)
        rs = [ref.process(b).copy() for b in x[20:]]
        y, r = np.concatenate(ys, 1), np.concatenate(rs, 1)
        np.testing.assert_allclose(y[:, 8 * BLOCK :], r[:, 8 * BLOCK :], atol=1e-5)
        # during the fade it is neither model alone: a blend, and continuous at the joins
        old = StreamingEngine(_toy(0)(), BLOCK)
        old.controls.set_bias(0, 0.8)
        os_ = np.concatenate([old.process(b).copy() for b in x], 1)[:, 20 * BLOCK :]
        fade = slice(4 * BLOCK, 8 * BLOCK)
        assert np.all(np.isfinite(y))
        assert not np.allclose(y[:, fade], r[:, fade], atol=1e-4) and not np.allclose(
            y[:, fade], os_[:, fade], atol=1e-4
        )
        np.testing.assert_allclose(y[:, : 4 * BLOCK], os_[:, : 4 * BLOCK], atol=1e-5)


def test_swap_to_another_sample_rate_is_refused_and_the_old_model_plays_on() -> None:
    with EngineProcess(_toy(), BLOCK, realtime=False) as ep:
        with pytest.raises(EngineError, match="cannot swap to .*22050 Hz"):
            ep.swap(_toy(sample_rate=22050))
        assert np.all(np.isfinite(ep.process(_blocks(1)[0]))) and ep.stats.swaps == 0


def test_prints_while_loading_do_not_disturb_the_child(capfd: pytest.CaptureFixture[str]) -> None:
    from tests.live.test_engine_process import chatty_toy as importable  # not via pytest's module name

    with EngineProcess(importable, BLOCK, realtime=False) as ep:
        assert np.all(np.isfinite(ep.process(_blocks(1)[0]))) and ep.info["name"] == "toy"
    assert "hello from the model's code" in capfd.readouterr().err


def test_a_missing_model_is_one_clear_line_and_leaves_no_process(tmp_path: Path) -> None:
    before = _children()
    with pytest.raises(EngineError, match="engine process could not open the model: .*") as ei:
        EngineProcess(str(tmp_path / "nope.ts"), BLOCK, realtime=False)
    assert "\n" not in str(ei.value) and "nope" in str(ei.value)
    assert _children() == before


def test_a_child_dying_while_loading_gives_its_exit_code() -> None:
    from tests.live.test_engine_process import dying_toy as importable

    t0 = time.monotonic()
    with pytest.raises(EngineError, match="it exited with code 3 before it was ready"):
        EngineProcess(importable, BLOCK, realtime=False)
    assert time.monotonic() - t0 < 30.0  # seen at once, not after the start timeout


def test_a_killed_child_fails_the_next_block_at_once() -> None:
    with EngineProcess(_toy(), BLOCK, realtime=False) as ep:
        ep.process(_blocks(1)[0])
        os.kill(ep.info["pid"], signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(EngineError, match="engine process failed: it exited with code -9"):
            for _ in range(10):
                ep.process(_blocks(1)[0])
        assert time.monotonic() - t0 < 2.0  # EOF on its pipe, not a timeout


def test_child_exits_when_the_audio_process_dies(tmp_path: Path) -> None:
    code = (
        "import functools, sys\n"
        "from foleyvae.live.engine_process import EngineProcess\n"
        "from tests.inference.toy import ToyStream\n"
        f"ep = EngineProcess(functools.partial(ToyStream, sample_rate={SR}), {BLOCK}, realtime=False)\n"
        "print(ep.info['pid'], flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10.0
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _children() -> set[int]:
    """Live child processes of this one."""
    me = str(os.getpid())
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                out.add(int(d.name))
    return out
