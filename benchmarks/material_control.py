"""Material control, side by side: does steering toward a material keep the performance, and move the timbre?

Approaches, inputs and metrics: :mod:`foleyvae.eval.steering` (``offset``, the method in use, against ``centroid``,
the pre-#20 interpolation toward all-frame centroids; the sample library's taps, English and French speech and four
recorded footsteps, each toward six materials at amounts 0.5 and 1; level change against the unsteered
regeneration, onset F1 and loudness-envelope correlation against the input, and the material an independent
log-mel-statistics classifier fitted on raw minetest-data clips hears).

A material-conditioned model (``models.conditioning``) is scored with its own approach, ``conditioned``; give
several ``--model`` to compare models in one run (each gets its own unsteered reference). Each model's streaming
cost is also timed: ``forward`` on 256-sample blocks, steered toward wood at amount 1, thread CPU time, the models
interleaved block by block so that machine noise hits both alike (median ms per block, and the ratio to the first).

Run:  .venv/bin/python benchmarks/material_control.py [--model foley --model foley-materials]
      (needs data/raw/minetest: `foleyvae data fetch minetest -o data/raw/minetest`; writes
      benchmarks/results/material_control.json)
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_results

from foleyvae.audio.io import load
from foleyvae.eval.steering import (
    DEFAULT_MATERIALS,
    MaterialClassifier,
    library_inputs,
    scorecard,
    summarise,
    table_lines,
)
from foleyvae.export.loader import load_model
from foleyvae.inference.controls import Controls
from foleyvae.inference.engine import StreamingEngine
from foleyvae.inference.mixing import material_table

ROOT = Path(__file__).resolve().parents[1]
RESULT = Path(__file__).parent / "results" / "material_control.json"


def performed(x: np.ndarray, sr: int) -> np.ndarray:
    """A one-shot ``[C, T]`` as a performance: 0.3 s of silence, then it three times, 0.5 s apart."""
    gap = np.zeros((x.shape[0], int(0.5 * sr)), np.float32)
    return np.concatenate([np.zeros((x.shape[0], int(0.3 * sr)), np.float32), x, gap, x, gap, x, gap], axis=1)


def timing_confound(classifiers: dict[str, MaterialClassifier]) -> dict[str, dict[str, float]]:
    """Each classifier's accuracy on its own corpus clips, as one-shots and performed with gaps (``performed``)."""
    out = {}
    for name, clf in classifiers.items():
        raw = perf = 0
        for path, mat in clf.files:
            x, _ = load(path, sample_rate=clf.sample_rate, channels=1)
            raw += clf(x) == mat
            perf += clf(performed(x, clf.sample_rate)) == mat
        out[name] = {"clips": len(clf.files), "one_shot": raw / len(clf.files), "performed": perf / len(clf.files)}
    return out


def block_costs(models: dict[str, object], block: int = 256, blocks: int = 600) -> dict[str, float]:
    """Median thread-CPU ms per ``block``-sample streaming forward, steered to wood, models interleaved."""
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((1, 1, block * blocks)).astype(np.float32) * 0.1)
    engines = {}
    for name, model in models.items():
        controls = Controls(int(model.latent_size))  # type: ignore[attr-defined]
        controls.towards(material_table(model).steer("wood"), 1.0)  # type: ignore[arg-type]
        engines[name] = StreamingEngine(model, block_size=block, controls=controls)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {n: [] for n in models}
    with torch.no_grad():
        for i in range(blocks):
            chunk = x[0, :, i * block : (i + 1) * block].numpy()
            for name, eng in engines.items():
                t = time.thread_time()
                eng.process(chunk)
                times[name].append(1000.0 * (time.thread_time() - t))
    return {n: float(np.median(v[blocks // 10 :])) for n, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="a model to score (repeat to compare; default: foley)")
    p.add_argument("--corpus", default=str(ROOT / "data" / "raw" / "minetest"))
    args = p.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    names = args.model or ["foley"]
    clf = active = None
    per_model = {}
    models = {}
    for name in names:
        model = models[name] = load_model(name)
        if clf is None:
            clf = MaterialClassifier(args.corpus, int(model.sample_rate))
            active = MaterialClassifier(args.corpus, int(model.sample_rate), backend="handmade-active")
            for label, c in (("all frames", clf), ("active frames", active)):
                print(f"classifier ({label}): leave-one-out accuracy {c.loo_accuracy:.2f} on {c.n_clips} clips")
        rows = scorecard(model, library_inputs(int(model.sample_rate)), clf, active=active)
        summary = summarise(rows)
        print(f"\nmodel {name}:")
        print("\n".join(table_lines(summary)))
        per_model[name] = {"summary": summary, "per_material": summarise(rows, by_material=True), "rows": rows}
    assert clf is not None and active is not None
    confound = timing_confound({"all_frames": clf, "active_frames": active})
    for label, row in confound.items():
        print(f"classifier {label}: accuracy on its clips {row['one_shot']:.2f} as one-shots, "
              f"{row['performed']:.2f} performed with gaps")  # fmt: skip
    costs = block_costs(models)
    first = costs[names[0]]
    for name in names:
        per_model[name]["ms_per_256_block"] = costs[name]
        per_model[name]["cost_vs_first"] = costs[name] / first
        print(f"{name}: {costs[name]:.2f} ms per 256-sample block steered ({costs[name] / first:.2f}x {names[0]})")
    doc = {
        "benchmark": "material_control",
        "models": names,
        "materials": list(DEFAULT_MATERIALS),
        "chance": 1.0 / len(DEFAULT_MATERIALS),
        "classifier_loo_accuracy": clf.loo_accuracy,
        "classifier_active_loo_accuracy": active.loo_accuracy,
        "classifier_clips": clf.n_clips,
        "timing_confound": confound,
        "machine": platform.processor() or platform.machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "results": per_model,
    }
    write_results(RESULT, doc, indent=1)


if __name__ == "__main__":
    main()
