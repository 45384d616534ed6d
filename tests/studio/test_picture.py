"""Perform to picture on the server side: loop passes become their own takes (FLAG_SPLIT) with their own picture
time, a take exports as a 48 kHz 24-bit Broadcast WAV placed at its picture time, and the mux puts a take's sound
at its picture time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from benchmarks.soak_models import Passthrough

from foleyvae.audio.bwf import read_bwf
from foleyvae.audio.timecode import to_samples
from foleyvae.studio.session import FLAG_RECORD, FLAG_SPLIT, FRAME_HEADER, PageStream, SessionFolder
from tests.support.video import make_video

BLOCK = 64


def _frame(seq: int, flags: int, value: float = 0.1) -> bytes:
    return FRAME_HEADER.pack(seq, flags, 0.0) + np.full(BLOCK, value, np.float32).tobytes()


def _stream(tmp_path: Path) -> PageStream:
    torch.set_flush_denormal(True)
    return PageStream(Passthrough(hop=16), BLOCK, SessionFolder(tmp_path / "session"))  # type: ignore[arg-type]


def test_each_loop_pass_is_its_own_take_with_its_own_picture_time(tmp_path: Path) -> None:
    s = _stream(tmp_path)
    takes: list[dict[str, Any]] = []
    s.arm_record({"video_time": 0.5, "source": "mic"})
    for i in range(10):
        if i == 4:  # the loop wrapped: the page arms the next pass, then flags its first block
            s.arm_record({"video_time": 0.5, "source": "mic"})
        if i == 7:
            s.arm_record({"video_time": 0.75, "source": "mic"})
        flags = FLAG_RECORD | (FLAG_SPLIT if i in (4, 7) else 0)
        _, _, take = s.process_frame(_frame(i, flags))
        takes += [take] if take else []
        if i == 5:  # a record-on message in the middle of a take (the old code overwrote its picture time)
            s.arm_record({"video_time": 9.0, "source": "mic"})
    _, _, take = s.process_frame(_frame(10, 0))
    takes += [take] if take else []
    assert [t["video_time"] for t in takes] == [0.5, 0.5, 0.75]
    frames = [sf.info(str(s.folder.take_file(t["id"], "wet"))).frames for t in takes]
    assert frames == [4 * BLOCK, 3 * BLOCK, 3 * BLOCK]
    wet = s.folder.take_file(takes[0]["id"], "wet")
    assert sf.info(str(wet)).subtype == "PCM_24"  # no float WAV header for sox to warn about


def test_a_split_without_a_take_just_starts_one(tmp_path: Path) -> None:
    s = _stream(tmp_path)
    s.arm_record({"video_time": 1.25})
    assert s.process_frame(_frame(0, FLAG_RECORD | FLAG_SPLIT))[2] is None
    take = s.process_frame(_frame(1, 0))[2]
    assert take is not None and take["video_time"] == 1.25


def test_take_as_broadcast_wav(client: Any) -> None:
    folder: SessionFolder = client.app.state.studio.folder
    dry = np.zeros((1, 44100), np.float32)
    wet = np.zeros((1, 44100), np.float32)
    wet[0, 22050] = 0.9  # a click 0.5 s into the take
    rec = folder.save_take(dry, wet, 44100, {"video_time": 2.0, "model": "demo", "source": "mic"})
    r = client.get(
        f"/api/takes/{rec['id']}/wet.bwf.wav", params={"fps": "29.97", "start": "01:00:00;00", "scene": "4B"}
    )
    assert r.status_code == 200, r.text
    p = folder.take_dir(rec["id"]) / "wet.bwf.wav"
    assert p.read_bytes() == r.content and (p.stat().st_mode & 0o777) == 0o600
    info = read_bwf(p)
    assert (info.sample_rate, info.bits, info.channels) == (48000, 24, 1)
    assert info.frames == 48000  # 1 s resampled 44.1 -> 48 kHz
    assert info.time_reference == to_samples("01:00:00;00", "29.97", 48000) + 2 * 48000
    assert info.ixml["SCENE"] == "4B" and info.ixml["TAKE"] == rec["id"].split("-")[-1].lstrip("0")
    assert info.ixml["TIMECODE_FLAG"] == "DF"
    y, _ = sf.read(str(p), dtype="float32")
    assert abs(int(np.argmax(np.abs(y))) - 24000) <= 2  # the click is still 0.5 s in, at 48 kHz
    assert client.get(f"/api/takes/{rec['id']}/dry.bwf.wav").status_code == 200  # defaults: 25 fps, 01:00:00:00
    for params, msg in (
        ({"fps": "50"}, "timecode rate"),
        ({"fps": "29.97", "start": "01:01:00;00"}, "drop-frame"),
        ({"start": "1:00"}, "HH:MM:SS:FF"),
        ({"scene": "../x"}, "scene"),
    ):
        bad = client.get(f"/api/takes/{rec['id']}/wet.bwf.wav", params=params)
        assert bad.status_code == 400 and msg in bad.json()["error"], bad.text
    assert client.get(f"/api/takes/{rec['id']}/both.bwf.wav").status_code == 400
    assert client.get(f"/api/takes/{rec['id']}/wet.wav").status_code == 200  # the plain WAV still works


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_mux_places_the_take_at_its_picture_time(tmp_path: Path) -> None:
    from foleyvae.studio.video import mux_take

    video = make_video(tmp_path / "v.webm", "testsrc=duration=3:size=64x48:rate=10")
    wet = np.zeros(44100, np.float32)
    wet[4410] = 0.9  # 0.1 s into the take
    sf.write(str(tmp_path / "wet.wav"), wet, 44100, subtype="PCM_24")
    out = mux_take(video, tmp_path / "wet.wav", tmp_path / "out.webm", 1.5, root=tmp_path)
    pcm = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(out), "-map", "0:a:0", "-ac", "1", "-ar", "48000",
         "-f", "f32le", "-"], capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    y = np.frombuffer(pcm, np.float32)
    assert abs(int(np.argmax(np.abs(y))) / 48000 - 1.6) < 0.005  # picture time 1.5 s + 0.1 s into the take
