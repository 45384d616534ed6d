"""A loopback JACK client in its own process: plays a signal into the other clients' inputs and records their outputs.

Why a process: libjack stops a client's thread with pthread_cancel when the client is deactivated or closed. If that
thread is waiting for the Python interpreter lock at that moment, the lock's mutex stays locked and every thread of
the process waits forever, where pytest-timeout cannot help (a studio native-route test hung that way with the
loopback client and the route's PortAudio client in the same process). Here the client's process ends with
``os._exit`` instead, never deactivating, and the caller kills it if it hangs.

Run as ``python -m tests.support.jack_loop SIGNAL.npy REC.npy NAME TIMEOUT_S`` (JACK_DEFAULT_SERVER from the
environment, as ``tests.support.jack.private_jackd`` sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _main(sig_path: str, rec_path: str, name: str, timeout_s: float) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.loopback_latency import Loopback

    loop = Loopback(np.load(sig_path), name=name)
    loop.client.activate()
    deadline = time.monotonic() + timeout_s
    while not (targets := loop.others(is_input=True)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the other client's ports appear once its stream runs
    sources = loop.others(is_input=False)
    loop.run(targets, sources, max(0.0, deadline - time.monotonic()))
    np.save(rec_path + ".tmp.npy", loop.rec)
    os.replace(rec_path + ".tmp.npy", rec_path)
    sys.stdout.flush()
    os._exit(0 if targets else 3)  # no deactivate, no close: see the module's docstring


@contextmanager
def loop_process(signal: np.ndarray, name: str, timeout_s: float) -> Iterator[subprocess.Popen[bytes]]:
    """Start the loopback client's process (it plays ``signal`` once the other client's ports exist); killed on
    exit from the block if still running."""
    with tempfile.TemporaryDirectory() as d:
        sig = Path(d) / "signal.npy"
        np.save(sig, signal.astype(np.float32))
        rec = Path(d) / "rec.npy"
        cmd = [sys.executable, "-m", "tests.support.jack_loop", str(sig), str(rec), name, str(timeout_s)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.rec_path = rec  # type: ignore[attr-defined]
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def play_and_record(signal: np.ndarray, name: str, timeout_s: float) -> np.ndarray:
    """Play ``signal`` into the other JACK client and return what came back (same length); AssertionError when the
    client found no ports or did not finish within ``timeout_s`` + 10 s."""
    with loop_process(signal, name, timeout_s) as proc:
        try:
            rc = proc.wait(timeout_s + 10.0)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the loopback client {name} did not finish in {timeout_s + 10:.0f} s") from None
        assert rc == 0, f"the loopback client {name} found no ports to play into (exit {rc})"
        return np.asarray(np.load(proc.rec_path))  # type: ignore[attr-defined]


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
