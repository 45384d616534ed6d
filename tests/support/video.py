"""Test videos made with ffmpeg's lavfi sources, with a timeout that holds.

``subprocess.run(..., timeout=...)`` without pipes ignores its timeout (``communicate`` falls back to a plain
``wait()``), and one CI run hung for the rest of its 90 minutes in a libvpx encode that spun. Here the output is
captured, so the timeout is enforced, the encoder runs on one thread at its fastest setting, and a stuck encode
is retried once before the test fails with ffmpeg's message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CODECS = {
    ".webm": ["-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8"],
    ".mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
}


def make_video(path: Path, source: str, timeout_s: float = 60.0) -> Path:
    """Encode the lavfi ``source`` (e.g. ``testsrc=duration=3:size=160x120:rate=10``) to ``path`` (.webm/.mp4)."""
    cmd = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-threads", "1", "-f", "lavfi", "-i", source]
    cmd += [*CODECS[path.suffix], "-threads", "1", str(path)]
    for attempt in (1, 2):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            if attempt == 2:
                raise AssertionError(f"ffmpeg did not finish in {timeout_s} s twice: {' '.join(cmd)}") from None
            continue
        assert r.returncode == 0, f"ffmpeg failed ({r.returncode}): {r.stderr.strip()[-500:]}"
        return path
    raise AssertionError("unreachable")
