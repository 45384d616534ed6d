"""``foleyvae live --model M``: real-time timbre transfer from an audio input to an output (PortAudio).

While it runs, type commands and Enter: ``b0=1.5`` (bias of PCA dim 0), ``s2=0.5`` (scale), ``t=0.3``
(temperature), ``w=0.5`` (dry/wet), ``g=-6`` (input gain dB), ``f=1``/``f=0`` (freeze), ``l=0`` (limiter off),
``r`` (reset latent controls), ``q`` (quit).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from foleyvae.cli.common import check_output
from foleyvae.cli.transfer import add_control_arguments, apply_control_args
from foleyvae.errors import FoleyError

if TYPE_CHECKING:
    import numpy as np

    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.live.engine_process import EngineProcess


def _device(v: str | None) -> int | str | None:
    if v is None:
        return None
    return int(v) if v.isdigit() else v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", help="exported .ts file, RAVE export, run folder or bundled name")
    p.add_argument("--list-devices", action="store_true", help="print the audio devices and exit")
    p.add_argument("--input-device", help="input device id or name (default: the system default)")
    p.add_argument("--output-device", help="output device id or name (default: the system default)")
    p.add_argument("--block", type=int, default=256, help="device/engine block in samples (default 256)")
    p.add_argument("--record", metavar="TAKE.wav", help="record the take (and the dry input as TAKE.dry.wav)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until q or Ctrl-C)")
    p.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="silent blocks queued before output (default 0: the model runs in the device callback, lowest latency; "
        "2 on a busy machine: a worker thread with that margin)",
    )
    p.add_argument("--device-rate", type=int, help="device sample rate (default: the model's; others are resampled)")
    p.add_argument(
        "--device-block",
        type=int,
        default=0,
        help="period asked of the device (default 0: the host's own; a fixed size costs a block more on JACK)",
    )
    p.add_argument(
        "--resampler",
        choices=("fir", "soxr"),
        default="fir",
        help="when the device rate differs: fir (0.7 ms both ways) or soxr (HQ, ~40 ms of buffering)",
    )
    p.add_argument("--stats-json", help="write the final stats and latency report to this JSON file")
    p.add_argument("--force", action="store_true", help="overwrite an existing recording")
    p.add_argument(
        "--normal-priority",
        action="store_true",
        help="do not ask for real-time (SCHED_FIFO) scheduling of the audio threads",
    )
    p.add_argument(
        "--engine",
        choices=("process", "thread"),
        default="process" if os.name == "posix" else "thread",  # the child gets its pipes and map as fds (POSIX)
        help="run the model in a child process (default on POSIX: its loads and the garbage it makes never stall the "
        "audio callback) or in a thread of this process (less memory, one interpreter)",
    )
    p.add_argument(
        "--osc-port",
        type=int,
        metavar="N",
        help="receive OSC control messages on UDP 127.0.0.1:N (address space: docs/osc.md)",
    )
    add_control_arguments(p)


def _stdin_commands(controls: object, stop: threading.Event, steer: Callable[[str], np.ndarray]) -> None:
    from foleyvae.live.audio_io import apply_command

    for line in sys.stdin:
        msg = apply_command(controls, line, steer)  # type: ignore[arg-type]
        if msg == "quit":
            stop.set()
            return
        if msg:
            print(msg, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from foleyvae.live.audio_io import list_devices

    if args.list_devices:
        print(list_devices())
        return 0
    if not args.model:
        raise FoleyError("--model is required (or --list-devices)")
    if args.block < 16:
        raise FoleyError(f"--block must be >= 16, got {args.block}")
    if args.prefill < 0 or args.device_block < 0 or (args.device_rate is not None and args.device_rate < 8000):
        raise FoleyError("--prefill and --device-block must be >= 0 and --device-rate >= 8000")
    if args.record:
        check_output(args.record, args.force)
    import functools

    import torch

    from foleyvae.export import loader
    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.inference.materials import MaterialTable
    from foleyvae.inference.mixing import material_table
    from foleyvae.live.engine_process import EngineProcess

    torch.set_num_threads(1)  # one engine thread: predictable block times
    torch.set_flush_denormal(True)
    engine: StreamingEngine | EngineProcess
    if args.engine == "process":
        # only the child loads the model; the controls are set from what it reports (latent size, centroids)
        engine = EngineProcess(
            functools.partial(loader.load_model, args.model), args.block, realtime=not args.normal_priority
        )
    else:
        model = loader.load_model(args.model)
        engine = StreamingEngine(model, args.block)
    try:
        if isinstance(engine, EngineProcess):
            info = engine.info
            mat = info.get("materials") or {}
            k = engine.controls.latent_size
            table = MaterialTable.from_offsets(mat.get("offsets") or {}, k, info["name"], mat.get("frames"))
        else:
            table = material_table(engine.model)
        apply_control_args(engine.controls, args, table.steer)
        return _run_session(args, engine, table.steer, sorted(table.choices()))
    finally:
        if isinstance(engine, EngineProcess):
            engine.close()


def _run_session(
    args: argparse.Namespace,
    engine: StreamingEngine | EngineProcess,
    steer: Callable[[str], np.ndarray],
    materials: list[str],
) -> int:
    from foleyvae.live.audio_io import LiveSession
    from foleyvae.live.engine_process import EngineProcess

    name = engine.info["name"] if isinstance(engine, EngineProcess) else engine.model.name
    session = LiveSession(
        engine,
        _device(args.input_device),
        _device(args.output_device),
        record=args.record,
        prefill_blocks=args.prefill,
        realtime=not args.normal_priority,
        device_rate=args.device_rate,
        device_block=args.device_block,
        resampler=args.resampler,
    )
    lat = session.latency()
    print(
        f"{name}: {engine.sample_rate} Hz (device {session.device_rate} Hz), block {args.block}, "
        f"engine latency {engine.latency_ms:.1f} ms, round trip before device {lat['round_trip_ms']:.1f} ms; "
        "type b0=1.5 / s2=0.5 / t=0.3 / w=0.5 / m=wood / a=0.5 / q",
        file=sys.stderr,
    )
    stop = threading.Event()
    if sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty():
        threading.Thread(target=_stdin_commands, args=(engine.controls, stop, steer), daemon=True).start()
    osc = None
    if args.osc_port is not None:
        from foleyvae.live.osc import start_osc

        osc = start_osc(args.osc_port, engine.controls, steer, materials)  # type: ignore[arg-type]
        print(f"OSC on udp://127.0.0.1:{osc.port} (docs/osc.md)", file=sys.stderr)
    session.start()
    print("READY", flush=True)
    try:
        import time

        t_end = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.is_set() and (t_end is None or time.monotonic() < t_end):
            time.sleep(0.02)
    except KeyboardInterrupt:
        pass
    finally:
        stats = session.stop()
        if osc is not None:
            osc.close()
    controls = {**engine.controls.as_dict(), "centroid": engine.controls.centroid.tolist()}  # what was played
    report = {"stats": stats.as_dict(), "latency": session.latency(), "controls": controls}
    if osc is not None:
        report["osc"] = osc.snapshot()
    print(
        f"{stats.engine.get('blocks', 0)} blocks, xruns {stats.xruns}, NaN blocks {stats.engine.get('nan_blocks', 0)}, "
        f"max block {stats.engine.get('max_process_ms', 0.0):.2f} ms",
        file=sys.stderr,
    )
    if args.record:
        print(f"recorded {args.record} (+ {session.dry_path})", file=sys.stderr)
    if args.stats_json:
        from foleyvae.utils.atomic import atomic_write_text

        atomic_write_text(args.stats_json, json.dumps(report, indent=1))
    return 0
