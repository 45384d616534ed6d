"""SMPTE timecode both ways at every rate, drop-frame's skipped frames, and samples since midnight."""

from __future__ import annotations

import pytest

from foleyvae.audio import timecode as tc


@pytest.mark.parametrize("fps", list(tc.RATES))
def test_round_trip_every_frame_of_the_first_eleven_minutes_and_around_midnight(fps: str) -> None:
    r = tc.RATES[fps]
    day = r.frames_per_day
    for f in [*range(0, 11 * 60 * r.nominal + 5), *range(day - 40, day)]:
        s = tc.from_frames(f, fps)
        assert tc.to_frames(s, fps) == f, (f, s)


@pytest.mark.parametrize(
    ("fps", "frames", "text"),
    [
        ("24", 24, "00:00:01:00"),
        ("23.976", 86400, "01:00:00:00"),
        ("25", 90000, "01:00:00:00"),
        ("25", 90000 + 24, "01:00:00:24"),
        ("30", 108000, "01:00:00:00"),
        ("29.97ndf", 108000, "01:00:00:00"),
        ("29.97", 1799, "00:00:59;29"),
        ("29.97", 1800, "00:01:00;02"),  # ;00 and ;01 are skipped
        ("29.97", 17982, "00:10:00;00"),  # minute 10: nothing skipped
        ("29.97", 17981, "00:09:59;29"),
        ("29.97", 17982 + 1800, "00:11:00;02"),
        ("29.97", 107892, "01:00:00;00"),
        ("29.97", 2589407, "23:59:59;29"),
    ],
)
def test_known_timecodes(fps: str, frames: int, text: str) -> None:
    assert tc.from_frames(frames, fps) == text
    assert tc.to_frames(text, fps) == frames


def test_frames_per_day_and_wrap() -> None:
    assert tc.RATES["25"].frames_per_day == 2160000
    assert tc.RATES["29.97"].frames_per_day == 2589408  # 30 * 86400 - 2 * (1440 - 144)
    assert tc.from_frames(2589408, "29.97") == "00:00:00;00"
    assert tc.from_frames(-1, "25") == "23:59:59:24"


@pytest.mark.parametrize("bad", ["00:01:00;00", "00:01:00;01", "01:59:00;01"])
def test_drop_frame_refuses_the_frames_it_skips(bad: str) -> None:
    with pytest.raises(tc.TimecodeError, match="does not exist in drop-frame"):
        tc.to_frames(bad, "29.97")
    assert tc.to_frames(bad.replace(";", ":"), "29.97ndf") > 0  # they exist without drop-frame


@pytest.mark.parametrize("bad", ["1:00:00:00", "00:60:00:00", "00:00:60:00", "00:00:00:25", "24:00:00:00", "x"])
def test_malformed_or_out_of_range(bad: str) -> None:
    with pytest.raises(tc.TimecodeError, match="timecode"):
        tc.to_frames(bad, "25")
    with pytest.raises(tc.TimecodeError, match="unknown timecode rate"):
        tc.to_frames("00:00:00:00", "50")


def test_samples_since_midnight_at_48k() -> None:
    assert tc.to_samples("01:00:00:00", "25", 48000) == 3600 * 48000
    assert tc.to_samples("01:00:00:00", "24", 48000) == 3600 * 48000
    assert tc.to_samples("01:00:00:00", "23.976", 48000) == 86400 * 2002  # 3603.6 s: 23.976 runs slow
    assert tc.to_samples("01:00:00;00", "29.97", 48000) == round(107892 * 1601.6)
    assert tc.to_samples("00:00:00:01", "29.97ndf", 48000) == 1602  # 1601.6 rounded


def test_seconds_and_frames() -> None:
    assert tc.seconds_to_frames(1.0, "25") == 25  # 1.0 * 25 must not floor to 24 by float error
    assert tc.seconds_to_frames(0.039, "25") == 0
    assert tc.seconds_to_frames(1001 / 30000 * 3, "29.97") == 3
    assert tc.frames_to_seconds(24, "23.976") == pytest.approx(1.001)
