"""``foleyvae evaluate --model M --data DATASET [--report out.html|out.md] [--json out.json]``.

Reconstruction on the held-out split (per label and overall), a timbre-transfer scorecard on non-Foley inputs
(espeak-ng speech, taps, music-like sounds) and latent-mixing sweeps; prints a summary, and optionally writes a
Markdown/HTML report with spectrogram PNGs and a JSON of every number (see ``foleyvae.eval``).

``foleyvae evaluate --zoo [--datasets data/datasets] --report zoo.md`` evaluates every bundled model that has a
dataset of its name there, on every other one's sounds too (cross-model transfer, ``foleyvae.eval.zoo``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from foleyvae.cli.common import add_force, check_output


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (.ts), run folder or bundled model name")
    p.add_argument("--data", help="dataset folder prepared by 'foleyvae prepare' (with a valid split)")
    p.add_argument(
        "--zoo",
        action="store_true",
        help="cross-model evaluation of the bundled models that have a dataset of their name in --datasets",
    )
    p.add_argument("--datasets", default="data/datasets", help="with --zoo: folder of datasets named like the models")
    p.add_argument("--examples", type=int, default=6, help="with --zoo: held-out examples per category (default 6)")
    p.add_argument(
        "--steering",
        metavar="CORPUS",
        help="material-steering scorecard (no --data needed): an independent classifier is fitted on CORPUS, a "
        "folder from `foleyvae data fetch` (e.g. data/raw/minetest); see foleyvae.eval.steering",
    )
    p.add_argument("--report", help="write a report: out.md (Markdown) or out.html; PNGs go to <stem>_files/")
    p.add_argument("--json", help="write every number as JSON")
    p.add_argument("--max-examples", type=int, default=32, help="held-out examples to reconstruct (default 32)")
    p.add_argument("--corpus-examples", type=int, default=32, help="training crops embedded as corpus (default 32)")
    p.add_argument("--pairs", type=int, default=3, help="mixing pairs of different labels (default 3)")
    p.add_argument(
        "--embedding",
        choices=["auto", "aisfx", "handmade"],
        default="auto",
        help="embedding for Frechet distances: aisfx sound-effects CNN (auto when installed) or hand-made stats",
    )
    p.add_argument("--speech-cache", help="folder for espeak-ng sentences (default ~/.cache/foleyvae/speech)")
    p.add_argument("--no-speech", action="store_true", help="skip the espeak-ng speech inputs")
    p.add_argument("--block", type=int, help="engine block size in samples (default: hop multiple near 2048)")
    p.add_argument("--seed", type=int, default=0, help="seed of the corpus crops (default 0)")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    import torch

    from foleyvae.eval.reports import summary_lines, write_report
    from foleyvae.eval.suite import EvalOptions, evaluate
    from foleyvae.export.loader import load_model

    report = check_output(args.report, args.force) if args.report else None
    json_out = check_output(args.json, args.force) if args.json else None
    if report is not None and report.suffix.lower() not in (".md", ".markdown", ".html", ".htm"):
        from foleyvae.errors import FoleyError

        raise FoleyError(f"--report {report}: must end in .md or .html")
    opts = EvalOptions(
        max_examples=args.max_examples,
        corpus_examples=args.corpus_examples,
        n_pairs=args.pairs,
        speech=not args.no_speech,
        speech_cache=args.speech_cache,
        embedding=args.embedding,
        block_size=args.block,
        seed=args.seed,
    )
    if args.zoo:
        return _run_zoo(args, report, json_out)
    if args.steering and not args.data:
        return _run_steering(args, json_out)
    if not args.model or not args.data:
        from foleyvae.errors import FoleyError

        raise FoleyError("evaluate needs --model and --data (or --zoo)")
    model = load_model(args.model)
    with torch.no_grad():
        result = evaluate(model, args.data, opts, log=lambda msg: print(msg, file=sys.stderr))
    for line in summary_lines(result.numbers):
        print(line)
    if result.numbers["embedding"]["backend"] != "aisfx":
        print("note: aisfx not used; distances use the hand-made embedding (pip install --no-deps aisfx)")
    _write(result, json_out, report, write_report)
    return 0


def _run_steering(args: argparse.Namespace, json_out: Any) -> int:
    """The material-steering scorecard of ``--model`` (``foleyvae.eval.steering``), printed and optionally as JSON."""
    import torch

    from foleyvae.errors import FoleyError
    from foleyvae.eval.reports import write_json
    from foleyvae.eval.steering import MaterialClassifier, library_inputs, scorecard, summarise, table_lines
    from foleyvae.export.loader import load_model
    from foleyvae.inference.mixing import material_table

    if not args.model:
        raise FoleyError("evaluate --steering needs --model")
    model = load_model(args.model)
    clf = MaterialClassifier(args.steering, int(model.sample_rate))
    active = MaterialClassifier(args.steering, int(model.sample_rate), backend="handmade-active")
    inputs = library_inputs(int(model.sample_rate), int(model.channels))
    known = material_table(model).names()
    materials = [m for m in clf.materials if m in known]  # what both the classifier and the model know
    left_out = sorted(set(clf.materials) - set(materials))
    if len(materials) < 2:
        known_by_clf = ", ".join(clf.materials)
        raise FoleyError(f"model {model.name!r} knows fewer than 2 of the classifier's materials ({known_by_clf})")
    if left_out:
        print(f"left out (the model has no such material): {', '.join(left_out)}", file=sys.stderr)
    with torch.no_grad():
        rows = scorecard(
            model, inputs, clf, materials=materials, log=lambda msg: print(msg, file=sys.stderr), active=active
        )
    print(f"classifier: leave-one-out accuracy {clf.loo_accuracy:.2f} on {clf.n_clips} clips of {args.steering}")
    print(f"classifier on active frames (hitA): leave-one-out accuracy {active.loo_accuracy:.2f}")
    summary = summarise(rows)
    for line in table_lines(summary):
        print(line)
    if json_out is not None:
        numbers = {"classifier_loo_accuracy": clf.loo_accuracy,
                   "classifier_active_loo_accuracy": active.loo_accuracy, "summary": summary,
                   "per_material": summarise(rows, by_material=True), "rows": rows}  # fmt: skip
        write_json(numbers, json_out)
        print(f"wrote {json_out}")
    return 0


def _write(result: Any, json_out: Any, report: Any, write: Any) -> None:
    """The JSON of every number and the report (``write(result, path)``), where asked for."""
    from foleyvae.eval.reports import write_json

    if json_out is not None:
        write_json(result.numbers, json_out)
        print(f"wrote {json_out}")
    if report is not None:
        write(result, report)
        print(f"wrote {report} (+ {report.stem}_files/)")


def _run_zoo(args: argparse.Namespace, report: Any, json_out: Any) -> int:
    from pathlib import Path

    import torch

    from foleyvae.errors import FoleyError
    from foleyvae.eval.zoo import ZooOptions, evaluate_zoo, write_zoo_report
    from foleyvae.export.loader import list_bundled, load_model

    root = Path(args.datasets)
    bundled = list_bundled()
    names = [n for n in bundled if (root / n / "dataset.json").is_file()]  # what `foleyvae prepare` writes
    skipped = sorted(set(bundled) - set(names))
    if skipped:
        print(f"no dataset in {root} for: {', '.join(skipped)} (left out)", file=sys.stderr)
    if len(names) < 2:
        raise FoleyError(f"--zoo: fewer than two bundled models have a dataset in {root} (scripts/zoo.sh makes them)")
    opts = ZooOptions(examples=args.examples, corpus_examples=args.corpus_examples, embedding=args.embedding,
                      block_size=args.block, seed=args.seed)  # fmt: skip
    models = {n: load_model(n) for n in names}
    with torch.no_grad():
        result = evaluate_zoo(models, {n: root / n for n in names}, opts, log=lambda m: print(m, file=sys.stderr))
    cells = result.numbers["cells"]
    print("model \\ input  " + "  ".join(f"{c:>16}" for c in names))
    for m in names:
        print(f"{m:<14} " + "  ".join(f"{cells[m][c]['dist_in']:6.2f}->{cells[m][c]['dist_out']:6.2f}" for c in names))
    _write(result, json_out, report, write_zoo_report)
    return 0
