"""Takes for picture: a take as a Broadcast WAV that a DAW drops on its timeline where the picture had it.

The take's ``video_time`` (the picture time of its first sample, stamped by the page's transport) plus the
picture's start timecode (``01:00:00:00`` by default: the usual first frame of a reel) gives the BWF time
reference, in samples since midnight at 48 kHz. The take is resampled to 48 kHz (soxr) and written as 24-bit PCM
with bext + iXML (``audio.bwf``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from foleyvae.audio.bwf import BwfMeta, write_bwf
from foleyvae.audio.io import load
from foleyvae.audio.timecode import RATES, TimecodeError, to_samples
from foleyvae.studio.security import SecurityError, private_file
from foleyvae.studio.session import SessionFolder, make_private

__all__ = ["BWF_RATE", "DEFAULT_START", "bwf_time_reference", "export_take_bwf"]

BWF_RATE = 48000  # the film/TV standard; the bundled models run at 44.1 kHz
DEFAULT_START = "01:00:00:00"
_SCENE = re.compile(r"^[A-Za-z0-9 _.\-]{0,32}$")


def bwf_time_reference(video_time: float, start_tc: str, fps: str, sample_rate: int = BWF_RATE) -> int:
    """Samples since midnight of picture time ``video_time`` (s) when the picture starts at ``start_tc``."""
    return to_samples(start_tc, fps, sample_rate) + round(max(0.0, float(video_time)) * sample_rate)


def _check(fps: str, start_tc: str, scene: str) -> None:
    if fps not in RATES:
        raise SecurityError(f"timecode rate must be one of {', '.join(RATES)}")
    try:
        to_samples(start_tc, fps, BWF_RATE)
    except TimecodeError as e:
        raise SecurityError(str(e)) from None
    if not _SCENE.match(scene):
        raise SecurityError("scene: up to 32 letters, digits, spaces, '_', '.', '-'")


def export_take_bwf(
    folder: SessionFolder, take_id: str, which: str = "wet", fps: str = "25", start_tc: str = DEFAULT_START,
    scene: str = "",
) -> Path:  # fmt: skip
    """Write (or rewrite) ``{which}.bwf.wav`` beside the take's WAV and return its path.

    Raises:
        SecurityError: an unknown take or track, a bad rate, start timecode or scene name (one-line message).
    """
    _check(fps, start_tc, scene)
    src = folder.take_file(take_id, which)
    d = src.parent
    record = json.loads((d / "meta.json").read_text())
    audio, _ = load(src, sample_rate=BWF_RATE)  # [C, T] float32, soxr VHQ
    video_time = float(record.get("video_time", 0.0) or 0.0)
    number = take_id.rsplit("-", 1)[-1].lstrip("0") or "0"
    meta = BwfMeta(
        time_reference=bwf_time_reference(video_time, start_tc, fps),
        timecode_rate=fps,
        description=f"foleyvae {take_id} {which}, picture {video_time:.3f} s from {start_tc} @ {fps} fps",
        originator_reference=take_id,
        project="foleyvae",
        scene=scene,
        take=number,
        tape=folder.root.name[:32],
        note=f"model {record.get('model', '?')}; {which}",
        track_names=tuple(f"{which}{c + 1}" if audio.shape[0] > 1 else which for c in range(audio.shape[0])),
    )
    out = d / f"{which}.bwf.wav"
    if out.exists() and not private_file(d, out):
        raise SecurityError(f"take {take_id}: {out.name} is not a file of this session")
    return make_private(write_bwf(out, audio, BWF_RATE, meta))
