"""A private JACK dummy server for the live-audio tests and benchmarks (one starter; JACK-Client and PortAudio pick
it by name from the environment).

``jackd --no-realtime -d dummy`` needs no sound card and no real-time rights: a real duplex device for PortAudio's
JACK host, at any rate and period. Used by tests/live/test_live_jack.py, tests/studio/test_native.py and
benchmarks/loopback_latency.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["JackError", "jack_available", "private_jackd"]

SELECTS = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")  # what a client in this process reads to find the server


class JackError(RuntimeError):
    """jackd is missing or did not start (the message ends with its stderr)."""


def jack_available() -> bool:
    return shutil.which("jackd") is not None and shutil.which("jack_lsp") is not None


@contextmanager
def private_jackd(
    rate: int, period: int, prefix: str = "foleyvae", terminate_portaudio: bool = False
) -> Iterator[dict[str, str]]:
    """Start ``jackd -n NAME --no-realtime -d dummy -r rate -p period``; yield the environment that selects it.

    While it runs, this process's environment selects it too (the JACK-Client package and PortAudio read the server
    name from ``os.environ``); on exit the environment is restored and the server is stopped. ``terminate_portaudio``:
    terminate PortAudio first if sounddevice was imported (its JACK host can abort the process when the server goes
    first; a later user in the process must re-initialise it, as studio/native.py's device scan does).
    """
    if not jack_available():
        raise JackError("jackd not installed (apt-get install jackd2)")
    name = f"{prefix}-{os.getpid()}-{rate}-{period}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1", JACK_NO_START_SERVER="1")
    cmd = ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(rate), "-p", str(period)]
    # jackd's messages go to a file, never a pipe: it prints a line per xrun, and a full pipe nobody reads blocks
    # jackd, and PortAudio with it (a CI run hung in Pa_Terminate that way)
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    saved = {k: os.environ.get(k) for k in SELECTS}
    try:
        deadline = time.monotonic() + 15.0
        while True:
            r = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=10)
            if r.returncode == 0 and "system:playback_1" in r.stdout:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=5)
                log.seek(0)
                raise JackError(f"jackd did not start: {log.read().strip()[-400:]}")
            time.sleep(0.2)
        os.environ.update({k: env[k] for k in SELECTS})
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sd = sys.modules.get("sounddevice")
        if terminate_portaudio and sd is not None:
            with contextlib.suppress(sd.PortAudioError):  # not initialised (nothing opened a stream): nothing to do
                sd._terminate()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        log.close()
