"""Round-trip latency of the studio's browser-microphone path, measured in headless Chromium per block size.

Path: fake microphone -> AudioWorklet (blocks of N frames) -> main thread -> WebSocket -> server engine ->
WebSocket -> main thread -> AudioWorklet ring buffer -> output. The worklet stamps each block with the audio
context clock when it is sent and again when its processed block is back in the worklet (``rtt``: the network
and processing part; it includes two postMessage hops and is quantised to the 128-frame render quantum, 2.9 ms
at 44.1 kHz). The mic-to-speaker total adds the input buffering (one block), the wait in the worklet's output
queue (measured: the frames queued ahead of each block when it comes back; the safety buffer, ``prefill`` blocks
of 1 by default, sets where it starts, and the worklet splices out what stalls leave there) and the model's
algorithmic delay:

    total = block + rtt + queue + model delay     (device I/O buffers of the OS come on top)

Model: the bundled ``foley`` model when installed, else the untrained demo (same shapes as the tiny preset:
random weights, hop 16; its processing time is not that of a real model). One thread, flush-denormal.
Writes benchmarks/results/browser_latency.json.

    python benchmarks/browser_latency.py [--seconds 4] [--blocks 256 512 1024 2048]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "browser_latency.json"
sys.path.insert(0, str(ROOT))
# one set of launch flags for the browser tests and this benchmark (no network, fake media devices)
from _results import write_results  # noqa: E402
from tests.studio.test_browser import CHROMIUM, chromium_args  # noqa: E402


def pick_model() -> tuple[object, str]:
    """(ModelEntry, description): the bundled ``foley`` model if the loader has it, else the demo."""
    from foleyvae.playable.demo import demo_model
    from foleyvae.studio.session import ModelEntry

    try:
        from foleyvae.export.loader import list_bundled, load_model

        if "foley" in list_bundled():
            return ModelEntry("foley", "foley", "bundled", "bundled", lambda: load_model("foley")), "bundled foley"
    except Exception:  # no loader or no bundle: fall back to the demo
        pass
    return ModelEntry("demo", "demo", "demo", "random weights", demo_model), "untrained demo (tiny preset)"


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="measuring time per block size")
    ap.add_argument("--blocks", type=int, nargs="+", default=[256, 512, 1024, 2048])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    import soundfile as sf
    import torch

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    from playwright.sync_api import sync_playwright

    from foleyvae.studio.app import Studio, StudioConfig, serve_in_thread
    from foleyvae.studio.demo import synth_taps
    from foleyvae.studio.security import new_token

    entry, model_desc = pick_model()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mic = Path(tmp) / "mic.wav"
        sf.write(str(mic), synth_taps(n_taps=10, dur=2.0), 44100, subtype="PCM_16")
        cfg = StudioConfig(token=new_token(), session_dir=Path(tmp) / "s", extra_models=[entry], default_model=entry.id)  # type: ignore[list-item,attr-defined]
        studio = Studio(cfg)
        studio.open_default()
        model = studio.require_model()
        sr = int(model.sample_rate)
        with serve_in_thread(cfg, studio) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(mic))
            page = browser.new_context(bypass_csp=True).new_page()
            page.goto(url)
            page.wait_for_function("window.studio && window.studio.model")
            for bs in args.blocks:
                page.select_option("#block-size", str(bs))
                # a new worklet per block size: its counters start at 0 (studio.* hold the last node's until its
                # first report)
                page.evaluate("window.studio.running = null; window.studio.underruns = 0; window.studio.spliced = 0")
                page.click("#mic")
                page.wait_for_function("window.studio.running === 'mic' && window.studio.connected", timeout=20000)
                page.wait_for_function("window.studio.blocksBack > 0 && window.studio.rtts.length > 0", timeout=20000)
                time.sleep(0.5)  # settle (first blocks include worklet/model warm-up)
                page.evaluate("window.studio.rtts.length = 0; window.studio.queued.length = 0")
                page.evaluate("window.studio.outRms.length = 0")
                u0, s0 = page.evaluate("[window.studio.underruns, window.studio.spliced]")
                time.sleep(args.seconds)
                rtts = page.evaluate("window.studio.rtts.slice()")
                queue_ms = [1000.0 * f / sr for f in page.evaluate("window.studio.queued.slice()")]
                spliced = page.evaluate("window.studio.spliced") - s0
                proc = page.evaluate("window.studio.outRms.length")
                stats = page.evaluate("window.studio.stats")
                under = page.evaluate("window.studio.underruns") - u0
                prefill = int(page.evaluate("+document.getElementById('prefill').value"))
                model_ms = float(page.evaluate("window.studio.latencyMs || 0"))
                page.click("#stop")
                block_ms = 1000.0 * bs / sr
                med = statistics.median(rtts) if rtts else float("nan")
                row = {
                    "block_size": bs,
                    "block_ms": round(block_ms, 2),
                    "n_blocks": len(rtts),
                    "rtt_median_ms": round(med, 2),
                    "rtt_p95_ms": round(pct(rtts, 95), 2),
                    "rtt_max_ms": round(max(rtts), 2) if rtts else float("nan"),
                    "jitter_ms": round(pct(rtts, 95) - pct(rtts, 5), 2),
                    "server_proc_ms_max": stats.get("proc_ms_max") if stats else None,
                    "model_delay_ms": round(model_ms, 2),
                    "prefill_blocks": prefill,
                    "queue_median_ms": round(statistics.median(queue_ms), 2) if queue_ms else float("nan"),
                    "queue_max_ms": round(max(queue_ms), 2) if queue_ms else float("nan"),
                    "total_median_ms": round(
                        block_ms + med + (statistics.median(queue_ms) if queue_ms else float("nan")) + model_ms, 2
                    ),
                    "underruns": int(under),
                    "spliced_frames": int(spliced),
                    "stats_messages": proc,
                }
                rows.append(row)
                print(f"block {bs}: {row}", file=sys.stderr)
            browser.close()

    print(f"\nBrowser microphone round trip (headless Chromium, {model_desc}, {sr} Hz, 1 torch thread)")
    head = (
        f"{'block':>6} {'block ms':>9} {'rtt med':>8} {'rtt p95':>8} {'rtt max':>8} {'queue med':>9} {'queue max':>9} "
        f"{'total med':>10} {'underruns':>9} {'spliced':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['block_size']:>6} {r['block_ms']:>9.1f} {r['rtt_median_ms']:>8.1f} {r['rtt_p95_ms']:>8.1f} "
            f"{r['rtt_max_ms']:>8.1f} {r['queue_median_ms']:>9.1f} {r['queue_max_ms']:>9.1f} "
            f"{r['total_median_ms']:>10.1f} {r['underruns']:>9} {r['spliced_frames']:>8}"
        )
    result = {
        "benchmark": "browser_latency",
        "model": model_desc,
        "sample_rate": sr,
        "seconds_per_block_size": args.seconds,
        "formula": "total = block + rtt + measured output queue + model delay (before OS device buffers)",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "rows": rows,
    }
    print()
    write_results(args.out, result, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
