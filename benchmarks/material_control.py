"""Material control, side by side: does steering toward a material keep the performance, and move the timbre?

Approaches, inputs and metrics: :mod:`foleyvae.eval.steering` (``offset``, the method in use, against ``centroid``,
the pre-#20 interpolation toward all-frame centroids; the sample library's taps, English and French speech and four
recorded footsteps, each toward six materials at amounts 0.5 and 1; level change against the unsteered
regeneration, onset F1 and loudness-envelope correlation against the input, and the material an independent
log-mel-statistics classifier fitted on raw minetest-data clips hears).

A material-conditioned model (``models.conditioning``) is scored with its own approach, ``conditioned``; give
several ``--model`` to compare models in one run (each gets its own unsteered reference).

Run:  .venv/bin/python benchmarks/material_control.py [--model foley --model foley-materials]
      (needs data/raw/minetest: `foleyvae data fetch minetest -o data/raw/minetest`; writes
      benchmarks/results/material_control.json)
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from _results import write_results

from foleyvae.eval.steering import (
    DEFAULT_MATERIALS,
    MaterialClassifier,
    library_inputs,
    scorecard,
    summarise,
    table_lines,
)
from foleyvae.export.loader import load_model

ROOT = Path(__file__).resolve().parents[1]
RESULT = Path(__file__).parent / "results" / "material_control.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="a model to score (repeat to compare; default: foley)")
    p.add_argument("--corpus", default=str(ROOT / "data" / "raw" / "minetest"))
    args = p.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    names = args.model or ["foley"]
    clf = None
    per_model = {}
    for name in names:
        model = load_model(name)
        if clf is None:
            clf = MaterialClassifier(args.corpus, int(model.sample_rate))
            print(f"classifier: leave-one-out accuracy {clf.loo_accuracy:.2f} on {clf.n_clips} clips (chance 1/6)")
        rows = scorecard(model, library_inputs(int(model.sample_rate)), clf)
        summary = summarise(rows)
        print(f"\nmodel {name}:")
        print("\n".join(table_lines(summary)))
        per_model[name] = {"summary": summary, "per_material": summarise(rows, by_material=True), "rows": rows}
    assert clf is not None
    doc = {
        "benchmark": "material_control",
        "models": names,
        "materials": list(DEFAULT_MATERIALS),
        "chance": 1.0 / len(DEFAULT_MATERIALS),
        "classifier_loo_accuracy": clf.loo_accuracy,
        "classifier_clips": clf.n_clips,
        "machine": platform.processor() or platform.machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "results": per_model,
    }
    write_results(RESULT, doc, indent=1)


if __name__ == "__main__":
    main()
