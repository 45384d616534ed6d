"""Subprocess side of the JACK live test: a LiveSession on the default (JACK) devices with a 48 kHz toy model.

Usage: python -m tests.live.run_session TAKE.wav STATS.json SECONDS BLOCK [thread|process]
Prints READY once the stream runs (the test then connects its player to our input port).
"""

from __future__ import annotations

import gc
import json
import sys
import time

import torch


def _process_state() -> dict[str, object]:
    """The process-wide settings a LiveSession changes while live (and must restore)."""
    return {"gc_frozen": gc.get_freeze_count() > 0, "switch_interval": sys.getswitchinterval()}


def main() -> int:
    take, stats_path, seconds, block = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    kind = sys.argv[5] if len(sys.argv) > 5 else "thread"
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    import functools

    from foleyvae.inference.engine import StreamingEngine
    from foleyvae.live.audio_io import LiveSession
    from foleyvae.live.engine_process import EngineProcess
    from tests.inference.toy import ToyStream

    engine: StreamingEngine | EngineProcess
    if kind == "process":
        engine = EngineProcess(functools.partial(ToyStream, sample_rate=48000), block)
    else:
        engine = StreamingEngine(ToyStream(sample_rate=48000), block)
    session = LiveSession(engine, record=take, prefill_blocks=2)
    before = _process_state()
    session.start()
    during = _process_state()
    print("READY", flush=True)
    time.sleep(seconds)
    stats = session.stop()
    after = _process_state()
    engine_rt = engine.info["realtime"] if isinstance(engine, EngineProcess) else None
    if isinstance(engine, EngineProcess):
        engine.close()
    with open(stats_path, "w") as f:
        report = {"stats": stats.as_dict(), "latency": session.latency(), "engine_process_realtime": engine_rt}
        json.dump({**report, "process_state": {"before": before, "during": during, "after": after}}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
