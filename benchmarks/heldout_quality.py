"""Bundled models side by side on the fixed held-out clips (issue 23's quality targets), at any sample rate.

The comparison set is ``benchmarks/heldout/foley_v1.txt``: the 38 files the first bundled ``foley`` model held out
(data/datasets/foley, prepared as scripts/bundled_model.sh did for it). Every model is scored on the SAME 44.1 kHz
clips, as benchmarks/rave_vs_foleyvae.py scores them (one deterministic 32768-sample clip per held-out file, then
0.5 s of zeros, encoded and decoded in one call by the exported file, delay estimated from the envelopes over the
set): a model at another rate (the 48 kHz ones) gets the clip resampled to its rate (soxr, VHQ) and its output
resampled back, so its distances are measured at 44.1 kHz against the same reference as the others.

Run (a few minutes on 2 cores; needs data/datasets/foley, which rave_vs_foleyvae.ensure_dataset builds from
data/raw/{minetest,0ad,openarena}):
    .venv/bin/python benchmarks/heldout_quality.py [--model foley --model runs/foley48 ...]
Writes benchmarks/results/heldout_quality.json.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

from _results import RESULTS, write_results
from rave_vs_foleyvae import CLIP, ENV_WIN, MAX_LAG, MIN_LAG, ROOT, TAIL, ensure_dataset, held_out, shift

REFERENCE_SR = 44100  # the held-out set's rate (data/datasets/foley)
KEYS = ("multiscale", "mel", "si_sdr", "loudness_corr")


def resample(x: Any, sr_in: int, sr_out: int) -> Any:
    """``[N, C, T]`` float32 -> ``[N, C, T']`` at ``sr_out`` (soxr VHQ, per channel)."""
    import numpy as np
    import soxr

    if sr_in == sr_out:
        return x
    return np.stack(
        [np.stack([soxr.resample(ch, sr_in, sr_out, quality="VHQ").astype(np.float32) for ch in clip]) for clip in x]
    )


def render(model: Any, x: Any, tail: int) -> Any:
    """Each clip ``[C, T]`` + ``tail`` zeros through encode/decode in one call (length rounded up to 4 hops)."""
    import numpy as np
    import torch

    hop = int(model.hop_length)
    length = -(-(x.shape[-1] + tail) // (4 * hop)) * 4 * hop
    outs = []
    for clip in x:
        xp = torch.zeros(1, clip.shape[0], length)
        xp[0, :, : clip.shape[-1]] = torch.from_numpy(np.ascontiguousarray(clip))
        model.reset()
        with torch.no_grad():
            outs.append(model.decode(model.encode(xp))[0, :, :length].numpy())
    model.reset()
    return np.stack(outs)


def score(name: str, clips: Any, labels: list[str]) -> dict[str, Any]:
    """Render the clips through the model ``name`` at its own rate, bring them back to 44.1 kHz, score them."""
    import numpy as np
    import torch

    from foleyvae.eval import metrics as M
    from foleyvae.export.loader import load_model

    model = load_model(name)
    sr = int(model.sample_rate)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    outs = resample(render(model, resample(clips, REFERENCE_SR, sr), TAIL * sr // REFERENCE_SR), sr, REFERENCE_SR)
    lag, corr = M.estimate_delay(clips, outs, max_lag=MAX_LAG, min_lag=MIN_LAG, kind="envelope", win=ENV_WIN)
    rows = []
    for x, y, lab in zip(clips, outs, labels, strict=True):
        ya = shift(np.ascontiguousarray(y), lag)
        rows.append(
            {
                "label": lab,
                "multiscale": M.multiscale_distance(x, ya),
                "mel": M.mel_distance(x, ya, REFERENCE_SR),
                "si_sdr": M.si_sdr(x, ya),
                "loudness_corr": M.loudness_correlation(x, ya, REFERENCE_SR),
            }
        )
    cats = sorted({r["label"].split("/")[0] for r in rows})
    card = getattr(model, "metadata", {}) or {}
    return {
        "model": name,
        "sample_rate": sr,
        "hop_length": int(model.hop_length),
        "delay_samples": int(model.delay_samples),
        "delay_estimated_at_44k1": lag,
        "delay_xcorr": round(corr, 4),
        "preset": card.get("preset"),
        "render_s": round(time.perf_counter() - t0, 1),
        "overall": M.aggregate(rows, KEYS),
        "per_category": {c: M.aggregate([r for r in rows if r["label"].startswith(c + "/")], KEYS) for c in cats},
    }


def main() -> int:
    import torch

    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", help="bundled name, run folder or .ts (repeat; default foley)")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "datasets" / "foley")
    ap.add_argument("--out", type=Path, default=RESULTS / "heldout_quality.json")
    args = ap.parse_args()
    ensure_dataset(args.data, 0)
    clips, labels = held_out(args.data)
    if clips.shape[-1] != CLIP:
        raise SystemExit(f"{args.data}: expected {CLIP}-sample held-out clips")
    rows = [score(m, clips, labels) for m in (args.model or ["foley"])]
    print(f"{len(clips)} held-out clips of {args.data} (scored at {REFERENCE_SR} Hz)")
    print(f"{'model':28s} {'sr':>6s} {'hop':>4s} {'multiscale':>10s} {'mel':>6s} {'SI-SDR':>7s} {'loud r':>6s}")
    for r in rows:
        o = r["overall"]
        print(
            f"{r['model'][-28:]:28s} {r['sample_rate']:6d} {r['hop_length']:4d} {o['multiscale']:10.3f} "
            f"{o['mel']:6.3f} {o['si_sdr']:7.2f} {o['loudness_corr']:6.3f}"
        )
    write_results(
        args.out,
        {
            "benchmark": "heldout_quality",
            "clips": len(clips),
            "data": str(args.data.relative_to(ROOT)) if args.data.is_relative_to(ROOT) else str(args.data),
            "heldout_list": "benchmarks/heldout/foley_v1.txt",
            "scored_at_hz": REFERENCE_SR,
            "machine": {"cpu": platform.processor() or platform.machine(), "python": sys.version.split()[0]},
            "models": rows,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
