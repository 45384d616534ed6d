"""Real-time scheduling for the audio threads: SCHED_FIFO priorities and the request for them.

Shared by the in-process session (:mod:`.audio_io`) and the engine child (:mod:`.engine_process`), below both.
"""

from __future__ import annotations

import os
import threading

__all__ = ["RT_PRIORITY_CALLBACK", "RT_PRIORITY_WORKER", "fifo_permitted", "promote_thread"]

# SCHED_FIFO priorities, below JACK's usual client priority range (jackd -P defaults to 10 + client 5..75 on Linux
# distributions' audio setups; any value works where nothing else is real-time). The worker sits under the callback.
RT_PRIORITY_CALLBACK = 70
RT_PRIORITY_WORKER = 60


def promote_thread(priority: int) -> bool:
    """Ask the OS to run the calling thread SCHED_FIFO at ``priority``; returns whether it was granted.

    This is what a real-time JACK server does for its clients' threads. Under ``jackd --no-realtime`` (or PortAudio
    hosts that do not) the callback and the engine worker otherwise share the CPU with every other thread on equal
    terms, and a busy 2-core machine then wakes them late. Without the permission (no root, no rtprio limit, not
    Linux) the thread keeps normal scheduling. The kernel's RT throttling (95 % by default) keeps a runaway thread
    from freezing the machine.
    """
    if not hasattr(os, "sched_setscheduler"):
        return False
    # SCHED_RESET_ON_FORK: what this thread starts runs with normal scheduling. Without it a test that drove a
    # session's callback from pytest's main thread made every later Chromium and ffmpeg SCHED_FIFO 70; an ffmpeg
    # that spun then held a core for 18 minutes and CI ran out of time.
    policy = os.SCHED_FIFO | getattr(os, "SCHED_RESET_ON_FORK", 0)
    try:
        os.sched_setscheduler(0, policy, os.sched_param(int(priority)))  # 0: this thread (Linux)
    except (OSError, ValueError):
        return False
    return True


def fifo_permitted() -> bool:
    """Whether this process may run threads SCHED_FIFO: :func:`promote_thread` tried in a throwaway thread (the
    policy dies with it, the caller's scheduling is untouched)."""
    granted: list[bool] = []
    t = threading.Thread(target=lambda: granted.append(promote_thread(1)), name="foleyvae-fifo-probe")
    t.start()
    t.join()
    return granted == [True]
