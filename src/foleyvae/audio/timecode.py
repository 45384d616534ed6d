"""SMPTE timecode: frame counts <-> ``HH:MM:SS:FF`` strings <-> seconds and samples, at the film/TV rates.

Pure integer maths, no I/O. The same maths lives in ``studio/static/timecode.js`` (the page's transport); the
browser tests check the two against each other.

Rates (``RATES``): ``23.976`` (24 frames counted, 24000/1001 fps), ``24``, ``25``, ``29.97`` (drop-frame,
30000/1001 fps), ``29.97ndf`` (non-drop), ``30``. A timecode counts frames at the nominal rate (24, 25 or 30); the
real frame rate is ``num/den``, so at 23.976 one hour of timecode lasts 3603.6 s of real time, as in every DAW.

Drop-frame (29.97): frame numbers 00 and 01 are skipped at the start of every minute except minutes 0, 10, 20...
so the timecode keeps up with the clock (``00:00:59;29`` is followed by ``00:01:00;02``); the frames field is
separated by ``;``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["RATES", "TimecodeRate", "TimecodeError", "rate", "to_frames", "from_frames", "to_samples",
           "seconds_to_frames", "frames_to_seconds"]  # fmt: skip


class TimecodeError(ValueError):
    """A timecode string or rate that does not exist; the message names it."""


@dataclass(frozen=True)
class TimecodeRate:
    """A timecode rate: ``nominal`` frames counted per second, real rate ``num/den`` fps, ``drop`` frame or not."""

    name: str
    nominal: int
    num: int
    den: int
    drop: bool

    @property
    def fps(self) -> float:
        return self.num / self.den

    @property
    def frames_per_day(self) -> int:
        return to_frames("24:00:00:00", self, _allow_day=True)

    @property
    def ixml_rate(self) -> str:
        """The iXML ``TIMECODE_RATE`` field: ``24000/1001``, ``25/1``..."""
        return f"{self.num}/{self.den}"


RATES: dict[str, TimecodeRate] = {
    r.name: r
    for r in (
        TimecodeRate("23.976", 24, 24000, 1001, False),
        TimecodeRate("24", 24, 24, 1, False),
        TimecodeRate("25", 25, 25, 1, False),
        TimecodeRate("29.97", 30, 30000, 1001, True),
        TimecodeRate("29.97ndf", 30, 30000, 1001, False),
        TimecodeRate("30", 30, 30, 1, False),
    )
}

_TC = re.compile(r"^(\d{2}):(\d{2}):(\d{2})[:;.](\d{2})$")
# drop-frame: frames per 10 minutes (17982) and per minute after the first of a ten (1798)
_DF_10MIN, _DF_MIN = 17982, 1798


def rate(name: str | TimecodeRate) -> TimecodeRate:
    """The rate named ``name`` (one of ``RATES``)."""
    if isinstance(name, TimecodeRate):
        return name
    r = RATES.get(str(name))
    if r is None:
        raise TimecodeError(f"unknown timecode rate {name!r}; one of {', '.join(RATES)}")
    return r


def to_frames(tc: str, fps: str | TimecodeRate, _allow_day: bool = False) -> int:
    """``HH:MM:SS:FF`` (``;`` or ``.`` accepted before FF) -> frames since 00:00:00:00 at rate ``fps``.

    Raises:
        TimecodeError: malformed, out of range (MM/SS >= 60, FF >= the nominal rate, HH >= 24), or a frame that
            drop-frame skips (``00:01:00;00``).
    """
    r = rate(fps)
    m = _TC.match(tc.strip()) if isinstance(tc, str) else None
    if m is None:
        raise TimecodeError(f"timecode {tc!r} is not HH:MM:SS:FF")
    hh, mm, ss, ff = (int(g) for g in m.groups())
    if mm >= 60 or ss >= 60 or ff >= r.nominal or (hh >= 24 and not (_allow_day and (hh, mm, ss, ff) == (24, 0, 0, 0))):
        raise TimecodeError(f"timecode {tc!r} is out of range at {r.name} fps")
    minutes = 60 * hh + mm
    if r.drop and ss == 0 and ff < 2 and mm % 10 != 0:
        raise TimecodeError(f"timecode {tc!r} does not exist in drop-frame (frames 00 and 01 are skipped)")
    frames = ((hh * 60 + mm) * 60 + ss) * r.nominal + ff
    if r.drop:
        frames -= 2 * (minutes - minutes // 10)
    return frames


def from_frames(frames: int, fps: str | TimecodeRate) -> str:
    """Frames since midnight -> ``HH:MM:SS:FF`` (``HH:MM:SS;FF`` in drop-frame); wraps at 24 hours."""
    r = rate(fps)
    if isinstance(frames, bool) or not isinstance(frames, int):
        raise TimecodeError(f"frames must be an integer, got {frames!r}")
    f = frames % r.frames_per_day
    if r.drop:
        tens, rem = divmod(f, _DF_10MIN)
        f += 18 * tens + (2 * ((rem - 2) // _DF_MIN) if rem >= 2 else 0)
    ff = f % r.nominal
    s = f // r.nominal
    sep = ";" if r.drop else ":"
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{ff:02d}"


def frames_to_seconds(frames: int, fps: str | TimecodeRate) -> float:
    """Real time of a frame count at the real rate ``num/den``."""
    r = rate(fps)
    return frames * r.den / r.num


def seconds_to_frames(seconds: float, fps: str | TimecodeRate) -> int:
    """The frame showing at ``seconds`` (floor; a microsecond of float error does not drop a frame)."""
    r = rate(fps)
    if not math.isfinite(seconds):
        raise TimecodeError(f"seconds must be finite, got {seconds!r}")
    return math.floor(seconds * r.num / r.den + 1e-6)


def to_samples(tc: str, fps: str | TimecodeRate, sample_rate: int) -> int:
    """Samples since midnight at ``sample_rate`` of timecode ``tc`` (a BWF time reference), rounded to the nearest."""
    r = rate(fps)
    frames = to_frames(tc, r)
    return (2 * frames * sample_rate * r.den + r.num) // (2 * r.num)
