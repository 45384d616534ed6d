"""A machine-stall detector for live-audio measurements (the soak, the JACK tests).

A separate process sleeps 1 ms in a loop at SCHED_FIFO 90, above every audio thread, and reports each wake-up more
than ``threshold_ms`` late. Such a stall means the whole machine (a VM's vCPUs) did not run: no priority or
buffering inside the audio process can hide it, so an xrun beside one is the host's, not the code's.

Run by :func:`start` as ``python tests/support/stall_canary.py [THRESHOLD_MS]`` (by path: it works whatever the
caller's ``sys.path``); prints ``CANARY <1|0>`` (whether SCHED_FIFO was granted) then ``STALL <monotonic s> <ms
late>`` lines until SIGTERM. Test and benchmark support, not part of the package.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "start", "stop"]


def main(threshold_ms: float = 3.0) -> int:
    from foleyvae.live.realtime import promote_thread  # only the canary process needs it (start/stop do not)

    rt = promote_thread(90)
    print(f"CANARY {int(rt)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        t = time.monotonic()
        time.sleep(0.001)
        late = (time.monotonic() - t - 0.001) * 1000.0
        if late > threshold_ms:
            print(f"STALL {t:.3f} {late:.1f}", flush=True)


def start(env: dict[str, str] | None = None, threshold_ms: float = 3.0) -> subprocess.Popen[str]:
    """Start the canary process (``env``: its environment, None: this one's)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), str(threshold_ms)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen[str]) -> list[tuple[float, float]]:
    """Stop the canary; its stalls as (monotonic s, ms late). Monotonic clocks agree across processes (Linux)."""
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return [(float(a), float(b)) for _, a, b in (ln.split() for ln in out.splitlines() if ln.startswith("STALL"))]


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
