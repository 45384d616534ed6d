"""Monitor latency of the native live path, measured with a loopback on a private JACK dummy server.

A JACK client of this process plays a train of clicks into the input of ``foleyvae live`` (dry only: ``--dry-wet 0``,
so its output is its input delayed by the whole path) and records what comes back; the offset of the best
cross-correlation is the measured latency. The same client also measures a zero-latency JACK "wire" (a client that
copies its input to its output in the same cycle) in the same loop: the period every JACK loop adds.

Rows (``benchmarks/results/loopback_latency.json``): ``block`` (the JACK period = the device block), ``sample_rate``
(the device's), ``engine_block`` (the model's block, at the model's rate), ``prefill``, ``measured_ms`` (the
loopback, JACK loop included, as the issue measured it), ``jack_loop_ms`` (the wire's), ``path_ms`` (the
difference), ``p99_engine_fraction`` (99th percentile of the time the engine's thread spends per device period over
the period: with prefill 0 that is the device callback, resampling included), ``xruns``.

Run: ``PYTHONPATH=src python benchmarks/loopback_latency.py`` (needs jackd2, libportaudio2, the JACK-Client and
sounddevice packages); ``--quick`` for two rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLICK_EVERY_S = 0.2


def click_train(n: int, sample_rate: int, seed: int = 0) -> np.ndarray:
    """``[n]`` float32: clicks of 0.5 (a 0.5 ms Hann blip: band-limited, so a resampler passes it whole), about every
    ``CLICK_EVERY_S`` with a random jitter (no lag but the true one lines them all up), silence in between."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n, np.float32)
    blip = (0.5 * np.hanning(int(0.0005 * sample_rate) + 2)[1:-1]).astype(np.float32)
    every = int(CLICK_EVERY_S * sample_rate)
    pos = every // 2
    while pos + blip.size < n:
        x[pos : pos + blip.size] = blip
        pos += every + int(rng.integers(-every // 4, every // 4))
    return x


def find_delay(sent: np.ndarray, got: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag (samples, ``0..max_lag``) at which ``got`` best matches ``sent`` (FFT cross-correlation), and the peak's
    normalised height (1: a clean delayed copy; below ~0.3: nothing came back)."""
    n = len(sent) + len(got)
    size = 1 << int(np.ceil(np.log2(n)))
    r = np.fft.irfft(np.fft.rfft(got, size) * np.conj(np.fft.rfft(sent, size)), size)[: max_lag + 1]
    lag = int(np.argmax(r))
    norm = float(np.sqrt(np.sum(sent.astype(np.float64) ** 2) * np.sum(got.astype(np.float64) ** 2)))
    return lag, float(r[lag] / norm) if norm > 0 else 0.0


def jack_server(rate: int, period: int) -> Any:
    """A private ``jackd --no-realtime -d dummy`` at ``rate``/``period`` (tests/support/jack.py); yields its env."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.support.jack import private_jackd

    return private_jackd(rate, period, "foleyvae-loop", terminate_portaudio=True)


class Loopback:
    """This process's JACK client: plays ``signal`` on ``click`` and records ``back`` (preallocated)."""

    def __init__(self, signal: np.ndarray, name: str = "foleyvae-loopback") -> None:
        import jack

        self.signal = signal
        self.rec = np.zeros_like(signal)
        self.pos = 0
        self.client = jack.Client(name, no_start_server=True)
        self.out = self.client.outports.register("click")
        self.inp = self.client.inports.register("back")
        self.client.set_process_callback(self._process)

    def _process(self, frames: int) -> None:
        i = self.pos
        if i + frames <= len(self.signal):
            self.out.get_array()[:] = self.signal[i : i + frames]
            self.rec[i : i + frames] = self.inp.get_array()
            self.pos = i + frames
        else:
            self.out.get_array().fill(0.0)

    def others(self, is_input: bool) -> list[Any]:
        """Audio ports of the other clients (not ``system:``, not ours, not the wire)."""
        own = (self.client.name + ":", "foleyvae-wire:", "system:")
        ports = self.client.get_ports(is_audio=True, is_input=is_input, is_output=not is_input)
        return [p for p in ports if not p.name.startswith(own)]

    def run(self, targets_in: list[Any], sources_out: list[Any], timeout_s: float) -> None:
        """Connect click -> targets, sources -> back, play the whole signal (bounded by ``timeout_s``)."""
        self.client.activate()
        for t in targets_in:
            self.client.connect(self.out, t)
        for s in sources_out:
            self.client.connect(s, self.inp)
        deadline = time.monotonic() + timeout_s
        while self.pos + 4096 < len(self.signal) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def wire_loop(rate: int, seconds: float = 2.0) -> int:
    """The JACK loop's own delay: clicks through a client that copies input to output in the same cycle."""
    import jack

    wire = jack.Client("foleyvae-wire", no_start_server=True)
    w_in, w_out = wire.inports.register("in"), wire.outports.register("out")

    @wire.set_process_callback
    def process(frames: int) -> None:
        w_out.get_array()[:] = w_in.get_array()

    sig = click_train(int(seconds * rate), rate, seed=1)
    loop = Loopback(sig)
    try:
        wire.activate()
        loop.run([w_in], [w_out], seconds + 10)
        lag, _ = find_delay(loop.signal, loop.rec, rate // 10)
    finally:
        loop.close()
        wire.deactivate()
        wire.close()
    return lag


def live_cmd(
    model: str, engine_block: int, prefill: int, rate: int, seconds: float, stats: Path, **kw: Any
) -> list[str]:
    """``foleyvae live`` dry-only on the default (JACK) devices."""
    cmd = [sys.executable, "-m", "foleyvae.cli.main", "live", "--model", model, "--block", str(engine_block)]
    cmd += ["--prefill", str(prefill), "--device-rate", str(rate), "--dry-wet", "0", "--seconds", f"{seconds:g}"]
    cmd += ["--stats-json", str(stats), "--engine", kw.get("engine", "thread")]
    cmd += ["--device-block", str(kw.get("device_block", 0))]
    return cmd


def studio_child(
    model: str, engine_block: int, prefill: int, rate: int, seconds: float, stats: Path, engine: str = "process"
) -> int:
    """``--studio-child``: a studio server in this process, its native route started through its HTTP API (dry
    only), READY, ``seconds`` of audio, stop; the final stats as ``foleyvae live --stats-json`` writes them."""
    import urllib.request

    import torch

    from foleyvae.studio.app import Studio, StudioConfig, serve_in_thread

    torch.set_flush_denormal(True)
    with tempfile.TemporaryDirectory() as tmp:
        token = "loopback-benchmark-token-0123456789"
        cfg = StudioConfig(token=token, session_dir=Path(tmp) / "session", default_model=model)
        studio = Studio(cfg)
        studio.open_default()
        with serve_in_thread(cfg, studio) as url:
            base = url.split("/?")[0]

            def call(path: str, body: dict[str, Any] | None = None) -> Any:
                data = None if body is None else json.dumps(body).encode()
                req = urllib.request.Request(base + path, data=data, headers={"X-Studio-Token": token})
                req.add_header("Content-Type", "application/json")
                with urllib.request.urlopen(req, timeout=120) as r:
                    return json.loads(r.read())

            call("/api/native/devices")  # re-scan: the JACK server of this run
            call(
                "/api/native/start",
                {"block": engine_block, "prefill": prefill, "device_rate": rate, "engine": engine},
            )
            call("/api/native/controls", {"dry_wet": 0.0})
            print("READY", flush=True)
            time.sleep(seconds)
            last = call("/api/native/stop", {})["last"]
    stats.write_text(json.dumps({"stats": last, "latency": last["latency"]}))
    return 0


def measure_cli(model: str, rate: int, period: int, engine_block: int, prefill: int, seconds: float,
                **kw: Any) -> dict[str, Any]:  # fmt: skip
    """One row: jackd at rate/period, ``foleyvae live`` (or, ``route="studio"``, a studio server's native route)
    in a child process, the loopback from this one."""
    with jack_server(rate, period) as env, tempfile.TemporaryDirectory() as tmp:
        loop_lag = wire_loop(rate)
        stats_path = Path(tmp) / "stats.json"
        child_env = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
        live_s = seconds + 8.0
        cmd = live_cmd(model, engine_block, prefill, rate, live_s, stats_path, **kw)
        if kw.get("route") == "studio":
            cmd = [sys.executable, __file__, "--studio-child", model, str(engine_block), str(prefill), str(rate)]
            cmd += [f"{live_s:g}", str(stats_path), kw.get("engine", "process")]
        proc = subprocess.Popen(
            cmd,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # READY (the child's own timeout bounds this: --seconds)
            if line.strip() != "READY":
                raise RuntimeError(f"live did not start: {line!r} {proc.stderr.read()[-800:] if proc.stderr else ''}")
            time.sleep(1.0)  # its sample FIFO settles (settle_s 0.5)
            sig = click_train(int(seconds * rate), rate, seed=period)
            loop = Loopback(sig)
            try:
                loop.run(loop.others(is_input=True), loop.others(is_input=False), seconds + 10)
            finally:
                loop.close()
            _, err = proc.communicate(timeout=live_s + 60)
            if proc.returncode != 0:
                raise RuntimeError(f"live failed: {err[-800:]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        report = json.loads(stats_path.read_text())
    return row(rate, period, engine_block, prefill, loop, loop_lag, report, **{"route": "cli", **kw})


def row(rate: int, period: int, engine_block: int, prefill: int, loop: Loopback, loop_lag: int,
        report: dict[str, Any], **kw: Any) -> dict[str, Any]:  # fmt: skip
    """The JSON row of one measurement (see the module docstring)."""
    skip = int(0.5 * rate)  # the first half second: our client starts before the path has settled
    lag, peak = find_delay(loop.signal[skip:], loop.rec[skip:], rate // 5)
    st = report["stats"]
    period_ms = 1000.0 * period / rate
    sample_mode = report["latency"].get("mode") == "sample"
    busy_ms = st["callback_ms_p99"] if sample_mode and prefill == 0 else st["block_ms_p99"]
    per = period_ms if sample_mode and prefill == 0 else 1000.0 * engine_block / report["latency"]["sample_rate"]
    return {
        "block": period,
        "sample_rate": rate,
        "engine_block": engine_block,
        "model_rate": report["latency"]["sample_rate"],
        "prefill": prefill,
        "measured_samples": lag,
        "measured_ms": round(1000.0 * lag / rate, 2),
        "correlation": round(peak, 3),
        "jack_loop_samples": loop_lag,
        "jack_loop_ms": round(1000.0 * loop_lag / rate, 2),
        "path_ms": round(1000.0 * (lag - loop_lag) / rate, 2),
        "p99_engine_ms": round(busy_ms, 3),
        "p99_engine_fraction": round(busy_ms / per, 3),
        "p99_model_block_ms": round(st["block_ms_p99"], 3),
        "xruns": st["xruns"],
        "adapter": st.get("adapter"),
        "reported_round_trip_ms": round(report["latency"]["round_trip_ms"], 2),
        "mode": report["latency"].get("mode"),
        **kw,
    }


CONFIGS = [  # (rate, period, engine block, prefill, extra)
    (44100, 256, 256, 2, {"device_block": 256, "note": "before: fixed PortAudio block, prefill 2 (the issue's run)"}),
    (44100, 256, 256, 0, {}),
    (48000, 128, 256, 0, {}),
    (48000, 256, 256, 0, {}),
    (48000, 512, 512, 0, {}),
    (48000, 512, 256, 0, {"note": "engine block 256 under a 512 period: two model calls per period"}),
    (48000, 256, 256, 1, {}),
    (48000, 256, 256, 0, {"engine": "process"}),
    (48000, 256, 256, 0, {"route": "studio", "engine": "process"}),  # the studio's default since 2026-12-03
    (48000, 256, 256, 0, {"route": "studio", "engine": "thread"}),
]
# A hop-128 model at 48 kHz (foley-lowlat-48k, scripts/lowlat_model.sh): one 128-sample block is one latent frame
LOWLAT_CONFIGS = [
    (48000, 128, 128, 0, {}),
    (48000, 256, 128, 0, {"note": "engine block 128 under a 256 period: two model calls per period"}),
    (48000, 128, 128, 0, {"engine": "process"}),
]


def model_alone_ms(model: str, block: int = 256, calls: int = 400) -> dict[str, float]:
    """The model alone (encode + decode of one block, one thread) on this machine now: the reference for the p99
    engine times above (the machine's load moves both)."""
    import torch

    from foleyvae.export.loader import load_model

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    m = load_model(model)
    x = torch.zeros(1, int(m.channels), block)
    for _ in range(20):  # first calls compile and allocate
        m.decode(m.encode(x))
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        m.decode(m.encode(x))
        times.append(1000.0 * (time.perf_counter() - t0))
    t = np.asarray(times)
    return {"block": block, "median_ms": round(float(np.median(t)), 3), "p99_ms": round(float(np.percentile(t, 99)), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="foley")
    ap.add_argument("--seconds", type=float, default=6.0, help="loopback length per row")
    ap.add_argument("--quick", action="store_true", help="two rows (48 kHz, periods 128 and 256, prefill 0)")
    ap.add_argument("--lowlat", action="store_true", help="the rows for a 48 kHz hop-128 model (128-sample blocks)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "loopback_latency.json"))
    if len(sys.argv) == 9 and sys.argv[1] == "--studio-child":
        m, eb, pre, rate, secs, stats, engine = sys.argv[2:]
        return studio_child(m, int(eb), int(pre), int(rate), float(secs), Path(stats), engine)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import write_results

    quick = [c for c in CONFIGS if c[0] == 48000 and c[1] in (128, 256) and c[3] == 0 and not c[4]]
    configs = LOWLAT_CONFIGS if args.lowlat else quick if args.quick else CONFIGS
    rows = []
    for rate, period, eb, prefill, extra in configs:
        try:
            r = measure_cli(args.model, rate, period, eb, prefill, args.seconds, **extra)
        except Exception as e:  # one failed row is reported, the others still run
            r = {"block": period, "sample_rate": rate, "engine_block": eb, "prefill": prefill, "error": str(e)[:300]}
        rows.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "adapter"}), flush=True)
    load = [round(v, 2) for v in os.getloadavg()]
    result = {"model": args.model, "load_avg": load, "cpus": os.cpu_count(), "rows": rows}
    write_results(args.out, result)  # the rows first: the reference below must not cost them
    result["model_alone"] = model_alone_ms(args.model, block=128 if args.lowlat else 256)
    print(f"model alone: {result['model_alone']}")
    write_results(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
