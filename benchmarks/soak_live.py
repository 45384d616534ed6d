"""Live-audio soak (issue #12): the bundled model on a JACK dummy device for minutes, under a control flood.

What runs (the audio process, the engine's child process, one small JACK client process as the microphone):

* a private ``jackd -d dummy`` server at 44100 Hz with period = ``--block``: ``-R`` (real-time threads) where this
  process may use SCHED_FIFO, else ``--no-realtime`` (``--jack-no-realtime`` forces it); the audio threads of the
  session and of the player ask for SCHED_FIFO themselves either way (``LiveSession(realtime=True)``);
* a player process that loops speech + footsteps from ``foleyvae/assets/samples``, silence and hard-clipped speech
  into our input port, and replaces one period by NaNs every ``--nan-every`` s: ``jack_player.c``, compiled here
  where a C compiler and the JACK headers are (libjack-jackd2-dev), else this script with ``--player`` (a Python
  JACK client, which jackd itself sometimes found late; ``--python-player`` forces it);
* a :class:`~foleyvae.live.audio_io.LiveSession` running the bundled ``--model`` live, by default through an
  :class:`~foleyvae.live.engine_process.EngineProcess` (the model in a child process; ``--engine thread``: in
  this process's worker thread, as before);
* a control thread that sets ``--rate`` random valid bias / scale / temperature values per second and swaps the
  model once at the middle of the measured part (the same model loaded again: ``EngineProcess.swap`` starts a new
  child, ``StreamingEngine.swap_model`` loads it here);
* the main thread samples the RSS of the audio process plus the engine's child (VmRSS) every second.

After a ``--warmup`` (30 s) the RSS is taken as the start value and the xrun counters are snapshotted; the soak then
runs ``--minutes``. Target: zero xruns and RSS growth < 5 %. Xruns are also split into the swap window (from just
before the load to 2 s after the old model is freed: in-process, ``torch.jit.load`` holds the GIL ~140 ms, which
no Python audio callback gets through; with the engine process the load happens in another interpreter) and the
steady state, and into those within a second of a machine stall and the rest. Also recorded: collector pauses by
generation, which JACK client jackd found late, minor page faults around the swap, and machine stalls: a canary
process at SCHED_FIFO 90 that only sleeps 1 ms reports each wake-up over 3 ms late (then nothing in the machine ran,
whatever its priority). jackd, the player and the canary are stopped on every exit path.

Run:  .venv/bin/python benchmarks/soak_live.py [--minutes 10] [--block 256] [--model foley]
          [--out benchmarks/results/soak_live.json]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from _results import write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the stall canary, shared with the JACK tests
from tests.support import stall_canary  # noqa: E402

RESULT = Path(__file__).parent / "results" / "soak_live.json"
SAMPLES = ROOT / "src" / "foleyvae" / "assets" / "samples"
SR = 44100
SWAP_SETTLE_S = 2.0
PLAYER_NAME = "foleyvae-soak-player"


def minor_faults() -> int:
    """Minor page faults of this process so far (field 10 of /proc/self/stat)."""
    with open("/proc/self/stat") as f:
        stat = f.read()
    return int(stat[stat.rindex(")") + 2 :].split()[7])


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (VmRSS of /proc/PID/status; 0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return 0.0
    return float("nan")


def session_rss_mb(engine: Any) -> float:
    """RSS of this (audio) process plus the engine's child process, if it runs in one (EngineProcess)."""
    info = getattr(engine, "info", None)
    return rss_mb() + (rss_mb(info["pid"]) if info else 0.0)


def input_loop() -> np.ndarray:
    """The microphone signal ``[n]`` float32 at 44.1 kHz, looped by the player: speech, footsteps, 2 s of digital
    silence, then the speech again driven 24 dB into hard clipping (a mic gain mistake: full-scale square-ish)."""
    import soundfile as sf

    parts = []
    for name in ("speech_en.wav", "footsteps_wood.wav", "footsteps_gravel.wav"):
        x, sr = sf.read(SAMPLES / name, dtype="float32", always_2d=True)
        if sr != SR:
            import soxr

            x = soxr.resample(x, sr, SR).astype(np.float32)
        parts.append(x.mean(axis=1))
    parts.append(np.zeros(2 * SR, np.float32))
    parts.append(np.clip(parts[0] * 16.0, -1.0, 1.0))
    return np.ascontiguousarray(np.concatenate(parts))


# ---------------------------------------------------------------------------------------------- player process
def player_main(nan_every_s: float) -> int:
    """JACK client: plays :func:`input_loop` into every non-system input port; one NaN period per ``nan_every_s``.

    Prints READY once connected, and the number of NaN periods it sent when it gets SIGTERM.
    """
    import jack

    signal_ = input_loop()
    from foleyvae.live.realtime import RT_PRIORITY_CALLBACK, promote_thread

    state = {"pos": 0, "nans": 0, "next_nan": int(nan_every_s * SR), "rt": 0}
    stop = threading.Event()
    client = jack.Client(PLAYER_NAME, no_start_server=True)
    port = client.outports.register("out")

    @client.set_process_callback
    def process(frames: int) -> None:
        if not state["rt"]:  # like LiveSession: the JACK thread asks for SCHED_FIFO once (a real-time jackd would)
            state["rt"] = 1 + int(promote_thread(RT_PRIORITY_CALLBACK))
        buf = port.get_array()
        p = state["pos"]
        i = p % len(signal_)
        if i + frames <= len(signal_):
            buf[:] = signal_[i : i + frames]
        else:  # wrap around the loop
            k = len(signal_) - i
            buf[:k] = signal_[i:]
            buf[k:] = signal_[: frames - k]
        if nan_every_s > 0 and p >= state["next_nan"]:
            buf[:] = np.nan
            state["nans"] += 1
            state["next_nan"] += int(nan_every_s * SR)
        state["pos"] = p + frames

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    gc.collect()
    gc.freeze()  # the "microphone" must not be the late client: no full collections over numpy/jack's objects
    client.activate()
    try:
        mine = {p.name for p in client.outports}
        targets = [
            p
            for p in client.get_ports(is_audio=True, is_input=True)
            if not p.name.startswith("system:") and p.name not in mine
        ]
        for t in targets:
            client.connect(port, t)
        print("READY " + ",".join(t.name for t in targets), flush=True)
        while not stop.is_set():
            stop.wait(0.2)
    finally:
        client.deactivate()
        client.close()
    print(f"NANS {state['nans']} RT {state['rt'] - 1}", flush=True)
    return 0


def build_c_player(workdir: Path) -> Path | None:
    """Compile ``jack_player.c`` into ``workdir``; None (with the reason printed) where there is no C compiler or
    no JACK headers (``apt-get install libjack-jackd2-dev``), and the Python player is used instead."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        print("soak: no C compiler; the player is the Python JACK client", flush=True)
        return None
    exe = workdir / "jack_player"
    r = subprocess.run(
        [cc, "-O2", "-o", str(exe), str(Path(__file__).with_name("jack_player.c")), "-ljack", "-lpthread", "-lm"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["?"])[0]
        print(f"soak: C player not built ({why}); the player is the Python JACK client", flush=True)
        return None
    return exe


def start_player(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the fake microphone (the C player where it builds, unless ``--python-player``) -> (process, kind)."""
    exe = None if args.python_player else build_c_player(workdir)
    if exe is not None:
        loop = workdir / "loop.f32"
        input_loop().astype("<f4").tofile(loop)
        from foleyvae.live.realtime import RT_PRIORITY_CALLBACK

        every = int(args.nan_every * SR) if args.nan_every > 0 else 0
        cmd = [str(exe), str(loop), str(every), PLAYER_NAME, str(RT_PRIORITY_CALLBACK)]
        kind = "c"
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--player", "--nan-every", str(args.nan_every)]
        kind = "python"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, kind


# ---------------------------------------------------------------------------------------------- jack server
def start_jackd(name: str, block: int, env: dict[str, str], log: Any, realtime: bool) -> subprocess.Popen[str]:
    """A private JACK dummy server logging to the open file ``log``; returns once its system ports exist.

    ``realtime``: ``jackd -R`` (its own threads and its clients' process threads SCHED_FIFO, as on a tuned audio
    machine), else ``--no-realtime`` (every thread competes with the rest of the machine)."""
    if shutil.which("jackd") is None:
        raise SystemExit("jackd not installed (apt-get install jackd2)")
    # stderr goes to a file, never an unread pipe (a full pipe would stall jackd): its xrun lines name the late client
    proc = subprocess.Popen(
        ["jackd", "-n", name, "-R" if realtime else "--no-realtime", "-d", "dummy", "-r", str(SR), "-p", str(block)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    deadline = time.monotonic() + 15.0
    while True:
        r = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True, timeout=10)
        if r.returncode == 0 and "system:playback_1" in r.stdout:
            return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_proc(proc)
            log.flush()
            err = Path(log.name).read_text(errors="replace")
            raise SystemExit(f"jackd did not start: {err[-500:]}")
        time.sleep(0.2)


def late_clients(log: str) -> dict[str, int]:
    """Per JACK client, how many of jackd's xrun lines name it (``client = NAME was not finished``, jackd2)."""
    counts: dict[str, int] = {}
    for m in re.finditer(r"client = (.+?) was not", log):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if "XRun" in log and not counts:
        counts["(unnamed)"] = log.count("XRun")
    return counts


def read_log(log_path: str | Path) -> str:
    """jackd's log so far (it writes the file while it runs)."""
    return Path(log_path).read_text(errors="replace")


def driver_xruns(log: str) -> int:
    """How many cycles jackd's own timer woke up late in ``log`` (``JackTimedDriver::Process XRun``, the dummy
    driver): xruns of the server itself, which no client can prevent."""
    return log.count("JackTimedDriver::Process XRun")


def jack_only(args: argparse.Namespace, env: dict[str, str], jack_log: str) -> dict[str, Any]:
    """The host's floor: jackd, the player and the stall canary only (no Python audio, no model) for the same
    warm-up + minutes; counts jackd's own late cycles and the xrun lines that name a client."""
    workdir = Path(tempfile.mkdtemp(prefix="foleyvae-soak-"))
    canary = stall_canary.start(env)
    player: subprocess.Popen[str] | None = None
    try:
        player, kind = start_player(args, env, workdir)
        assert player.stdout is not None
        if not player.stdout.readline().startswith("READY"):
            raise SystemExit(f"player did not start: {player.stderr.read() if player.stderr else ''}")
        t_start = time.monotonic()
        time.sleep(args.warmup)
        log = read_log(jack_log)
        at_warm, late_warm = driver_xruns(log), late_clients(log)
        time.sleep(60.0 * args.minutes)
        log = read_log(jack_log)
        at_end, late_end = driver_xruns(log), late_clients(log)
    finally:
        stop_proc(player)
        stalls = stall_canary.stop(canary)
        shutil.rmtree(workdir, ignore_errors=True)
    late_stalls = [(t, ms) for t, ms in stalls if t >= t_start + args.warmup]
    return {
        "mode": "jack-only",
        "minutes": args.minutes,
        "warmup_s": args.warmup,
        "block": args.block,
        "sample_rate": SR,
        "player": kind,
        "driver_xruns_after_warmup": at_end - at_warm,
        "late_client_lines_after_warmup": {k: v - late_warm.get(k, 0) for k, v in late_end.items()},
        "machine_stalls": {"count": len(late_stalls), "max_ms": max((ms for _, ms in late_stalls), default=0.0)},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "load_avg": os.getloadavg(),
    }


def stop_proc(proc: subprocess.Popen[str] | None) -> None:
    """Terminate, then kill if it does not exit in 5 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# ---------------------------------------------------------------------------------------------- models
def model_source(name: str) -> Any:
    """What :class:`EngineProcess` loads for ``--model``: the name, or for ``passthrough`` (the zero-cost baseline
    of ``soak_models.py``) its factory, importable by the child as ``soak_models`` (see :func:`main`)."""
    if name == "passthrough":
        from soak_models import passthrough

        return passthrough
    return name


def load(name: str) -> Any:
    """The model for ``--model`` in this process (``--engine thread``)."""
    source = model_source(name)
    if callable(source):
        return source()
    from foleyvae.export.loader import load_model

    return load_model(source)


# ---------------------------------------------------------------------------------------------- control flood
class ControlFlood(threading.Thread):
    """Sets ``rate`` random valid controls per second (bias, scale, temperature in turn) in batches every 10 ms;
    swaps the model once when ``swap_at`` (monotonic time) passes, then releases the replaced model from this thread."""

    def __init__(self, session: Any, rate: float, swap_at: float, model_name: str) -> None:
        super().__init__(name="soak-controls", daemon=True)
        self.session, self.engine = session, session.engine
        self.rate, self.swap_at, self.model_name = rate, swap_at, model_name
        # glitch events from just before the load to SWAP_SETTLE_S after the old model is freed (the swap window)
        self.swap_window: tuple[int, int] | None = None
        self.faults_at: list[tuple[float, int]] = []  # (time, minor faults) at the swap's start and end
        self._released_at = 0.0
        self._xruns_at_swap = 0
        self.stop_event = threading.Event()
        self.updates = 0
        self.swap_time_s: float | None = None  # wall time of load + swap_model
        self.swapped_at: float | None = None
        self.released = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            rng = random.Random(0)
            period = 0.01
            per_batch = max(1, round(self.rate * period))
            t_next = time.monotonic()
            while not self.stop_event.is_set():
                c = self.engine.controls  # re-read: a swap may replace the controls object
                k = c.latent_size
                for j in range(per_batch):
                    kind = (self.updates + j) % 3
                    if kind == 0:
                        c.set_bias(rng.randrange(k), rng.uniform(-2.0, 2.0))
                    elif kind == 1:
                        c.set_scale(rng.randrange(k), rng.uniform(0.5, 1.5))
                    else:
                        c.set_temperature(rng.uniform(0.0, 0.3))
                self.updates += per_batch
                if self.swapped_at is None and time.monotonic() >= self.swap_at:
                    t0 = time.perf_counter()
                    self._xruns_at_swap = glitches(self.session)["xruns"]
                    self.faults_at = [(time.monotonic(), minor_faults())]
                    from foleyvae.live.engine_process import EngineProcess

                    if isinstance(self.engine, EngineProcess):  # the new model loads in its own process
                        self.engine.swap(model_source(self.model_name))
                    else:
                        self.engine.swap_model(load(self.model_name))
                    self.swap_time_s = time.perf_counter() - t0
                    self.swapped_at = time.monotonic()
                elif self.swapped_at is not None and not self.released and self.engine.stats.swaps >= 1:
                    self.released = self.engine.release_retired()  # free the replaced model here, not in audio
                    self._released_at = time.monotonic()
                elif (
                    self.released and self.swap_window is None and time.monotonic() > self._released_at + SWAP_SETTLE_S
                ):
                    self.swap_window = (self._xruns_at_swap, glitches(self.session)["xruns"])
                    self.faults_at.append((time.monotonic(), minor_faults()))
                t_next += period
                delay = t_next - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)
                else:  # fell behind (load, swap): do not burst to catch up
                    t_next = time.monotonic()
        except BaseException as e:  # surfaced by the main thread
            self.error = e


class GcWatch:
    """Collector pauses in this process, per generation (``gc.callbacks``): count and longest, in ms."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.t0 = time.perf_counter()
        else:
            self.pauses[int(info["generation"])].append(1000.0 * (time.perf_counter() - self.t0))

    def summary(self) -> dict[str, dict[str, float]]:
        return {f"gen{g}": {"count": len(v), "max_ms": max(v, default=0.0)} for g, v in self.pauses.items()}


def glitches(session: Any) -> dict[str, int]:
    """The session's glitch counters so far (the rings' counts are read live; stop() copies them at the end)."""
    st = session.stats
    d = {
        "status_events": st.status_events,
        "in_overruns": session.in_ring.overruns,
        "out_underruns": session.out_ring.underruns,
        "out_overruns": session.out_ring.overruns,
    }
    d["xruns"] = sum(d.values())  # events: a device xrun counts once (its flags are listed below, for diagnosis)
    d["flags_input_overflow"] = st.status_input_overflow
    d["flags_output_underflow"] = st.status_output_underflow
    d["flags_other"] = st.status_input_underflow + st.status_output_overflow
    return d


# ---------------------------------------------------------------------------------------------- soak
def soak(args: argparse.Namespace, env: dict[str, str], jack_log: str) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.live.audio_io import LiveSession
    from foleyvae.live.engine_process import EngineProcess

    engine: StreamingEngine | EngineProcess
    if args.engine == "process":  # the model lives in a child process; this one only moves audio and controls
        engine = EngineProcess(model_source(args.model), args.block, realtime=not args.normal_priority)
    else:
        model = load(args.model)
        engine = StreamingEngine(model, args.block)
        del model  # the engine holds it; after the swap nothing should keep the old model alive
    if engine.sample_rate != SR:
        raise SystemExit(f"model {args.model!r} runs at {engine.sample_rate} Hz; the soak's JACK server at {SR} Hz")
    session = LiveSession(
        engine, prefill_blocks=args.prefill, jit_optimize=args.jit_optimize, realtime=not args.normal_priority
    )
    player: subprocess.Popen[str] | None = None
    flood: ControlFlood | None = None
    rss: list[tuple[float, float, int]] = []  # (s since start, RSS MiB, xruns so far) each second
    queued: list[int] = []  # output ring level each second (prefill: the monitor latency is where it started)
    measured = 60.0 * args.minutes
    result: dict[str, Any] = {}
    canary = stall_canary.start(env)
    try:
        session.start()
    except BaseException:
        stall_canary.stop(canary)
        raise
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)
    workdir = Path(tempfile.mkdtemp(prefix="foleyvae-soak-"))
    player_kind = "none"
    try:
        player, player_kind = start_player(args, env, workdir)
        assert player.stdout is not None
        line = player.stdout.readline()
        if not line.startswith("READY") or line.strip() == "READY":
            raise SystemExit(f"player did not connect: {line!r} {player.stderr.read() if player.stderr else ''}")
        t_start = time.monotonic()
        t_warm = t_start + args.warmup
        t_end = t_warm + measured
        swap_at = float("inf") if args.no_swap else t_warm + measured / 2.0
        flood = ControlFlood(session, args.rate, swap_at, args.model)
        flood.start()
        warm: dict[str, Any] | None = None
        next_sample = t_start
        next_print = t_warm
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            if flood.error is not None:
                raise flood.error
            if now >= next_sample:
                rss.append((round(now - t_start, 2), session_rss_mb(engine), glitches(session)["xruns"]))
                queued.append(len(session.out_ring))  # blocks between the engine and the output: the monitor margin
                next_sample += 1.0
                if warm is None and now >= t_warm:
                    es = engine.stats
                    warm = {
                        "driver_xruns": driver_xruns(read_log(jack_log)),
                        "faults": (time.monotonic(), minor_faults()),
                        "rss_mb": rss[-1][1],
                        "glitches": glitches(session),
                        "blocks": es.blocks,
                        "nan_blocks": es.nan_blocks,
                        "updates": flood.updates,
                    }
                if now >= next_print:
                    g = glitches(session)
                    print(
                        f"  t={now - t_start:6.0f} s  rss={rss[-1][1]:7.1f} MiB  xruns={g['xruns']}  "
                        f"blocks={engine.stats.blocks}  updates={flood.updates}",
                        flush=True,
                    )
                    next_print += 60.0
            time.sleep(min(0.2, max(0.0, next_sample - time.monotonic())))
        flood.stop_event.set()
        flood.join(timeout=30)
        end_glitches = glitches(session)
        end_driver = driver_xruns(read_log(jack_log))
        end_faults = (time.monotonic(), minor_faults())
    finally:
        gc.callbacks.remove(gc_watch)
        if flood is not None:
            flood.stop_event.set()
        try:
            stats = session.stop()
        finally:
            stalls = stall_canary.stop(canary)
            engine_rt = bool(engine.info.get("realtime")) if isinstance(engine, EngineProcess) else None
            if isinstance(engine, EngineProcess):
                engine.close()
        nans_sent = -1
        player_rt = False
        if player is not None and player.poll() is None:
            player.send_signal(signal.SIGTERM)
            try:
                out, _ = player.communicate(timeout=10)
                for ln in out.splitlines():
                    if ln.startswith("NANS"):
                        nans_sent = int(ln.split()[1])
                        player_rt = ln.split()[3] == "1"
            except subprocess.TimeoutExpired:
                stop_proc(player)
        shutil.rmtree(workdir, ignore_errors=True)
    assert warm is not None and flood is not None
    block_ms = 1000.0 * args.block / SR
    e = stats.engine
    rss_end = rss[-1][1]
    # the swap loads a second copy of the model (a one-off step): growth after it settles shows a leak, if any
    after_swap = None
    if flood.swapped_at is not None:
        later = [v for t, v, _ in rss if t >= flood.swapped_at - t_start + 30.0]
        after_swap = later[0] if later else None
    measured_glitches = {k: v - warm["glitches"][k] for k, v in end_glitches.items()}
    result = {
        "minutes": args.minutes,
        "warmup_s": args.warmup,
        "block": args.block,
        "sample_rate": SR,
        "block_ms": block_ms,
        "model": args.model,
        "engine": args.engine,
        "prefill_blocks": args.prefill,
        "xruns": stats.xruns,
        "xruns_after_warmup": measured_glitches["xruns"],
        # cycles where jackd itself woke up late (its timer, on this host): the session sees each as a device xrun
        "jackd_driver_xruns_after_warmup": end_driver - warm["driver_xruns"],
        "glitches_after_warmup": measured_glitches,
        "callbacks": stats.callbacks,
        "blocks": e["blocks"],
        "blocks_expected": int((args.warmup + measured) * SR / args.block),
        "nan_blocks_counted": e["nan_blocks"],
        # blocks that came after an underrun, dropped so the monitor latency stays at the prefill
        "late_blocks_dropped": stats.late_blocks_dropped,
        # sampled once a second: blocks queued for the output beyond the prefill (monitor latency added by dropouts)
        "extra_latency_blocks": {"max": max(queued) - args.prefill, "end": queued[-1] - args.prefill},
        "nan_periods_sent": nans_sent,
        "control_updates": flood.updates,
        "control_rate_per_s": flood.updates / (args.warmup + measured),
        "model_swaps": engine.stats.swaps,
        "swap_load_s": flood.swap_time_s,
        "max_process_ms": e["max_process_ms"],
        "mean_process_ms": e["mean_process_ms"],
        "max_over_block": e["max_process_ms"] / block_ms,
        "mean_over_block": e["mean_process_ms"] / block_ms,
        "rss_start_mb": warm["rss_mb"],
        "rss_end_mb": rss_end,
        "rss_max_mb": max(v for _, v, _ in rss),
        "rss_after_swap_mb": after_swap,
        "rss_growth_after_swap_pct": None if after_swap is None else 100.0 * (rss_end - after_swap) / after_swap,
        "swap_at_s": None if flood.swapped_at is None else round(flood.swapped_at - t_start, 1),
        "rss_growth_pct": 100.0 * (rss_end - warm["rss_mb"]) / warm["rss_mb"],
        "gc_pauses": gc_watch.summary(),
        # machine stalls seen by the canary after warm-up, and how many xrun events fell within 1 s of one
        "machine_stalls": _stall_summary(
            stalls, t_warm, rss, t_start, (flood.faults_at[0][0], flood.faults_at[1][0]) if flood.swap_window else None
        ),
        "realtime_threads": {
            "callback": stats.realtime_callback,
            "worker": stats.realtime_worker,
            "engine_process": engine_rt,
            "player": player_rt,
        },
        "player": player_kind,
        "rss_trace": rss,
        "stats": stats.as_dict(),
        "target": "zero xruns and RSS growth < 5 %",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "load_avg": os.getloadavg(),
    }
    # in-process, the swap's torch.jit.load holds the GIL for ~140 ms (measured): no Python audio callback gets
    # through it, so the swap window's glitches are reported apart from the steady state
    swap_x = None if flood.swap_window is None else flood.swap_window[1] - flood.swap_window[0]
    result["xruns_swap_window"] = swap_x
    result["xruns_steady"] = result["xruns_after_warmup"] - (swap_x or 0)
    if flood.swap_window is not None:  # steady state on each side of the swap (first model / second model)
        result["xruns_before_swap"] = flood.swap_window[0] - warm["glitches"]["xruns"]
        result["xruns_after_swap"] = end_glitches["xruns"] - flood.swap_window[1]
        (t0, f0), (t1, f1), (t2, f2), (t3, f3) = warm["faults"], *flood.faults_at, end_faults
        # page faults per second on each side of the swap (a trimmed heap refaults in the hot path)
        result["minor_faults_per_s"] = {
            "before_swap": (f1 - f0) / (t1 - t0),
            "swap_window": (f2 - f1) / (t2 - t1),
            "after_swap": (f3 - f2) / (t3 - t2),
        }
    # events with no machine stall (canary) within a second: what this process can still be blamed for
    ms = result["machine_stalls"]
    result["xruns_not_near_a_stall"] = result["xruns_after_warmup"] - ms["xruns_near_a_stall"]
    result["xruns_swap_window_not_near_a_stall"] = (swap_x or 0) - ms["xruns_near_a_stall_in_swap_window"]
    result["pass"] = result["xruns_after_warmup"] == 0 and result["rss_growth_pct"] < 5.0
    result["pass_steady"] = result["xruns_steady"] == 0 and result["rss_growth_pct"] < 5.0
    return result


def _stall_summary(
    stalls: list[tuple[float, float]],
    t_warm: float,
    trace: list[tuple[float, float, int]],
    t_start: float,
    window: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Canary stalls after warm-up (count, longest) and the xrun events in the trace's seconds that hold one (also
    split into those inside ``window``, the swap window's monotonic start/end, and outside it)."""
    late = [(t, ms) for t, ms in stalls if t >= t_warm]
    stall_secs = {int(t - t_start) for t, _ in late}
    lo, hi = (-1.0, -1.0) if window is None else (window[0] - t_start, window[1] - t_start)
    near = near_in_window = 0
    for (t0, _, x0), (t1, _, x1) in zip(trace, trace[1:], strict=False):
        if x1 > x0 and any(int(t0) - 1 <= s <= int(t1) + 1 for s in stall_secs):
            near += x1 - x0
            if t1 >= lo and t0 <= hi:
                near_in_window += x1 - x0
    return {
        "count": len(late),
        "max_ms": max((ms for _, ms in late), default=0.0),
        "xruns_near_a_stall": near,
        "xruns_near_a_stall_in_swap_window": near_in_window,
    }


def print_table(r: dict[str, Any]) -> None:
    rows = [
        ("block / period", f"{r['block']} samples ({r['block_ms']:.2f} ms) at {r['sample_rate']} Hz"),
        ("soak", f"{r['minutes']:g} min after a {r['warmup_s']:g} s warm-up, model {r['model']!r}"),
        ("xruns (total / after warm-up)", f"{r['xruns']} / {r['xruns_after_warmup']}"),
        ("  jackd's own timer late (driver xruns)", f"{r['jackd_driver_xruns_after_warmup']}"),
        ("  in the swap window / steady", f"{r['xruns_swap_window']} / {r['xruns_steady']}"),
        ("  steady before / after the swap", f"{r.get('xruns_before_swap')} / {r.get('xruns_after_swap')}"),
        (
            "minor faults/s before / in / after swap",
            " / ".join(f"{v:.0f}" for v in r.get("minor_faults_per_s", {}).values()),
        ),
        ("blocks processed", f"{r['blocks']} (expected ~{r['blocks_expected']})"),
        ("NaN blocks counted / sent", f"{r['nan_blocks_counted']} / {r['nan_periods_sent']}"),
        ("late blocks spliced out (latency back)", f"{r['late_blocks_dropped']}"),
        (
            "extra monitor latency, blocks (max / end)",
            f"{r['extra_latency_blocks']['max']} / {r['extra_latency_blocks']['end']} (sampled each second)",
        ),
        ("control updates", f"{r['control_updates']} ({r['control_rate_per_s']:.0f}/s)"),
        ("model swaps", f"{r['model_swaps']} (load + swap {r['swap_load_s'] or 0:.2f} s)"),
        ("process ms max / mean", f"{r['max_process_ms']:.2f} / {r['mean_process_ms']:.3f}"),
        ("  / block duration", f"{r['max_over_block']:.2f} / {r['mean_over_block']:.3f}"),
        ("RSS start / end / max (MiB)", f"{r['rss_start_mb']:.1f} / {r['rss_end_mb']:.1f} / {r['rss_max_mb']:.1f}"),
        ("RSS growth", f"{r['rss_growth_pct']:+.2f} %"),
        (
            "RSS growth from swap+30 s to end",
            "n/a"
            if r["rss_growth_after_swap_pct"] is None
            else f"{r['rss_growth_after_swap_pct']:+.2f} % (from {r['rss_after_swap_mb']:.1f} MiB)",
        ),
        (
            "machine stalls > 3 ms (count, max ms) / xruns near one",
            f"{r['machine_stalls']['count']} {r['machine_stalls']['max_ms']:.1f} / "
            f"{r['machine_stalls']['xruns_near_a_stall']}",
        ),
        (
            "xruns not near a stall (all / in the swap window)",
            f"{r['xruns_not_near_a_stall']} / {r['xruns_swap_window_not_near_a_stall']}",
        ),
        (
            "GC pauses gen0/1/2 (count, max ms)",
            ", ".join(f"{v['count']} {v['max_ms']:.1f}" for v in r["gc_pauses"].values()),
        ),
        (
            "late clients (jackd's xrun lines)",
            ", ".join(f"{k}: {v}" for k, v in r.get("jackd_late_clients", {}).items()) or "none",
        ),
        ("target (0 xruns, < 5 %)", "PASS" if r["pass"] else "FAIL"),
        ("  outside the swap window", "PASS" if r["pass_steady"] else "FAIL"),
    ]
    w = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{w}}  {b}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="measured soak time after the warm-up")
    ap.add_argument("--block", type=int, default=256, help="engine block = JACK period (samples)")
    ap.add_argument(
        "--model", default="foley", help="bundled model name or model path; passthrough: the zero-cost baseline"
    )
    ap.add_argument("--out", type=Path, default=RESULT)
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds before the start RSS / xrun snapshot")
    ap.add_argument("--rate", type=float, default=2000.0, help="control updates per second")
    ap.add_argument("--nan-every", type=float, default=20.0, help="seconds between injected NaN periods (0: none)")
    ap.add_argument("--prefill", type=int, default=2, help="LiveSession prefill blocks")
    ap.add_argument(
        "--jit-optimize",
        action="store_true",
        help="keep TorchScript's graph optimiser on while live (LiveSession turns it off by default)",
    )
    ap.add_argument(
        "--normal-priority",
        action="store_true",
        help="no SCHED_FIFO for the audio threads",
    )
    ap.add_argument(
        "--jack-no-realtime", action="store_true", help="run jackd --no-realtime even where SCHED_FIFO is permitted"
    )
    ap.add_argument(
        "--engine",
        choices=("process", "thread"),
        default="process",
        help="model in a child process (EngineProcess, default) or in this process's worker thread",
    )
    ap.add_argument("--no-swap", action="store_true", help="no model swap (compare the two halves of the soak)")
    ap.add_argument(
        "--python-player", action="store_true", help="the fake microphone is the Python JACK client (default: C)"
    )
    ap.add_argument(
        "--jack-only",
        action="store_true",
        help="the host's floor: only jackd, the player and the canary (no session, no model); writes "
        "results/soak_jack_only.json unless --out",
    )
    ap.add_argument("--player", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.player:
        return player_main(args.nan_every)

    name = f"foleyvae-soak-{os.getpid()}"
    # soak_models (the passthrough baseline) importable here and in the engine's child under that name
    here = str(Path(__file__).resolve().parent)
    sys.path.insert(0, here)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1", JACK_NO_START_SERVER="1")
    # PortAudio's JACK host reads these when it initialises (at the sounddevice import inside LiveSession.start)
    for k in ("JACK_DEFAULT_SERVER", "JACK_NO_AUDIO_RESERVATION", "JACK_NO_START_SERVER"):
        os.environ[k] = env[k]
    # SIGTERM -> KeyboardInterrupt so the finally blocks stop jackd and the player
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    jackd: subprocess.Popen[str] | None = None
    # closed in the finally below
    jack_log = tempfile.NamedTemporaryFile("w+", prefix="foleyvae-soak-jackd-", suffix=".log", delete=False)  # noqa: SIM115
    try:
        from foleyvae.live.realtime import fifo_permitted

        jack_rt = not args.jack_no_realtime and fifo_permitted()
        jackd = start_jackd(name, args.block, env, jack_log, jack_rt)
        mode = "-R" if jack_rt else "--no-realtime"
        print(
            f"soak: jackd {mode} dummy {SR} Hz, period {args.block}; {args.warmup:g} s warm-up + {args.minutes:g} min"
        )
        r = jack_only(args, env, jack_log.name) if args.jack_only else soak(args, env, jack_log.name)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        # close PortAudio while jackd still runs (its JACK host asserts when the server is gone first)
        sd = sys.modules.get("sounddevice")
        if sd is not None:
            try:
                sd._terminate()
            except Exception:
                pass
        stop_proc(jackd)
        jack_log.close()
        late = late_clients(read_log(jack_log.name))
        os.unlink(jack_log.name)
    r["jackd_realtime"] = jack_rt
    r["jackd_late_clients"] = late
    if args.jack_only:
        ms = r["machine_stalls"]
        print(f"jackd alone ({r['player']} player), {args.minutes:g} min after {args.warmup:g} s:")
        print(f"  jackd's own timer late (driver xruns)   {r['driver_xruns_after_warmup']}")
        print(f"  xrun lines naming a client               {r['late_client_lines_after_warmup'] or 'none'}")
        print(f"  machine stalls > 3 ms (count, max ms)    {ms['count']} {ms['max_ms']:.1f}")
        if args.out == RESULT:
            args.out = RESULT.with_name("soak_jack_only.json")
    else:
        print_table(r)
    write_results(args.out, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
