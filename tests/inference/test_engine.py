import numpy as np
import pytest
import torch

from foleyvae.inference.controls import ControlError, Controls
from foleyvae.inference.engine import EngineError, StreamingEngine
from tests.conftest import footstep
from tests.inference.toy import ToyStream


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.concatenate([footstep("wood", 0.3, seed=seed), footstep("metal", 0.3, seed=seed + 1)])
    x = np.tile(x, n // len(x) + 1)[:n] + 0.01 * rng.standard_normal(n).astype(np.float32)
    return x[None].astype(np.float32)


def _run(engine: StreamingEngine, x: np.ndarray) -> np.ndarray:
    n = engine.block_size
    out = [engine.process(np.ascontiguousarray(x[:, i : i + n])).copy() for i in range(0, x.shape[1] - n + 1, n)]
    return np.concatenate(out, axis=1)


def _offline_same_blocks(model: ToyStream, x: np.ndarray, chunk: int) -> np.ndarray:
    model.reset()
    ys = []
    with torch.no_grad():
        for i in range(0, x.shape[1] - chunk + 1, chunk):
            ys.append(model.decode(model.encode(torch.from_numpy(x[None, :, i : i + chunk].copy())))[0].numpy())
    return np.concatenate(ys, axis=1)


def _neutral(k: int) -> Controls:
    c = Controls(k)
    c.set_limiter(False)
    return c


@pytest.mark.parametrize("block", [64, 256])
def test_engine_equals_model_on_same_blocks(block: int) -> None:
    x = _signal(block * 20)
    ref = _offline_same_blocks(ToyStream(), x, block)
    m = ToyStream()
    eng = StreamingEngine(m, block, _neutral(m.latent_size))
    assert eng.latency_samples == m.delay_samples
    y = _run(eng, x)
    np.testing.assert_allclose(y, ref, atol=1e-5)
    assert eng.stats.blocks == 20 and eng.stats.nan_blocks == 0
    assert eng.last_latent.shape == (m.latent_size,) and np.abs(eng.last_latent).sum() > 0


@pytest.mark.parametrize("block", [100, 37])
def test_fifo_for_blocks_not_multiple_of_hop(block: int) -> None:
    m = ToyStream()
    x = _signal(block * 30)
    eng = StreamingEngine(m, block, _neutral(m.latent_size))
    hop = m.hop_length
    fifo = hop - np.gcd(block, hop)
    assert eng.latency().fifo_samples == fifo
    assert eng.latency_samples == fifo + m.delay_samples
    y = _run(eng, x)
    ref = _offline_same_blocks(ToyStream(), x, hop)  # hop-sized chunks, delayed by the FIFO
    n = y.shape[1] - fifo
    np.testing.assert_allclose(y[:, fifo:], ref[:, :n], atol=1e-5)
    np.testing.assert_array_equal(y[:, :fifo], 0.0)


@pytest.mark.parametrize("block", [64, 100])
def test_dry_is_input_delayed_by_latency(block: int) -> None:
    m = ToyStream()
    c = _neutral(m.latent_size)
    c.set_dry_wet(0.0)
    eng = StreamingEngine(m, block, c)
    x = _signal(block * 25)
    y = _run(eng, x)
    d = eng.latency_samples
    assert d > 0
    np.testing.assert_array_equal(y[:, :d], 0.0)
    np.testing.assert_allclose(y[:, d:], x[:, : y.shape[1] - d], atol=1e-7)


def _max_jump(y: np.ndarray, lo: int, hi: int) -> float:
    return float(np.abs(np.diff(y[0, lo:hi])).max())


def test_bias_jump_is_click_free() -> None:
    block = 64
    x = _signal(block * 60)
    m = ToyStream()
    eng = StreamingEngine(m, block, _neutral(m.latent_size))
    base = _run(eng, x)
    m2 = ToyStream()
    c = _neutral(m2.latent_size)
    eng2 = StreamingEngine(m2, block, c)
    half = 30 * block
    first = _run(eng2, x[:, :half])
    c.set_bias(0, 3.0)
    second = _run(eng2, x[:, half:])
    y = np.concatenate([first, second], axis=1)
    lo, hi = half - 2 * block, half + 4 * block
    jump_change, jump_base = _max_jump(y, lo, hi), _max_jump(base, lo, hi)
    # the bias does change the sound...
    assert np.abs(second[:, -10 * block :] - base[:, -10 * block :]).max() > 1e-3
    # ...but the transition is no sharper than the signal's own sample-to-sample changes
    assert jump_change <= 2.0 * max(jump_base, _max_jump(y, hi, y.shape[1]))


def test_unsmoothed_bias_would_click_reference() -> None:
    """Control: with smoothing off, the same jump produces a larger step (so the test above measures something)."""
    block = 64
    x = _signal(block * 60)
    jumps = {}
    for smooth in (0.0, 25.0):
        m = ToyStream()
        c = Controls(m.latent_size, smoothing_ms=smooth)
        c.set_limiter(False)
        eng = StreamingEngine(m, block, c)
        half = 30 * block
        a = _run(eng, x[:, :half])
        c.set_bias(0, 3.0)
        b = _run(eng, x[:, half:])
        y = np.concatenate([a, b], axis=1)
        jumps[smooth] = _max_jump(y, half - block, half + 2 * block)
    assert jumps[25.0] < jumps[0.0]


def test_nan_block_is_silenced_and_counted() -> None:
    block = 64
    m = ToyStream()
    eng = StreamingEngine(m, block, _neutral(m.latent_size))
    x = _signal(block * 12)
    for i in range(5):
        eng.process(x[:, i * block : (i + 1) * block])
    bad = x[:, :block].copy()
    bad[0, 10] = np.nan
    out = eng.process(bad)
    assert np.all(out == 0.0) and eng.stats.nan_blocks == 1
    bad[0, 10] = np.inf
    assert np.all(eng.process(bad) == 0.0) and eng.stats.nan_blocks == 2
    nxt = eng.process(x[:, 7 * block : 8 * block])
    assert np.isfinite(nxt).all() and np.abs(nxt).max() > 0
    assert eng.stats.nan_blocks == 2 and eng.stats.blocks == 8


def test_nan_from_model_is_silenced_and_model_reset() -> None:
    block = 64
    m = ToyStream()
    eng = StreamingEngine(m, block, _neutral(m.latent_size))
    x = _signal(block * 6)
    eng.process(x[:, :block])
    real_decode = m.decode
    m.decode = lambda z: real_decode(z) * float("nan")  # type: ignore[method-assign]
    assert np.all(eng.process(x[:, block : 2 * block]) == 0.0)
    m.decode = real_decode  # type: ignore[method-assign]
    out = eng.process(x[:, 2 * block : 3 * block])
    assert np.isfinite(out).all() and eng.stats.nan_blocks == 1


def test_hot_swap_at_block_boundary() -> None:
    block = 64
    x = _signal(block * 40)
    a, b = ToyStream(seed=0), ToyStream(seed=1)
    eng = StreamingEngine(a, block, _neutral(a.latent_size))
    _run(eng, x[:, : 20 * block])
    eng.swap_model(b)
    assert eng.model is a  # applied at the next block
    _run(eng, x[:, 20 * block :])
    assert eng.model is b and eng.stats.swaps == 1 and eng.stats.nan_blocks == 0
    # after the crossfade block the output is model b's own stream
    ref_eng = StreamingEngine(ToyStream(seed=1), block, _neutral(a.latent_size))
    ref = _run(ref_eng, x[:, 20 * block :])
    eng2 = StreamingEngine(ToyStream(seed=0), block, _neutral(a.latent_size))
    _run(eng2, x[:, : 20 * block])
    eng2.swap_model(ToyStream(seed=1))
    got = _run(eng2, x[:, 20 * block :])
    np.testing.assert_allclose(got[:, block:], ref[:, block:], atol=1e-5)


def test_swap_refuses_other_sample_rate() -> None:
    eng = StreamingEngine(ToyStream(), 64)
    with pytest.raises(EngineError, match="48000 Hz"):
        eng.swap_model(ToyStream(sample_rate=48000))


def test_swap_to_other_latent_size_resizes_controls() -> None:
    eng = StreamingEngine(ToyStream(), 64)
    eng.controls.set_bias(1, 0.5)
    eng.swap_model(ToyStream(latent_size=8))
    x = _signal(64 * 4)
    _run(eng, x)
    assert eng.controls.latent_size == 8 and eng.controls.bias[1] == 0.5 and eng.last_latent.shape == (8,)


def test_controls_validate() -> None:
    c = Controls(4)
    for bad in (lambda: c.set_bias(4, 1.0), lambda: c.set_bias(-1, 1.0), lambda: c.set_scale(0, float("nan"))):
        with pytest.raises(ControlError):
            bad()
    with pytest.raises(ControlError):
        c.set_temperature(-0.1)
    with pytest.raises(ControlError):
        c.set_dry_wet(1.5)
    with pytest.raises(ControlError):
        c.towards([0.0] * 5, 0.5)
    with pytest.raises(ControlError):
        c.set_input_gain_db(float("inf"))
    c.set_bias(3, -2.0)
    c.towards([1.0, 2.0], 0.25)
    assert c.as_dict()["bias"] == [0.0, 0.0, 0.0, -2.0] and c.towards_amount == 0.25


def test_controls_change_output_gain_temperature_freeze_towards() -> None:
    block = 64
    x = _signal(block * 30)
    outs = {}
    for name, setup in {
        "plain": lambda c: None,
        "gain": lambda c: c.set_input_gain_db(-60.0),
        "temp": lambda c: c.set_temperature(1.0),
        "freeze": lambda c: c.set_freeze(True),
        "towards": lambda c: c.towards([3.0, -3.0, 3.0, -3.0], 1.0),
    }.items():
        m = ToyStream()
        c = _neutral(m.latent_size)
        eng = StreamingEngine(m, block, c)
        _run(eng, x[:, : 5 * block])
        setup(c)
        outs[name] = _run(eng, x[:, 5 * block :])
    for name in ("gain", "temp", "towards"):
        assert np.abs(outs[name] - outs["plain"]).max() > 1e-4, name
    assert np.isfinite(np.concatenate(list(outs.values()))).all()


def test_limiter_bounds_output() -> None:
    block = 64
    m = ToyStream()
    c = Controls(m.latent_size)
    c.set_dry_wet(0.0)
    c.set_input_gain_db(0.0)
    c.set_limiter(True, 0.5)
    eng = StreamingEngine(m, block, c)
    x = 3.0 * _signal(block * 20)
    y = _run(eng, x)
    assert np.abs(y).max() <= 0.5 + 1e-6 and np.abs(y).max() > 0.3


def test_bad_block_shape_raises() -> None:
    eng = StreamingEngine(ToyStream(), 64)
    with pytest.raises(EngineError):
        eng.process(np.zeros((1, 63), np.float32))
    with pytest.raises(EngineError):
        StreamingEngine(ToyStream(), 64, Controls(3))
    assert eng.latency().as_dict()["latency_samples"] == eng.latency_samples
    assert eng.latency().io_samples == 64 + eng.latency_samples


def test_freeze_holds_the_latent() -> None:
    block = 64
    x = _signal(block * 160)
    m = ToyStream()
    c = _neutral(m.latent_size)
    eng = StreamingEngine(m, block, c)
    live, frozen = [], []
    for i in range(30):
        eng.process(x[:, i * block : (i + 1) * block])
        live.append(eng.last_latent.copy())
    c.set_freeze(True)
    for i in range(30, 160):
        eng.process(x[:, i * block : (i + 1) * block])
        frozen.append(eng.last_latent.copy())
    spread_live = np.ptp(np.array(live[5:]), axis=0).max()
    spread_frozen = np.ptp(np.array(frozen[100:]), axis=0).max()  # smoothing settled (25 ms)
    assert spread_live > 1e-4 and spread_frozen < 0.01 * spread_live


class _NullStream:
    """A StreamModel that allocates nothing per call (returns preallocated tensors): isolates the engine's own
    allocations for tracemalloc (which sees numpy's buffers)."""

    name, sample_rate, channels, hop_length, latent_size, delay_samples = "null", 44100, 1, 16, 4, 40
    metadata: dict[str, object] = {}

    def __init__(self, block: int) -> None:
        self.z = torch.randn(1, 4, block // 16)
        self.y = torch.randn(1, 1, block) * 0.5

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.z[..., : x.shape[-1] // 16]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.y[..., : z.shape[-1] * 16]

    def reset(self) -> None:
        pass


@pytest.mark.parametrize("block", [4096, 4000])
def test_hot_path_allocates_no_audio_buffers(block: int) -> None:
    """Peak traced memory (numpy buffers are traced) over 10 blocks stays far below one block of float32."""
    import tracemalloc

    eng = StreamingEngine(_NullStream(block), block)  # type: ignore[arg-type]
    eng.controls.set_temperature(0.1)
    eng.controls.set_bias(0, 1.0)
    eng.controls.set_dry_wet(0.7)
    eng.controls.set_limiter(True, 0.05)  # the soft clipper works on every block
    x = (np.random.default_rng(0).standard_normal((1, block)) * 0.5).astype(np.float32)
    for _ in range(3):
        eng.process(x)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            eng.process(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < block, peak  # bytes: a block-sized float32 temporary would be 4 * block
    assert eng.stats.nan_blocks == 0


def test_towards_then_clear_returns_to_plain_output() -> None:
    block = 64
    x = _signal(block * 200)
    m = ToyStream()
    c = _neutral(m.latent_size)
    eng = StreamingEngine(m, block, c)
    c.towards([3.0, -3.0, 3.0, -3.0], 1.0)
    _run(eng, x[:, : 50 * block])
    c.clear_towards()
    y = _run(eng, x[:, 50 * block :])
    ref = _run(StreamingEngine(ToyStream(), block, _neutral(m.latent_size)), x)[:, 50 * block :]
    np.testing.assert_allclose(y[:, -20 * block :], ref[:, -20 * block :], atol=1e-4)  # after the smoothing


class _Counting(ToyStream):
    """ToyStream that records the order of encode/decode/reset calls."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.calls: list[str] = []

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append("encode")
        return super().encode(x)

    def reset(self) -> None:
        self.calls.append("reset")
        super().reset()


def test_models_are_warmed_up_outside_the_audio_thread() -> None:
    """TorchScript compiles on a module's first calls (120-190 ms for foley-small): the engine runs those calls
    where it builds a model's buffers (construction, swap_model), then resets the model, so the stream is unchanged."""
    block = 64
    x = _signal(block * 30)
    a = _Counting(seed=0)
    eng = StreamingEngine(a, block, _neutral(a.latent_size))
    warm = list(a.calls)
    assert warm.count("encode") >= 2 and warm[-1] == "reset"  # warmed up, then state cleared
    got = _run(eng, x[:, : 10 * block])
    ref = _run(StreamingEngine(ToyStream(seed=0), block, _neutral(a.latent_size)), x[:, : 10 * block])
    np.testing.assert_allclose(got, ref, atol=1e-6)  # the warm-up left no trace in the stream
    b = _Counting(seed=1)
    eng.swap_model(b)
    assert b.calls.count("encode") >= 2 and b.calls[-1] == "reset"  # before the audio thread sees it
    n_before = len(b.calls)
    _run(eng, x[:, 10 * block : 12 * block])
    assert "reset" not in b.calls[n_before:]  # the swap itself reloads/resets nothing on the hot path


def test_swapped_out_model_is_released_off_the_audio_thread() -> None:
    """The audio thread never frees the replaced model (allocator work inside a block): it is retired, and
    release_retired() (a control thread, or the next swap_model) drops the engine's last reference."""
    import gc
    import weakref

    block = 64
    x = _signal(block * 6)
    a = ToyStream(seed=0)
    eng = StreamingEngine(a, block, _neutral(a.latent_size))
    ref = weakref.ref(a)
    del a
    eng.swap_model(ToyStream(seed=1))
    _run(eng, x)
    gc.collect()
    assert ref() is not None and eng.stats.swaps == 1  # retired, still referenced by the engine
    assert eng.release_retired() is True and eng.release_retired() is False
    gc.collect()
    assert ref() is None
