"""A take lined up with the performance: which output samples of a streaming engine belong to a recorded take.

The engine's output lags its input by ``latency`` samples (its FIFO + the model's delay, ``engine.latency_samples``),
so the take's sample ``t`` is the engine's output sample ``t + latency`` counted from the take's first input block.
:class:`TakeAligner` keeps that count for ``foleyvae live`` (``live.audio_io``, blocks on the device thread) and the
studio (``studio.session``, blocks from the page) alike: per block it says which slice of the output goes to the take,
and once the performance stops, how many tail samples are still owed (the following output when the stream goes on,
or zeros pushed through the engine when it ends). It only counts, so it is safe on an audio thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["TakeAligner"]


class TakeAligner:
    """Counts for one take: dry samples recorded, engine output samples seen, take (wet) samples kept.

    Use per engine block of ``n`` samples: :meth:`add_dry` with the dry samples recorded from its input (``n``, or
    fewer where a length cap cuts the block), then :meth:`wet_span` with ``n``, which returns the slice
    ``y[:, a:b]`` of the block's output ``y`` ``[C, n]`` that belongs to the take. After :meth:`stop` no dry is
    added; feed the next outputs to :meth:`wet_span` until :attr:`done` (``missing`` samples still owed).
    """

    def __init__(self, latency: int) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 samples, got {latency}")
        self.latency = int(latency)
        self.dry_frames = 0
        self.wet_frames = 0
        self.out_frames = 0  # engine output samples seen since the take's first block (dropped ones included)
        self.stopped = False

    def add_dry(self, n: int) -> None:
        """``n`` more dry samples were recorded (the take will be this long)."""
        if self.stopped:
            raise RuntimeError("the take was stopped: no more dry samples")
        self.dry_frames += int(n)

    def wet_span(self, n: int) -> tuple[int, int]:
        """The next ``n`` output samples -> ``(a, b)``: ``y[:, a:b]`` goes to the take (``a == b``: none of it)."""
        start = self.out_frames
        self.out_frames += int(n)
        a = min(int(n), max(0, self.latency - start))  # the first ``latency`` samples answer silence before the take
        b = int(n)
        if self.stopped:  # only what the dry length still owes
            b = min(b, max(a, self.latency + self.dry_frames - start))
        self.wet_frames += b - a
        return a, b

    def stop(self) -> None:
        """The performance ended: the take is ``dry_frames`` long; ``missing`` tail samples are still owed."""
        self.stopped = True

    def flush(self, process: Callable[[np.ndarray], np.ndarray], zeros: np.ndarray) -> Iterator[np.ndarray]:
        """Stop, then push ``zeros`` ``[C, n]`` through ``process`` (the engine, whose stream ends here) until the
        tail is paid; yields the take's part of each output (views into it: copy what you keep)."""
        self.stop()
        n = zeros.shape[1]
        while not self.done:
            y = process(zeros)
            a, b = self.wet_span(n)
            yield y[:, a:b]

    def give_up_tail(self) -> int:
        """Stop; the tail not come yet will not come (the stream plays on elsewhere): count it as silence and return
        how many samples that is (the writer pads the take with them)."""
        self.stop()
        owed = self.missing
        self.wet_frames += owed
        return owed

    @property
    def missing(self) -> int:
        """Take samples still owed by the engine (its latency's worth, less what came since the stop)."""
        return max(0, self.dry_frames - self.wet_frames)

    @property
    def done(self) -> bool:
        return self.stopped and self.missing == 0
