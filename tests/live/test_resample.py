"""48 kHz devices around 44.1 kHz models: the streaming FIR resampler, the sample mode of a live session (a fake
backend at 48 kHz, any period), its latency recovery after an underrun, and the loopback benchmark's delay finder."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.soak_models import HOP, Passthrough

from foleyvae.errors import FoleyError
from foleyvae.inference.engine import StreamingEngine
from foleyvae.live.audio_io import LiveSession
from foleyvae.live.resample import FirResampler, make_resampler


def _stream(rs: FirResampler, x: np.ndarray, chunk: int) -> np.ndarray:
    return np.concatenate([rs.process(x[:, i : i + chunk]) for i in range(0, x.shape[1], chunk)], axis=1)


@pytest.mark.parametrize(("a", "b"), [(48000, 44100), (44100, 48000)])
def test_fir_resampler_is_clean_and_delayed_by_its_half_length(a: int, b: int) -> None:
    t = np.arange(a) / a
    for f in (1000.0, 12000.0):
        x = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)[None]
        rs = FirResampler(a, b, 1)
        y = _stream(rs, x, 235)[0]  # odd chunks: the output must not depend on them
        assert abs(len(y) - a * b // a) <= 1  # one second in, one second out
        ref = 0.5 * np.sin(2 * np.pi * f * (np.arange(len(y)) / b - rs.h / a))  # the input, delayed by h inputs
        err = y[2000:-100] - ref[2000:-100]
        assert 20 * np.log10(np.std(ref) / np.std(err)) > 55.0, f  # measured 67-85 dB
    whole = FirResampler(a, b, 1).process(x)
    np.testing.assert_allclose(_stream(FirResampler(a, b, 1), x, 100), whole, atol=1e-6)
    with pytest.raises(FoleyError, match="unknown resampler 'cubic'"):
        make_resampler("cubic", a, b, 1)


def test_48k_device_with_a_44k1_model_passes_audio_with_the_reported_latency() -> None:
    """Prefill 0 (the engine in the callback), device periods of 256 at 48 kHz, a 44.1 kHz passthrough model: the
    output is the input delayed by the latency the session reports (settled FIFO + both resamplers), no xrun."""
    eng = StreamingEngine(Passthrough(44100), HOP)
    eng.controls.set_limiter(False)
    session = LiveSession(eng, prefill_blocks=0, device_rate=48000, realtime=False, gc_freeze=False)
    rng = np.random.default_rng(0)
    n, period = 48000, 256
    x = np.convolve(rng.standard_normal(n), np.hanning(9) / 4.5, "same").astype(np.float32)  # below 20 kHz
    out = []
    for i in range(0, n - period, period):
        o = np.zeros((period, 1), np.float32)
        session._callback(x[i : i + period, None].copy(), o, period, None)
        out.append(o[:, 0].copy())
    y = np.concatenate(out)
    lat = session.latency()
    assert lat["mode"] == "sample" and lat["device_rate"] == 48000
    # the whole path in device samples: settled FIFO + resamplers (the passthrough adds none)
    expect = lat["settle_samples"] + lat["resampler_delay_samples"]
    seg = slice(12000, 40000)

    def err(d: float) -> float:  # the input delayed by d (fractional: a phase ramp) against the output
        f = np.fft.rfftfreq(n)
        xd = np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * f * d), n)
        return float(np.std(y[seg] - xd[seg]) / np.std(x[seg]))

    assert err(expect) < 0.02, err(expect)  # the reported latency, to a fraction of a sample (measured 0.3 %)
    assert err(expect - 2) > 10 * err(expect) and err(expect + 2) > 10 * err(expect)
    a = session.adapter.stats
    assert a.underruns == 0 and a.overruns == 0 and 0 < a.settle_samples <= 2 * 279  # one 256 block at 44.1 kHz


def test_loopback_delay_finder_finds_a_known_delay() -> None:
    from benchmarks.loopback_latency import click_train, find_delay

    sr = 48000
    sent = click_train(sr * 2, sr, seed=3)
    for delay in (0, 1, 257, 666, 2140):
        got = np.concatenate([np.zeros(delay, np.float32), 0.8 * sent[: len(sent) - delay]])
        got += 0.003 * np.random.default_rng(delay).standard_normal(len(got)).astype(np.float32)
        lag, corr = find_delay(sent, got, sr // 5)
        assert lag == delay and corr > 0.7, (delay, lag, corr)
    lag, corr = find_delay(sent, np.zeros_like(sent), sr // 5)
    assert corr == 0.0


def test_sample_mode_gives_back_the_latency_an_underrun_added() -> None:
    """The worker (prefill 2 blocks) stalls for four periods: the FIFO runs dry (an underrun, its silence becomes
    latency), then, once calm for ``recover_s``, the extra slack is skipped (crossfaded) and the output is again the
    input of exactly ``prefill`` samples before."""
    from foleyvae.live.adapter import DeviceAdapter

    n = 256
    a = DeviceAdapter(lambda x: x, 1, n, 44100, 44100, prefill=2 * n, settle_s=0.0, recover_s=8 * n / 44100)
    lag_at: list[float] = []
    for i in range(40):
        a.push_input(np.arange(i * n, (i + 1) * n, dtype=np.float32)[:, None])  # each sample holds its index
        if not 10 <= i < 14:  # the stall
            a.pump()
        out = np.zeros((n, 1), np.float32)
        a.pull_output(out)
        lag_at.append(float(i * n + n - 1 - out[-1, 0]))  # how far behind the input the last output sample is
    assert lag_at[5:10] == [2 * n] * 5  # the prefill
    assert a.stats.underruns == 2 and a.stats.underrun_samples == 2 * n  # periods 12 and 13 found nothing
    assert lag_at[15:20] == [4 * n] * 5  # the late blocks play on, two blocks late
    assert a.stats.drops == 1 and a.stats.dropped_samples == 2 * n
    assert lag_at[-5:] == [2 * n] * 5  # back at the prefill
