"""Two versions of the code side by side: the same benchmark's JSON results, run alternately A, B, A, B, compared
row by row (median over the repeats of each side, then the ratio B / A).

Knows ``stream_speed`` (rows keyed by preset, variant, block; thread-CPU median ms) and ``engine_speed`` (rows keyed
by model, block; wall median ms). Used for issue #22's "behaviour stays" check: the code before the restructuring
(ff396a4) against main, both with the same venv and random weights, e.g.

    for r in 1 2; do for side in before after; do   # D = that side's checkout
      (cd $D && PYTHONPATH=$D/src:$D python benchmarks/stream_speed.py --presets foley-small --out /tmp/$side-s-$r.json)
      (cd $D && PYTHONPATH=$D/src:$D python benchmarks/engine_speed.py --out /tmp/$side-e-$r.json)
    done; done
    python benchmarks/compare_runs.py --name refactor_speed --a-label ff396a4 --b-label main \\
        --a /tmp/before-s-*.json /tmp/before-e-*.json --b /tmp/after-s-*.json /tmp/after-e-*.json

Writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from _results import RESULTS, write_results

# benchmark name -> (the fields that identify a row, the timing compared)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "stream_speed": (("preset", "variant", "block"), "cpu_median_ms"),
    "engine_speed": (("model", "block"), "median_ms"),
}


def collect(paths: list[Path]) -> dict[tuple[str, tuple[Any, ...]], list[float]]:
    """(benchmark, row key) -> the metric from every file that has that row."""
    out: dict[tuple[str, tuple[Any, ...]], list[float]] = {}
    for path in paths:
        data = json.loads(path.read_text())
        bench = data.get("benchmark")
        if bench not in KINDS:
            raise SystemExit(f"{path}: benchmark {bench!r} is not one of {sorted(KINDS)}")
        fields, metric = KINDS[bench]
        for row in data["rows"]:
            out.setdefault((bench, tuple(row[f] for f in fields)), []).append(float(row[metric]))
    return out


def compare(a: dict[tuple[str, tuple[Any, ...]], list[float]], b: dict[tuple[str, tuple[Any, ...]], list[float]]
            ) -> list[dict[str, Any]]:  # fmt: skip
    """One row per key present on both sides: medians, repeats and the ratio B / A."""
    rows = []
    for key in sorted(set(a) & set(b), key=str):
        bench, ident = key
        ma, mb = statistics.median(a[key]), statistics.median(b[key])
        rows.append(
            dict(
                benchmark=bench,
                row=dict(zip(KINDS[bench][0], ident, strict=True)),
                metric=KINDS[bench][1],
                a_ms=a[key],
                b_ms=b[key],
                a_median_ms=ma,
                b_median_ms=mb,
                ratio_b_over_a=mb / ma,
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=Path, nargs="+", required=True, help="side A's result files (the repeats)")
    ap.add_argument("--b", type=Path, nargs="+", required=True, help="side B's result files")
    ap.add_argument("--a-label", default="A")
    ap.add_argument("--b-label", default="B")
    ap.add_argument("--name", default="compare_runs", help="results/<name>.json")
    args = ap.parse_args()
    rows = compare(collect(args.a), collect(args.b))
    if not rows:
        raise SystemExit("no row is present on both sides")
    print(f"{'benchmark':13s} {'row':44s} {args.a_label:>10s} {args.b_label:>10s} {'B/A':>6s}")
    for r in rows:
        ident = " ".join(str(v) for v in r["row"].values())
        print(f"{r['benchmark']:13s} {ident:44s} {r['a_median_ms']:10.3f} {r['b_median_ms']:10.3f} "
              f"{r['ratio_b_over_a']:6.2f}")  # fmt: skip
    ratios = [r["ratio_b_over_a"] for r in rows]
    summary = dict(rows=len(rows), ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios))
    print(f"B/A over {len(rows)} rows: median {summary['ratio_median']:.3f}, "
          f"range {summary['ratio_min']:.2f}..{summary['ratio_max']:.2f}")  # fmt: skip
    write_results(
        RESULTS / f"{args.name}.json",
        dict(
            benchmark="compare_runs",
            a=args.a_label,
            b=args.b_label,
            a_files=[str(p) for p in args.a],
            b_files=[str(p) for p in args.b],
            summary=summary,
            rows=rows,
        ),
    )


if __name__ == "__main__":
    main()
