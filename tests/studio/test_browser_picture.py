"""Perform to picture in headless Chromium: the transport (play/pause, scrub, loop region, markers, timecode), the
page's timecode maths against audio.timecode, takes stamped with their picture time (after the video ended too),
a loop region recorded as one take per pass, and a take downloaded as a Broadcast WAV and read back."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foleyvae.audio import timecode as tc
from tests.studio.test_browser import ARTIFACTS, CHROMIUM, WAIT_MS, chromium_args, fake_mic, set_range, wait_blocks
from tests.support.browser import chromium_page, demo_studio
from tests.support.video import make_video

__all__ = ["fake_mic"]  # the shared fixture (test_browser.py), imported for its name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (makes the test video)"),
]

TOKEN = "browser-picture-token-0123456789abcdef"
WAIT = WAIT_MS  # ms, every Playwright wait (test_browser.WAIT_MS: ends as soon as its condition holds)
VIDEO_S = 4.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s, 25 fps test picture (ffmpeg lavfi testsrc, VP8 in WebM)."""
    return make_video(
        tmp_path_factory.mktemp("video") / "scene.webm", f"testsrc=duration={VIDEO_S:g}:size=160x120:rate=25"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    # block 2048: 21 frames a second, so a loaded CI machine keeps up (takes are stamped per block start, exactly)
    with demo_studio(tmp_path_factory.mktemp("studio"), TOKEN, block=2048) as served:
        yield served


@pytest.fixture(scope="module")
def page(server: tuple[str, Any], fake_mic: Path, clip: Path) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def load_clip(pg: Any) -> None:
        pg.set_input_files("#video-file", str(clip), timeout=WAIT)
        pg.wait_for_function("document.getElementById('video').readyState >= 2", timeout=WAIT)

    ready = "window.studio && window.studio.model && window.studio.transport"
    with chromium_page(server[0], CHROMIUM, chromium_args(fake_mic), ready, timeout_ms=WAIT, setup=load_clip) as pg:
        yield pg


def video_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('video').currentTime"))


def scrub_to(page: Any, t: float) -> None:
    set_range(page, "#scrub", t)
    v = "document.getElementById('video')"
    page.wait_for_function(f"Math.abs({v}.currentTime - {t}) < 0.02 && !{v}.seeking", timeout=WAIT)
    page.dispatch_event("#scrub", "change", timeout=WAIT)


def ensure_mic(page: Any) -> None:
    if page.evaluate("window.studio.running") != "mic":
        page.click("#mic", timeout=WAIT)
        page.wait_for_function("window.studio.running === 'mic'", timeout=WAIT)
    wait_blocks(page, 5)


STOP_WHEN = """() => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const check = () => {
    if (COND) { document.getElementById("record").click(); resolve(true); }
    else if (performance.now() - t0 > 30000) reject(new Error("the stop condition did not hold within 30 s"));
    else requestAnimationFrame(check);
  };
  check();
})"""


def record_takes(page: Any, until_js: str, count: int) -> list[dict[str, Any]]:
    """Record until ``until_js`` holds, stop, wait for ``count`` takes and return the takes the server closed."""
    n = page.evaluate("window.studio.takes.length")
    page.click("#record", timeout=WAIT)
    page.wait_for_function("window.studio.transport.syncing", timeout=WAIT)
    # stopped from inside the page as soon as the condition holds (a click from here can lag by a loop pass)
    page.evaluate(STOP_WHEN.replace("COND", until_js))
    try:
        page.wait_for_function(
            f"window.studio.takes.length >= {n + count} && !window.studio.transport.syncing", timeout=45000
        )
    except Exception as e:
        state = page.evaluate(
            "(() => { const t = window.studio.transport; return {stamps: t.stamps, takes: window.studio.takes.length,"
            " syncing: t.syncing, pass: t.pass, wraps: t.wraps, errors: window.studio.errors,"
            " connected: window.studio.connected, running: window.studio.running, back: window.studio.blocksBack,"
            " status: document.getElementById('status').textContent, rtt: window.studio.rtts.slice(-5)}; })()"
        )
        raise AssertionError(f"{count} takes did not come: {state}") from e
    page.wait_for_timeout(500)  # no further take may come
    return list(page.evaluate("window.studio.takes"))[n:]


def test_page_timecode_maths_matches_python(page: Any) -> None:
    frames = [*range(0, 20000, 7), 17981, 17982, 17983, 107892, 2589407]
    for fps, r in tc.RATES.items():
        fs = [f for f in frames if f < r.frames_per_day] + [r.frames_per_day - 1, r.frames_per_day, -1]
        got = page.evaluate("([fs, fps]) => fs.map(f => FoleyTimecode.fromFrames(f, fps))", [fs, fps])
        assert got == [tc.from_frames(f, fps) for f in fs], fps
        back = page.evaluate("([ts, fps]) => ts.map(t => FoleyTimecode.toFrames(t, fps))", [got, fps])
        assert back == [tc.to_frames(t, fps) for t in got]
        secs = [0.0, 0.04, 1.0, 1.001, 59.94, 3599.9964]
        js = page.evaluate("([ss, fps]) => ss.map(s => FoleyTimecode.secondsToFrames(s, fps))", [secs, fps])
        assert js == [tc.seconds_to_frames(s, fps) for s in secs]
    bad = page.evaluate(
        "() => ['00:01:00;00', '00:01:00;01'].map(t => { try { FoleyTimecode.toFrames(t, '29.97'); return 'ok'; }"
        " catch (e) { return e.message; } })"
    )
    assert all("does not exist in drop-frame" in m for m in bad)


def test_transport_play_pause_scrub_markers_and_timecode(page: Any) -> None:
    page.select_option("#tc-rate", "25", timeout=WAIT)
    page.click("#tp-play", timeout=WAIT)
    page.wait_for_function("document.getElementById('video').currentTime > 0.3", timeout=WAIT)
    page.click("#tp-play", timeout=WAIT)
    page.wait_for_function("document.getElementById('video').paused", timeout=WAIT)
    t = video_time(page)
    page.wait_for_timeout(300)
    assert video_time(page) == t  # paused stays put
    scrub_to(page, 2.0)
    page.wait_for_function("document.getElementById('tc').textContent === '01:00:02:00'", timeout=WAIT)
    page.fill("#tc-start", "10:00:00:00", timeout=WAIT)
    page.dispatch_event("#tc-start", "change", timeout=WAIT)
    page.wait_for_function("document.getElementById('tc').textContent === '10:00:02:00'", timeout=WAIT)
    page.select_option("#tc-rate", "29.97", timeout=WAIT)  # the start is kept, now in drop-frame
    want = tc.from_frames(tc.to_frames("10:00:00;00", "29.97") + tc.seconds_to_frames(2.0, "29.97"), "29.97")
    page.wait_for_function(f"document.getElementById('tc').textContent === '{want}'", timeout=WAIT)
    assert want == "10:00:01;29"
    errors = page.evaluate("window.studio.errors.length")
    page.fill("#tc-start", "10:01:00;00", timeout=WAIT)  # skipped by drop-frame: refused, start unchanged
    page.dispatch_event("#tc-start", "change", timeout=WAIT)
    page.wait_for_function(f"window.studio.errors.length > {errors}", timeout=WAIT)
    assert "drop-frame" in page.evaluate("window.studio.errors.at(-1)")
    assert page.evaluate("window.studio.transport.start") == "10:00:00;00"
    page.click("#add-marker", timeout=WAIT)
    assert page.locator("#markers li").count() == 1 and want in page.locator("#markers li").inner_text()
    assert page.locator("#marks .mark").count() == 1
    scrub_to(page, 0.5)
    page.locator("#markers li button.marker").click(timeout=WAIT)  # jump back to the marker
    page.wait_for_function("Math.abs(document.getElementById('video').currentTime - 2.0) < 0.02", timeout=WAIT)
    page.locator("#picture-panel").screenshot(path=str(ARTIFACTS / "studio_transport.png"), timeout=WAIT)
    page.select_option("#tc-rate", "25", timeout=WAIT)
    page.fill("#tc-start", "01:00:00:00", timeout=WAIT)
    page.dispatch_event("#tc-start", "change", timeout=WAIT)


def test_a_take_after_the_video_ended_is_stamped_where_the_picture_restarts(page: Any) -> None:
    """The bug of issue #21: after the video had ended, a take was stamped 4.98 s while the picture played from 0."""
    page.evaluate("window.studio.transport.setLoop(0, null, false)")
    scrub_to(page, VIDEO_S - 0.3)
    page.click("#tp-play", timeout=WAIT)
    page.wait_for_function("document.getElementById('video').ended", timeout=WAIT)
    ensure_mic(page)
    takes = record_takes(page, "document.getElementById('video').currentTime > 1.0", 1)
    assert len(takes) == 1
    assert 0.0 <= takes[0]["video_time"] < 0.15, takes[0]  # was 4.98
    assert takes[0]["duration"] > 0.8


def test_a_loop_region_records_one_take_per_pass(page: Any, server: tuple[str, Any], tmp_path: Path) -> None:
    from foleyvae.audio.bwf import read_bwf

    _, studio = server
    scrub_to(page, 0.5)
    page.click("#set-in", timeout=WAIT)
    scrub_to(page, 1.7)
    page.click("#set-out", timeout=WAIT)
    page.check("#loop-region", timeout=WAIT)
    assert page.evaluate("[window.studio.transport.loopIn, window.studio.transport.loopOut]") == [0.5, 1.7]
    assert page.inner_text("#region") == "01:00:00:12 \u2192 01:00:01:17"
    scrub_to(page, 3.0)  # outside the region: recording starts at its in point
    ensure_mic(page)
    wraps = page.evaluate("window.studio.transport.wraps")
    # stop half-way through the second pass
    takes = record_takes(
        page,
        f"window.studio.transport.wraps >= {wraps + 1} && document.getElementById('video').currentTime > 1.0"
        f" && document.getElementById('video').currentTime < 1.5",
        2,
    )
    stamps = page.evaluate("window.studio.transport.stamps.slice(-2)")
    why = (page.evaluate("window.studio.transport.stamps"), [(t["duration"], t["video_time"]) for t in takes])
    assert [s["split"] for s in stamps] == [False, True], why
    assert len(takes) == 2, takes
    for t in takes:  # each pass starts at the in point
        assert abs(t["video_time"] - 0.5) < 0.08, t
    assert 1.0 <= takes[0]["duration"] <= 1.5, takes[0]  # one whole pass: 1.2 s of picture
    # stopped part-way; the stop lags on a loaded machine, where the picture also stalls while the audio runs on (a
    # run beside a second copy of the suite recorded 1.86 s for this pass)
    assert 0.4 <= takes[1]["duration"] <= 2.5, takes[1]
    page.uncheck("#loop-region", timeout=WAIT)
    page.wait_for_function(f"document.querySelector('#takes li[data-id=\"{takes[1]['id']}\"] a.dl-bwf')", timeout=WAIT)
    assert "01:00:00:1" in page.inner_text(f'#takes li[data-id="{takes[1]["id"]}"] .take-head')
    # the second pass as a Broadcast WAV, scene 7C, picture starting at 01:00:00:00 (25 fps)
    page.fill("#scene", "7C", timeout=WAIT)
    page.dispatch_event("#scene", "change", timeout=WAIT)
    with page.expect_download(timeout=30000) as dl:
        page.locator(f'#takes li[data-id="{takes[1]["id"]}"] a.dl-bwf').click(timeout=WAIT)
    path = tmp_path / "pass2.bwf.wav"
    dl.value.save_as(str(path))
    info = read_bwf(path)
    assert (info.sample_rate, info.bits, info.channels) == (48000, 24, 1)
    assert info.time_reference == 3600 * 48000 + round(takes[1]["video_time"] * 48000)
    assert info.ixml["SCENE"] == "7C" and info.ixml["TIMECODE_RATE"] == "25/1"
    assert abs(info.frames / 48000 - takes[1]["duration"]) < 0.01
    if shutil.which("sox"):
        r = subprocess.run(["sox", "--i", str(path)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "" and "24-bit" in r.stdout, r.stderr
    _check_the_mux_starts_at_the_pass(page, studio, takes[1], tmp_path)
    page.screenshot(path=str(ARTIFACTS / "studio_picture_loop.png"), full_page=True, timeout=WAIT)
    page.click("#stop", timeout=WAIT)


def _check_the_mux_starts_at_the_pass(page: Any, studio: Any, take: dict[str, Any], tmp_path: Path) -> None:
    """A loop pass muxed onto the picture (the take's "video + take" button): its audio starts at the pass's picture
    time, to within 2 ms (found by cross-correlating the muxed track with the take itself)."""
    import numpy as np
    import soundfile as sf

    from foleyvae.audio.io import resample

    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg not installed (apt-get install ffmpeg): the mux is part of the picture workflow")
    with page.expect_download(timeout=WAIT) as dl:
        page.locator(f'#takes li[data-id="{take["id"]}"] button.mux').click(timeout=WAIT)
    muxed = tmp_path / "pass.webm"
    dl.value.save_as(str(muxed))
    sr = 48000
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(muxed), "-map", "0:a:0", "-ac", "1", "-ar", str(sr)]
    raw = subprocess.run([*cmd, "-f", "f32le", "pipe:"], capture_output=True, timeout=60, check=True).stdout
    track = np.frombuffer(raw, np.float32).astype(np.float64)
    wet, wsr = sf.read(str(studio.folder.take_file(take["id"], "wet")), dtype="float32", always_2d=True)
    wet = resample(wet.T[:1], wsr, sr)[0].astype(np.float64) if wsr != sr else wet[:, 0].astype(np.float64)
    assert np.sqrt(np.mean(wet**2)) > 1e-4, "the take is silent: nothing to line up"
    size = 1 << int(np.ceil(np.log2(len(track) + len(wet))))
    xc = np.fft.irfft(np.fft.rfft(track, size) * np.conj(np.fft.rfft(wet, size)), size)[: 2 * sr]
    lag = int(np.argmax(xc))
    # the mux delays by whole ms (0.5 ms of rounding) and the codec adds its own fraction: 2 ms, 1/20 of a frame
    assert abs(lag / sr - take["video_time"]) < 0.002, (lag / sr, take["video_time"])
    assert np.sqrt(np.mean(track[: int(0.9 * lag)] ** 2)) < 1e-3  # silence before the pass's picture time
