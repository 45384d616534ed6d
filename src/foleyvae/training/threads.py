"""Choosing the number of CPU threads for training: what measures fastest, or one thread on a busy machine.

On a shared 2-core machine two threads ran 0.16-0.5 steps/s while one thread ran 1.4 steps/s (issue 26): intra-op
threads that wait for a core held by another process stall every op. So the default is measured, not assumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["ThreadChoice", "available_cores", "choose_threads", "load_average"]

# One-minute load (other processes' runnable threads) above which the machine counts as busy.
BUSY_LOAD_PER_CORE = 0.5


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str  # one line for the user

    def describe(self) -> str:
        return f"threads: {self.threads} ({self.reason}; --threads N to choose)"


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def load_average() -> float | None:
    """One-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def choose_threads(
    probe: Callable[[], None],
    cores: int,
    load: float | None,
    repeats: int = 2,
    clock: Callable[[], float] = time.perf_counter,
) -> ThreadChoice:
    """Threads for training: 1 on one core or a busy machine, else the fastest of 1 / cores/2 / cores by ``probe``.

    ``probe()`` runs one representative step (forward + backward); it is called once to warm up, then ``repeats``
    times per candidate. Restores nothing: the caller sets the returned number.
    """
    if cores <= 1:
        return ThreadChoice(1, "one core")
    if load is not None and load > BUSY_LOAD_PER_CORE * cores:
        return ThreadChoice(1, f"machine busy: load {load:.1f} on {cores} cores")
    candidates = sorted({1, max(1, cores // 2), cores})
    timings: dict[int, float] = {}
    for n in candidates:
        torch.set_num_threads(n)
        probe()  # warm-up: allocations, kernel choice for this thread count
        t0 = clock()
        for _ in range(repeats):
            probe()
        timings[n] = (clock() - t0) / repeats
    best = min(candidates, key=lambda n: timings[n])
    shown = ", ".join(f"{n}: {timings[n] * 1000:.0f} ms" for n in candidates)
    return ThreadChoice(best, f"fastest of a probe step with {shown}")
