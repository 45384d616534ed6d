"""TakeAligner (issue #22 item 4): the take's wet samples line up with its dry samples for any latency, block and
length, whether the tail comes from the stream going on (the studio) or from zeros pushed through (live's end)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foleyvae.inference.takes import TakeAligner


class DelayLine:
    """An engine whose output is its input ``latency`` samples late (what a streaming engine does to timing)."""

    def __init__(self, latency: int) -> None:
        self.buf = np.zeros(latency, np.float32)

    def process(self, x: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self.buf, x])
        self.buf = joined[len(x) :]
        return joined[: len(x)]


def _record(latency: int, block: int, pre: int, take_blocks: int, post: int, flush: bool) -> tuple[np.ndarray, ...]:
    """Stream ``pre`` blocks, record ``take_blocks``, then ``post`` blocks (or zeros, ``flush``) until done."""
    rng = np.random.default_rng(latency * 1000 + block)
    x = rng.standard_normal((pre + take_blocks + post) * block).astype(np.float32)
    eng, al = DelayLine(latency), TakeAligner(latency)
    dry, wet = [], []
    for i in range(pre + take_blocks + post):
        xi = x[i * block : (i + 1) * block]
        if flush and i >= pre + take_blocks:
            break
        y = eng.process(xi)
        if pre <= i < pre + take_blocks:
            dry.append(xi)
            al.add_dry(block)
        elif i == pre + take_blocks:
            al.stop()
        if i >= pre:
            a, b = al.wet_span(block)
            wet.append(y[a:b])
        if al.done:
            break
    al.stop()
    while flush and not al.done:
        y = eng.process(np.zeros(block, np.float32))
        a, b = al.wet_span(block)
        wet.append(y[a:b])
    return np.concatenate(dry), np.concatenate(wet), np.array([al.missing])


@settings(max_examples=200, deadline=None)
@given(
    latency=st.integers(0, 600),
    block=st.integers(1, 300),
    pre=st.integers(0, 3),
    take_blocks=st.integers(1, 12),
    flush=st.booleans(),
)
def test_the_take_is_the_dry_input_exactly(latency: int, block: int, pre: int, take_blocks: int, flush: bool) -> None:
    post = latency // block + 2  # enough following blocks to pay the tail
    dry, wet, missing = _record(latency, block, pre, take_blocks, post, flush)
    assert missing[0] == 0
    assert wet.shape == dry.shape
    np.testing.assert_array_equal(wet, dry)  # a delay line: the aligned take is the performance, sample for sample


def test_a_cut_block_and_a_stop_before_its_output() -> None:
    al = TakeAligner(5)
    al.add_dry(8)
    assert al.wet_span(8) == (5, 8)  # the first 5 output samples answer what came before the take
    al.add_dry(3)  # a length cap cut the next block to 3 samples: stop before its output
    al.stop()
    assert al.missing == 8
    assert al.wet_span(8) == (0, 8)
    assert al.done and al.wet_frames == al.dry_frames == 11
    assert al.wet_span(8) == (0, 0)  # nothing more belongs to it


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        TakeAligner(-1)
    al = TakeAligner(0)
    al.stop()
    assert al.done  # nothing recorded: nothing owed
    with pytest.raises(RuntimeError, match="stopped"):
        al.add_dry(4)
