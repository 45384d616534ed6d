"""SCHED_FIFO stays with the audio thread that asked for it: what that thread starts runs with normal scheduling."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from foleyvae.live.realtime import fifo_permitted, promote_thread


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling calls")
def test_a_promoted_thread_starts_children_with_normal_scheduling() -> None:
    if not fifo_permitted():
        pytest.skip("this user may not use SCHED_FIFO (CI runs as root, where it may)")
    seen: dict[str, int] = {}

    def audio_thread() -> None:
        assert promote_thread(10)
        seen["thread"] = os.sched_getscheduler(0) & ~getattr(os, "SCHED_RESET_ON_FORK", 0)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(10)"])
        try:
            seen["child"] = os.sched_getscheduler(child.pid)
        finally:
            child.kill()
            child.wait(timeout=10)

    t = threading.Thread(target=audio_thread)
    t.start()
    t.join(timeout=30)
    assert seen == {"thread": os.SCHED_FIFO, "child": os.SCHED_OTHER}
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the test's own thread was never touched
